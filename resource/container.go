package resource

// <container> (TS-0001 9.6.6, TS-0004 7.4.6, Table 7.4.6.1-3).
func init() {
	Register(&Type{
		Ty: TyContainer, SN: "cnt",
		Attrs:     attrs(universal(), common(), withACPI(), containerAttrs()),
		Children:  []int{TyContainer, TyCIN, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// containerAttrs are the attributes specific to <container>; <containerAnnc>
// derives its own from them (annc.go).
func containerAttrs() []*Attr {
	return []*Attr{
		creator(),
		ro("st", KInt),
		{SN: "mni", Kind: KInt, Create: O, Update: O, Min: 0},
		{SN: "mbs", Kind: KInt, Create: O, Update: O, Min: 0},
		{SN: "mia", Kind: KInt, Create: O, Update: O, Min: 0},
		ro("cni", KInt), ro("cbs", KInt), ro("li", KString),
		{SN: "or", Kind: KString, Create: O, Update: O},
		{SN: "disr", Kind: KBool, Create: O, Update: O},
	}
}
