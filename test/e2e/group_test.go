package e2e

// <group> and its <fanOutPoint> over HTTP (TS-0001 9.6.13, 9.6.14, 10.2.7;
// TS-0004 7.4.13, 7.4.14; protocol.md 3.9, 3.14).

import (
	"reflect"
	"slices"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// grpSetup registers an AE "gae" (AE-ID Cgae) with containers c1, c2, c3 and
// an <accessControlPolicy> "p" (not a container).
func grpSetup(t *testing.T, c *testcse.CSE) (aei string, ri map[string]string) {
	t.Helper()
	aei = aclRegister(t, c, "Cgae", "gae")
	ri = map[string]string{}
	for _, rn := range []string{"c1", "c2", "c3"} {
		ri[rn] = c.Create(aei, "/cse-in/gae", 3, "m2m:cnt", map[string]any{"rn": rn})["ri"].(string)
	}
	ri["p"] = aclCreateACP(t, c, aei, "/cse-in/gae", "p", acrs(aclRule([]string{aei}, 63)), acrs(aclRule([]string{aei}, 63)))
	return aei, ri
}

func mkGroup(c *testcse.CSE, from, parent string, attrs map[string]any) *testcse.Resp {
	return c.Do(testcse.Req{Method: "POST", Path: parent, From: from, Ty: 9, Body: map[string]any{"m2m:grp": attrs}})
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// agr returns the member responses of a fanOutPoint answer, which must be
// 2000 OK with an m2m:agr.
func agr(t *testing.T, r *testcse.Resp) []map[string]any {
	t.Helper()
	r.Must(t, 2000)
	a, ok := r.JSON["m2m:agr"].(map[string]any)
	if !ok {
		t.Fatalf("no m2m:agr in %s", r.Body)
	}
	var out []map[string]any
	for _, e := range a["m2m:rsp"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func rscs(rs []map[string]any) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r["rsc"].(int64))
	}
	return out
}

// TestGroupCreateMembers: members in every address form, duplicates (also
// one resource under two forms) removed, defaults of mt, csy, cnm and mtv.
func TestGroupCreateMembers(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	mid := []any{ri["c1"], "cse-in/gae/c2", "/id-in/" + ri["c3"], "//onecse.example/id-in/cse-in/gae/c1", ri["c1"], "/id-in/cse-in/gae/p"}
	g := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 10, "mid": mid, "gn": "all"}).Must(t, 2001).Res("m2m:grp")
	want := []string{ri["c1"], "cse-in/gae/c2", "/id-in/" + ri["c3"], "/id-in/cse-in/gae/p"}
	if got := strs(g["mid"]); !slices.Equal(got, want) {
		t.Fatalf("mid = %v, want %v", got, want)
	}
	if g["cnm"] != int64(4) || g["mt"] != int64(0) || g["csy"] != int64(1) || g["mtv"] != true || g["mnm"] != int64(10) {
		t.Fatalf("cnm/mt/csy/mtv/mnm: %v", g)
	}
	if !reflect.DeepEqual(get(t, c, "/cse-in/gae/g")["m2m:grp"], g) {
		t.Fatalf("stored group differs from the CREATE answer")
	}
	// Empty groups are allowed.
	e := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "empty", "mnm": 1, "mid": []any{}}).Must(t, 2001).Res("m2m:grp")
	if e["cnm"] != int64(0) {
		t.Fatalf("empty group cnm %v", e["cnm"])
	}
	// A group under the CSEBase (by the admin) and not under a container.
	mkGroup(c, admin, "/cse-in", map[string]any{"rn": "top", "mnm": 1, "mid": []any{}}).Must(t, 2001)
	mkGroup(c, aei, "/cse-in/gae/c1", map[string]any{"rn": "x", "mnm": 1, "mid": []any{}}).Must(t, 4108)
}

