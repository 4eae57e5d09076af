package resource

import (
	"fmt"
	"strings"
)

// <remoteCSE> (TS-0001 9.6.4, TS-0004 7.4.4, Table 7.4.4.1-3; protocol.md
// 3.4, Release 3 attributes). One is created under the registrar's <CSEBase>
// by CSE registration, and one under the registree's <CSEBase> for its
// registrar. cb, rr and srv are mandatory on CREATE; cst, cb and csi are
// fixed once created.
func init() {
	Register(&Type{
		Ty: TyRemoteCSE, SN: "csr",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			creator(),
			{SN: "cst", Kind: KInt, Create: O, Update: NP, Enum: []int64{1, 2, 3}},
			{SN: "poa", Kind: KStrList, Create: O, Update: O},
			{SN: "cb", Kind: KString, Create: M, Update: NP, NonEmpty: true, Check: checkCSEBaseAddr},
			{SN: "csi", Kind: KString, Create: O, Update: NP, Check: checkCSEIDAttr},
			{SN: "mei", Kind: KString, Create: O, Update: O},
			{SN: "tri", Kind: KString, Create: O, Update: O},
			{SN: "rr", Kind: KBool, Create: M, Update: O, Single: true},
			{SN: "nl", Kind: KString, Create: O, Update: O},
			{SN: "csz", Kind: KStrList, Create: O, Update: O, Check: checkCSZ},
			{SN: "esi", Kind: KObject, Create: O, Update: O},
			{SN: "trn", Kind: KInt, Create: O, Update: O, Min: 0, Max: 1<<32 - 1},
			{SN: "dcse", Kind: KStrList, Create: O, Update: O, Check: checkCSEIDList},
			{SN: "mtcc", Kind: KInt, Create: O, Update: O, Enum: []int64{1, 2}},
			{SN: "egid", Kind: KString, Create: O, Update: O},
			{SN: "tren", Kind: KBool, Create: O, Update: O},
			{SN: "ape", Kind: KAnyList, Create: O, Update: O, Check: listOfObjects("m2m:activityPattern")},
			{SN: "srv", Kind: KStrList, Create: M, Update: O, NonEmpty: true, Single: true, Check: checkSRV},
		}),
		Children:  []int{TyACP, TyContainer, TyGroup, TyPollingCh, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// IsCSEID reports whether s is an SP-relative CSE-ID ("/id-mn") or an
// absolute one ("//sp.example/id-mn").
func IsCSEID(s string) bool {
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		sp, csi, ok := strings.Cut(rest, "/")
		return ok && sp != "" && csi != "" && !strings.Contains(csi, "/")
	}
	return len(s) > 1 && s[0] == '/' && !strings.Contains(s[1:], "/")
}

func checkCSEIDAttr(v any) error {
	if s := v.(string); !IsCSEID(s) {
		return fmt.Errorf("%q is not a CSE-ID (/csi or //sp/csi)", s)
	}
	return nil
}

func checkCSEIDList(v any) error {
	for _, e := range v.([]any) {
		if s := e.(string); !IsCSEID(s) {
			return fmt.Errorf("%q is not a CSE-ID (/csi or //sp/csi)", s)
		}
	}
	return nil
}

// checkCSEBaseAddr: cb is the address of the registree's <CSEBase>, SP-relative
// ("/id-mn/cse-mn") or absolute ("//sp/id-mn/cse-mn", what the change request
// asks for). A registree that does not know its CSE-ID yet writes "-" in its
// place ("//sp/-/cse-mn"), and the registrar puts the CSE-ID it assigns there
// (an onecse convention: the change request asks for an absolute address the
// registree cannot know yet).
func checkCSEBaseAddr(v any) error {
	s := v.(string)
	rest := strings.TrimPrefix(s, "/")
	if strings.HasPrefix(s, "//") {
		_, r, ok := strings.Cut(s[2:], "/")
		if !ok {
			rest = ""
		} else {
			rest = r
		}
	} else if !strings.HasPrefix(s, "/") {
		rest = ""
	}
	csi, rn, ok := strings.Cut(rest, "/")
	if !ok || csi == "" || checkResourceName(rn) != nil {
		return fmt.Errorf("%q is not the address of a CSEBase (//sp/csi/name or /csi/name)", s)
	}
	return nil
}
