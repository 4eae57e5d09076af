package e2e

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// Black-box tests of the attribute tables and the generic CREATE / RETRIEVE /
// UPDATE / DELETE semantics (protocol.md 1.5, 1.12, 3.1-3.8; TS-0004 7.3.3.3,
// 7.3.3.4, 7.4.2-7.4.8). Every bad request asserts the exact status code and
// that nothing changed.

const admin = "CAdmin"

// absent in a case's attributes removes the attribute from the base body.
var absent = &struct{}{}

// with returns base changed by mod (absent deletes a key).
func with(base, mod map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range mod {
		if v == absent {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// get retrieves path as the admin and returns the decoded body.
func get(t *testing.T, c *testcse.CSE, path string) map[string]any {
	t.Helper()
	return c.Do(testcse.Req{Method: "GET", Path: path, From: admin}).Must(t, 2000).JSON
}

// childRefs lists the structured addresses of path's children (rcn=6) as the admin.
func childRefs(t *testing.T, c *testcse.CSE, path string) []string {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: path + "?rcn=6", From: admin}).Must(t, 2000)
	rrl, _ := r.JSON["m2m:rrl"].(map[string]any)
	var out []string
	l, _ := rrl["rrf"].([]any)
	for _, e := range l {
		m, _ := e.(map[string]any)
		out = append(out, fmt.Sprint(m["val"]))
	}
	return out
}

// state is what must not change when a request fails: the resource itself
// and the list of its children.
type state struct {
	res  map[string]any
	kids []string
}

func snap(t *testing.T, c *testcse.CSE, path string) state {
	t.Helper()
	return state{get(t, c, path), childRefs(t, c, path)}
}

func (s state) mustEqual(t *testing.T, c *testcse.CSE, path string) {
	t.Helper()
	now := snap(t, c, path)
	if !reflect.DeepEqual(s.res, now.res) {
		t.Errorf("%s changed:\n before %v\n after  %v", path, s.res, now.res)
	}
	if !slices.Equal(s.kids, now.kids) {
		t.Errorf("children of %s changed:\n before %v\n after  %v", path, s.kids, now.kids)
	}
}

func dbg(r *testcse.Resp) string {
	s, _ := r.JSON["m2m:dbg"].(string)
	return s
}

// badCase is one request that must be refused.
type badCase struct {
	name  string
	attrs map[string]any // applied to the base body
	rsc   int            // 4000 when zero
	// mention must appear in the debug message; when empty it is the quoted
	// name of the case's only attribute (if it has exactly one).
	mention string
}

func (bc badCase) want() int {
	if bc.rsc == 0 {
		return 4000
	}
	return bc.rsc
}

func (bc badCase) checkDbg(t *testing.T, r *testcse.Resp) {
	t.Helper()
	m := bc.mention
	if m == "" && len(bc.attrs) == 1 {
		for k := range bc.attrs {
			m = `"` + k + `"`
		}
	}
	if m != "" && !strings.Contains(dbg(r), m) {
		t.Errorf("debug message %q does not name %s", dbg(r), m)
	}
}

// typeSpec describes one resource type for the table-driven tests.
type typeSpec struct {
	name string
	ty   int
	key  string
	// setup prepares a parent and returns its path and the originator to use.
	setup func(t *testing.T, c *testcse.CSE) (parent, from string)
	base  map[string]any // a valid CREATE body without rn
	// createBad and updateBad are checked against the spec tables, not the code.
	createBad, updateBad []badCase
	// deletable are optional attributes an UPDATE may delete with null: each is
	// set first (value) and then removed.
	deletable map[string]any
	// updatable false: every UPDATE is 4005 (contentInstance).
	notUpdatable bool
}

var universalRO = map[string]any{
	"ri": "x123", "pi": "x123", "ty": 3, "ct": "20200101T000000", "lt": "20200101T000000",
}

// roCases makes one case per read-only attribute.
func roCases(extra map[string]any) []badCase {
	var out []badCase
	all := maps.Clone(universalRO)
	maps.Copy(all, extra)
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, badCase{name: "read-only " + k, attrs: map[string]any{k: all[k]}})
	}
	return out
}

func missing(attrs ...string) []badCase {
	var out []badCase
	for _, a := range attrs {
		out = append(out, badCase{name: "missing " + a, attrs: map[string]any{a: absent}, mention: `"` + a + `"`})
	}
	return out
}

func cases(groups ...[]badCase) []badCase { return slices.Concat(groups...) }

func future(d time.Duration) string { return primitive.FormatTime(time.Now().Add(d)) }

var past = "20000101T000000"

func aeSetup(t *testing.T, c *testcse.CSE) (string, string) {
	rn := fmt.Sprintf("owner%d", ownerSeq.Add(1))
	aei := c.RegisterAE(rn)
	return "/cse-in/" + rn, aei
}

func cntSetup(t *testing.T, c *testcse.CSE) (string, string) {
	ae, aei := aeSetup(t, c)
	c.Create(aei, ae, 3, "m2m:cnt", map[string]any{"rn": "box"})
	return ae + "/box", aei
}

var ownerSeq atomic.Int64

var acpRule = map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}}