// TestGroupBadMembers: a member that does not exist, too many members, the
// consistency strategies, and an UPDATE of mid and mnm; a refused request
// changes nothing.
func TestGroupBadMembers(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	before := snap(t, c, "/cse-in/gae")
	for _, bc := range []struct {
		name  string
		attrs map[string]any
		rsc   int
	}{
		{"member missing", map[string]any{"mnm": 5, "mid": []any{ri["c1"], "cnt-none"}}, 4004},
		{"member missing structured", map[string]any{"mnm": 5, "mid": []any{"cse-in/gae/nothing"}}, 4004},
		{"member bad address", map[string]any{"mnm": 5, "mid": []any{"/"}}, 4000},
		{"member attribute", map[string]any{"mnm": 5, "mid": []any{"cse-in/gae/c1#lbl"}}, 4000},
		{"fopt of a container", map[string]any{"mnm": 5, "mid": []any{"cse-in/gae/c1/fopt"}}, 4000},
		{"mnm exceeded", map[string]any{"mnm": 2, "mid": []any{ri["c1"], ri["c2"], ri["c3"]}}, 6010},
		{"ABANDON_GROUP", map[string]any{"mnm": 5, "mt": 3, "csy": 2, "mid": []any{ri["c1"], ri["p"]}}, 4110},
	} {
		t.Run(bc.name, func(t *testing.T) {
			bc.attrs["rn"] = "bad"
			mkGroup(c, aei, "/cse-in/gae", bc.attrs).Must(t, bc.rsc)
			before.mustEqual(t, c, "/cse-in/gae")
		})
	}
	// Duplicates do not count against mnm.
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "dup", "mnm": 1, "mid": []any{ri["c1"], ri["c1"]}}).Must(t, 2001)

	// ABANDON_MEMBER (the default): the <accessControlPolicy> is dropped.
	g := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "am", "mnm": 5, "mt": 3, "mid": []any{ri["c1"], ri["p"], ri["c2"]}}).Must(t, 2001).Res("m2m:grp")
	if got := strs(g["mid"]); !slices.Equal(got, []string{ri["c1"], ri["c2"]}) || g["cnm"] != int64(2) || g["mt"] != int64(3) || g["mtv"] != true {
		t.Fatalf("ABANDON_MEMBER: %v", g)
	}
	// SET_MIXED: every member stays, mt becomes 0.
	g = mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "sm", "mnm": 5, "mt": 3, "csy": 3, "mid": []any{ri["c1"], ri["p"]}}).Must(t, 2001).Res("m2m:grp")
	if got := strs(g["mid"]); len(got) != 2 || g["mt"] != int64(0) || g["csy"] != int64(3) {
		t.Fatalf("SET_MIXED: %v", g)
	}
	// ABANDON_GROUP with consistent members is fine.
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "ag", "mnm": 3, "mt": 3, "csy": 2, "mid": []any{ri["c1"], ri["c2"]}}).Must(t, 2001)

	// UPDATE: the same rules, against the stored mt and csy.
	put := func(path string, attrs map[string]any) *testcse.Resp {
		return c.Do(testcse.Req{Method: "PUT", Path: path, From: aei, Body: map[string]any{"m2m:grp": attrs}})
	}
	ag := snap(t, c, "/cse-in/gae/ag")
	put("/cse-in/gae/ag", map[string]any{"mnm": 1}).Must(t, 6010) // below cnm
	put("/cse-in/gae/ag", map[string]any{"mid": []any{ri["c1"], ri["c2"], ri["c3"], ri["c1"]}, "mnm": 2}).Must(t, 6010)
	put("/cse-in/gae/ag", map[string]any{"mid": []any{ri["c1"], ri["p"]}}).Must(t, 4110)
	put("/cse-in/gae/ag", map[string]any{"mid": []any{"nothing"}}).Must(t, 4004)
	ag.mustEqual(t, c, "/cse-in/gae/ag")
	u := put("/cse-in/gae/ag", map[string]any{"mid": []any{ri["c3"]}, "mnm": 1}).Must(t, 2004).Res("m2m:grp")
	if got := strs(u["mid"]); !slices.Equal(got, []string{ri["c3"]}) || u["cnm"] != int64(1) || u["mnm"] != int64(1) {
		t.Fatalf("after UPDATE: %v", u)
	}
	u = put("/cse-in/gae/am", map[string]any{"mid": []any{ri["p"], ri["c3"]}}).Must(t, 2004).Res("m2m:grp")
	if got := strs(u["mid"]); !slices.Equal(got, []string{ri["c3"]}) || u["cnm"] != int64(1) {
		t.Fatalf("ABANDON_MEMBER on UPDATE: %v", u)
	}
	u = put("/cse-in/gae/sm", map[string]any{"mid": []any{ri["p"]}}).Must(t, 2004).Res("m2m:grp")
	if u["cnm"] != int64(1) {
		t.Fatalf("SET_MIXED group on UPDATE: %v", u)
	}
}

