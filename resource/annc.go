package resource

import "slices"

// Resource announcement (TS-0001 V3.36 9.6.26, 10.2.13; TS-0004 announced
// resource types; protocol.md 2.1): an announceable resource with announceTo
// (at) is represented on each target CSE by an announced resource of type
// 10000 + ty, key "m2m:<sn>A", whose link (lnk) points to the original. The
// announced resource carries the original's MA attributes always and the OA
// attributes its announcedAttribute (aa) lists.

// Announced resource types (TS-0004 Table 6.3.4.2.1-1).
const (
	TyContainerAnnc = 10003
	TyCSEBaseAnnc   = 10005
)

// announceable holds, per announceable type, the attributes announced always
// (MA) and those that aa may ask for (OA) (protocol.md 3.3, 3.5 annc column).
//
// Two MA attributes are left out on purpose. acpi names <accessControlPolicy>
// resources of the original's CSE, which mean nothing on the target (they
// would be announced ACPs, and onecse does not announce ACPs): an announced
// resource without acpi is governed by the default rule, so only its creator
// — the announcing CSE — and the target's administrator may use it. daci (OA)
// for the same reason.
var announceable = map[int]struct{ ma, oa []string }{
	TyAE: {
		ma: []string{"et", "lbl", "esi", "srv"},
		oa: []string{"apn", "api", "aei", "poa", "nl", "rr", "csz", "regs", "trps", "scp", "tren", "ape", "tri", "trn", "or", "mei"},
	},
	TyContainer: {
		ma: []string{"et", "lbl"},
		oa: []string{"mni", "mbs", "mia", "or", "disr"},
	},
}

// AnnouncedType returns the announced variant of ty (10000 + ty) when ty can
// be announced.
func AnnouncedType(ty int) (int, bool) {
	if _, ok := announceable[ty]; !ok {
		return 0, false
	}
	return 10000 + ty, true
}

// announcedCopies derives the attributes an announced resource may carry from
// the original type's own (specific) attributes: the MA and OA ones of
// announceable, with the original's value checks, all optional on CREATE and
// UPDATE — an announced resource holds whatever the announcer copied.
func announcedCopies(ty int, specific []*Attr) []*Attr {
	a := announceable[ty]
	var out []*Attr
	for _, orig := range specific {
		if slices.Contains(a.ma, orig.SN) || slices.Contains(a.oa, orig.SN) {
			cp := *orig
			cp.Create, cp.Update, cp.Single = O, O, false
			out = append(out, &cp)
		}
	}
	return out
}

// IsAnnounced reports whether ty is an announced resource type.
func IsAnnounced(ty int) bool {
	return ty == TyAEAnnc || ty == TyContainerAnnc || ty == TyCSEBaseAnnc
}

// AnnouncedAttrs returns the attributes of an original of type ty that its
// announced resources carry: the MA ones and the OA ones that aa lists (an
// aa entry that is not OA is ignored).
func AnnouncedAttrs(ty int, aa []string) []string {
	a := announceable[ty]
	out := slices.Clone(a.ma)
	for _, sn := range aa {
		if slices.Contains(a.oa, sn) && !slices.Contains(out, sn) {
			out = append(out, sn)
		}
	}
	return out
}

// <CSEBaseAnnc> (TS-0001 9.6.26.1): the announcing CSE's representative on
// an announcement target, created by the announcing CSE under the target's
// <CSEBase>; announced resources whose parent is not announced go under it.
// Its MA attributes are lbl, acpi, esi and srv (protocol.md 3.2).
func init() {
	Register(&Type{
		Ty: TyCSEBaseAnnc, SN: "cbA",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			{SN: "lnk", Kind: KString, Create: M, Update: NP, NonEmpty: true, Single: true},
			{SN: "esi", Kind: KObject, Create: O, Update: O},
			{SN: "srv", Kind: KStrList, Create: O, Update: O, Check: checkSRV},
		}),
		Children:  []int{TyAEAnnc, TyContainerAnnc, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// <containerAnnc> (TS-0001 9.6.26, TS-0004 7.4.6 announced variant).
func init() {
	Register(&Type{
		Ty: TyContainerAnnc, SN: "cntA",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			{SN: "lnk", Kind: KString, Create: M, Update: NP, NonEmpty: true, Single: true},
		}, announcedCopies(TyContainer, containerAttrs())),
		Children:  []int{TyContainerAnnc, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}
