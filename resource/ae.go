package resource

import (
	"fmt"

	"github.com/onecse/onecse/primitive"
)

// <AE> (TS-0001 9.6.5, TS-0004 7.4.5, Table 7.4.5.1-3).
func init() {
	Register(&Type{
		Ty: TyAE, SN: "ae",
		Attrs:     attrs(universal(), common(), withACPI(), aeAttrs()),
		Children:  []int{TyACP, TyContainer, TyGroup, TyPollingCh, TySubscription},
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// aeAttrs are the attributes specific to <AE>; <AEAnnc> derives its own
// from them (annc.go).
func aeAttrs() []*Attr {
	return []*Attr{
		{SN: "apn", Kind: KString, Create: O, Update: O},
		{SN: "api", Kind: KString, Create: M, Update: NP, Check: checkAppID},
		ro("aei", KString),
		{SN: "poa", Kind: KStrList, Create: O, Update: O},
		{SN: "nl", Kind: KString, Create: O, Update: O},
		{SN: "rr", Kind: KBool, Create: M, Update: O, Single: true},
		{SN: "csz", Kind: KStrList, Create: O, Update: O, Check: checkCSZ},
		{SN: "esi", Kind: KObject, Create: O, Update: O},
		{SN: "mei", Kind: KString, Create: O, Update: O},
		// Multiplicity 1 (L) (TS-0001 Table 9.6.5-2): an UPDATE may not remove it.
		{SN: "srv", Kind: KStrList, Create: M, Update: O, NonEmpty: true, Single: true, Check: checkSRV},
		{SN: "regs", Kind: KInt, Create: O, Update: O, Enum: []int64{1, 2}},
		{SN: "trps", Kind: KBool, Create: O, Update: O},
		{SN: "scp", Kind: KStrList, Create: O, Update: O},
		{SN: "tren", Kind: KBool, Create: O, Update: O},
		{SN: "ape", Kind: KAnyList, Create: O, Update: O, Check: listOfObjects("m2m:activityPattern")},
		{SN: "tri", Kind: KInt, Create: O, Update: O, Min: 0, Max: 65535},
		{SN: "trn", Kind: KInt, Create: O, Update: O, Min: 0, Max: 1<<32 - 1},
		{SN: "or", Kind: KString, Create: O, Update: O},
	}
}

// checkAppID: an App-ID starts with R (registered) or N (non-registered);
// lower-case r was tolerated up to Release 3 (TS-0004 7.4.5.2.1), which the
// core checks against the request's release.
func checkAppID(v any) error {
	s := v.(string)
	if len(s) < 2 || (s[0] != 'R' && s[0] != 'N' && s[0] != 'r') {
		return fmt.Errorf("%q is not an App-ID: it must start with 'R' or 'N'", s)
	}
	return nil
}

func checkSRV(v any) error {
	for _, e := range v.([]any) {
		s := e.(string)
		if s == "1" || !primitive.ReleaseSupported(s) {
			return fmt.Errorf("%q is not a supported release version", s)
		}
	}
	return nil
}

// checkCSZ accepts both spellings the specifications use: the simple type's
// words (json, cbor, xml) and media types (TR-0051 examples).
func checkCSZ(v any) error {
	for _, e := range v.([]any) {
		switch e.(string) {
		case "json", "cbor", "xml", "application/json", "application/cbor", "application/xml":
		default:
			return fmt.Errorf("%q is not a serialisation (json, cbor, xml or their media types)", e)
		}
	}
	return nil
}