func typeSpecs() []typeSpec {
	return []typeSpec{
		{
			name: "AE", ty: 2, key: "m2m:ae",
			setup: func(t *testing.T, c *testcse.CSE) (string, string) { return "/cse-in", "C" },
			base:  map[string]any{"api": "Nbad", "rr": true, "srv": []any{"3"}},
			createBad: cases(
				missing("api", "rr", "srv"),
				roCases(map[string]any{"aei": "Cx"}),
				[]badCase{
					{name: "creator", attrs: map[string]any{"cr": nil}},       // <AE> has no creator (TS-0004 7.3.3.3)
					{name: "stateTag", attrs: map[string]any{"st": int64(1)}}, // not an attribute of <AE>
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "api int", attrs: map[string]any{"api": 5}},
					{name: "api X", attrs: map[string]any{"api": "Xfoo"}},
					{name: "rr string", attrs: map[string]any{"rr": "true"}},
					{name: "rr int", attrs: map[string]any{"rr": 1}},
					{name: "srv string", attrs: map[string]any{"srv": "3"}},
					{name: "srv object", attrs: map[string]any{"srv": map[string]any{"a": "3"}}},
					{name: "srv int entries", attrs: map[string]any{"srv": []any{3}}},
					{name: "srv empty", attrs: map[string]any{"srv": []any{}}},
					{name: "srv release 9", attrs: map[string]any{"srv": []any{"9"}}},
					{name: "poa int entries", attrs: map[string]any{"poa": []any{1}}},
					{name: "lbl string", attrs: map[string]any{"lbl": "a"}},
					{name: "apn list", attrs: map[string]any{"apn": []any{"a"}}},
					{name: "regs string", attrs: map[string]any{"regs": "1"}},
					{name: "regs 3", attrs: map[string]any{"regs": 3}},
					{name: "tri bool", attrs: map[string]any{"tri": true}},
					{name: "tri 65536", attrs: map[string]any{"tri": 65536}},
					{name: "trn -1", attrs: map[string]any{"trn": -1}},
					{name: "csz yaml", attrs: map[string]any{"csz": []any{"yaml"}}},
					{name: "et int", attrs: map[string]any{"et": 5}},
					{name: "et past", attrs: map[string]any{"et": past}},
					{name: "acpi empty", attrs: map[string]any{"acpi": []any{}}},
					{name: "acpi dangling", attrs: map[string]any{"acpi": []any{"acpNone"}}, mention: "acpi"},
					{name: "rn int", attrs: map[string]any{"rn": 5}},
					{name: "rn slash", attrs: map[string]any{"rn": "a/b"}},
					{name: "rn null", attrs: map[string]any{"rn": nil}},
				}),
			updateBad: cases(
				roCases(map[string]any{"aei": "Cx"}),
				[]badCase{
					{name: "rn", attrs: map[string]any{"rn": "other"}},
					{name: "api", attrs: map[string]any{"api": "Nother"}},
					{name: "cr", attrs: map[string]any{"cr": nil}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "rr null", attrs: map[string]any{"rr": nil}},
					{name: "srv null", attrs: map[string]any{"srv": nil}}, // multiplicity 1 (L)
					{name: "rr string", attrs: map[string]any{"rr": "false"}},
					{name: "srv object", attrs: map[string]any{"srv": map[string]any{}}},
					{name: "srv int entries", attrs: map[string]any{"srv": []any{4}}},
					{name: "regs 0", attrs: map[string]any{"regs": 0}},
					{name: "poa object", attrs: map[string]any{"poa": map[string]any{}}},
					{name: "et past", attrs: map[string]any{"et": past}},
				}),
			deletable: map[string]any{"apn": "app", "lbl": []any{"a"}, "poa": []any{"http://127.0.0.1:1"}, "regs": int64(1)},
		},
		{
			name: "container", ty: 3, key: "m2m:cnt", setup: aeSetup,
			base: map[string]any{},
			createBad: cases(
				roCases(map[string]any{"st": 0, "cni": 0, "cbs": 0, "li": "x"}),
				[]badCase{
					{name: "creator value", attrs: map[string]any{"cr": "Cx"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "attribute of another type", attrs: map[string]any{"con": "x"}},
					{name: "mni string", attrs: map[string]any{"mni": "5"}},
					{name: "mni float", attrs: map[string]any{"mni": 1.5}},
					{name: "mni bool", attrs: map[string]any{"mni": true}},
					{name: "mni negative", attrs: map[string]any{"mni": -1}},
					{name: "mbs negative", attrs: map[string]any{"mbs": -1}},
					{name: "mia negative", attrs: map[string]any{"mia": -1}},
					{name: "mia list", attrs: map[string]any{"mia": []any{1}}},
					{name: "disr string", attrs: map[string]any{"disr": "true"}},
					{name: "disr int", attrs: map[string]any{"disr": 1}},
					{name: "lbl object", attrs: map[string]any{"lbl": map[string]any{"a": "b"}}},
					{name: "lbl int entries", attrs: map[string]any{"lbl": []any{1}}},
					{name: "acpi string", attrs: map[string]any{"acpi": "acp1"}},
					{name: "et not a time", attrs: map[string]any{"et": "tomorrow"}},
					{name: "et past", attrs: map[string]any{"et": past}},
					{name: "or int", attrs: map[string]any{"or": 1}},
					{name: "at string", attrs: map[string]any{"at": "/id-mn"}},
					{name: "daci bool", attrs: map[string]any{"daci": true}},
				}),
			updateBad: cases(
				roCases(map[string]any{"st": 0, "cni": 0, "cbs": 0, "li": "x"}),
				[]badCase{
					{name: "rn", attrs: map[string]any{"rn": "other"}},
					{name: "cr null", attrs: map[string]any{"cr": nil}},
					{name: "cr value", attrs: map[string]any{"cr": "Cx"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "mni string", attrs: map[string]any{"mni": "1"}},
					{name: "mni negative", attrs: map[string]any{"mni": -1}},
					{name: "mbs object", attrs: map[string]any{"mbs": map[string]any{}}},
					{name: "disr int", attrs: map[string]any{"disr": 0}},
					{name: "lbl int entries", attrs: map[string]any{"lbl": []any{true}}},
					{name: "et past", attrs: map[string]any{"et": past}},
					{name: "acpi empty", attrs: map[string]any{"acpi": []any{}}},
				}),
			deletable: map[string]any{"mni": int64(5), "mbs": int64(100), "mia": int64(1000), "lbl": []any{"a"}, "disr": false, "or": "http://o"},
		},
		{
			name: "contentInstance", ty: 4, key: "m2m:cin", setup: cntSetup,
			base: map[string]any{"con": "hello"},
			createBad: cases(
				missing("con"), // M in Rel-3 (TS-0004 Table 7.4.7.1-3)
				roCases(map[string]any{"st": 1, "cs": 5}),
				[]badCase{
					{name: "creator value", attrs: map[string]any{"cr": "Cx"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "acpi", attrs: map[string]any{"acpi": []any{"x"}}}, // no acpi on <contentInstance>
					{name: "attribute of another type", attrs: map[string]any{"mni": 1}},
					{name: "cnf int", attrs: map[string]any{"cnf": 1}},
					{name: "cnf no media type", attrs: map[string]any{"cnf": "plain"}},
					{name: "cnf encoding 7", attrs: map[string]any{"cnf": "text/plain:7"}},
					{name: "lbl string", attrs: map[string]any{"lbl": "x"}},
					{name: "et int", attrs: map[string]any{"et": 1}},
					{name: "et past", attrs: map[string]any{"et": past}},
					{name: "or bool", attrs: map[string]any{"or": false}},
					{name: "conr string", attrs: map[string]any{"conr": "x"}},
				}),
			notUpdatable: true,
		},
		{
			name: "subscription", ty: 23, key: "m2m:sub", setup: cntSetup,
			base: map[string]any{"nu": []any{"placeholder"}}, // replaced by the AE-ID in the test
			createBad: cases(
				missing("nu"),
				roCases(nil),
				[]badCase{
					{name: "creator value", attrs: map[string]any{"cr": "Cx"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "nu string", attrs: map[string]any{"nu": "x"}},
					{name: "nu empty", attrs: map[string]any{"nu": []any{}}},
					{name: "nu int entries", attrs: map[string]any{"nu": []any{1}}},
					{name: "nu object", attrs: map[string]any{"nu": map[string]any{"a": 1}}},
					{name: "exc 0", attrs: map[string]any{"exc": 0}},
					{name: "exc string", attrs: map[string]any{"exc": "1"}},
					{name: "nct 9", attrs: map[string]any{"nct": 9}},
					{name: "nct string", attrs: map[string]any{"nct": "1"}},
					{name: "enc string", attrs: map[string]any{"enc": "x"}},
					{name: "enc net 9", attrs: map[string]any{"enc": map[string]any{"net": []any{9}}}},
					{name: "enc net string", attrs: map[string]any{"enc": map[string]any{"net": "1"}}},
					{name: "enc unknown member", attrs: map[string]any{"enc": map[string]any{"foo": 1}}, mention: `"foo"`},
					{name: "nct not for net", attrs: map[string]any{"enc": map[string]any{"net": []any{2}}, "nct": 2}, mention: "notificationContentType"},
					{name: "ln string", attrs: map[string]any{"ln": "true"}},
					{name: "pn 3", attrs: map[string]any{"pn": 3}},
					{name: "psn 0", attrs: map[string]any{"psn": 0}},
					{name: "nsp 0", attrs: map[string]any{"nsp": 0}},
					{name: "bn num string", attrs: map[string]any{"bn": map[string]any{"num": "2"}}},
					{name: "rl list", attrs: map[string]any{"rl": []any{1}}},
					{name: "nfu int", attrs: map[string]any{"nfu": 1}},
					{name: "et past", attrs: map[string]any{"et": past}},
				}),
			updateBad: cases(
				roCases(nil),
				[]badCase{
					{name: "rn", attrs: map[string]any{"rn": "other"}},
					{name: "cr", attrs: map[string]any{"cr": nil}},
					{name: "psn", attrs: map[string]any{"psn": 1}},
					{name: "su", attrs: map[string]any{"su": "x"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "nu null", attrs: map[string]any{"nu": nil}},
					{name: "nct null", attrs: map[string]any{"nct": nil}}, // multiplicity 1
					{name: "nu empty", attrs: map[string]any{"nu": []any{}}},
					{name: "exc 0", attrs: map[string]any{"exc": 0}},
					{name: "nct 9", attrs: map[string]any{"nct": 9}},
					{name: "enc object in list", attrs: map[string]any{"enc": []any{map[string]any{}}}},
					{name: "net 7 by update", attrs: map[string]any{"enc": map[string]any{"net": []any{7}}}, mention: "7"},
				}),
			deletable: map[string]any{"exc": int64(10), "ln": true, "lbl": []any{"a"}, "nsp": int64(1)},
		},
		{
			name: "accessControlPolicy", ty: 1, key: "m2m:acp", setup: aeSetup,
			base: map[string]any{"pv": acpRule, "pvs": acpRule},
			createBad: cases(
				missing("pv", "pvs"),
				roCases(nil),
				[]badCase{
					{name: "creator", attrs: map[string]any{"cr": nil}}, // <accessControlPolicy> has no creator
					{name: "acpi", attrs: map[string]any{"acpi": []any{"x"}}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "pv string", attrs: map[string]any{"pv": "x"}},
					{name: "pv list", attrs: map[string]any{"pv": []any{}}},
					{name: "pvs empty", attrs: map[string]any{"pvs": map[string]any{"acr": []any{}}}},
					{name: "pv acop 64", attrs: map[string]any{"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 64}}}}},
					{name: "pv acop string", attrs: map[string]any{"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": "2"}}}}},
					{name: "adri string", attrs: map[string]any{"adri": "x"}},
					{name: "apri int entries", attrs: map[string]any{"apri": []any{1}}},
					{name: "et past", attrs: map[string]any{"et": past}},
				}),
			updateBad: cases(
				roCases(nil),
				[]badCase{
					{name: "rn", attrs: map[string]any{"rn": "other"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "pv null", attrs: map[string]any{"pv": nil}},
					{name: "pvs null", attrs: map[string]any{"pvs": nil}},
					{name: "pvs empty", attrs: map[string]any{"pvs": map[string]any{"acr": []any{}}}},
					{name: "pv int", attrs: map[string]any{"pv": 1}},
					{name: "airi object", attrs: map[string]any{"airi": map[string]any{}}},
				}),
			deletable: map[string]any{"adri": []any{"x"}, "lbl": []any{"a"}},
		},
		{
			name: "group", ty: 9, key: "m2m:grp", setup: aeSetup,
			base: map[string]any{"mnm": 5, "mid": []any{}},
			createBad: cases(
				missing("mnm", "mid"),
				roCases(map[string]any{"cnm": 0, "mtv": true, "ssi": false}),
				[]badCase{
					{name: "creator value", attrs: map[string]any{"cr": "Cx"}},
					{name: "unknown", attrs: map[string]any{"foo": 1}},
					{name: "mnm 0", attrs: map[string]any{"mnm": 0}},
					{name: "mnm string", attrs: map[string]any{"mnm": "5"}},
					{name: "mid string", attrs: map[string]any{"mid": "cnt1"}},
					{name: "mid int entries", attrs: map[string]any{"mid": []any{1}}},
					{name: "mid empty entry", attrs: map[string]any{"mid": []any{""}}},
					{name: "mt string", attrs: map[string]any{"mt": "3"}},
					{name: "mt negative", attrs: map[string]any{"mt": -1}},
					{name: "csy 0", attrs: map[string]any{"csy": 0}},
					{name: "csy 4", attrs: map[string]any{"csy": 4}},
					{name: "gn int", attrs: map[string]any{"gn": 1}},
					{name: "macp string", attrs: map[string]any{"macp": "acp1"}},
					{name: "macp dangling", attrs: map[string]any{"macp": []any{"acpNone"}}, mention: "acpNone"},
					{name: "nar num 0", attrs: map[string]any{"nar": map[string]any{"num": 0}}, mention: "bn.num"},
					{name: "nar unknown", attrs: map[string]any{"nar": map[string]any{"x": 1}}, mention: `"x"`},
					{name: "et past", attrs: map[string]any{"et": past}},
				}),
			updateBad: cases(
				roCases(map[string]any{"cnm": 0, "mtv": true, "ssi": false}),
				[]badCase{
					{name: "rn", attrs: map[string]any{"rn": "other"}},
					{name: "mt", attrs: map[string]any{"mt": 3}},
					{name: "csy", attrs: map[string]any{"csy": 1}},
					{name: "spty", attrs: map[string]any{"spty": 1}},
					{name: "cr", attrs: map[string]any{"cr": nil}},
					{name: "mnm null", attrs: map[string]any{"mnm": nil}},
					{name: "mid null", attrs: map[string]any{"mid": nil}},
					{name: "mnm 0", attrs: map[string]any{"mnm": 0}},
					{name: "mid int", attrs: map[string]any{"mid": 3}},
					{name: "macp dangling", attrs: map[string]any{"macp": []any{"acpNone"}}, mention: "acpNone"},
				}),
			deletable: map[string]any{"gn": "name", "lbl": []any{"a"}, "nar": map[string]any{"num": int64(2)}},
		},
	}
}

// TestAttributeValidation runs every bad CREATE and UPDATE of every type and
// checks the code, the debug message and that nothing changed.
func TestAttributeValidation(t *testing.T) {
	c := testcse.Start(t, nil)
	for i, ts := range typeSpecs() {
		t.Run(ts.name, func(t *testing.T) {
			parent, from := ts.setup(t, c)
			base := ts.base
			if ts.ty == 23 {
				base = with(base, map[string]any{"nu": []any{from}})
			}
			for _, bc := range ts.createBad {
				t.Run("create/"+bc.name, func(t *testing.T) {
					before := snap(t, c, parent)
					body := with(base, bc.attrs)
					if _, ok := body["rn"]; !ok {
						body["rn"] = "bad"
					}
					r := c.Do(testcse.Req{Method: "POST", Path: parent, From: from, Ty: ts.ty, Body: map[string]any{ts.key: body}})
					if r.RSC != bc.want() {
						t.Fatalf("CREATE %v: want %d, got %d: %s", bc.attrs, bc.want(), r.RSC, r.Body)
					}
					bc.checkDbg(t, r)
					before.mustEqual(t, c, parent)
				})
			}

			// One good resource to update.
			rn := fmt.Sprintf("good%d", i)
			goodFrom := from
			if ts.ty == 2 {
				goodFrom = "Cgood"
			}
			r := c.Do(testcse.Req{Method: "POST", Path: parent, From: goodFrom, Ty: ts.ty, Body: map[string]any{ts.key: with(base, map[string]any{"rn": rn})}}).Must(t, 2001)
			path := parent + "/" + rn
			if ts.ty == 2 {
				from = r.Res(ts.key)["aei"].(string)
			}
			if ts.notUpdatable {
				before := snap(t, c, path)
				for _, b := range []map[string]any{{}, {"lbl": []any{"a"}}, {"con": "x"}, {"foo": 1}} {
					r := c.Do(testcse.Req{Method: "PUT", Path: path, From: from, Body: map[string]any{ts.key: b}})
					r.Must(t, 4005)
				}
				before.mustEqual(t, c, path)
				return
			}
			for _, bc := range ts.updateBad {
				t.Run("update/"+bc.name, func(t *testing.T) {
					before := snap(t, c, path)
					r := c.Do(testcse.Req{Method: "PUT", Path: path, From: from, Body: map[string]any{ts.key: bc.attrs}})
					if r.RSC != bc.want() {
						t.Fatalf("UPDATE %v: want %d, got %d: %s", bc.attrs, bc.want(), r.RSC, r.Body)
					}
					bc.checkDbg(t, r)
					before.mustEqual(t, c, path)
				})
			}
			for _, k := range slices.Sorted(maps.Keys(ts.deletable)) {
				t.Run("update/null deletes "+k, func(t *testing.T) {
					set := c.Do(testcse.Req{Method: "PUT", Path: path, From: from, Body: map[string]any{ts.key: map[string]any{k: ts.deletable[k]}}}).Must(t, 2004)
					if got := set.Res(ts.key)[k]; !reflect.DeepEqual(got, ts.deletable[k]) {
						t.Fatalf("%s = %v after setting %v", k, got, ts.deletable[k])
					}
					del := c.Do(testcse.Req{Method: "PUT", Path: path, From: from, Body: map[string]any{ts.key: map[string]any{k: nil}}}).Must(t, 2004)
					if v, ok := del.Res(ts.key)[k]; ok {
						t.Fatalf("%s still %v in the UPDATE answer", k, v)
					}
					if v, ok := get(t, c, path)[ts.key].(map[string]any)[k]; ok {
						t.Fatalf("%s still %v after deleting it", k, v)
					}
				})
			}
		})
	}
}

// TestCreator: "cr": null asks for the creator, a value is refused, and
// without it there is no cr (TS-0004 7.3.3.3, 7.3.3.5).
func TestCreator(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	cnt := c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c1", "cr": nil})
	if cnt["cr"] != aei {
		t.Fatalf("cr = %v, want %s", cnt["cr"], aei)
	}
	if got := get(t, c, "/cse-in/ae/c1")["m2m:cnt"].(map[string]any)["cr"]; got != aei {
		t.Fatalf("stored cr = %v", got)
	}
	plain := c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c2"})
	if v, ok := plain["cr"]; ok {
		t.Fatalf("cr = %v without asking for it", v)
	}
	cin := c.Create(aei, "/cse-in/ae/c1", 4, "m2m:cin", map[string]any{"con": "x", "cr": nil})
	if cin["cr"] != aei {
		t.Fatalf("cin cr = %v", cin["cr"])
	}
	// The admin as creator.
	adm := c.Create(admin, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c3", "cr": nil})
	if adm["cr"] != admin {
		t.Fatalf("cr = %v, want %s", adm["cr"], admin)
	}
}

// TestDuplicateName: a second resource with the same rn under the same parent
// is 4105 CONFLICT and changes nothing; the same rn elsewhere is fine.
func TestDuplicateName(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "x", "lbl": []any{"first"}})
	before := snap(t, c, "/cse-in/ae")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "x"}}}).Must(t, 4105)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 23, Body: map[string]any{"m2m:sub": map[string]any{"rn": "x", "nu": []any{aei}}}}).Must(t, 4105)
	before.mustEqual(t, c, "/cse-in/ae")
	c.Create(aei, "/cse-in/ae/x", 3, "m2m:cnt", map[string]any{"rn": "x"})
	// la and ol are the virtual children of a container.
	for _, rn := range []string{"la", "ol"} {
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/x", From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"rn": rn, "con": "x"}}}).Must(t, 4000)
	}
}

