package resource

// <pollingChannel> (TS-0001 9.6.21, TS-0004 7.4.21) and its virtual child
// <pollingChannelURI> ("pcu", TS-0004 7.4.22). It has no acpi: only the
// entity it belongs to (the parent <AE>'s AE-ID, the <remoteCSE>'s CSE-ID)
// may use it, which the core checks (cse/polling.go).
func init() {
	Register(&Type{
		Ty: TyPollingCh, SN: "pch",
		Attrs: attrs(universal(), []*Attr{
			{SN: "et", Kind: KTime, Create: O, Update: O, Single: true},
			{SN: "lbl", Kind: KStrList, Create: O, Update: O},
		}),
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
