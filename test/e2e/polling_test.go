package e2e

// <pollingChannel> and its pollingChannelURI over HTTP (TS-0001 9.6.21;
// TS-0004 7.4.21, 7.4.22; protocol.md 3.13): an AE that is not
// request-reachable receives its notifications by long polling.

import (
	"sync"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// pollCIN polls pcu as from and returns the notified contentInstance's con
// from the m2m:rqp in the answer, which must be a NOTIFY.
func pollCIN(t *testing.T, c *testcse.CSE, from, pcu string) (con any, rqp map[string]any) {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: pcu, From: from, Header: map[string]string{"X-M2M-RET": "20000"}}).Must(t, 2000)
	rqp, ok := r.JSON["m2m:rqp"].(map[string]any)
	if !ok {
		t.Fatalf("no m2m:rqp in %s", r.Body)
	}
	if rqp["op"] != int64(5) || rqp["rqi"] == nil {
		t.Fatalf("not a NOTIFY request primitive: %v", rqp)
	}
	sgn, _ := rqp["pc"].(map[string]any)["m2m:sgn"].(map[string]any)
	rep, _ := sgn["nev"].(map[string]any)["rep"].(map[string]any)
	cin, _ := rep["m2m:cin"].(map[string]any)
	return cin["con"], rqp
}

func TestPollingChannelNotifications(t *testing.T) {
	c := notifyCSE(t, nil)
	aei := aclRegister(t, c, "Cpoll", "poller") // rr=false, no poa
	other := aclRegister(t, c, "Cother", "other")
	c.Create(aei, "/cse-in/poller", 3, "m2m:cnt", map[string]any{"rn": "box"})
	// The other AE gets every right on the poller through its acpi, which
	// still does not make it the polling channel's owner.
	open := aclCreateACP(t, c, aei, "/cse-in/poller", "open", acrs(aclRule([]string{aei, other}, 63)), acrs(aclRule([]string{aei}, 63)))
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/poller", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"acpi": []any{open}}}}).Must(t, 2004)

	mk := func(from string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "POST", Path: "/cse-in/poller", From: from, Ty: 15, Body: map[string]any{"m2m:pch": map[string]any{"rn": "pch"}}})
	}
	mk(other).Must(t, 4103)
	pch := mk(aei).Must(t, 2001).Res("m2m:pch")
	if pch["ty"] != int64(15) || pch["pi"] == nil || pch["acpi"] != nil {
		t.Fatalf("pollingChannel: %v", pch)
	}
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/poller", From: aei, Ty: 15, Body: map[string]any{"m2m:pch": map[string]any{"rn": "second"}}}).Must(t, 4000)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/poller/box", From: aei, Ty: 15, Body: map[string]any{"m2m:pch": map[string]any{}}}).Must(t, 4108)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/poller", From: aei, Ty: 15, Body: map[string]any{"m2m:pch": map[string]any{"acpi": []any{open}}}}).Must(t, 4000)
	pcu := "/cse-in/poller/pch/pcu"

	// Only the owner polls, reads or deletes the channel.
	c.Do(testcse.Req{Method: "GET", Path: pcu, From: other, Header: map[string]string{"X-M2M-RET": "100"}}).Must(t, 4103)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/poller/pch", From: other}).Must(t, 4103)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/poller/pch", From: other}).Must(t, 4103)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/poller/pch", From: aei}).Must(t, 2000)
	// pcu takes RETRIEVE and NOTIFY only.
	c.Do(testcse.Req{Method: "PUT", Path: pcu, From: aei, Body: map[string]any{"m2m:pch": map[string]any{"lbl": []any{"x"}}}}).Must(t, 4005)
	c.Do(testcse.Req{Method: "DELETE", Path: pcu, From: aei}).Must(t, 4005)
	c.Do(testcse.Req{Method: "POST", Path: pcu, From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{}}}).Must(t, 4005)

	// Nothing queued: the poll ends with 4008 at its request expiration time.
	c.Do(testcse.Req{Method: "GET", Path: pcu, From: aei, Header: map[string]string{"X-M2M-RET": "300"}}).Must(t, 4008)

	// The AE subscribes with its own AE-ID as target: notifications queue on
	// the channel, in order, and each poll takes one.
	c.Create(aei, "/cse-in/poller/box", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}, "enc": map[string]any{"net": []any{3}}})
	addCIN(t, c, aei, "/cse-in/poller/box", map[string]any{"con": "one"})
	addCIN(t, c, aei, "/cse-in/poller/box", map[string]any{"con": "two"})
	for _, want := range []string{"one", "two"} {
		con, rqp := pollCIN(t, c, aei, pcu)
		if con != want {
			t.Fatalf("polled %v, want %s (%v)", con, want, rqp)
		}
		if rqp["fr"] != "/id-in" || rqp["to"] != aei {
			t.Fatalf("request primitive fr %v to %v", rqp["fr"], rqp["to"])
		}
		// The AE answers the notification through the pcu.
		c.Do(testcse.Req{Method: "POST", Path: pcu, From: aei, Body: map[string]any{"m2m:rsp": map[string]any{"rsc": 2000, "rqi": rqp["rqi"], "rvi": "3"}}}).Must(t, 2000)
	}
	c.Do(testcse.Req{Method: "POST", Path: pcu, From: other, Body: map[string]any{"m2m:rsp": map[string]any{"rsc": 2000, "rqi": "x"}}}).Must(t, 4103)
	c.Do(testcse.Req{Method: "POST", Path: pcu, From: aei, Body: map[string]any{"m2m:sgn": map[string]any{}}}).Must(t, 4000)

	// A long poll waiting when the notification arrives gets it.
	var wg sync.WaitGroup
	var got any
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := c.Do(testcse.Req{Method: "GET", Path: pcu, From: aei, Header: map[string]string{"X-M2M-RET": "20000"}})
		if r.RSC == 2000 {
			got = r.JSON["m2m:rqp"].(map[string]any)["pc"].(map[string]any)["m2m:sgn"].(map[string]any)["nev"].(map[string]any)["rep"].(map[string]any)["m2m:cin"].(map[string]any)["con"]
		} else {
			got = r.RSC
		}
	}()
	addCIN(t, c, aei, "/cse-in/poller/box", map[string]any{"con": "three"})
	wg.Wait()
	if got != "three" {
		t.Fatalf("the waiting poll got %v", got)
	}

	// A NOTIFY from another AE to the poller goes through the channel, and
	// the poller's answer through the pcu comes back to the sender.
	var fwd *testcse.Resp
	wg.Add(1)
	go func() {
		defer wg.Done()
		fwd = c.Do(testcse.Req{Method: "POST", Path: "/cse-in/poller", From: other, Body: map[string]any{"m2m:sgn": map[string]any{"nev": map[string]any{"rep": map[string]any{"m2m:cin": map[string]any{"con": "direct"}}, "net": 1}}}})
	}()
	con, rqp := pollCIN(t, c, aei, pcu)
	if con != "direct" || rqp["fr"] != other {
		t.Fatalf("forwarded NOTIFY: %v", rqp)
	}
	c.Do(testcse.Req{Method: "POST", Path: pcu, From: aei, Body: map[string]any{"m2m:rsp": map[string]any{"rsc": 2004, "rqi": rqp["rqi"], "rvi": "3"}}}).Must(t, 2000)
	wg.Wait()
	fwd.Must(t, 2004)
}