// TestCSEBaseNotWritable: <CSEBase> UPDATE and DELETE are 4005 (TS-0004 7.4.3.2).
func TestCSEBaseNotWritable(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	before := get(t, c, "/cse-in")
	for _, from := range []string{admin, aei} {
		c.Do(testcse.Req{Method: "PUT", Path: "/cse-in", From: from, Body: map[string]any{"m2m:cb": map[string]any{"lbl": []any{"x"}}}}).Must(t, 4005)
		c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in", From: from}).Must(t, 4005)
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: from, Ty: 5, Body: map[string]any{"m2m:cb": map[string]any{}}}).Must(t, 4005)
	}
	if after := get(t, c, "/cse-in"); !reflect.DeepEqual(before, after) {
		t.Fatalf("CSEBase changed: %v → %v", before, after)
	}
	cb := before["m2m:cb"].(map[string]any)
	for _, k := range []string{"ri", "rn", "ty", "ct", "lt", "csi", "cst", "srt", "poa", "srv"} {
		if _, ok := cb[k]; !ok {
			t.Errorf("CSEBase has no %s: %v", k, cb)
		}
	}
	if cb["pi"] != "" {
		t.Errorf("CSEBase pi = %v, want empty (TS-0004 7.4.3.1)", cb["pi"])
	}
}

