package resource

import (
	"fmt"
	"strings"

	"github.com/onecse/onecse/primitive"
)

// The M2M service subscription resources of the IN-CSE (TS-0001 9.6.19,
// 9.6.20, 9.6.29; TS-0004 7.4.19, 7.4.20, 7.4.29; registration-security.md
// 5.2). They are created, updated and deleted by the CSE's administrator
// only (AdminOnly) and exist on the IN-CSE only (INOnly): an MN-CSE or
// ASN-CSE asked to create one answers 4005 (TS-0004 7.3.3.3).
const (
	TyMSSP = 11 // <m2mServiceSubscriptionProfile>, m2m:mssp
	TyASAR = 19 // <serviceSubscribedAppRule>, m2m:asar
	TySVSN = 20 // <serviceSubscribedNode>, m2m:svsn
)

func init() {
	// <m2mServiceSubscriptionProfile>: universal and common attributes only
	// in Release 3 (TS-0004 Table 7.4.19.1-2).
	Register(&Type{
		Ty: TyMSSP, SN: "mssp",
		Attrs:     attrs(universal(), subscriptionCommon(), withACPI()),
		Children:  []int{TySVSN, TySubscription},
		HasACPI:   true,
		HasET:     true,
		AdminOnly: true, INOnly: true,
		Creatable: true, Updatable: true, Deletable: true,
	})
	// <serviceSubscribedNode> (TS-0004 Table 7.4.20.1-3).
	Register(&Type{
		Ty: TySVSN, SN: "svsn",
		Attrs: attrs(universal(), subscriptionCommon(), withACPI(), []*Attr{
			{SN: "ni", Kind: KString, Create: M, Update: NP, NonEmpty: true, Check: checkNoSpace},
			{SN: "csi", Kind: KString, Create: O, Update: NP, Check: checkCSEIDAttr},
			{SN: "di", Kind: KStrList, Create: O, Update: NP, Check: checkDeviceIDs},
			{SN: "rlk", Kind: KStrList, Create: O, Update: O, Check: checkNoSpaceList},
			{SN: "nrq", Kind: KBool, Create: O, Update: O},
		}),
		Children:  []int{TySubscription},
		HasACPI:   true,
		HasET:     true,
		AdminOnly: true, INOnly: true,
		Creatable: true, Updatable: true, Deletable: true,
		Check: func(op primitive.Operation, b map[string]any) error {
			// ruleLinks is meaningful only with a CSE-ID (TS-0001 9.6.20); the
			// core checks an UPDATE against the stored csi.
			if _, rlk := b["rlk"]; rlk && op == primitive.OpCreate {
				if _, csi := b["csi"]; !csi {
					return primitive.Errorf(primitive.RSCBadRequest, "attribute \"rlk\" of m2m:svsn needs \"csi\": rules apply to the AEs registering with a CSE")
				}
			}
			return nil
		},
	})
	// <serviceSubscribedAppRule> (TS-0004 Table 7.4.29.1-3).
	Register(&Type{
		Ty: TyASAR, SN: "asar",
		Attrs: attrs(universal(), subscriptionCommon(), withACPI(), []*Attr{
			{SN: "apci", Kind: KStrList, Create: O, Update: O, Check: checkPatterns("Credential-ID", nil)},
			{SN: "aai", Kind: KStrList, Create: O, Update: O, Check: checkPatterns("App-ID", []byte("RNr"))},
			{SN: "aae", Kind: KStrList, Create: O, Update: O, Check: checkPatterns("AE-ID-Stem", []byte("CS"))},
			{SN: "ari", Kind: KStrList, Create: O, Update: O, Check: checkNoSpaceList},
		}),
		Children:  []int{TySubscription},
		HasACPI:   true,
		HasET:     true,
		AdminOnly: true, INOnly: true,
		Creatable: true, Updatable: true, Deletable: true,
	})
}

// subscriptionCommon are the common attributes of the three types: et and
// lbl (no announcement: they are not announceable).
func subscriptionCommon() []*Attr {
	return []*Attr{
		{SN: "et", Kind: KTime, Create: O, Update: O, Single: true},
		{SN: "lbl", Kind: KStrList, Create: O, Update: O},
	}
}

func checkNoSpace(v any) error {
	if s := v.(string); strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q must not contain white space", s)
	}
	return nil
}

func checkNoSpaceList(v any) error {
	for _, e := range v.([]any) {
		if err := checkNoSpace(e); err != nil {
			return err
		}
	}
	return nil
}

// checkDeviceIDs: a deviceIdentifier is a URN (TS-0001 9.6.20: urn:dev:ops,
// urn:imei, urn:uuid, ...).
func checkDeviceIDs(v any) error {
	for _, e := range v.([]any) {
		s := e.(string)
		if !strings.HasPrefix(strings.ToLower(s), "urn:") || len(s) < 6 || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("%q is not a device identifier URN (urn:dev:ops:…, urn:imei:…, urn:uuid:…)", s)
		}
	}
	return nil
}

// MaxPatternStars bounds the '*' wildcards of one rule entry, which keeps
// matching cheap.
const MaxPatternStars = 4

// checkPatterns checks the entries of an application rule list: "*", or a
// value (with '*' wildcards inside) that starts with one of first (any
// start when first is nil), without white space.
func checkPatterns(what string, first []byte) func(v any) error {
	return func(v any) error {
		for _, e := range v.([]any) {
			s := e.(string)
			if strings.ContainsAny(s, " \t\r\n") {
				return fmt.Errorf("%q must not contain white space", s)
			}
			if strings.Count(s, "*") > MaxPatternStars {
				return fmt.Errorf("%q has more than %d wildcards", s, MaxPatternStars)
			}
			if s == "*" || first == nil || s[0] == '*' {
				continue
			}
			if !strings.ContainsRune(string(first), rune(s[0])) {
				return fmt.Errorf("%q is not an %s pattern: it must be '*' or start with one of %q", s, what, string(first))
			}
		}
		return nil
	}
}
