package e2e

// Non-blocking requests and <request> over HTTP (TS-0001 8.2.2, 9.6.12;
// TS-0004 7.3.2.2-7.3.2.5, 7.4.12, 7.5.1.2.5; protocol.md 12).

import (
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// nbAck checks the acknowledgement of a non-blocking request (202 with
// rsc, m2m:uri naming the <request>) and returns the <request>'s address.
func nbAck(t *testing.T, r *testcse.Resp, rsc int) string {
	t.Helper()
	r.Must(t, rsc)
	if r.Status != 202 {
		t.Fatalf("acknowledgement: HTTP %d, want 202", r.Status)
	}
	uri, _ := r.JSON["m2m:uri"].(string)
	if uri == "" {
		t.Fatalf("no m2m:uri in the acknowledgement: %s", r.Body)
	}
	if cl := r.Header.Get("Content-Location"); cl != "/"+uri {
		t.Errorf("Content-Location %q, want /%s", cl, uri)
	}
	return uri
}

// nbWait polls the <request> at uri as from until its requestStatus is no
// longer PENDING (or PARTIALLY_COMPLETED, a fan-out under way), and returns
// it.
func nbWait(t *testing.T, c *testcse.CSE, from, uri string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: from}).Must(t, 2000)
		req := r.Res("m2m:req")
		if rs, _ := req["rs"].(int64); rs != 3 && rs != 5 {
			return req
		}
		if time.Now().After(deadline) {
			t.Fatalf("the <request> is still PENDING: %s", r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNonBlockingSynchCreate(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/nb?rt=1", From: aei, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "box", "lbl": []string{"x"}}}})
	uri := nbAck(t, r, 1001)
	if !strings.HasPrefix(uri, "cse-in/req") {
		t.Errorf("m2m:uri %q is not a <request> under the CSEBase", uri)
	}
	rqi := r.Header.Get("X-M2M-RI")

	req := nbWait(t, c, aei, uri)
	if req["ty"] != int64(17) || req["pi"] == "" {
		t.Errorf("ty %v pi %v", req["ty"], req["pi"])
	}
	if req["rs"] != int64(1) {
		t.Fatalf("requestStatus %v, want 1 COMPLETED: %v", req["rs"], req)
	}
	if req["op"] != int64(1) || req["tg"] != "/cse-in/nb" && req["tg"] != "cse-in/nb" || req["org"] != aei || req["rid"] != rqi {
		t.Errorf("op %v tg %v org %v rid %v (rqi %s)", req["op"], req["tg"], req["org"], req["rid"], rqi)
	}
	if lbl := strs(req["lbl"]); len(lbl) != 1 || lbl[0] != aei {
		t.Errorf("lbl %v, want [%s]", lbl, aei)
	}
	mi, _ := req["mi"].(map[string]any)
	if mi["ty"] != int64(3) {
		t.Errorf("mi %v lacks ty 3", mi)
	}
	if rt, _ := mi["rt"].(map[string]any); rt["rtv"] != int64(1) {
		t.Errorf("mi.rt %v, want rtv 1", mi["rt"])
	}
	if pc, _ := req["pc"].(map[string]any); pc["m2m:cnt"] == nil {
		t.Errorf("pc %v lacks the request's content", req["pc"])
	}
	if req["et"] == nil {
		t.Error("no et")
	}
	ors, _ := req["ors"].(map[string]any)
	if ors["rsc"] != int64(2001) || ors["rqi"] != rqi || ors["to"] != aei {
		t.Fatalf("ors %v, want rsc 2001, rqi %s, to %s", ors, rqi, aei)
	}
	cnt, _ := ors["pc"].(map[string]any)["m2m:cnt"].(map[string]any)
	if cnt["rn"] != "box" {
		t.Errorf("ors.pc %v lacks the created container", ors["pc"])
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb/box", From: aei}).Must(t, 2000)
}

func TestNonBlockingSynchFailure(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb/nothing?rt=1", From: aei})
	uri := nbAck(t, r, 1001)
	req := nbWait(t, c, aei, uri)
	if req["rs"] != int64(2) {
		t.Fatalf("requestStatus %v, want 2 FAILED", req["rs"])
	}
	if ors, _ := req["ors"].(map[string]any); ors["rsc"] != int64(4004) {
		t.Fatalf("ors %v, want rsc 4004", ors)
	}
}

// Only the originator (and the CSE's administrator) reads or deletes its
// <request>; nobody else learns anything about it.
func TestNonBlockingRequestAccess(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	other := aclRegister(t, c, "Cother", "other")
	uri := nbAck(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb?rt=1", From: aei}), 1001)
	nbWait(t, c, aei, uri)
	c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: other}).Must(t, 4103)
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: other}).Must(t, 4103)
	c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: "CAdmin"}).Must(t, 2000)
	// Discovery under the CSEBase finds it for its originator only.
	found := func(from string) bool {
		r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in?fu=1&ty=17", From: from})
		if r.RSC == 4103 {
			return false
		}
		r.Must(t, 2000)
		return len(strs(r.JSON["m2m:uril"])) == 1
	}
	if !found(aei) || found(other) {
		t.Errorf("discovery of ty 17: originator %v, other %v; want true, false", found(aei), found(other))
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: aei}).Must(t, 2002)
	c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: aei}).Must(t, 4004)
}