// TestGroupFanOut: each operation through <group>/fopt and
// <group>/fopt/<relative path>, the aggregated response, and DELETE taking
// the deleted members out of the group.
func TestGroupFanOut(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	mid := []any{ri["c1"], "cse-in/gae/c2"}
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 5, "mt": 3, "mid": mid}).Must(t, 2001)
	fopt := "/cse-in/gae/g/fopt"

	// RETRIEVE: one m2m:rsp per member, in member order.
	rs := agr(t, c.Do(testcse.Req{Method: "GET", Path: fopt, From: aei}))
	if len(rs) != 2 || !slices.Equal(rscs(rs), []int64{2000, 2000}) {
		t.Fatalf("RETRIEVE fopt: %v", rs)
	}
	for i, r := range rs {
		cnt := r["pc"].(map[string]any)["m2m:cnt"].(map[string]any)
		if want := []string{"c1", "c2"}[i]; cnt["rn"] != want {
			t.Fatalf("member %d is %v, want %s", i, cnt["rn"], want)
		}
		if r["fr"] != mid[i] || r["to"] != aei || r["rqi"] == nil || r["rqi"] == "" {
			t.Fatalf("member %d response: fr %v to %v rqi %v", i, r["fr"], r["to"], r["rqi"])
		}
	}
	// The same with the group addressed by its resource ID.
	gri := get(t, c, "/cse-in/gae/g")["m2m:grp"].(map[string]any)["ri"].(string)
	if rs := agr(t, c.Do(testcse.Req{Method: "GET", Path: "/~/id-in/" + gri + "/fopt", From: aei})); len(rs) != 2 {
		t.Fatalf("fopt by resource ID: %v", rs)
	}

	// CREATE: a contentInstance in every member.
	rs = agr(t, c.Do(testcse.Req{Method: "POST", Path: fopt, From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": "hello"}}}))
	if !slices.Equal(rscs(rs), []int64{2001, 2001}) {
		t.Fatalf("CREATE fopt: %v", rs)
	}
	for _, rn := range []string{"c1", "c2"} {
		if cni := cntAttrs(t, c, "/cse-in/gae/"+rn)["cni"]; cni != int64(1) {
			t.Fatalf("%s cni %v after CREATE through fopt", rn, cni)
		}
	}
	// RETRIEVE with a relative path: each member's latest instance.
	rs = agr(t, c.Do(testcse.Req{Method: "GET", Path: fopt + "/la", From: aei}))
	for _, r := range rs {
		if r["rsc"] != int64(2000) || r["pc"].(map[string]any)["m2m:cin"].(map[string]any)["con"] != "hello" {
			t.Fatalf("fopt/la: %v", rs)
		}
	}
	// A relative path that only one member has.
	c.Create(aei, "/cse-in/gae/c1", 3, "m2m:cnt", map[string]any{"rn": "sub"})
	if got := rscs(agr(t, c.Do(testcse.Req{Method: "GET", Path: fopt + "/sub", From: aei}))); !slices.Equal(got, []int64{2000, 4004}) {
		t.Fatalf("fopt/sub: %v", got)
	}

	// UPDATE.
	rs = agr(t, c.Do(testcse.Req{Method: "PUT", Path: fopt, From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"fanned"}}}}))
	if !slices.Equal(rscs(rs), []int64{2004, 2004}) {
		t.Fatalf("UPDATE fopt: %v", rs)
	}
	for _, rn := range []string{"c1", "c2"} {
		if lbl := strs(cntAttrs(t, c, "/cse-in/gae/"+rn)["lbl"]); !slices.Equal(lbl, []string{"fanned"}) {
			t.Fatalf("%s lbl %v", rn, lbl)
		}
	}
	// A bad UPDATE fails in every member, each with its own code.
	rs = agr(t, c.Do(testcse.Req{Method: "PUT", Path: fopt, From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": "x"}}}))
	if !slices.Equal(rscs(rs), []int64{4000, 4000}) {
		t.Fatalf("bad UPDATE fopt: %v", rs)
	}

	// DELETE of the relative path la: instances go, members stay.
	rs = agr(t, c.Do(testcse.Req{Method: "DELETE", Path: fopt + "/la", From: aei}))
	if !slices.Equal(rscs(rs), []int64{2002, 2002}) {
		t.Fatalf("DELETE fopt/la: %v", rs)
	}
	if g := get(t, c, "/cse-in/gae/g")["m2m:grp"].(map[string]any); g["cnm"] != int64(2) {
		t.Fatalf("members removed by deleting their instances: %v", g)
	}
	// DELETE: the members go, and leave the group.
	rs = agr(t, c.Do(testcse.Req{Method: "DELETE", Path: fopt, From: aei}))
	if !slices.Equal(rscs(rs), []int64{2002, 2002}) {
		t.Fatalf("DELETE fopt: %v", rs)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/gae/c1", From: aei}).Must(t, 4004)
	g := get(t, c, "/cse-in/gae/g")["m2m:grp"].(map[string]any)
	if g["cnm"] != int64(0) || len(strs(g["mid"])) != 0 {
		t.Fatalf("after DELETE through fopt: %v", g)
	}
	// No members: 4109.
	c.Do(testcse.Req{Method: "GET", Path: fopt, From: aei}).Must(t, 4109)
	// fopt of something that is not a group is no virtual resource.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/gae/c3/fopt", From: aei}).Must(t, 4004)
}

// TestGroupFanOutAccess: the fanOutPoint is governed by macp (else the
// group's own acpi), every member by its own policies with the original
// originator; validation needs the right to read each member (5105).
func TestGroupFanOutAccess(t *testing.T) {
	c := testcse.Start(t, nil)
	a1 := aclRegister(t, c, "Cone", "one")
	a2 := aclRegister(t, c, "Ctwo", "two")
	a3 := aclRegister(t, c, "Cthree", "three")
	c.Create(a1, "/cse-in/one", 3, "m2m:cnt", map[string]any{"rn": "mine"})
	c.Create(a2, "/cse-in/two", 3, "m2m:cnt", map[string]any{"rn": "theirs"})

	// AE one may not read AE two's container: it cannot make it a member.
	mkGroup(c, a1, "/cse-in/one", map[string]any{"rn": "g", "mnm": 5, "mid": []any{"cse-in/one/mine", "cse-in/two/theirs"}}).Must(t, 5105)
	aclAbsent(t, c, "/cse-in/one/g")

	// The admin makes the group; macp lets AE one (not three) use the fanOutPoint.
	macp := aclCreateACP(t, c, admin, "/cse-in", "macp", acrs(aclRule([]string{a1}, 63)), acrs(aclRule([]string{admin}, 63)))
	mkGroup(c, admin, "/cse-in", map[string]any{"rn": "g", "mnm": 5, "macp": []any{macp}, "mid": []any{"cse-in/one/mine", "cse-in/two/theirs"}}).Must(t, 2001)
	rs := agr(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/g/fopt", From: a1}))
	if !slices.Equal(rscs(rs), []int64{2000, 4103}) {
		t.Fatalf("member access with the originator's rights: %v", rs)
	}
	theirs := snap(t, c, "/cse-in/two/theirs")
	rs = agr(t, c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/g/fopt", From: a1, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}))
	if !slices.Equal(rscs(rs), []int64{2004, 4103}) {
		t.Fatalf("UPDATE: %v", rs)
	}
	theirs.mustEqual(t, c, "/cse-in/two/theirs")
	rs = agr(t, c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/g/fopt", From: a1}))
	if !slices.Equal(rscs(rs), []int64{2002, 4103}) {
		t.Fatalf("DELETE: %v", rs)
	}
	theirs.mustEqual(t, c, "/cse-in/two/theirs")
	if mid := strs(get(t, c, "/cse-in/g")["m2m:grp"].(map[string]any)["mid"]); !slices.Equal(mid, []string{"cse-in/two/theirs"}) {
		t.Fatalf("mid after a partly denied DELETE: %v", mid)
	}
	// AE three is not in macp: the fanOutPoint itself refuses, for every operation.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		r := testcse.Req{Method: m, Path: "/cse-in/g/fopt", From: a3}
		if m == "PUT" {
			r.Body = map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"y"}}}
		}
		c.Do(r).Must(t, 4103)
	}
	theirs.mustEqual(t, c, "/cse-in/two/theirs")
	// AE one may use the fanOutPoint but not read the group itself (its acpi
	// is empty: only its creator, the admin).
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/g", From: a1}).Must(t, 4103)

	// Without macp the group's own access control decides: its creator may.
	c.Create(a1, "/cse-in/one", 3, "m2m:cnt", map[string]any{"rn": "again"})
	mkGroup(c, a1, "/cse-in/one", map[string]any{"rn": "own", "mnm": 5, "mid": []any{"cse-in/one/again"}}).Must(t, 2001)
	agr(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/one/own/fopt", From: a1}))
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/one/own/fopt", From: a3}).Must(t, 4103)
}

// TestGroupSubGroups: a member <group>/fopt fans out into the sub-group; a
// group reached twice by one request answers 4104 for that member.
func TestGroupSubGroups(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "inner", "mnm": 5, "mt": 3, "mid": []any{ri["c1"], ri["c2"]}}).Must(t, 2001)
	// A sub-group of containers fits a group of containers.
	outer := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "outer", "mnm": 5, "mt": 3, "csy": 2, "mid": []any{"cse-in/gae/inner/fopt", ri["c3"]}}).Must(t, 2001).Res("m2m:grp")
	if outer["cnm"] != int64(2) {
		t.Fatalf("outer: %v", outer)
	}
	// A mixed sub-group does not.
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "mixed", "mnm": 5, "mid": []any{ri["p"]}}).Must(t, 2001)
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "bad", "mnm": 5, "mt": 3, "csy": 2, "mid": []any{"cse-in/gae/mixed/fopt"}}).Must(t, 4110)

	rs := agr(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/gae/outer/fopt/la", From: aei}))
	if !slices.Equal(rscs(rs), []int64{2000, 4004}) { // inner's aggregate; c3 has no instance
		t.Fatalf("outer/fopt/la: %v", rs)
	}
	inner := rs[0]["pc"].(map[string]any)["m2m:agr"].(map[string]any)["m2m:rsp"].([]any)
	if len(inner) != 2 {
		t.Fatalf("inner aggregate: %v", inner)
	}

	// A loop: inner gets outer's fanOutPoint as a member.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/gae/inner", From: aei, Body: map[string]any{"m2m:grp": map[string]any{"mid": []any{ri["c1"], "cse-in/gae/outer/fopt"}}}}).Must(t, 2004)
	rs = agr(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/gae/outer/fopt", From: aei}))
	in := rs[0]["pc"].(map[string]any)["m2m:agr"].(map[string]any)["m2m:rsp"].([]any)
	if got := in[1].(map[string]any)["rsc"]; got != int64(4104) {
		t.Fatalf("the loop answered %v: %v", got, rs)
	}
}
