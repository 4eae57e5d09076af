package resource

// <CSEBase> (TS-0001 9.6.3, TS-0004 7.4.3). The CSE creates it itself; clients
// can neither create, update nor delete it.
func init() {
	Register(&Type{
		Ty: TyCSEBase, SN: "cb",
		Attrs: attrs(universal(), []*Attr{
			{SN: "lbl", Kind: KStrList, Create: O, Update: NP},
			ro("acpi", KStrList), ro("daci", KStrList),
			ro("cst", KInt), ro("csi", KString), ro("srt", KIntList), ro("poa", KStrList),
			ro("nl", KString), ro("csz", KStrList), ro("esi", KObject), ro("srv", KStrList),
		}),
		Children: []int{TyACP, TyAE, TyContainer, TyGroup, TyMSSP, TyRemoteCSE, TyASAR, TySubscription, TyAEAnnc, TyContainerAnnc, TyCSEBaseAnnc},
		HasACPI:  true,
	})
}