// TestPollingChannelRestart: notifications that wait for the poller survive
// a restart of the CSE.
func TestPollingChannelRestart(t *testing.T) {
	c := notifyCSE(t, nil)
	aei := aclRegister(t, c, "Cpoll", "poller")
	c.Create(aei, "/cse-in/poller", 3, "m2m:cnt", map[string]any{"rn": "box"})
	c.Create(aei, "/cse-in/poller", 15, "m2m:pch", map[string]any{"rn": "pch"})
	c.Create(aei, "/cse-in/poller/box", 23, "m2m:sub", map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{3}}})
	pcu := "/cse-in/poller/pch/pcu"
	for _, con := range []string{"a", "b", "c"} {
		addCIN(t, c, aei, "/cse-in/poller/box", map[string]any{"con": con})
	}
	// The first is certainly queued once it can be polled; the others are
	// queued or still in the outbox when the CSE stops.
	if con, _ := pollCIN(t, c, aei, pcu); con != "a" {
		t.Fatalf("first poll: %v", con)
	}
	shutdown(t, c)
	c2 := testcse.StartConfig(t, c.Config)
	for _, want := range []string{"b", "c"} {
		if con, _ := pollCIN(t, c2, aei, pcu); con != want {
			t.Fatalf("after the restart polled %v, want %s", con, want)
		}
	}
	c2.Do(testcse.Req{Method: "GET", Path: pcu, From: aei, Header: map[string]string{"X-M2M-RET": "300"}}).Must(t, 4008)
}
