package resource

// TyAEAnnc is the announced <AE> (TS-0004 Table 6.3.4.2.1-1).
const TyAEAnnc = 10002

// <AEAnnc> (TS-0001 9.6.26, TS-0004 7.4.5 announced variant). onecse uses it
// for what AE registration needs (registration-security.md 3.5): an MN- or
// ASN-CSE announces an S-type AE to the IN-CSE, which assigns or confirms
// the SP-unique AE-ID-Stem; lnk points to the <AE> on the registrar, or is
// "INACTIVE" once the AE has deregistered. The announced attributes are
// optional copies of the original's.
func init() {
	Register(&Type{
		Ty: TyAEAnnc, SN: "aeA",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			{SN: "lnk", Kind: KString, Create: M, Update: O, NonEmpty: true, Single: true},
			{SN: "api", Kind: KString, Create: O, Update: O, Check: checkAppID},
			{SN: "apn", Kind: KString, Create: O, Update: O},
			ro("aei", KString),
			{SN: "poa", Kind: KStrList, Create: O, Update: O},
			{SN: "nl", Kind: KString, Create: O, Update: O},
			{SN: "rr", Kind: KBool, Create: O, Update: O},
			{SN: "csz", Kind: KStrList, Create: O, Update: O, Check: checkCSZ},
			{SN: "srv", Kind: KStrList, Create: O, Update: O, Check: checkSRV},
			{SN: "regs", Kind: KInt, Create: O, Update: O, Enum: []int64{1, 2}},
		}),
		Children:  []int{TyContainer, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