// TestResultContent checks which rcn each operation takes and the shape of
// each answer (protocol.md 1.5).
func TestResultContent(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	create := func(rcn int, rn string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "POST", Path: fmt.Sprintf("/cse-in/ae?rcn=%d", rcn), From: aei, Ty: 3,
			Body: map[string]any{"m2m:cnt": map[string]any{"rn": rn, "lbl": []any{"l"}}}})
	}
	t.Run("create", func(t *testing.T) {
		for _, rcn := range []int{4, 5, 6, 7, 8, 10, 11, 12} {
			before := snap(t, c, "/cse-in/ae")
			create(rcn, fmt.Sprintf("bad%d", rcn)).Must(t, 4000)
			before.mustEqual(t, c, "/cse-in/ae")
		}
		r := create(0, "r0").Must(t, 2001)
		if len(r.Body) != 0 {
			t.Errorf("rcn=0: body %s", r.Body)
		}
		r = create(1, "r1").Must(t, 2001)
		if r.Res("m2m:cnt")["rn"] != "r1" || r.Res("m2m:cnt")["ri"] == nil {
			t.Errorf("rcn=1: %s", r.Body)
		}
		r = create(2, "r2").Must(t, 2001)
		if r.JSON["m2m:uri"] != "cse-in/ae/r2" || len(r.JSON) != 1 {
			t.Errorf("rcn=2: %s", r.Body)
		}
		r = create(3, "r3").Must(t, 2001)
		rce, _ := r.JSON["m2m:rce"].(map[string]any)
		cnt, _ := rce["m2m:cnt"].(map[string]any)
		if rce["uri"] != "cse-in/ae/r3" || cnt["rn"] != "r3" {
			t.Errorf("rcn=3: %s", r.Body)
		}
		r = create(9, "r9").Must(t, 2001)
		mod := r.Res("m2m:cnt")
		for _, k := range []string{"ri", "ct", "lt", "et", "st", "cni", "cbs", "pi", "ty"} {
			if _, ok := mod[k]; !ok {
				t.Errorf("rcn=9: %s missing from %v", k, mod)
			}
		}
		for _, k := range []string{"rn", "lbl"} {
			if _, ok := mod[k]; ok {
				t.Errorf("rcn=9: %s was sent as given but is in %v", k, mod)
			}
		}
	})
	// A container with two instances and a sub-container.
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "tree"})
	c.Create(aei, "/cse-in/ae/tree", 4, "m2m:cin", map[string]any{"rn": "i1", "con": "a"})
	c.Create(aei, "/cse-in/ae/tree", 4, "m2m:cin", map[string]any{"rn": "i2", "con": "b"})
	c.Create(aei, "/cse-in/ae/tree", 3, "m2m:cnt", map[string]any{"rn": "sub"})
	t.Run("retrieve", func(t *testing.T) {
		for _, rcn := range []int{0, 2, 3, 7, 9, 10, 11, 12} {
			c.Do(testcse.Req{Method: "GET", Path: fmt.Sprintf("/cse-in/ae/tree?rcn=%d", rcn), From: aei}).Must(t, 4000)
		}
		r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=1", From: aei}).Must(t, 2000)
		if r.Res("m2m:cnt")["cni"] != int64(2) {
			t.Errorf("rcn=1: %s", r.Body)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=4", From: aei}).Must(t, 2000)
		m := r.Res("m2m:cnt")
		if m["rn"] != "tree" || len(m["m2m:cin"].([]any)) != 2 || len(m["m2m:cnt"].([]any)) != 1 {
			t.Errorf("rcn=4: %s", r.Body)
		}
		if first := m["m2m:cin"].([]any)[0].(map[string]any); first["con"] != "a" {
			t.Errorf("rcn=4: children not in creation order: %v", m["m2m:cin"])
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=5", From: aei}).Must(t, 2000)
		m = r.Res("m2m:cnt")
		ch, _ := m["ch"].([]any)
		if m["rn"] != "tree" || len(ch) != 3 {
			t.Fatalf("rcn=5: %s", r.Body)
		}
		want := map[string]any{"nm": "i1", "typ": int64(4), "val": "cse-in/ae/tree/i1"}
		if !reflect.DeepEqual(ch[0], want) {
			t.Errorf("rcn=5: ch[0] = %v, want %v", ch[0], want)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=6", From: aei}).Must(t, 2000)
		rrf, _ := r.JSON["m2m:rrl"].(map[string]any)["rrf"].([]any)
		if len(r.JSON) != 1 || len(rrf) != 3 || !reflect.DeepEqual(rrf[0], want) {
			t.Errorf("rcn=6: %s", r.Body)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=6&drt=2", From: aei}).Must(t, 2000)
		rrf, _ = r.JSON["m2m:rrl"].(map[string]any)["rrf"].([]any)
		if v := rrf[0].(map[string]any)["val"].(string); strings.Contains(v, "/") {
			t.Errorf("rcn=6 drt=2: val %q is not an unstructured ID", v)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=8", From: aei}).Must(t, 2000)
		m = r.Res("m2m:cnt")
		if _, ok := m["rn"]; ok || len(m["m2m:cin"].([]any)) != 2 || len(m) != 2 {
			t.Errorf("rcn=8: %s", r.Body)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/tree?rcn=4&ty=4", From: aei}).Must(t, 2000)
		if m := r.Res("m2m:cnt"); m["m2m:cnt"] != nil || len(m["m2m:cin"].([]any)) != 2 {
			t.Errorf("rcn=4&ty=4: %s", r.Body)
		}
	})
	t.Run("update", func(t *testing.T) {
		for _, rcn := range []int{2, 3, 4, 5, 6, 7, 8, 10} {
			before := snap(t, c, "/cse-in/ae/tree")
			c.Do(testcse.Req{Method: "PUT", Path: fmt.Sprintf("/cse-in/ae/tree?rcn=%d", rcn), From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}).Must(t, 4000)
			before.mustEqual(t, c, "/cse-in/ae/tree")
		}
		r := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/tree?rcn=0", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"a"}}}}).Must(t, 2004)
		if len(r.Body) != 0 {
			t.Errorf("rcn=0: body %s", r.Body)
		}
		r = c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/tree", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"b"}}}}).Must(t, 2004)
		if m := r.Res("m2m:cnt"); m["rn"] != "tree" || m["lbl"].([]any)[0] != "b" {
			t.Errorf("default rcn: %s", r.Body)
		}
		old := get(t, c, "/cse-in/ae/tree")["m2m:cnt"].(map[string]any)
		time.Sleep(2 * time.Millisecond)
		r = c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/tree?rcn=9", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"c"}, "mni": 1}}}).Must(t, 2004)
		mod := r.Res("m2m:cnt")
		// The CSE changed lt and st, and mni=1 dropped the oldest instance.
		want := []string{"cbs", "cni", "lt", "st"}
		if got := slices.Sorted(maps.Keys(mod)); !slices.Equal(got, want) {
			t.Errorf("rcn=9: attributes %v, want %v (%s)", got, want, r.Body)
		}
		if mod["st"] != old["st"].(int64)+1 || mod["cni"] != int64(1) {
			t.Errorf("rcn=9: %v", mod)
		}
	})
	t.Run("delete", func(t *testing.T) {
		for _, rcn := range []int{2, 3, 7, 9, 10} {
			c.Do(testcse.Req{Method: "DELETE", Path: fmt.Sprintf("/cse-in/ae/tree?rcn=%d", rcn), From: aei}).Must(t, 4000)
			get(t, c, "/cse-in/ae/tree")
		}
		mk := func(rn string) {
			c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": rn})
			c.Create(aei, "/cse-in/ae/"+rn, 4, "m2m:cin", map[string]any{"rn": "i", "con": "a"})
		}
		mk("d0")
		r := c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d0", From: aei}).Must(t, 2002)
		if len(r.Body) != 0 {
			t.Errorf("default rcn: body %s", r.Body)
		}
		mk("d1")
		r = c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d1?rcn=1", From: aei}).Must(t, 2002)
		if r.Res("m2m:cnt")["rn"] != "d1" {
			t.Errorf("rcn=1: %s", r.Body)
		}
		// TS-0001 Table 8.1.2-1 also allows 4, 5, 6 and 8 on DELETE: the
		// answer describes what was deleted.
		mk("d4")
		r = c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d4?rcn=4", From: aei}).Must(t, 2002)
		if m := r.Res("m2m:cnt"); m["rn"] != "d4" || len(m["m2m:cin"].([]any)) != 1 {
			t.Errorf("rcn=4: %s", r.Body)
		}
		mk("d5")
		r = c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d5?rcn=5", From: aei}).Must(t, 2002)
		if m := r.Res("m2m:cnt"); m["rn"] != "d5" || len(m["ch"].([]any)) != 1 {
			t.Errorf("rcn=5: %s", r.Body)
		}
		mk("d6")
		r = c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d6?rcn=6", From: aei}).Must(t, 2002)
		if rrf, _ := r.JSON["m2m:rrl"].(map[string]any)["rrf"].([]any); len(rrf) != 1 {
			t.Errorf("rcn=6: %s", r.Body)
		}
		mk("d8")
		r = c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/d8?rcn=8", From: aei}).Must(t, 2002)
		if m := r.Res("m2m:cnt"); m["rn"] != nil || len(m["m2m:cin"].([]any)) != 1 {
			t.Errorf("rcn=8: %s", r.Body)
		}
		for _, rn := range []string{"d0", "d1", "d4", "d5", "d6", "d8"} {
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/" + rn + "/i", From: admin}).Must(t, 4004)
		}
	})
}

// TestLastModifiedAndStateTag: lt moves on UPDATE only; a container's st goes
// up by one per UPDATE and per new instance, which copies it.
func TestLastModifiedAndStateTag(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	cnt := c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	if cnt["lt"] != cnt["ct"] || cnt["st"] != int64(0) {
		t.Fatalf("new container: lt %v ct %v st %v", cnt["lt"], cnt["ct"], cnt["st"])
	}
	time.Sleep(2 * time.Millisecond)
	for range 3 {
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c", From: aei}).Must(t, 2000)
	}
	if got := get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any); got["lt"] != cnt["lt"] || got["st"] != int64(0) {
		t.Fatalf("RETRIEVE changed lt/st: %v", got)
	}
	up := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}).Must(t, 2004).Res("m2m:cnt")
	if up["lt"] == cnt["lt"] || up["lt"].(string) < cnt["lt"].(string) || up["ct"] != cnt["ct"] {
		t.Fatalf("UPDATE: lt %v → %v, ct %v → %v", cnt["lt"], up["lt"], cnt["ct"], up["ct"])
	}
	if up["st"] != int64(1) {
		t.Fatalf("st after one UPDATE = %v", up["st"])
	}
	for i := int64(2); i <= 4; i++ {
		cin := c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "v"})
		if cin["st"] != i {
			t.Fatalf("instance st = %v, want %d", cin["st"], i)
		}
		if cin["lt"] != cin["ct"] {
			t.Fatalf("instance lt %v != ct %v", cin["lt"], cin["ct"])
		}
	}
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 10}}}).Must(t, 2004)
	if got := get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any); got["st"] != int64(5) {
		t.Fatalf("st = %v, want 5", got["st"])
	}
	// Other types' lt moves too.
	sub := c.Create(aei, "/cse-in/ae/c", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}})
	time.Sleep(2 * time.Millisecond)
	s2 := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/s", From: aei, Body: map[string]any{"m2m:sub": map[string]any{"exc": 3}}}).Must(t, 2004).Res("m2m:sub")
	if s2["lt"] == sub["lt"] {
		t.Fatalf("subscription lt unchanged by UPDATE")
	}
	ae := get(t, c, "/cse-in/ae")["m2m:ae"].(map[string]any)
	time.Sleep(2 * time.Millisecond)
	ae2 := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"rr": false}}}).Must(t, 2004).Res("m2m:ae")
	if ae2["lt"] == ae["lt"] || ae2["rr"] != false {
		t.Fatalf("AE UPDATE: %v", ae2)
	}
}

