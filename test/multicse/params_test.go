package multicse

import (
	"reflect"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// Every request parameter is forwarded hop by hop: a discovery, a partial
// retrieve and the other query parameters sent by an AE on the ASN to the
// IN (ASN → MN → IN) give what the same request gives at the IN directly.
func TestParametersForwarded(t *testing.T) {
	tr := startTree(t)
	openACP(tr.in)
	tr.in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}, "lbl": []any{"zone:a"}})
	for _, c := range []struct {
		rn  string
		lbl []any
	}{{"c1", []any{"zone:a", "kind:t"}}, {"c2", []any{"zone:b"}}, {"c3", []any{"zone:a"}}} {
		tr.in.Create("CAdmin", "/cse-in/shared", 3, "m2m:cnt", map[string]any{"rn": c.rn, "lbl": c.lbl, "acpi": []any{"cse-in/open"}})
	}
	aei := tr.asn.RegisterAE("sensor")
	for _, tc := range []struct {
		name  string
		query string
		rsc   int
		check func(t *testing.T, r *testcse.Resp)
	}{
		{"discovery by label", "?fu=1&lbl=zone:a", 2000, func(t *testing.T, r *testcse.Resp) {
			if got := strs(r.JSON["m2m:uril"]); !reflect.DeepEqual(got, []string{"cse-in/shared/c1", "cse-in/shared/c3"}) {
				t.Errorf("uril %v", got)
			}
		}},
		{"discovery ty, lim, ofst, drt", "?fu=1&ty=3&lvl=1&ofst=2&lim=1&drt=2", 2000, func(t *testing.T, r *testcse.Resp) {
			if got := strs(r.JSON["m2m:uril"]); len(got) != 1 {
				t.Errorf("uril %v, want one resource ID", got)
			}
		}},
		{"discovery, two labels OR-ed", "?fu=1&lbl=kind:t+zone:b&fo=2", 2000, func(t *testing.T, r *testcse.Resp) {
			if got := strs(r.JSON["m2m:uril"]); !reflect.DeepEqual(got, []string{"cse-in/shared/c1", "cse-in/shared/c2"}) {
				t.Errorf("uril %v", got)
			}
		}},
		{"partial retrieve", "?atrl=lbl+rn", 2000, func(t *testing.T, r *testcse.Resp) {
			cnt := r.Res("m2m:cnt")
			if len(cnt) != 2 || cnt["rn"] != "shared" || cnt["lbl"] == nil {
				t.Errorf("partial retrieve gave %v", cnt)
			}
		}},
		{"partial retrieve of an unknown attribute", "?atrl=nope", 4000, nil},
		{"conditional retrieve that does not match", "?fu=2&lbl=zone:b", 4004, nil},
		{"rcn 6 with a filter", "?rcn=6&lbl=zone:b", 2000, func(t *testing.T, r *testcse.Resp) {
			if l, _ := r.Res("m2m:rrl")["rrf"].([]any); len(l) != 1 {
				t.Errorf("rrl %v", r.JSON)
			}
		}},
		{"an attribute condition", "?fu=1&rn=c2", 2000, func(t *testing.T, r *testcse.Resp) {
			if got := strs(r.JSON["m2m:uril"]); !reflect.DeepEqual(got, []string{"cse-in/shared/c2"}) {
				t.Errorf("uril %v", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			through := tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in/shared" + tc.query, From: aei}).Must(t, tc.rsc)
			direct := tr.in.Do(testcse.Req{Method: "GET", Path: "/cse-in/shared" + tc.query, From: "/id-asn/" + aei}).Must(t, tc.rsc)
			if tc.check != nil {
				tc.check(t, through)
			}
			if tc.rsc == 2000 && !reflect.DeepEqual(through.JSON, direct.JSON) {
				t.Errorf("through the MN\n %v\nat the IN\n %v", through.JSON, direct.JSON)
			}
		})
	}
}
