package resource

import (
	"fmt"

	"github.com/onecse/onecse/primitive"
)

// attrs builds an attribute table from lists of attributes.
func attrs(groups ...[]*Attr) map[string]*Attr {
	m := map[string]*Attr{}
	for _, g := range groups {
		for _, a := range g {
			m[a.SN] = a
		}
	}
	return m
}

func ro(sn string, k Kind) *Attr { return &Attr{SN: sn, Kind: k, Create: NP, Update: NP} }

func checkResourceName(v any) error {
	if s, _ := v.(string); !primitive.ValidResourceName(s) {
		return fmt.Errorf("%q is not a valid resource name (a letter or digit, then letters, digits, '-', '.', '_')", s)
	}
	return nil
}

// universal are the attributes of every resource type (TS-0001 9.6.1.3).
func universal() []*Attr {
	return []*Attr{
		{SN: "rn", Kind: KString, Create: O, Update: NP, Check: checkResourceName},
		ro("ty", KInt), ro("ri", KString), ro("pi", KString), ro("ct", KTime), ro("lt", KTime),
	}
}

// common are the attributes most types share: et, lbl, at, aa.
func common() []*Attr {
	return []*Attr{
		{SN: "et", Kind: KTime, Create: O, Update: O, Single: true},
		{SN: "lbl", Kind: KStrList, Create: O, Update: O},
		{SN: "at", Kind: KStrList, Create: O, Update: O},
		{SN: "aa", Kind: KStrList, Create: O, Update: O},
	}
}

// withACPI are the access control attributes of types that have them.
func withACPI() []*Attr {
	return []*Attr{
		{SN: "acpi", Kind: KStrList, Create: O, Update: O, NonEmpty: true},
		{SN: "daci", Kind: KStrList, Create: O, Update: O},
	}
}

func creator() *Attr { return &Attr{SN: "cr", Kind: KString, Create: O, Update: NP} }

// listOfObjects checks that every entry of a list is an object (a complex
// type such as m2m:activityPattern); the members are not interpreted.
func listOfObjects(what string) func(v any) error {
	return func(v any) error {
		for i, e := range v.([]any) {
			if _, ok := e.(map[string]any); !ok {
				return fmt.Errorf("entry %d must be an object (%s), not %s", i, what, typeName(e))
			}
		}
		return nil
	}
}
