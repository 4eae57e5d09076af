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
		}, announcedCopies(TyAE, aeAttrs())),
		Children:  []int{TyContainer, TyContainerAnnc, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
