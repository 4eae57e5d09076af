package e2e

// Parameters of group requests: Group Request Identifier (gid, TS-0004
// 7.3.3.2), Group Request Target Members (grtm, 7.4.14.2.4) and Result
// Expiration Timestamp on a fan-out (7.4.14.2.5).

import (
	"slices"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// TestGroupRequestIdentifierRepeated: a hosting CSE that receives a gid
// again for the same target answers 4104; another target, or another gid,
// is served.
func TestGroupRequestIdentifierRepeated(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 10, "mid": []any{ri["c1"], ri["c2"]}}).Must(t, 2001)
	get := func(path, gid string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "GET", Path: path, From: aei, Header: map[string]string{"X-M2M-GID": gid}})
	}
	get("/cse-in/gae/c1", "g1").Must(t, 2000)
	get("/cse-in/gae/c1", "g1").Must(t, 4104)
	get("/cse-in/gae/c2", "g1").Must(t, 2000)
	get("/cse-in/gae/c1", "g2").Must(t, 2000)
	// A fanOutPoint reached again by the same group request.
	if got := rscs(agr(t, get("/cse-in/gae/g/fopt", "g3"))); !slices.Equal(got, []int64{2000, 2000}) {
		t.Fatalf("first fan-out: %v", got)
	}
	get("/cse-in/gae/g/fopt", "g3").Must(t, 4104)
	// The members got g3 too: a request of g3 to one of them is a repeat.
	get("/cse-in/gae/c2", "g3").Must(t, 4104)
}

// TestGroupRequestIdentifierTwoPaths: a member reached by one group
// request through two paths (directly and through a sub-group) is operated
// on once.
func TestGroupRequestIdentifierTwoPaths(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	sub := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "sub", "mnm": 10, "mid": []any{ri["c1"]}}).Must(t, 2001).Res("m2m:grp")
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 10, "mid": []any{ri["c1"], sub["ri"].(string) + "/fopt"}}).Must(t, 2001)
	rs := agr(t, c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/g/fopt", From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": "x"}}}))
	inner := rs[1]["pc"].(map[string]any)["m2m:agr"].(map[string]any)["m2m:rsp"].([]any)[0].(map[string]any)
	// The two paths run in parallel: either may come first.
	if got := []int64{rs[0]["rsc"].(int64), inner["rsc"].(int64)}; !slices.Equal(got, []int64{2001, 4104}) && !slices.Equal(got, []int64{4104, 2001}) {
		t.Fatalf("want one 2001 and one 4104 (directly, through the sub-group), got %v and %v", rs[0], inner)
	}
	if cni := get(t, c, "/cse-in/gae/c1")["m2m:cnt"].(map[string]any)["cni"]; cni != int64(1) {
		t.Fatalf("c1 has %v instances, want 1", cni)
	}
}

// TestGroupRequestTargetMembers: with grtm the fan-out goes only to the
// members listed, also members of a sub-group (through its fanOutPoint);
// an entry that is no member is refused with 4000 and nothing is sent.
func TestGroupRequestTargetMembers(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	sub := mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "sub", "mnm": 10, "mid": []any{ri["c1"], ri["c2"]}}).Must(t, 2001).Res("m2m:grp")
	subFopt := sub["ri"].(string) + "/fopt"
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 10, "mid": []any{ri["c3"], ri["c2"], subFopt}}).Must(t, 2001)
	create := func(query, con string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/g/fopt" + query, From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": con}}})
	}
	cni := func(rn string) int64 { return get(t, c, "/cse-in/gae/"+rn)["m2m:cnt"].(map[string]any)["cni"].(int64) }

	rs := agr(t, create("?grtm="+ri["c2"], "a"))
	if len(rs) != 1 || rs[0]["fr"] != ri["c2"] || rs[0]["rsc"] != int64(2001) {
		t.Fatalf("grtm c2: %v", rs)
	}
	if cni("c1") != 0 || cni("c2") != 1 || cni("c3") != 0 {
		t.Fatalf("instances c1 %d c2 %d c3 %d, want 0 1 0", cni("c1"), cni("c2"), cni("c3"))
	}
	// c1 is a member of the sub-group only: the request goes to the
	// sub-group's fanOutPoint, which sends it to c1 alone.
	rs = agr(t, create("?grtm="+ri["c1"]+"&grtm="+ri["c3"], "b"))
	if len(rs) != 2 || rs[0]["fr"] != ri["c3"] || rs[1]["fr"] != subFopt {
		t.Fatalf("grtm c1, c3: %v", rs)
	}
	inner := rs[1]["pc"].(map[string]any)["m2m:agr"].(map[string]any)["m2m:rsp"].([]any)
	if len(inner) != 1 || inner[0].(map[string]any)["fr"] != ri["c1"] {
		t.Fatalf("the sub-group fanned out to %v, want c1 only", inner)
	}
	if cni("c1") != 1 || cni("c2") != 1 || cni("c3") != 1 {
		t.Fatalf("instances c1 %d c2 %d c3 %d, want 1 1 1", cni("c1"), cni("c2"), cni("c3"))
	}
	// Not a member anywhere: 4000, nothing created.
	create("?grtm="+ri["c2"]+"&grtm="+ri["p"], "c").Must(t, 4000)
	if cni("c2") != 1 {
		t.Fatal("a refused grtm request created something")
	}
}

// TestGroupResultExpiration: a fan-out with a Result Expiration Timestamp
// answers at that time with the member answers received by then; a member
// that answers later is left out; when none answered, 5209
// GROUP_MEMBERS_NOT_RESPONDED (TS-0004 7.4.14.2.5). The slow member is a
// container whose UPDATE waits for the consent of a blocking update
// subscriber that does not answer.
func TestGroupResultExpiration(t *testing.T) {
	g := newNBGroupFixture(t) // "both": slow and quick, the slow one held
	f, c, quick := g.blockingFixture, g.c, g.quick
	mkGroup(c, f.aei, "/cse-in/blk", map[string]any{"rn": "slowonly", "mnm": 5, "mid": []any{g.slow}}).Must(t, 2001)
	update := func(grp string) (*testcse.Resp, time.Duration) {
		start := time.Now()
		r := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/blk/" + grp + "/fopt", From: f.aei,
			Header: map[string]string{"X-M2M-RST": primitive.FormatTime(time.Now().Add(time.Second))},
			Body:   map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}})
		return r, time.Since(start)
	}
	r, took := update("both")
	rs := agr(t, r)
	if len(rs) != 1 || rs[0]["fr"] != quick || rs[0]["rsc"] != int64(2004) {
		t.Fatalf("want only the quick member's 2004, got %s", r.Body)
	}
	if took > 3*time.Second {
		t.Errorf("the answer took %s: it should come at the result expiration time (1 s)", took)
	}
	r, took = update("slowonly")
	r.Must(t, 5209)
	if took > 3*time.Second {
		t.Errorf("5209 took %s", took)
	}
}
