package primitive

import (
	"reflect"
	"testing"
	"time"
)

// ApplyQuery(ParseQuery(EncodeQuery(r.Query()))) gives back r's parameters
// and filter criteria: what a forwarding CSE renders is what the next hop
// decodes.
func TestQueryRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := time.Date(2025, 6, 7, 8, 9, 10, 123456000, time.UTC)
	i64 := func(n int64) *int64 { return &n }
	yes := true
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"nothing", Request{RCN: RCNAbsent}},
		{"rcn only", Request{RCN: RCNNothing}},
		{"partial retrieve", Request{RCN: RCNAbsent, ATRL: []string{"lbl", "rn", "ct"}}},
		{"parameters", Request{RCN: RCNAttributesAndChildren, RT: &ResponseType{RTV: RTFlexBlocking}, RP: "PT5M", DA: &yes, DRT: 2, RIDs: []string{"cnt1", "cnt 2"}}},
		{"discovery", Request{RCN: RCNAbsent, FC: &FilterCriteria{
			FU: FUDiscovery, FO: 2, Lim: 10, Lvl: 3, Ofst: 2,
			CRB: ts, CRA: ts.Add(-time.Hour), MS: ts, US: ts, EXB: ts, EXA: ts,
			STS: i64(1), STB: i64(0), SZA: i64(0), SZB: i64(100),
			Labels: []string{"key:value", "a&b=c", "space d", "ü"}, Ty: []int{3, 4, 10002},
			ContentTypes: []string{"text/plain"},
			Attrs:        []AttrCond{{Name: "rn", Value: "x"}, {Name: "rn", Value: "y"}, {Name: "mni", Value: "5"}},
		}}},
		{"labels and content queries", Request{RCN: RCNAbsent, FC: &FilterCriteria{
			FU: FUDiscovery, Lim: -1, CFS: CFSJSONPath, CFQ: mustContentQuery(t, "$[?@.s == 'a+b' && @.t > 20]"),
			LabelsQuery: []LabelExpr{mustLabelExpr(t, "color IN (red, green)"), mustLabelExpr(t, "NT k"), mustLabelExpr(t, "k:v")},
		}}},
		{"lim 0", Request{RCN: RCNAbsent, FC: &FilterCriteria{Lim: 0, FU: FUConditionalRetrieval}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := EncodeQuery(tc.req.Query())
			q, err := ParseQuery(raw)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", raw, err)
			}
			got := NewRequest()
			if err := ApplyQuery(got, q, now); err != nil {
				t.Fatalf("ApplyQuery(%q): %v", raw, err)
			}
			if got.FC != nil {
				// ApplyQuery sorts names; attribute conditions keep the
				// order within a name only.
				got.FC.Attrs = sortAttrs(got.FC.Attrs)
			}
			want := tc.req
			if want.FC != nil {
				fc := *want.FC
				fc.Attrs = sortAttrs(fc.Attrs)
				want.FC = &fc
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("round trip through %q:\n got %+v %+v\nwant %+v %+v", raw, got, got.FC, &want, want.FC)
			}
		})
	}
}

func mustContentQuery(t *testing.T, s string) *ContentQuery {
	t.Helper()
	q, err := ParseContentQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func sortAttrs(l []AttrCond) []AttrCond {
	out := append([]AttrCond(nil), l...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// A typed attribute condition value (from a serialised primitive) travels
// as text.
func TestQueryAttrText(t *testing.T) {
	r := Request{RCN: RCNAbsent, FC: &FilterCriteria{Lim: -1, Attrs: []AttrCond{{"mni", int64(5)}, {"rr", true}, {"x", 1.5}}}}
	got := EncodeQuery(r.Query())
	if want := "mni=5&rr=true&x=1.5"; got != want {
		t.Errorf("EncodeQuery = %q, want %q", got, want)
	}
}
