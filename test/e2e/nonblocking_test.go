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
// longer PENDING, and returns it.
func nbWait(t *testing.T, c *testcse.CSE, from, uri string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: from}).Must(t, 2000)
		req := r.Res("m2m:req")
		if rs, _ := req["rs"].(int64); rs != 3 {
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