// TestInstancesAndVirtualResources: contentInstance UPDATE 4005, la/ol
// semantics, disableRetrieval.
func TestInstancesAndVirtualResources(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	for _, v := range []string{"la", "ol"} {
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/" + v, From: aei}).Must(t, 4004)
		c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/" + v, From: aei}).Must(t, 4004)
	}
	for i, con := range []string{"a", "bb", "ccc"} {
		c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": fmt.Sprintf("i%d", i), "con": con})
	}
	before := snap(t, c, "/cse-in/ae/c")
	for _, p := range []string{"la", "ol", "i1"} {
		c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/" + p, From: aei, Body: map[string]any{"m2m:cin": map[string]any{"lbl": []any{"x"}}}}).Must(t, 4005)
	}
	for _, p := range []string{"la", "ol"} {
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c/" + p, From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": "x"}}}).Must(t, 4005)
	}
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c/i1", From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": "x"}}}).Must(t, 4108)
	before.mustEqual(t, c, "/cse-in/ae/c")
	if got := get(t, c, "/cse-in/ae/c/i1")["m2m:cin"].(map[string]any); got["lbl"] != nil {
		t.Fatalf("instance changed: %v", got)
	}
	// la by unstructured address too.
	ri := get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any)["ri"].(string)
	if got := c.Do(testcse.Req{Method: "GET", Path: "/" + ri + "/la", From: aei}).Must(t, 2000).Res("m2m:cin")["con"]; got != "ccc" {
		t.Fatalf("%s/la con = %v", ri, got)
	}
	// DELETE la removes the newest and fixes the counters.
	r := c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/la?rcn=1", From: aei}).Must(t, 2002)
	if r.Res("m2m:cin")["rn"] != "i2" {
		t.Fatalf("DELETE la removed %s", r.Body)
	}
	cnt := get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any)
	if cnt["cni"] != int64(2) || cnt["cbs"] != int64(3) {
		t.Fatalf("after DELETE la: cni %v cbs %v, want 2 3", cnt["cni"], cnt["cbs"])
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/ol", From: aei}).Must(t, 2002)
	cnt = get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any)
	if cnt["cni"] != int64(1) || cnt["cbs"] != int64(2) {
		t.Fatalf("after DELETE ol: cni %v cbs %v, want 1 2", cnt["cni"], cnt["cbs"])
	}
	if got := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/ol", From: aei}).Must(t, 2000).Res("m2m:cin")["rn"]; got != "i1" {
		t.Fatalf("ol = %v", got)
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/i1", From: aei}).Must(t, 2002)
	cnt = get(t, c, "/cse-in/ae/c")["m2m:cnt"].(map[string]any)
	if cnt["cni"] != int64(0) || cnt["cbs"] != int64(0) {
		t.Fatalf("after deleting the last: cni %v cbs %v", cnt["cni"], cnt["cbs"])
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/la", From: aei}).Must(t, 4004)

	// disableRetrieval.
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": "k", "con": "kept"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"disr": true}}}).Must(t, 2004)
	before = snap(t, c, "/cse-in/ae/c")
	for _, p := range []string{"k", "la", "ol"} {
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/" + p, From: aei}).Must(t, 4005)
		c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/" + p, From: aei}).Must(t, 4005)
	}
	before.mustEqual(t, c, "/cse-in/ae/c")
	// New instances may still be added.
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "more"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"disr": false}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/k", From: aei}).Must(t, 2000)
	if got := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/la", From: aei}).Must(t, 2000).Res("m2m:cin")["con"]; got != "more" {
		t.Fatalf("la = %v", got)
	}
}

