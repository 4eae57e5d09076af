package primitive

import (
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var queryNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func applyRaw(t *testing.T, raw string) (*Request, error) {
	t.Helper()
	req := NewRequest()
	q, err := ParseQuery(raw)
	if err != nil {
		return req, err
	}
	return req, ApplyQuery(req, q, queryNow)
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want map[string][]string
	}{
		{"", map[string][]string{}},
		{"rcn=1", map[string][]string{"rcn": {"1"}}},
		// '+' stays: it separates list items in the oneM2M bindings.
		{"ty=2+3+4&lbl=a", map[string][]string{"ty": {"2+3+4"}, "lbl": {"a"}}},
		{"lbl=a&lbl=b&&x", map[string][]string{"lbl": {"a", "b"}, "x": {""}}},
		{"cr=C%2A&lbl=key%3Avalue&sp=a%20b", map[string][]string{"cr": {"C*"}, "lbl": {"key:value"}, "sp": {"a b"}}},
		{"a=b=c", map[string][]string{"a": {"b=c"}}},
	} {
		got, err := ParseQuery(tc.raw)
		if err != nil || !reflect.DeepEqual(map[string][]string(got), tc.want) {
			t.Errorf("ParseQuery(%q) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{"a=%zz", "%zz=1", "a=%"} {
		if _, err := ParseQuery(raw); ErrorRSC(err) != RSCBadRequest {
			t.Errorf("ParseQuery(%q): %v, want 4000", raw, err)
		}
	}
}

func TestApplyQueryParameters(t *testing.T) {
	ptrTrue, ptrFalse := true, false
	for _, tc := range []struct {
		raw   string
		check func(*Request) bool
	}{
		{"", func(r *Request) bool { return r.RCN == RCNAbsent && r.FC == nil && r.RT == nil }},
		{"rcn=0", func(r *Request) bool { return r.RCN == 0 }},
		{"rcn=4", func(r *Request) bool { return r.RCN == 4 }},
		{"rt=3", func(r *Request) bool { return r.RT != nil && r.RT.RTV == 3 }},
		{"rp=PT10S", func(r *Request) bool { return r.RP == "PT10S" }},
		{"rp=20300101T000000", func(r *Request) bool { return r.RP == "20300101T000000" }},
		{"rp=60000", func(r *Request) bool { return r.RP == "60000" }},
		{"da=true", func(r *Request) bool { return reflect.DeepEqual(r.DA, &ptrTrue) }},
		{"da=0", func(r *Request) bool { return reflect.DeepEqual(r.DA, &ptrFalse) }},
		{"drt=2", func(r *Request) bool { return r.DRT == 2 }},
		{"atrl=rn+lbl+ty", func(r *Request) bool { return reflect.DeepEqual(r.ATRL, []string{"rn", "lbl", "ty"}) }},
		{"atrl=rn&atrl=lbl", func(r *Request) bool { return reflect.DeepEqual(r.ATRL, []string{"rn", "lbl"}) }},
		{"rids=r1+r2&rids=r3", func(r *Request) bool { return reflect.DeepEqual(r.RIDs, []string{"r1", "r2", "r3"}) }},
		{"sqi=false&tqi=0&asi=false&auri=false", func(r *Request) bool { return r.FC == nil }},
	} {
		req, err := applyRaw(t, tc.raw)
		if err != nil || !tc.check(req) {
			t.Errorf("%q: %+v, %v", tc.raw, req, err)
		}
	}
}

func TestApplyQueryFilterCriteria(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	i64 := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		raw  string
		want FilterCriteria
	}{
		{"fu=1", FilterCriteria{FU: 1, Lim: -1}},
		{"fu=2&fo=2", FilterCriteria{FU: 2, FO: 2, Lim: -1}},
		{"lim=0", FilterCriteria{Lim: 0}},
		{"lim=10&lvl=2&ofst=3", FilterCriteria{Lim: 10, Lvl: 2, Ofst: 3}},
		{"crb=20250102T030405&cra=20250102T030405,5", FilterCriteria{CRB: ts, CRA: ts.Add(500 * time.Millisecond), Lim: -1}},
		{"ms=20250102T030405&us=20250102T030405&exb=20250102T030405&exa=20250102T030405", FilterCriteria{MS: ts, US: ts, EXB: ts, EXA: ts, Lim: -1}},
		{"sts=5&stb=0&sza=0&szb=100", FilterCriteria{STS: i64(5), STB: i64(0), SZA: i64(0), SZB: i64(100), Lim: -1}},
		// Lists: '+'-joined, repeated, or both (TS-0009 6.2.2.2).
		{"ty=2+3+4", FilterCriteria{Ty: []int{2, 3, 4}, Lim: -1}},
		{"ty=2&ty=3&ty=4", FilterCriteria{Ty: []int{2, 3, 4}, Lim: -1}},
		{"ty=2+3&ty=4", FilterCriteria{Ty: []int{2, 3, 4}, Lim: -1}},
		{"lbl=a+b&lbl=key%3Avalue", FilterCriteria{Labels: []string{"a", "b", "key:value"}, Lim: -1}},
		{"cty=text%2Fplain+application%2Fjson", FilterCriteria{ContentTypes: []string{"text/plain", "application/json"}, Lim: -1}},
		// Any other short name is an attribute condition; repeated, OR-ed.
		{"cr=Sam", FilterCriteria{Attrs: []AttrCond{{Name: "cr", Value: "Sam"}}, Lim: -1}},
		{"cr=C%2A&cr=Sam", FilterCriteria{Attrs: []AttrCond{{Name: "cr", Value: "C*"}, {Name: "cr", Value: "Sam"}}, Lim: -1}},
		{"fu=1&ty=3&cr=Sam&lim=10", FilterCriteria{FU: 1, Ty: []int{3}, Attrs: []AttrCond{{Name: "cr", Value: "Sam"}}, Lim: 10}},
		// labelsQuery: a list of expressions, '+'-joined or repeated.
		{"lbq=color%20EQ%20red+NT%20size&lbq=k%3Av", FilterCriteria{LabelsQuery: []LabelExpr{
			mustLabelExpr(t, "color EQ red"), mustLabelExpr(t, "NT size"), mustLabelExpr(t, "k:v")}, Lim: -1}},
		{"lbq=color%20IN%20(red,%20green)", FilterCriteria{LabelsQuery: []LabelExpr{mustLabelExpr(t, "color IN (red, green)")}, Lim: -1}},
	} {
		req, err := applyRaw(t, tc.raw)
		if err != nil || req.FC == nil || !reflect.DeepEqual(*req.FC, tc.want) {
			var got any = req.FC
			if req.FC != nil {
				got = *req.FC
			}
			t.Errorf("%q: %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func mustLabelExpr(t *testing.T, s string) LabelExpr {
	t.Helper()
	e, err := ParseLabelExpr(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestApplyQueryContentFilter: cfs and cfq come together; the query is
// compiled once, whole (a '+' in it is not a list separator).
func TestApplyQueryContentFilter(t *testing.T) {
	for _, q := range []string{"$.temp", "$[?@.temp > 20]", "$[?@.s == 'a+b']"} {
		raw := "fu=1&cfs=1&cfq=" + strings.ReplaceAll(url.QueryEscape(q), "+", "%20")
		raw = strings.ReplaceAll(raw, "%2B", "+") // a bare '+' must stay part of the query
		req, err := applyRaw(t, raw)
		if err != nil || req.FC == nil || req.FC.CFS != 1 || req.FC.CFQ == nil || req.FC.CFQ.String() != q {
			t.Errorf("%q: %+v, %v", raw, req.FC, err)
		}
	}
}

func TestApplyQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		raw string
		rsc RSC
	}{
		{"rcn=abc", RSCBadRequest},
		{"rcn=99", RSCBadRequest},
		{"rcn=-1", RSCBadRequest},
		{"rcn=", RSCBadRequest},
		{"rcn=1&rcn=2", RSCBadRequest},
		{"rcn=1+2", RSCBadRequest},
		{"rt=0", RSCBadRequest},
		{"rt=6", RSCBadRequest},
		{"rp=soon", RSCBadRequest},
		{"da=yes", RSCBadRequest},
		{"drt=3", RSCBadRequest},
		{"drt=0", RSCBadRequest},
		{"atrl=", RSCBadRequest},
		{"atrl=rn++lbl", RSCBadRequest},
		{"rids=", RSCBadRequest},
		{"fu=9", RSCBadRequest},
		{"fu=0", RSCBadRequest},
		{"fo=3", RSCBadRequest},
		{"lim=-1", RSCBadRequest},
		{"lim=x", RSCBadRequest},
		{"lim=99999999999", RSCBadRequest},
		{"lvl=0", RSCBadRequest},
		{"ofst=0", RSCBadRequest},
		{"crb=notatime", RSCBadRequest},
		{"cra=2025-01-02", RSCBadRequest},
		{"ms=1000", RSCBadRequest},
		{"sts=0", RSCBadRequest},
		{"stb=-1", RSCBadRequest},
		{"sza=-1", RSCBadRequest},
		{"szb=0", RSCBadRequest},
		{"ty=0", RSCBadRequest},
		{"ty=x", RSCBadRequest},
		{"ty=2+", RSCBadRequest},
		{"ty=", RSCBadRequest},
		{"lbl=", RSCBadRequest},
		{"lbl=a++b", RSCBadRequest},
		{"cty=", RSCBadRequest},
		{"sqi=maybe", RSCBadRequest},
		{"cr=", RSCBadRequest},
		{"foo-bar=1", RSCBadRequest},
		{"=1", RSCBadRequest},
		{"c.=1", RSCBadRequest},
		{"atr=x", RSCBadRequest},
		// Attributes that other conditions cover (TS-0004 7.3.3.17.9).
		{"ct=20250101T000000", RSCBadRequest},
		{"et=20250101T000000", RSCBadRequest},
		{"cs=3", RSCBadRequest},
		// Known, not implemented: answered, not ignored.
		{"sqi=true", RSCNotImplemented},
		{"tqi=1", RSCNotImplemented},
		{"asi=true", RSCNotImplemented},
		{"auri=true", RSCNotImplemented},
		{"tids=t1", RSCNotImplemented},
		{"ltids=t1", RSCNotImplemented},
		{"ma=PT1M", RSCNotImplemented},
		{"fu=3", RSCNotImplemented},
		{"chty=0", RSCBadRequest},
		{"chty=x", RSCBadRequest},
		{"pty=70000", RSCBadRequest},
		{"clbl=", RSCBadRequest},
		{"palb=", RSCBadRequest},
		{"arp=/la", RSCBadRequest},
		{"arp=a/../b", RSCBadRequest},
		{"arp=a//b", RSCBadRequest},
		{"arp=la&arp=ol", RSCBadRequest},
		{"arp=a+b", RSCBadRequest},
		{"smf=x", RSCNotImplemented}, // no <semanticDescriptor> resources
		{"lbq=", RSCBadRequest},
		{"lbq=color%20LT%20red", RSCBadRequest},
		{"lbq=a%20IN%20(b", RSCBadRequest},
		{"lbq=NT%20a%20b", RSCBadRequest},
		{"cfq=%24.a", RSCBadRequest},       // without cfs
		{"cfs=1", RSCBadRequest},           // without cfq
		{"cfs=2&cfq=%24.a", RSCBadRequest}, // the only syntax is 1
		{"cfs=0&cfq=%24.a", RSCBadRequest},
		{"cfs=x&cfq=%24.a", RSCBadRequest},
		{"cfs=1&cfq=%24%5B%3F", RSCBadRequest},       // $[? malformed
		{"cfs=1&cfq=temp", RSCBadRequest},            // not a JSONPath
		{"cfs=1&cfq=%24.a&cfq=%24.b", RSCBadRequest}, // one query
		{"cfs=1&cfq=", RSCBadRequest},
		{"gmty=1", RSCNotImplemented},
		{"c.lbl=a", RSCNotImplemented},
		{"p.rn=x", RSCNotImplemented},
	} {
		_, err := applyRaw(t, tc.raw)
		if ErrorRSC(err) != tc.rsc || err == nil {
			t.Errorf("%q: %v, want %d", tc.raw, err, tc.rsc)
		}
	}
}

// TestApplyQueryNamesTheParameter: the debug text names what was wrong.
func TestApplyQueryNamesTheParameter(t *testing.T) {
	for _, raw := range []string{"rcn=abc", "drt=3", "lim=-1", "crb=notatime", "fu=9", "chty=0", "arp=..", "pty=x", "cfs=2&cfq=$.a"} {
		name, _, _ := strings.Cut(raw, "=")
		_, err := applyRaw(t, raw)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v does not name %s", raw, err, name)
		}
	}
}

func FuzzApplyQuery(f *testing.F) {
	for _, s := range []string{
		"rcn=1", "fu=1&ty=3&cr=Sam&lim=10", "ty=2+3+4&lbl=a&lbl=b", "atrl=rn+lbl", "crb=20250102T030405&cra=20250101T000000,5",
		"rt=3&rp=PT10S&da=true&drt=2", "sts=5&stb=0&sza=0&szb=100", "c.lbl=a", "cr=C%2A", "a=%zz", "rcn=1&rcn=2", "&&=&",
		"chty=3+4&pty=2&clbl=a&palb=b", "arp=cnt1/la", "arp=../x",
		"lbq=color%20EQ%20red+NT%20size", "lbq=c%20IN%20(a,%20b)&lbq=k%3Av", "lbq=a%20NI%20(", "smf=x",
		"fu=1&cfs=1&cfq=%24%5B%3F%40.t%20%3E%2020%5D", "cfs=1&cfq=%24..a%5B0%3A2%5D", "cfq=%24.a", "cfs=2",
		"grtm=cnt1&grtm=%2Fid-mn%2Fcse-mn%2Fpub", "grtm=", "rt=1&rp=20301231T000000", "rt=2&rp=PT1H&rset=1000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req := NewRequest()
		q, err := ParseQuery(raw)
		if err == nil {
			err = ApplyQuery(req, q, queryNow)
		}
		if err != nil {
			var e *Error
			if e = AsError(err); e.RSC != RSCBadRequest && e.RSC != RSCNotImplemented {
				t.Fatalf("%q: %v is neither 4000 nor 5001", raw, err)
			}
			return
		}
		// What was accepted is within the ranges of the specification.
		if req.RCN != RCNAbsent && (req.RCN < 0 || req.RCN > 12) {
			t.Fatalf("%q: rcn %d", raw, req.RCN)
		}
		if req.DRT != 0 && req.DRT != 1 && req.DRT != 2 {
			t.Fatalf("%q: drt %d", raw, req.DRT)
		}
		for _, a := range req.ATRL {
			if a == "" {
				t.Fatalf("%q: empty atrl entry", raw)
			}
		}
		if fc := req.FC; fc != nil {
			if fc.FU < 0 || fc.FU > 2 || fc.FO < 0 || fc.FO > 2 || fc.Lim < -1 || fc.Lvl < 0 || fc.Ofst < 0 {
				t.Fatalf("%q: %+v", raw, fc)
			}
			for _, ty := range fc.Ty {
				if ty < 1 || ty > 65535 {
					t.Fatalf("%q: ty %d", raw, ty)
				}
			}
			for _, a := range fc.Attrs {
				if !isAttrName(a.Name) || a.Value == "" {
					t.Fatalf("%q: attribute condition %+v", raw, a)
				}
			}
			for _, ty := range slices.Concat(fc.ChildTy, fc.ParentTy) {
				if ty < 1 || ty > 65535 {
					t.Fatalf("%q: chty/pty %d", raw, ty)
				}
			}
			for _, e := range fc.LabelsQuery {
				if e.Key == "" || !slices.Contains([]string{"", "NT", "EQ", "NE", "IN", "NI"}, e.Op) || (e.Op == "" || e.Op == "NT") != (len(e.Values) == 0) {
					t.Fatalf("%q: labels query %+v", raw, e)
				}
			}
			if (fc.CFQ == nil) != (fc.CFS == 0) || fc.CFS != 0 && fc.CFS != CFSJSONPath {
				t.Fatalf("%q: cfs %d with cfq %v", raw, fc.CFS, fc.CFQ)
			}
			if fc.ARP != "" && (strings.HasPrefix(fc.ARP, "/") || strings.HasSuffix(fc.ARP, "/") || strings.Contains(fc.ARP, "//") || slices.Contains(strings.Split(fc.ARP, "/"), "..")) {
				t.Fatalf("%q: arp %q", raw, fc.ARP)
			}
		}
	})
}

// TestSetFilterMembers: the members of a serialised fc follow the rules of the
// query string, with JSON/CBOR types.
func TestSetFilterMembers(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	i64 := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		members map[string]any
		want    FilterCriteria
	}{
		{map[string]any{"fu": int64(1), "fo": int64(2), "lim": int64(0)}, FilterCriteria{FU: 1, FO: 2, Lim: 0}},
		{map[string]any{"lvl": int64(2), "ofst": int64(3)}, FilterCriteria{Lvl: 2, Ofst: 3, Lim: -1}},
		{map[string]any{"crb": "20250102T030405", "exa": "20250102T030405"}, FilterCriteria{CRB: ts, EXA: ts, Lim: -1}},
		{map[string]any{"sts": int64(5), "stb": int64(0), "sza": int64(0), "szb": int64(9)}, FilterCriteria{STS: i64(5), STB: i64(0), SZA: i64(0), SZB: i64(9), Lim: -1}},
		{map[string]any{"ty": []any{int64(2), int64(3)}, "lbl": []any{"a+b", "k:v"}, "cty": []any{"text/plain"}}, FilterCriteria{Ty: []int{2, 3}, Labels: []string{"a+b", "k:v"}, ContentTypes: []string{"text/plain"}, Lim: -1}},
		{map[string]any{"atr": []any{map[string]any{"nm": "cr", "val": "Sam"}, map[string]any{"nm": "mni", "val": int64(3)}}}, FilterCriteria{Attrs: []AttrCond{{Name: "cr", Value: "Sam"}, {Name: "mni", Value: int64(3)}}, Lim: -1}},
		// labelsQuery is a list of expressions; a lone string is a list of one.
		{map[string]any{"lbq": []any{"a", "b:c"}}, FilterCriteria{LabelsQuery: []LabelExpr{mustLabelExpr(t, "a"), mustLabelExpr(t, "b:c")}, Lim: -1}},
		{map[string]any{"lbq": "NT a"}, FilterCriteria{LabelsQuery: []LabelExpr{mustLabelExpr(t, "NT a")}, Lim: -1}},
	} {
		fc := NewFilterCriteria()
		var err error
		for _, name := range slices.Sorted(maps.Keys(tc.members)) {
			if err = SetFilter(fc, name, tc.members[name]); err != nil {
				break
			}
		}
		if err != nil || !reflect.DeepEqual(*fc, tc.want) {
			t.Errorf("%v: %+v, %v; want %+v", tc.members, *fc, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		v    any
		rsc  RSC
	}{
		{"fu", "1", RSCBadRequest},          // a string is not an integer
		{"fu", float64(1), RSCBadRequest},   // nor is a number with a fraction
		{"fu", int64(9), RSCBadRequest},     // out of range
		{"ty", int64(3), RSCBadRequest},     // a list is a list
		{"ty", []any{"3"}, RSCBadRequest},   // of integers
		{"lbl", []any{""}, RSCBadRequest},   // of non-empty strings
		{"lbl", "a", RSCBadRequest},         // not a scalar
		{"crb", int64(1000), RSCBadRequest}, // a timestamp is text
		{"atr", []any{map[string]any{"nm": "ct", "val": "x"}}, RSCBadRequest},
		{"atr", []any{map[string]any{"nm": "cr"}}, RSCBadRequest},
		{"atr", []any{map[string]any{"nm": "cr", "val": "x", "extra": 1}}, RSCBadRequest},
		{"atr", map[string]any{"nm": "cr", "val": "x"}, RSCBadRequest},
		{"bogus", int64(1), RSCBadRequest},
		{"fu", int64(3), RSCNotImplemented},
		{"lbq", "a EQ", RSCBadRequest},
		{"lbq", []any{"a", int64(1)}, RSCBadRequest},
		{"lbq", int64(1), RSCBadRequest},
		{"cfs", int64(2), RSCBadRequest},
		{"cfs", "1", RSCBadRequest},
		{"cfq", "$[", RSCBadRequest},
		{"cfq", []any{"$.a"}, RSCBadRequest},
		{"smf", []any{"SELECT ?x WHERE {}"}, RSCNotImplemented},
		{"catr", []any{}, RSCNotImplemented},
		{"gmty", int64(1), RSCNotImplemented},
	} {
		err := SetFilter(NewFilterCriteria(), tc.name, tc.v)
		if ErrorRSC(err) != tc.rsc || err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%v: %v, want %d naming %s", tc.name, tc.v, err, tc.rsc, tc.name)
		}
	}
}

func TestSetParamMembers(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		rsc  RSC // 0: accepted
	}{
		{"rcn", int64(4), 0},
		{"rcn", "4", RSCBadRequest},
		{"rcn", int64(13), RSCBadRequest},
		{"rp", "PT10S", 0},
		{"rp", int64(60000), 0},
		{"rp", "soon", RSCBadRequest},
		{"da", false, 0},
		{"da", "false", RSCBadRequest},
		{"drt", int64(2), 0},
		{"rids", []any{"r1"}, 0},
		{"rids", "r1", RSCBadRequest},
		{"sqi", false, 0},
		{"sqi", true, RSCNotImplemented},
		{"tids", []any{"t"}, RSCNotImplemented},
	} {
		req := NewRequest()
		ok, err := SetParam(req, tc.name, tc.v, queryNow)
		if !ok || ErrorRSC(err) != tc.rsc && !(err == nil && tc.rsc == 0) {
			t.Errorf("%s=%v: %v, %v; want %d", tc.name, tc.v, ok, err, tc.rsc)
		}
	}
	if ok, _ := SetParam(NewRequest(), "fu", int64(1), queryNow); ok {
		t.Error("fu is not a request parameter")
	}
}
