package resource

// <accessControlPolicy> (TS-0001 9.6.2, TS-0004 7.4.2, Table 7.4.2.1-3). Access
// to it is decided by its own selfPrivileges; it has no acpi.
//
// SetOfAcrsCheck validates a pv/pvs value; the core sets it to the acp parser so
// that this package stays free of the access control logic.
var SetOfAcrsCheck func(v any) error

func init() {
	check := func(v any) error {
		if SetOfAcrsCheck == nil {
			return nil
		}
		return SetOfAcrsCheck(v)
	}
	Register(&Type{
		Ty: TyACP, SN: "acp",
		Attrs: attrs(universal(), common(), []*Attr{
			{SN: "pv", Kind: KObject, Create: M, Update: O, Single: true, Check: check},
			{SN: "pvs", Kind: KObject, Create: M, Update: O, Single: true, Check: check},
			{SN: "adri", Kind: KStrList, Create: O, Update: O},
			{SN: "apri", Kind: KStrList, Create: O, Update: O},
			{SN: "airi", Kind: KStrList, Create: O, Update: O},
		}),
		Children:  []int{TySubscription},
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
