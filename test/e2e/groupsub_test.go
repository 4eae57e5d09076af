package e2e

// Subscriptions through a group's fanOutPoint and the aggregation of their
// notifications by the group host (TS-0001 10.2.7.10, 10.2.7.11; TS-0004
// 7.4.14.2.3, 7.4.14.2.5, 7.5.1.2.6).

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// grpSubSetup: an AE with containers c1 and c2 and a group g of both, with
// the group attributes extra (nar).
func grpSubSetup(t *testing.T, c *testcse.CSE, extra map[string]any) (aei string, ri map[string]string, grp map[string]any) {
	t.Helper()
	aei, ri = grpSetup(t, c)
	attrs := map[string]any{"rn": "g", "mnm": 10, "mid": []any{ri["c1"], ri["c2"]}}
	for k, v := range extra {
		attrs[k] = v
	}
	grp = mkGroup(c, aei, "/cse-in/gae", attrs).Must(t, 2001).Res("m2m:grp")
	return aei, ri, grp
}

// subscribeGroup sends a <subscription> CREATE to the group's fanOutPoint
// and returns the member subscriptions it created.
func subscribeGroup(t *testing.T, c *testcse.CSE, aei string, sub map[string]any) []map[string]any {
	t.Helper()
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/g/fopt", From: aei, Ty: 23, Body: map[string]any{"m2m:sub": sub}})
	rs := agr(t, r)
	var out []map[string]any
	for _, e := range rs {
		if e["rsc"] != int64(2001) {
			t.Fatalf("member answer %v", e)
		}
		pc, _ := e["pc"].(map[string]any)
		out = append(out, pc["m2m:sub"].(map[string]any))
	}
	return out
}

func sgnCons(sgns []map[string]any) []string {
	var out []string
	for _, s := range sgns {
		nev, _ := s["nev"].(map[string]any)
		rep, _ := nev["rep"].(map[string]any)
		cin, _ := rep["m2m:cin"].(map[string]any)
		out = append(out, fmt.Sprint(cin["con"]))
	}
	slices.Sort(out)
	return out
}

// TestGroupSubscribeAggregatesByNumber: with nfu, the member subscriptions
// notify the group (gpi and nu are the group's ID), and the group host
// sends the subscriber one m2m:agn once nar/num notifications arrived.
func TestGroupSubscribeAggregatesByNumber(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, ri, grp := grpSubSetup(t, c, map[string]any{"nar": map[string]any{"num": 2, "dur": "PT30S"}})
	gid := "/id-in/" + grp["ri"].(string)
	subs := subscribeGroup(t, c, aei, map[string]any{"rn": "gs", "nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}})
	var surs []string
	for _, s := range subs {
		if s["gpi"] != gid || fmt.Sprint(s["nu"]) != fmt.Sprint([]any{gid}) || s["nfu"] != rcv.URL {
			t.Fatalf("member subscription %v: want gpi and nu %s, nfu %s", s, gid, rcv.URL)
		}
		surs = append(surs, "/id-in/"+s["ri"].(string))
	}
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "a"})
	rcv.Quiet(0, 300*time.Millisecond) // one notification waits for the second
	addCIN(t, c, aei, "/cse-in/gae/c2", map[string]any{"con": "b"})
	got := rcv.Wait(1, wait)
	rcv.Quiet(1, 300*time.Millisecond)
	batch := got[0].Batch()
	if got[0].Header.Get("X-M2M-Origin") != "/id-in" || len(batch) != 2 {
		t.Fatalf("want one m2m:agn of 2 from /id-in, got %s from %s", got[0].Body, got[0].Header.Get("X-M2M-Origin"))
	}
	if cons := sgnCons(batch); !slices.Equal(cons, []string{"a", "b"}) {
		t.Fatalf("contents %v, want a and b", cons)
	}
	for _, s := range batch {
		if !slices.Contains(surs, s["sur"].(string)) || s["nfu"] != rcv.URL {
			t.Fatalf("notification %v: want sur one of %v and nfu %s", s, surs, rcv.URL)
		}
	}
	if len(rcv.All()) != 1 {
		t.Fatalf("the subscriber got %d requests (no verification expected: its nu is the group's at the members)", len(rcv.All()))
	}
	_ = ri
}

// TestGroupSubscribeAggregatesByDuration: nar with a duration only: what
// arrived within it goes as one m2m:agn when it has elapsed.
func TestGroupSubscribeAggregatesByDuration(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, _, _ := grpSubSetup(t, c, map[string]any{"nar": map[string]any{"dur": "PT1S"}})
	subscribeGroup(t, c, aei, map[string]any{"nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}})
	start := time.Now()
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "a"})
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "b"})
	addCIN(t, c, aei, "/cse-in/gae/c2", map[string]any{"con": "c"})
	got := rcv.Wait(1, wait)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("the aggregated notification came after %s, before nar/dur (1 s)", d)
	}
	rcv.Quiet(1, 300*time.Millisecond)
	if cons := sgnCons(got[0].Batch()); !slices.Equal(cons, []string{"a", "b", "c"}) {
		t.Fatalf("batch %s, want a, b and c", got[0].Body)
	}
}

