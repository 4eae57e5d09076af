package resource

// TyAEAnnc is the announced <AE> (TS-0004 Table 6.3.4.2.1-1).
const TyAEAnnc = 10002

// <AEAnnc> (TS-0001 9.6.26, TS-0004 7.4.5 announced variant). onecse uses it
// for what AE registration needs (registration-security.md 3.5): an MN- or
// ASN-CSE announces an S-type AE to the IN-CSE, which assigns or confirms
// the SP-unique AE-ID-Stem; lnk points to the <AE> on the registrar, or is
// "INACTIVE" once the AE has deregistered. It is also the announced <AE> of
// announceTo (annc.go): the announced attributes are optional copies of the
// original's.
func init() {
	Register(&Type{
		Ty: TyAEAnnc, SN: "aeA",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			{SN: "lnk", Kind: KString, Create: M, Update: O, NonEmpty: true, Single: true},
			{SN: "api", Kind: KString, Create: O, Update: O, Check: checkAppID},
			{SN: "apn", Kind: KString, Create: O, Update: O},
			// Set by the IN-CSE for an S-type registration; an announced
			// attribute (OA) otherwise.
			{SN: "aei", Kind: KString, Create: O, Update: O},
			{SN: "poa", Kind: KStrList, Create: O, Update: O},
			{SN: "nl", Kind: KString, Create: O, Update: O},
			{SN: "rr", Kind: KBool, Create: O, Update: O},
			{SN: "csz", Kind: KStrList, Create: O, Update: O, Check: checkCSZ},
			{SN: "srv", Kind: KStrList, Create: O, Update: O, Check: checkSRV},
			{SN: "regs", Kind: KInt, Create: O, Update: O, Enum: []int64{1, 2}},
			{SN: "esi", Kind: KObject, Create: O, Update: O},
			{SN: "mei", Kind: KString, Create: O, Update: O},
			{SN: "trps", Kind: KBool, Create: O, Update: O},
			{SN: "scp", Kind: KStrList, Create: O, Update: O},
			{SN: "tren", Kind: KBool, Create: O, Update: O},
			{SN: "ape", Kind: KAnyList, Create: O, Update: O, Check: listOfObjects("m2m:activityPattern")},
			{SN: "tri", Kind: KInt, Create: O, Update: O, Min: 0, Max: 65535},
			{SN: "trn", Kind: KInt, Create: O, Update: O, Min: 0, Max: 1<<32 - 1},
			{SN: "or", Kind: KString, Create: O, Update: O},
		}),
		Children:  []int{TyContainer, TyContainerAnnc, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
