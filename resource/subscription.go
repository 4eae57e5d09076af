package resource

import (
	"fmt"
	"slices"

	"github.com/onecse/onecse/primitive"
)

// <subscription> (TS-0001 9.6.8, TS-0004 7.4.8, Table 7.4.8.1-3). Delivery of
// notifications is the notification service's job; here the attributes are
// validated and stored.
func init() {
	Register(&Type{
		Ty: TySubscription, SN: "sub",
		Attrs: attrs(universal(), common(), withACPI(), []*Attr{
			creator(),
			{SN: "enc", Kind: KObject, Create: O, Update: O, Check: checkENC},
			{SN: "exc", Kind: KInt, Create: O, Update: O, Min: 1},
			{SN: "nu", Kind: KStrList, Create: M, Update: O, NonEmpty: true, Single: true},
			{SN: "gpi", Kind: KString, Create: O, Update: O},
			{SN: "nfu", Kind: KString, Create: O, Update: O},
			{SN: "bn", Kind: KObject, Create: O, Update: O, Check: checkBN},
			{SN: "rl", Kind: KObject, Create: O, Update: O, Check: checkRL},
			{SN: "psn", Kind: KInt, Create: O, Update: NP, Min: 1},
			{SN: "pn", Kind: KInt, Create: O, Update: O, Enum: []int64{1, 2}},
			{SN: "nsp", Kind: KInt, Create: O, Update: O, Min: 1},
			{SN: "ln", Kind: KBool, Create: O, Update: O},
			// Multiplicity 1 (TS-0001 Table 9.6.8-2): the CSE sets a default when it
			// is absent, and an UPDATE may not remove it.
			{SN: "nct", Kind: KInt, Create: O, Update: O, Single: true, Enum: []int64{1, 2, 3, 4, 5}},
			{SN: "nec", Kind: KInt, Create: O, Update: O, Min: 0},
			{SN: "su", Kind: KString, Create: O, Update: NP},
			{SN: "acrs", Kind: KStrList, Create: O, Update: O},
		}),
		HasACPI:   true,
		HasET:     true,
		Creatable: true, Updatable: true, Deletable: true,
		Check: checkSubscription,
	})
}

var encMembers = map[string]Kind{
	"crb": KTime, "cra": KTime, "ms": KTime, "us": KTime, "exb": KTime, "exa": KTime,
	"sts": KInt, "stb": KInt, "sza": KInt, "szb": KInt,
	"net": KIntList, "atr": KStrList, "chty": KIntList, "om": KAnyList, "md": KObject, "fo": KInt,
}

// checkENC validates eventNotificationCriteria (TS-0004 6.3.5.7).
func checkENC(v any) error {
	for k, val := range v.(map[string]any) {
		kind, ok := encMembers[k]
		if !ok {
			return fmt.Errorf("unknown member %q of eventNotificationCriteria", k)
		}
		a := &Attr{SN: k, Kind: kind}
		switch k {
		case "net":
			a.Min, a.Max, a.NonEmpty = 1, 8, true
		case "fo":
			a.Enum = []int64{1, 2}
		case "sts", "szb":
			a.Min = 1
		case "chty":
			a.Min, a.Max = 1, 65535
		}
		if err := a.check(val); err != nil {
			return fmt.Errorf("enc.%s: %v", k, err)
		}
	}
	if _, om := v.(map[string]any)["om"]; om {
		if _, net := v.(map[string]any)["net"]; net {
			return fmt.Errorf("enc.net and enc.om must not be combined")
		}
	}
	return nil
}

func checkBN(v any) error {
	m := v.(map[string]any)
	for k, val := range m {
		switch k {
		case "num":
			if n, ok := val.(int64); !ok || n < 1 {
				return fmt.Errorf("bn.num must be a positive integer")
			}
		case "dur":
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("bn.dur must be a duration string")
			}
			if _, err := ParseDuration(s); err != nil {
				return fmt.Errorf("bn.dur: %v", err)
			}
		default:
			return fmt.Errorf("unknown member %q of batchNotify", k)
		}
	}
	return nil
}

func checkRL(v any) error {
	m := v.(map[string]any)
	for k, val := range m {
		switch k {
		case "mnn":
			if n, ok := val.(int64); !ok || n < 1 {
				return fmt.Errorf("rl.mnn must be a positive integer")
			}
		case "tww":
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("rl.tww must be a duration string")
			}
			if _, err := ParseDuration(s); err != nil {
				return fmt.Errorf("rl.tww: %v", err)
			}
		default:
			return fmt.Errorf("unknown member %q of rateLimit", k)
		}
	}
	return nil
}

// allowedNCT is TS-0004 Table 6.3.4.2.18-1: which notificationContentType fits
// which notificationEventType.
var allowedNCT = map[int64][]int64{
	1: {1, 2, 3}, 2: {1, 3}, 3: {1, 3}, 4: {1, 3}, 5: {1, 3}, 6: {4}, 7: {2}, 8: {5},
}

func checkSubscription(op primitive.Operation, body map[string]any) error {
	nct, hasNCT := body["nct"].(int64)
	enc, _ := body["enc"].(map[string]any)
	nets, _ := enc["net"].([]any)
	if hasNCT {
		for _, n := range nets {
			if !slices.Contains(allowedNCT[n.(int64)], nct) {
				return primitive.Errorf(primitive.RSCBadRequest, "notificationContentType %d is not allowed with notificationEventType %d", nct, n)
			}
		}
	}
	for _, n := range nets {
		if n.(int64) == 7 && op == primitive.OpUpdate {
			return primitive.Errorf(primitive.RSCBadRequest, "notificationEventType 7 (blocking update) cannot be set by UPDATE")
		}
	}
	return nil
}

// DefaultNCT returns the notificationContentType a subscription gets when it
// names none: the default of its first event type (all attributes for 1 to 5).
func DefaultNCT(enc map[string]any) int64 {
	nets, _ := enc["net"].([]any)
	if len(nets) > 0 {
		switch nets[0].(int64) {
		case 6:
			return 4
		case 7:
			return 2
		case 8:
			return 5
		}
	}
	return 1
}