// TestContentShape: the content of a CREATE or UPDATE is exactly one member
// named after the type (TS-0004 7.3.3.3: not compatible with ty → 4000); an
// unknown type is 4000, a type onecse does not implement 5001.
func TestContentShape(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	before := snap(t, c, "/cse-in/ae")
	for _, tc := range []struct {
		name string
		ty   int
		body any
		rsc  int
	}{
		{"other type's key", 3, map[string]any{"m2m:cin": map[string]any{"con": "x"}}, 4000},
		{"two members", 3, map[string]any{"m2m:cnt": map[string]any{}, "m2m:cin": map[string]any{}}, 4000},
		{"list", 3, map[string]any{"m2m:cnt": []any{}}, 4000},
		{"string", 3, map[string]any{"m2m:cnt": "x"}, 4000},
		{"no content", 3, nil, 4000},
		{"not JSON", 3, "{", 4000},
		{"not implemented", 14, map[string]any{"m2m:nod": map[string]any{"ni": "x"}}, 5001},
		{"no such type", 99, map[string]any{"m2m:x": map[string]any{}}, 4000},
		{"not creatable: CSEBase", 5, map[string]any{"m2m:cb": map[string]any{}}, 4005},
		{"not a child of an AE", 4, map[string]any{"m2m:cin": map[string]any{"con": "x"}}, 4108},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			// An empty body still needs a media type to carry ty.
			c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: tc.ty, Body: tc.body, ContentType: "application/json"}).Must(t, tc.rsc)
			before.mustEqual(t, c, "/cse-in/ae")
		})
	}
	before = snap(t, c, "/cse-in/ae/c")
	for _, tc := range []struct {
		name string
		body any
	}{
		{"other type's key", map[string]any{"m2m:ae": map[string]any{"lbl": []any{"x"}}}},
		{"two members", map[string]any{"m2m:cnt": map[string]any{}, "m2m:ae": map[string]any{}}},
		{"list", map[string]any{"m2m:cnt": []any{}}},
		{"no content", nil},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) {
			c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: tc.body}).Must(t, 4000)
			before.mustEqual(t, c, "/cse-in/ae/c")
		})
	}
}

