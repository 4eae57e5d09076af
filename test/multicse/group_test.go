package multicse

import (
	"slices"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// A <group> on the IN with members on the IN and on a registered MN: member
// validation and the fanOutPoint reach the MN through the forwarding of the
// core, with the AE's own identity (TS-0001 10.2.7; TS-0004 7.4.14).
func TestGroupWithRemoteMembers(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	mn := testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", in))
	waitFor(t, "the MN is registered with the IN", func() bool { return get(in, "/cse-in/id-mn").RSC == 2000 })

	openACP(mn)
	pub := mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "pub", "acpi": []any{"cse-mn/open"}})
	mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "closed"})
	aei := in.RegisterAE("app")
	in.Create(aei, "/cse-in/app", 3, "m2m:cnt", map[string]any{"rn": "local"})
	grp := func(rn string, mid ...any) *testcse.Resp {
		return in.Do(testcse.Req{Method: "POST", Path: "/cse-in/app", From: aei, Ty: 9,
			Body: map[string]any{"m2m:grp": map[string]any{"rn": rn, "mnm": 5, "mt": 3, "csy": 2, "mid": mid}}})
	}
	// Validation on the MN: a missing member, one the AE may not read.
	grp("bad", "cse-in/app/local", "/id-mn/cse-mn/none").Must(t, 4004)
	grp("bad", "cse-in/app/local", "/id-mn/cse-mn/closed").Must(t, 5105)
	// A remote member of the wrong type (a <group> on the MN).
	mn.Create("CAdmin", "/cse-mn", 9, "m2m:grp", map[string]any{"rn": "mngrp", "mnm": 1, "mid": []any{}, "acpi": []any{"cse-mn/open"}})
	grp("bad", "cse-in/app/local", "/id-mn/cse-mn/mngrp").Must(t, 4110)
	get(in, "/cse-in/app/bad").Must(t, 4004)
	// The same remote container twice (structured and unstructured) counts once.
	g := grp("g", "cse-in/app/local", "/id-mn/cse-mn/pub", "/id-mn/"+pub["ri"].(string)).Must(t, 2001).Res("m2m:grp")
	if g["cnm"] != int64(2) || g["mtv"] != true {
		t.Fatalf("group: %v", g)
	}

	agr := func(r *testcse.Resp) []map[string]any {
		t.Helper()
		r.Must(t, 2000)
		var out []map[string]any
		for _, e := range r.JSON["m2m:agr"].(map[string]any)["m2m:rsp"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	codes := func(rs []map[string]any) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r["rsc"].(int64))
		}
		return out
	}
	rs := agr(in.Do(testcse.Req{Method: "POST", Path: "/cse-in/app/g/fopt", From: aei, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"con": "both"}}}))
	if !slices.Equal(codes(rs), []int64{2001, 2001}) {
		t.Fatalf("CREATE through fopt: %v", rs)
	}
	// The instance on the MN was created by the AE (SP-relative), through the IN.
	la := get(mn, "/cse-mn/pub/la").Must(t, 2000).Res("m2m:cin")
	if la["con"] != "both" {
		t.Fatalf("on the MN: %v", la)
	}
	rs = agr(in.Do(testcse.Req{Method: "GET", Path: "/cse-in/app/g/fopt/la", From: aei}))
	for _, r := range rs {
		if r["rsc"] != int64(2000) || r["pc"].(map[string]any)["m2m:cin"].(map[string]any)["con"] != "both" {
			t.Fatalf("fopt/la: %v", rs)
		}
	}
	rs = agr(in.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/app/g/fopt", From: aei}))
	if !slices.Equal(codes(rs), []int64{2002, 2002}) {
		t.Fatalf("DELETE through fopt: %v", rs)
	}
	get(mn, "/cse-mn/pub").Must(t, 4004)
	if g := get(in, "/cse-in/app/g").Res("m2m:grp"); g["cnm"] != int64(0) {
		t.Fatalf("members not removed: %v", g)
	}
}

// A subscription through the fanOutPoint of a group on the IN with a
// member on the MN: the member subscription on the MN notifies the group
// on the IN through the registration tree, and the group host aggregates
// it with the local member's (TS-0001 10.2.7.11; TS-0004 7.4.14.2.5).
func TestGroupSubscriptionWithRemoteMember(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	mn := testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", in))
	waitFor(t, "the MN is registered with the IN", func() bool { return get(in, "/cse-in/id-mn").RSC == 2000 })
	waitRegistered(t, mn, "/id-in")
	openACP(mn)
	mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "pub", "acpi": []any{"cse-mn/open"}})
	aei := in.RegisterAE("app")
	in.Create(aei, "/cse-in/app", 3, "m2m:cnt", map[string]any{"rn": "local"})
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in/app", From: aei, Ty: 9,
		Body: map[string]any{"m2m:grp": map[string]any{"rn": "g", "mnm": 5, "mid": []any{"cse-in/app/local", "/id-mn/cse-mn/pub"},
			"nar": map[string]any{"num": 2, "dur": "PT30S"}}}}).Must(t, 2001)
	rcv := testcse.NewReceiver(t)
	r := in.Do(testcse.Req{Method: "POST", Path: "/cse-in/app/g/fopt", From: aei, Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"rn": "gs", "nu": []any{rcv.URL}, "nfu": rcv.URL, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2000)
	for _, e := range r.JSON["m2m:agr"].(map[string]any)["m2m:rsp"].([]any) {
		if rsc := e.(map[string]any)["rsc"]; rsc != int64(2001) {
			t.Fatalf("member answers %s", r.Body)
		}
	}
	in.Create(aei, "/cse-in/app/local", 4, "m2m:cin", map[string]any{"con": "here"})
	mn.Create("CAdmin", "/cse-mn/pub", 4, "m2m:cin", map[string]any{"con": "there"})
	got := rcv.Wait(1, 10*time.Second)
	batch := got[0].Batch()
	if len(batch) != 2 {
		t.Fatalf("aggregated notification %s: want both members' notifications", got[0].Body)
	}
}