// TestGroupSubscribeAggregatesWithoutNar: without nar the group host
// batches by currentNrOfMembers (and the SP's default duration).
func TestGroupSubscribeAggregatesWithoutNar(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, _, _ := grpSubSetup(t, c, nil)
	subscribeGroup(t, c, aei, map[string]any{"nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}})
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "a"})
	rcv.Quiet(0, 300*time.Millisecond)
	addCIN(t, c, aei, "/cse-in/gae/c2", map[string]any{"con": "b"})
	got := rcv.Wait(1, wait)
	if cons := sgnCons(got[0].Batch()); !slices.Equal(cons, []string{"a", "b"}) {
		t.Fatalf("batch %s, want a and b (cnm 2)", got[0].Body)
	}
}

// TestGroupSubscribePlain: without nfu the member subscriptions notify the
// subscriber directly; they still name the group in gpi.
func TestGroupSubscribePlain(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, _, grp := grpSubSetup(t, c, map[string]any{"nar": map[string]any{"num": 2}})
	for _, s := range subscribeGroup(t, c, aei, map[string]any{"nu": []any{rcv.URL}, "enc": map[string]any{"net": []any{3}}}) {
		if s["gpi"] != "/id-in/"+grp["ri"].(string) || fmt.Sprint(s["nu"]) != fmt.Sprint([]any{rcv.URL}) {
			t.Fatalf("member subscription %v", s)
		}
	}
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "a"})
	got := rcv.Wait(1, wait)
	if got[0].Sgn() == nil || ncons(got)[0] != "a" {
		t.Fatalf("want a plain m2m:sgn, got %s", got[0].Body)
	}
}

// TestGroupUnsubscribe: a DELETE of <group>/fopt/<rn> removes the member
// subscriptions, and the group host accepts no notification of them any
// more; a notification that no member subscription sent, or that does not
// come from the CSE hosting it, is refused (4103).
func TestGroupUnsubscribe(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, _, _ := grpSubSetup(t, c, map[string]any{"nar": map[string]any{"num": 1}})
	subs := subscribeGroup(t, c, aei, map[string]any{"rn": "gs", "nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}})
	notifyGroup := func(sur string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/g", From: aei, Body: map[string]any{"m2m:sgn": map[string]any{
			"sur": sur, "nfu": rcv.URL, "nev": map[string]any{"net": 3, "rep": map[string]any{"m2m:cin": map[string]any{"con": "forged"}}}}}})
	}
	notifyGroup("/id-in/sub-not-a-member").Must(t, 4103)
	member := "/id-in/" + subs[0]["ri"].(string)
	// Knowing a member subscription's ID is not enough: only the CSE that
	// hosts it sends its notifications.
	notifyGroup(member).Must(t, 4103)
	rcv.Quiet(0, 200*time.Millisecond)
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "real"})
	rcv.Wait(1, wait)

	rs := agr(t, c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/gae/g/fopt/gs", From: aei}))
	if got := rscs(rs); !slices.Equal(got, []int64{2002, 2002}) {
		t.Fatalf("member answers %v, want 2002 twice", got)
	}
	for _, p := range []string{"/cse-in/gae/c1/gs", "/cse-in/gae/c2/gs"} {
		c.Do(testcse.Req{Method: "GET", Path: p, From: aei}).Must(t, 4004)
	}
	notifyGroup(member).Must(t, 4103)
	addCIN(t, c, aei, "/cse-in/gae/c1", map[string]any{"con": "after"})
	rcv.Quiet(1, 300*time.Millisecond)
}

// TestGroupSubscribeNested: through a group whose member is a sub-group's
// fanOutPoint, the sub-group host aggregates its members' notifications
// and sends them to the outer group host, which takes them one by one into
// its own aggregation (aggregated notifications are not nested).
func TestGroupSubscribeNested(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei, ri, grp := grpSubSetup(t, c, map[string]any{"nar": map[string]any{"num": 2}})
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "outer", "mnm": 10, "mid": []any{ri["c3"], grp["ri"].(string) + "/fopt"},
		"nar": map[string]any{"num": 3}}).Must(t, 2001)
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/outer/fopt", From: aei, Ty: 23, Body: map[string]any{"m2m:sub": map[string]any{
		"nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}}}})
	if got := rscs(agr(t, r)); !slices.Equal(got, []int64{2001, 2000}) {
		t.Fatalf("member answers %v, want 2001 (c3) and 2000 (the sub-group's m2m:agr): %s", got, r.Body)
	}
	for _, p := range []string{"c1", "c2", "c3"} {
		addCIN(t, c, aei, "/cse-in/gae/"+p, map[string]any{"con": p})
	}
	got := rcv.Wait(1, wait)
	rcv.Quiet(1, 300*time.Millisecond)
	if cons := sgnCons(got[0].Batch()); !slices.Equal(cons, []string{"c1", "c2", "c3"}) {
		t.Fatalf("batch %s, want the notifications of c1, c2 and c3", got[0].Body)
	}
}
