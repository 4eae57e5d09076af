package resource

// <group> (TS-0001 9.6.13, TS-0004 7.4.13, Table 7.4.13.1-3). Member
// validation, consistency strategy and the <fanOutPoint> are the core's job
// (cse/group.go), as they need the store and the request path.
func init() {
	Register(&Type{
		Ty: TyGroup, SN: "grp",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			creator(),
			// memberType: 0 is "mixed"; any resource type otherwise.
			{SN: "mt", Kind: KInt, Create: O, Update: NP, Min: 0, Max: 65535},
			{SN: "spty", Kind: KInt, Create: O, Update: NP, Min: 0},
			ro("cnm", KInt),
			{SN: "mnm", Kind: KInt, Create: M, Update: O, Min: 1, Single: true},
			// memberIDs may be an empty list (TS-0001 Table 9.6.13-2, multiplicity 1 (L)).
			{SN: "mid", Kind: KStrList, Create: M, Update: O, Single: true},
			{SN: "macp", Kind: KStrList, Create: O, Update: O},
			ro("mtv", KBool),
			{SN: "csy", Kind: KInt, Create: O, Update: NP, Enum: []int64{ConsistencyAbandonMember, ConsistencyAbandonGroup, ConsistencySetMixed}},
			{SN: "gn", Kind: KString, Create: O, Update: O},
			ro("ssi", KBool),
			{SN: "nar", Kind: KObject, Create: O, Update: O, Check: checkBN},
		}),
		Children:  []int{TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// m2m:consistencyStrategy (TS-0004 Table 6.3.4.2.x).
const (
	ConsistencyAbandonMember = 1
	ConsistencyAbandonGroup  = 2
	ConsistencySetMixed      = 3
)
