package e2e

// Non-blocking requests to a <fanOutPoint>: partial results while members
// are still answering (TS-0004 7.4.14.2.5). The slow member is a container
// whose UPDATE waits for the consent of a held blocking update subscriber,
// as in TestGroupResultExpiration.

import (
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// nbGroupFixture is a group "both" of a slow and a quick container, with
// the slow one's blocking update subscriber held (so an UPDATE of the slow
// one waits). The fan-out tests with a Result Expiration Timestamp use it
// too.
type nbGroupFixture struct {
	*blockingFixture
	slow, quick string
}

func newNBGroupFixture(t *testing.T) *nbGroupFixture {
	f := newBlockingFixture(t, 5*time.Second)
	c := f.c
	f.subscribe(t, map[string]any{"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}}}).Must(t, 2001)
	quick := c.Create(f.aei, "/cse-in/blk", 3, "m2m:cnt", map[string]any{"rn": "quick"})["ri"].(string)
	slow := get(t, c, f.cnt)["m2m:cnt"].(map[string]any)["ri"].(string)
	mkGroup(c, f.aei, "/cse-in/blk", map[string]any{"rn": "both", "mnm": 5, "mid": []any{slow, quick}}).Must(t, 2001)
	f.rcv.Hold()
	t.Cleanup(f.rcv.Release)
	return &nbGroupFixture{blockingFixture: f, slow: slow, quick: quick}
}

// update sends the UPDATE of both members through the fanOutPoint.
func (f *nbGroupFixture) update(query string, header map[string]string) *testcse.Resp {
	return f.c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/blk/both/fopt" + query, From: f.aei, Header: header,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}})
}

// members returns the member answers (fr -> rsc) of an m2m:rsp whose pc is
// an m2m:agr.
func members(t *testing.T, rsp map[string]any) map[string]int64 {
	t.Helper()
	pc, _ := rsp["pc"].(map[string]any)
	agr, _ := pc["m2m:agr"].(map[string]any)
	l, ok := agr["m2m:rsp"].([]any)
	if !ok {
		t.Fatalf("no m2m:agr in %v", rsp)
	}
	out := map[string]int64{}
	for _, e := range l {
		m := e.(map[string]any)
		out[m["fr"].(string)], _ = m["rsc"].(int64)
	}
	return out
}

// pollRequest polls the <request> at uri until its requestStatus is rs.
func pollRequest(t *testing.T, f *nbGroupFixture, uri string, rs int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(4 * time.Second)
	for {
		req := f.c.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: f.aei}).Must(t, 2000).Res("m2m:req")
		if req["rs"] == rs {
			return req
		}
		if time.Now().After(deadline) {
			t.Fatalf("requestStatus %v, want %d: %v", req["rs"], rs, req)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rt=1: the <request> holds the quick member's answer with requestStatus 5
// PARTIALLY_COMPLETED while the slow one works, then both with 1.
func TestNonBlockingFanOutPartial(t *testing.T) {
	f := newNBGroupFixture(t)
	uri := nbAck(t, f.update("?rt=1", nil), 1001)
	req := pollRequest(t, f, uri, 5)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 1 || got[f.quick] != 2004 {
		t.Fatalf("partial result %v, want only the quick member's 2004", got)
	}
	// A partially completed request cannot be recalled (TS-0004 7.4.12.2.4).
	f.c.Do(testcse.Req{Method: "DELETE", Path: "/" + uri, From: f.aei}).Must(t, 5220)
	f.rcv.Release()
	req = pollRequest(t, f, uri, 1)
	ors := req["ors"].(map[string]any)
	if got := members(t, ors); len(got) != 2 || got[f.quick] != 2004 || got[f.slow] != 2004 {
		t.Fatalf("final result %v, want 2004 from both members", got)
	}
	if ors["rsc"] != int64(2000) {
		t.Errorf("final rsc %v, want 2000", ors["rsc"])
	}
}

// rt=1 with a Result Expiration Timestamp: the slow member answers after
// it, so the result is complete (rs 1) with the quick answer alone.
func TestNonBlockingFanOutExpired(t *testing.T) {
	f := newNBGroupFixture(t)
	uri := nbAck(t, f.update("?rt=1", map[string]string{"X-M2M-RST": primitive.FormatTime(time.Now().Add(time.Second))}), 1001)
	req := pollRequest(t, f, uri, 1)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 1 || got[f.quick] != 2004 {
		t.Fatalf("result %v, want only the quick member's 2004", got)
	}
	f.rcv.Release()
	time.Sleep(300 * time.Millisecond)
	req = pollRequest(t, f, uri, 1)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 1 {
		t.Fatalf("a member answer after the result expiration time was added: %v", got)
	}
}

// rt=2: the quick answer is notified while the slow member works, then the
// slow one; each notification holds member answers no other held.
func TestNonBlockingFanOutAsynchPartial(t *testing.T) {
	f := newNBGroupFixture(t)
	target := testcse.NewReceiver(t)
	uri := nbAck(t, f.update("?rt=2", map[string]string{"X-M2M-RTU": target.URL}), 1002)
	first := rsp(t, target.Wait(1, 4*time.Second)[0])
	if got := members(t, first); len(got) != 1 || got[f.quick] != 2004 {
		t.Fatalf("first notification %v, want only the quick member's 2004", got)
	}
	pollRequest(t, f, uri, 5)
	f.rcv.Release()
	second := rsp(t, target.Wait(2, 6*time.Second)[1])
	if got := members(t, second); len(got) != 1 || got[f.slow] != 2004 {
		t.Fatalf("second notification %v, want only the slow member's 2004", got)
	}
	target.Quiet(2, 300*time.Millisecond)
	req := pollRequest(t, f, uri, 1)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 2 {
		t.Fatalf("final result %v, want both members", got)
	}
}

// rt=4 (flexBlocking): members that answer within FlexBlockingWait (2 s)
// get a blocking answer; a slow one makes the group host answer 1001 with
// the <request>'s address and the answers so far, and the <request> gets
// the rest.
func TestFlexBlockingFanOut(t *testing.T) {
	f := newNBGroupFixture(t)
	mkGroup(f.c, f.aei, "/cse-in/blk", map[string]any{"rn": "fast", "mnm": 5, "mid": []any{f.quick}}).Must(t, 2001)
	r := f.c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/blk/fast/fopt?rt=4", From: f.aei,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"y"}}}})
	if got := members(t, map[string]any{"pc": r.Must(t, 2000).JSON}); len(got) != 1 || got[f.quick] != 2004 {
		t.Fatalf("fast group: %v, want the quick member's 2004", got)
	}

	start := time.Now()
	r = f.update("?rt=4", nil)
	took := time.Since(start)
	uri := nbAck(t, r, 1001)
	if took < 1500*time.Millisecond || took > 4*time.Second {
		t.Errorf("the 1001 came after %s, want about the 2 s flexBlocking wait", took)
	}
	if got := members(t, map[string]any{"pc": r.JSON}); len(got) != 1 || got[f.quick] != 2004 {
		t.Fatalf("answers so far %v, want the quick member's 2004", got)
	}
	req := pollRequest(t, f, uri, 5)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 1 {
		t.Fatalf("partial result %v, want the quick member's", got)
	}
	f.rcv.Release()
	req = pollRequest(t, f, uri, 1)
	if got := members(t, req["ors"].(map[string]any)); len(got) != 2 || got[f.slow] != 2004 {
		t.Fatalf("final result %v, want 2004 from both members", got)
	}
}
