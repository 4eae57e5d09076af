package resource

import (
	"fmt"
	"strings"
)

// <contentInstance> (TS-0001 9.6.7, TS-0004 7.4.7, Table 7.4.7.1-3). It has no
// acpi (access follows the parent container) and cannot be updated.
//
// content is mandatory in Rel-3 even when contentRef is given; later releases
// relax that, which onecse does not follow yet.
func init() {
	Register(&Type{
		Ty: TyCIN, SN: "cin",
		Attrs: attrs(universal(), []*Attr{
			{SN: "et", Kind: KTime, Create: O, Update: NP, Single: true},
			{SN: "lbl", Kind: KStrList, Create: O, Update: NP},
			{SN: "at", Kind: KStrList, Create: O, Update: NP},
			{SN: "aa", Kind: KStrList, Create: O, Update: NP},
			creator(),
			ro("st", KInt),
			{SN: "cnf", Kind: KString, Create: O, Update: NP, Check: checkCNF},
			ro("cs", KInt),
			{SN: "conr", Kind: KAnyList, Create: O, Update: NP},
			{SN: "con", Kind: KAny, Create: M, Update: NP},
			{SN: "or", Kind: KString, Create: O, Update: NP},
		}),
		HasET:     true,
		Creatable: true, Deletable: true,
	})
}

// checkCNF checks contentInfo: <media type>:<encodingType 0|1|2>[:<contentSecurity>].
func checkCNF(v any) error {
	s := v.(string)
	// Looked at in place: this runs for every contentInstance.
	mt, rest, hasEnc := strings.Cut(s, ":")
	if strings.Count(s, ":") > 2 || !strings.Contains(mt, "/") {
		return fmt.Errorf("%q is not <media type>[:<encoding>[:<security>]]", s)
	}
	if hasEnc {
		enc, _, _ := strings.Cut(rest, ":")
		switch enc {
		case "0", "1", "2":
		default:
			return fmt.Errorf("%q has encoding %q, not 0, 1 or 2", s, enc)
		}
	}
	return nil
}

// ContentSize returns the size in bytes the CSE reports as cs for a content value:
// the length of a string, else the length of its JSON form.
func ContentSize(con any, encodedLen func(any) int) int64 {
	switch x := con.(type) {
	case nil:
		return 0
	case string:
		return int64(len(x))
	case []byte:
		return int64(len(x))
	}
	return int64(encodedLen(con))
}