// TestSubscriptionCreator: a subscription gets cr when asked for or when it
// notifies somebody other than its originator (TS-0004 7.4.8.2.1), and a
// default nct (TS-0001 Table 9.6.8-4).
func TestSubscriptionCreator(t *testing.T) {
	c := testcse.Start(t, nil)
	rcv := testcse.NewReceiver(t) // answers the verification request
	aei := c.RegisterAE("ae")
	for _, tc := range []struct {
		nu     []any
		askCR  bool
		wantCR bool
	}{
		{[]any{aei}, false, false},
		{[]any{"/id-in/" + aei}, false, false},
		{[]any{aei}, true, true},
		{[]any{aei, rcv.URL}, false, true},
	} {
		attrs := map[string]any{"nu": tc.nu}
		if tc.askCR {
			attrs["cr"] = nil
		}
		sub := c.Create(aei, "/cse-in/ae", 23, "m2m:sub", attrs)
		cr, has := sub["cr"]
		if has != tc.wantCR || has && cr != aei {
			t.Errorf("nu %v cr requested %v: cr = %v (present %v)", tc.nu, tc.askCR, cr, has)
		}
		if sub["nct"] != int64(1) {
			t.Errorf("default nct = %v", sub["nct"])
		}
	}
	sub := c.Create(aei, "/cse-in/ae", 23, "m2m:sub", map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{2}}, "nct": 3})
	if sub["nct"] != int64(3) {
		t.Errorf("nct = %v, want 3 as asked", sub["nct"])
	}
	// The default nct of net 6 would be 4 (trigger payload), but onecse does
	// not deliver net 6: refused, not accepted and ignored.
	before := snap(t, c, "/cse-in/ae")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 23, Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{6}}}}}).Must(t, 5001)
	before.mustEqual(t, c, "/cse-in/ae")
}