func TestNonBlockingRefused(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	uri := nbAck(t, c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb?rt=1", From: aei}), 1001)
	nbWait(t, c, aei, uri)
	// A request to a <request> may not be non-blocking (TS-0004 7.4.12.2.2).
	c.Do(testcse.Req{Method: "GET", Path: "/" + uri + "?rt=1", From: aei}).Must(t, 4000)
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri + "?rt=2", From: aei}).Must(t, 4000)
	// flexBlocking on it is blocking.
	c.Do(testcse.Req{Method: "GET", Path: "/" + uri + "?rt=4", From: aei}).Must(t, 2000)
	// Only the CSE creates <request> resources (TS-0004 7.4.12.2.1).
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: aei, Ty: 17,
		Body: map[string]any{"m2m:req": map[string]any{"op": 2, "tg": "cse-in", "rid": "x", "mi": map[string]any{}, "rs": 3}}}).Must(t, 4005)
	// Its attributes other than acpi cannot be updated.
	c.Do(testcse.Req{Method: "PUT", Path: "/" + uri, From: aei,
		Body: map[string]any{"m2m:req": map[string]any{"rs": 1}}}).Must(t, 4000)
	// The CSEBase lists the type.
	cb := c.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: aei}).Must(t, 2000).Res("m2m:cb")
	hasReq := false
	for _, ty := range cb["srt"].([]any) {
		hasReq = hasReq || ty == int64(17)
	}
	if !hasReq {
		t.Errorf("srt %v lacks 17", cb["srt"])
	}
}

// rsp returns the m2m:rsp of a result notification.
func rsp(t *testing.T, g *testcse.Received) map[string]any {
	t.Helper()
	if g.Method != "POST" || g.Header.Get("X-M2M-Origin") != "/id-in" {
		t.Errorf("result notification: %s from %q, want POST from the CSE /id-in", g.Method, g.Header.Get("X-M2M-Origin"))
	}
	m, ok := g.JSON["m2m:rsp"].(map[string]any)
	if !ok {
		t.Fatalf("no m2m:rsp in %s", g.Body)
	}
	return m
}

// rt=2: the result goes to the originator through its pointOfAccess when rt
// has no nu, to the targets of X-M2M-RTU when it has, and nowhere when
// X-M2M-RTU is empty (TS-0004 7.5.1.2.5).
func TestNonBlockingAsynch(t *testing.T) {
	c := testcse.Start(t, nil)
	own := testcse.NewReceiver(t)
	other := testcse.NewReceiver(t)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cnba", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "nba", "api": "Nx", "rr": true, "srv": []any{"3"}, "poa": []any{own.URL}}}}).Must(t, 2001)

	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/nba?rt=2", From: "Cnba", Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "a"}}})
	uri := nbAck(t, r, 1002)
	got := rsp(t, own.Wait(1, 10*time.Second)[0])
	if got["rsc"] != int64(2001) || got["rqi"] != r.Header.Get("X-M2M-RI") || got["to"] != "Cnba" {
		t.Fatalf("m2m:rsp %v, want rsc 2001, rqi %s, to Cnba", got, r.Header.Get("X-M2M-RI"))
	}
	if cnt, _ := got["pc"].(map[string]any)["m2m:cnt"].(map[string]any); cnt["rn"] != "a" {
		t.Errorf("m2m:rsp pc %v lacks the container", got["pc"])
	}
	// The <request> holds the same result.
	if req := nbWait(t, c, "Cnba", uri); req["rs"] != int64(1) {
		t.Errorf("requestStatus %v, want 1", req["rs"])
	}

	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nba/none?rt=2", From: "Cnba",
		Header: map[string]string{"X-M2M-RTU": other.URL}})
	nbAck(t, r, 1002)
	got = rsp(t, other.Wait(1, 10*time.Second)[0])
	if got["rsc"] != int64(4004) || got["rqi"] != r.Header.Get("X-M2M-RI") {
		t.Fatalf("m2m:rsp %v, want rsc 4004, rqi %s", got, r.Header.Get("X-M2M-RI"))
	}

	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nba?rt=2", From: "Cnba",
		Header: map[string]string{"X-M2M-RTU": ""}})
	uri = nbAck(t, r, 1002)
	nbWait(t, c, "Cnba", uri)
	own.Quiet(1, 300*time.Millisecond)
	other.Quiet(1, 0)
}

// A non-blocking request to a fanOutPoint runs the fan-out in the background;
// the aggregated answer lands in ors.
func TestNonBlockingFanOut(t *testing.T) {
	c := testcse.Start(t, nil)
	aei, ri := grpSetup(t, c)
	mkGroup(c, aei, "/cse-in/gae", map[string]any{"rn": "g", "mnm": 5, "mid": []any{ri["c1"], ri["c2"]}}).Must(t, 2001)
	uri := nbAck(t, c.Do(testcse.Req{Method: "POST", Path: "/cse-in/gae/g/fopt?rt=1", From: aei, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"con": "v"}}}), 1001)
	req := nbWait(t, c, aei, uri)
	ors, _ := req["ors"].(map[string]any)
	if req["rs"] != int64(1) || ors["rsc"] != int64(2000) {
		t.Fatalf("rs %v ors %v, want 1 and an aggregated 2000", req["rs"], ors)
	}
	agr, _ := ors["pc"].(map[string]any)["m2m:agr"].(map[string]any)
	members, _ := agr["m2m:rsp"].([]any)
	if len(members) != 2 {
		t.Fatalf("ors.pc %v: want 2 member responses", ors["pc"])
	}
	for _, m := range members {
		if m.(map[string]any)["rsc"] != int64(2001) {
			t.Errorf("member response %v, want 2001", m)
		}
	}
	for _, rn := range []string{"c1", "c2"} {
		if cni := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/gae/" + rn, From: aei}).Must(t, 2000).Res("m2m:cnt")["cni"]; cni != int64(1) {
			t.Errorf("%s has cni %v, want 1", rn, cni)
		}
	}
}

// A request waiting for its operation execution time can be recalled by
// deleting its <request>; one that runs cannot (5220), and its <request>
// stays (TS-0004 7.4.12.2.4).
func TestNonBlockingRecall(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/nb?rt=1", From: aei, Ty: 3,
		Header: map[string]string{"X-M2M-OET": "2000"},
		Body:   map[string]any{"m2m:cnt": map[string]any{"rn": "later"}}})
	uri := nbAck(t, r, 1001)
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: aei}).Must(t, 2002)
	time.Sleep(2500 * time.Millisecond)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb/later", From: aei}).Must(t, 4004)

	// A NOTIFY to an AE is passed on to it: while its receiver holds the
	// request, the operation runs.
	rcv := testcse.NewReceiver(t)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cheld", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "held", "api": "Nx", "rr": true, "srv": []any{"3"}, "poa": []any{rcv.URL}}}}).Must(t, 2001)
	rcv.Hold()
	uri = nbAck(t, c.Do(testcse.Req{Method: "POST", Path: "/cse-in/held?rt=1", From: "Cheld",
		Body: map[string]any{"m2m:sgn": map[string]any{"sur": "/id-in/x", "nev": map[string]any{"net": 1}}}}), 1001)
	rcv.WaitHeld(1, 10*time.Second)
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: "Cheld"}).Must(t, 5220)
	rcv.Release()
	if req := nbWait(t, c, "Cheld", uri); req["rs"] != int64(1) {
		t.Errorf("after the release: requestStatus %v, want 1 (ors %v)", req["rs"], req["ors"])
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: "Cheld"}).Must(t, 2002)
}

// A request still waiting when the CSE stops is recorded as FAILED, and
// stays so after the restart.
func TestNonBlockingShutdown(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := aclRegister(t, c, "Cnb", "nb")
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/nb?rt=1", From: aei, Ty: 3,
		Header: map[string]string{"X-M2M-OET": "20000"},
		Body:   map[string]any{"m2m:cnt": map[string]any{"rn": "never"}}})
	uri := nbAck(t, r, 1001)
	start := time.Now()
	c.Stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s: a request waiting for its execution time held it", d)
	}
	cfg := c.Config
	cfg.HTTP = c.Addr()
	c = testcse.StartConfig(t, cfg)
	req := nbWait(t, c, aei, uri)
	ors, _ := req["ors"].(map[string]any)
	if req["rs"] != int64(2) || ors["rsc"] != int64(4008) {
		t.Fatalf("after the restart: rs %v ors %v, want 2 and 4008", req["rs"], ors)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nb/never", From: aei}).Must(t, 4004)
}
