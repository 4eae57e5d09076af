package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// Blocking update subscriptions (notificationEventType 7; TS-0004 7.4.8.2.1,
// 7.5.1.2.19, 7.3.2.9) over HTTP, with a real subscriber that consents or
// not.

// blockingFixture is a CSE, an AE whose point of access is the receiver rcv
// (the subscriber), and its container c.
type blockingFixture struct {
	c   *testcse.CSE
	rcv *testcse.Receiver
	aei string
	cnt string // path of the container
}

func newBlockingFixture(t *testing.T, timeout time.Duration) *blockingFixture {
	t.Helper()
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyTimeout = timeout })
	rcv := testcse.NewReceiver(t)
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cblk", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "blk", "api": "Nblk", "rr": true, "poa": []any{rcv.URL}, "srv": []any{"3"}}}}).Must(t, 2001)
	aei := r.Res("m2m:ae")["aei"].(string)
	c.Create(aei, "/cse-in/blk", 3, "m2m:cnt", map[string]any{"rn": "c", "lbl": []any{"v0"}})
	return &blockingFixture{c: c, rcv: rcv, aei: aei, cnt: "/cse-in/blk/c"}
}

func (f *blockingFixture) subscribe(t *testing.T, attrs map[string]any) *testcse.Resp {
	t.Helper()
	return f.c.Do(testcse.Req{Method: "POST", Path: f.cnt, From: f.aei, Ty: 23, Body: map[string]any{"m2m:sub": attrs}})
}

func (f *blockingFixture) update(t *testing.T, attrs map[string]any) *testcse.Resp {
	t.Helper()
	return f.c.Do(testcse.Req{Method: "PUT", Path: f.cnt, From: f.aei, Body: map[string]any{"m2m:cnt": attrs}})
}

func (f *blockingFixture) get(t *testing.T) map[string]any {
	t.Helper()
	return f.c.Do(testcse.Req{Method: "GET", Path: f.cnt, From: f.aei}).Must(t, 2000).Res("m2m:cnt")
}

// TestBlockingUpdate: the subscriber is asked before the UPDATE is
// performed, with what the UPDATE would set; its consent lets the UPDATE go
// on, its refusal stops it with the code of TS-0004 7.3.2.9, and nothing
// changes.
func TestBlockingUpdate(t *testing.T) {
	f := newBlockingFixture(t, time.Second)
	sub := f.subscribe(t, map[string]any{"rn": "b", "nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}}}).Must(t, 2001).Res("m2m:sub")
	if fmt.Sprint(sub["nct"]) != "2" {
		t.Errorf("nct = %v, want the default of blocking update, 2 (modified attributes)", sub["nct"])
	}
	if n := len(f.rcv.All()); n != 0 {
		t.Fatalf("%d requests at the subscriber after its own subscription, want none", n)
	}

	// Consent: the UPDATE is applied, after the notification.
	before := f.get(t)
	resp := f.update(t, map[string]any{"lbl": []any{"v1"}, "mni": 5}).Must(t, 2004)
	all := f.rcv.All()
	if len(all) != 1 {
		t.Fatalf("%d notifications, want 1", len(all))
	}
	g := all[0]
	if g.Net() != 7 {
		t.Errorf("net = %d, want 7: %s", g.Net(), g.Body)
	}
	if got := g.Sgn()["sur"]; got != "/id-in/"+sub["ri"].(string) {
		t.Errorf("sur = %v", got)
	}
	if g.Header.Get("X-M2M-Origin") != "/id-in" {
		t.Errorf("notification from %q, want the CSE /id-in", g.Header.Get("X-M2M-Origin"))
	}
	rep, _ := g.Rep()["m2m:cnt"].(map[string]any)
	if fmt.Sprint(rep) != "map[lbl:[v1] mni:5]" {
		t.Errorf("representation = %v, want the modified attributes lbl and mni", g.Rep())
	}
	// The notification came before the change: the receiver answered before
	// the resource's lastModifiedTime.
	upd := resp.Res("m2m:cnt")
	if fmt.Sprint(upd["lbl"]) != "[v1]" || fmt.Sprint(upd["mni"]) != "5" {
		t.Errorf("updated: %v", upd)
	}
	if upd["st"] == before["st"] {
		t.Errorf("stateTag did not change")
	}

	// Refusal: 4005 from the subscriber → 4127, nothing changes.
	before = f.get(t)
	f.rcv.Answer(4005, 403)
	f.update(t, map[string]any{"lbl": []any{"v2"}}).Must(t, 4127)
	if after := f.get(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused UPDATE changed the container:\n before %v\n after  %v", before, after)
	}
	// Any other unsuccessful answer withholds the consent as well.
	f.rcv.Answer(4103, 403)
	f.update(t, map[string]any{"lbl": []any{"v2"}}).Must(t, 4127)
	// 5103 TARGET_NOT_REACHABLE from the target → 5107.
	f.rcv.Answer(5103, 404)
	f.update(t, map[string]any{"lbl": []any{"v2"}}).Must(t, 5107)
	if after := f.get(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused UPDATEs changed the container:\n before %v\n after  %v", before, after)
	}
	if n := len(f.rcv.All()); n != 4 {
		t.Errorf("%d notifications, want 4 (one per UPDATE)", n)
	}

	// An UPDATE whose filter criteria the container does not meet is
	// answered 4004 without asking the subscriber.
	f.rcv.Answer(2000, 200)
	f.c.Do(testcse.Req{Method: "PUT", Path: f.cnt + "?lbl=nope", From: f.aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 9}}}).Must(t, 4004)
	if n := len(f.rcv.All()); n != 4 {
		t.Errorf("%d notifications after a conditional UPDATE that did not match, want still 4", n)
	}

	// Subscriber down: no answer → 5107, nothing changes.
	f.rcv.Stop()
	f.update(t, map[string]any{"lbl": []any{"v3"}}).Must(t, 5107)
	if after := f.get(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("UPDATE with the subscriber down changed the container")
	}

	// Subscriber slow past the notification timeout (1 s) → 5107.
	f.rcv.Start()
	f.rcv.Hold()
	start := time.Now()
	f.update(t, map[string]any{"lbl": []any{"v4"}}).Must(t, 5107)
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("the UPDATE waited %v for a held subscriber, want about the 1 s timeout", d)
	}
	f.rcv.Release()
	if after := f.get(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("UPDATE with a slow subscriber changed the container")
	}

	// Back to consenting: the UPDATE goes through again.
	f.update(t, map[string]any{"lbl": []any{"v5"}}).Must(t, 2004)
	if got := f.get(t)["lbl"]; fmt.Sprint(got) != "[v5]" {
		t.Errorf("lbl = %v after a consented UPDATE", got)
	}

	// Once the subscription is deleted, UPDATEs are not held any more.
	f.c.Do(testcse.Req{Method: "DELETE", Path: f.cnt + "/b", From: f.aei}).Must(t, 2002)
	f.rcv.Stop()
	f.update(t, map[string]any{"lbl": []any{"v6"}}).Must(t, 2004)
}

// TestBlockingUpdateAttributes: with enc.atr only UPDATEs of the listed
// attributes are held; the others pass without asking.
func TestBlockingUpdateAttributes(t *testing.T) {
	f := newBlockingFixture(t, time.Second)
	f.subscribe(t, map[string]any{"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}, "atr": []any{"lbl"}}}).Must(t, 2001)
	f.rcv.Answer(4005, 403)
	f.update(t, map[string]any{"mni": 7}).Must(t, 2004)
	if n := len(f.rcv.All()); n != 0 {
		t.Errorf("%d notifications for an UPDATE of an attribute not in atr", n)
	}
	f.update(t, map[string]any{"lbl": []any{"x"}, "mni": 8}).Must(t, 4127)
	if n := len(f.rcv.All()); n != 1 {
		t.Errorf("%d notifications, want 1", n)
	}
	if got := f.get(t); fmt.Sprint(got["mni"]) != "7" || fmt.Sprint(got["lbl"]) != "[v0]" {
		t.Errorf("after the refused UPDATE: mni %v lbl %v, want 7 [v0]", got["mni"], got["lbl"])
	}
}

// TestBlockingUpdateSerialised: while one UPDATE waits for the subscriber,
// another UPDATE of the same resource waits for it (TS-0004 7.5.1.2.19 step
// 2); UPDATEs of other resources do not.
func TestBlockingUpdateSerialised(t *testing.T) {
	f := newBlockingFixture(t, 5*time.Second)
	f.subscribe(t, map[string]any{"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}}}).Must(t, 2001)
	f.c.Create(f.aei, "/cse-in/blk", 3, "m2m:cnt", map[string]any{"rn": "free"})
	f.rcv.Hold()
	var wg sync.WaitGroup
	rscs := make([]int, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rscs[0] = f.update(t, map[string]any{"lbl": []any{"first"}}).RSC
	}()
	f.rcv.WaitHeld(1, wait)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rscs[1] = f.update(t, map[string]any{"lbl": []any{"second"}}).RSC
	}()
	// Another resource is not held.
	f.c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/blk/free", From: f.aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 3}}}).Must(t, 2004)
	time.Sleep(300 * time.Millisecond)
	if n := f.rcv.Held(); n != 1 {
		t.Errorf("%d notifications waiting at the subscriber, want only the first UPDATE's", n)
	}
	f.rcv.Release()
	wg.Wait()
	if rscs[0] != 2004 || rscs[1] != 2004 {
		t.Fatalf("rsc %v, want both 2004", rscs)
	}
	all := f.rcv.All()
	if len(all) != 2 {
		t.Fatalf("%d notifications, want 2", len(all))
	}
	// The second was notified only after the first UPDATE was done: the
	// last word is the second's.
	first, _ := all[0].Rep()["m2m:cnt"].(map[string]any)
	if fmt.Sprint(first["lbl"]) != "[first]" {
		t.Errorf("first notification: %v", all[0].Rep())
	}
	if got := f.get(t)["lbl"]; fmt.Sprint(got) != "[second]" {
		t.Errorf("lbl = %v, want [second]", got)
	}
}

// TestBlockingSubscriptionRules: one blocking subscription per resource
// (4124) and the restrictions of TS-0004 7.4.8.2.1 Recv-6.4 and 7.4.8.2.3
// (4000); nothing is created or changed by a refused request.
func TestBlockingSubscriptionRules(t *testing.T) {
	f := newBlockingFixture(t, time.Second)
	other := f.c.RegisterAE("other")
	net7 := func() map[string]any { return map[string]any{"net": []any{7}} }
	for name, attrs := range map[string]map[string]any{
		"two targets":     {"nu": []any{f.aei, other}, "enc": net7()},
		"URL target":      {"nu": []any{f.rcv.URL}, "enc": net7()},
		"net 1 and 7":     {"nu": []any{f.aei}, "enc": map[string]any{"net": []any{1, 7}}},
		"enc.cra":         {"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}, "cra": "20200101T000000"}},
		"enc.chty":        {"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}, "chty": []any{4}}},
		"batchNotify":     {"nu": []any{f.aei}, "enc": net7(), "bn": map[string]any{"num": 2}},
		"expCounter":      {"nu": []any{f.aei}, "enc": net7(), "exc": 3},
		"latestNotify":    {"nu": []any{f.aei}, "enc": net7(), "ln": true},
		"rateLimit":       {"nu": []any{f.aei}, "enc": net7(), "rl": map[string]any{"mnn": 1, "tww": "PT1S"}},
		"subscriberURI":   {"nu": []any{f.aei}, "enc": net7(), "su": f.aei},
		"nct given":       {"nu": []any{f.aei}, "enc": net7(), "nct": 2},
		"nct 1":           {"nu": []any{f.aei}, "enc": net7(), "nct": 1},
		"pendingNotif":    {"nu": []any{f.aei}, "enc": net7(), "pn": 1},
		"eventCategory":   {"nu": []any{f.aei}, "enc": net7(), "nec": 2},
		"storagePriority": {"nu": []any{f.aei}, "enc": net7(), "nsp": 1},
	} {
		if r := f.subscribe(t, attrs); r.RSC != 4000 {
			t.Errorf("%s: rsc %d, want 4000: %s", name, r.RSC, r.Body)
		}
	}
	if n := len(f.rcv.All()); n != 0 {
		t.Errorf("refused subscriptions sent %d requests", n)
	}
	listSubs := func() int { return len(aclDiscover(t, f.c, f.aei, f.cnt, "ty=23")) }
	if n := listSubs(); n != 0 {
		t.Fatalf("%d subscriptions after refused CREATEs", n)
	}

	// One blocking subscription per resource, whoever asks; ordinary ones
	// may be added.
	f.subscribe(t, map[string]any{"rn": "b", "nu": []any{f.aei}, "enc": net7()}).Must(t, 2001)
	f.subscribe(t, map[string]any{"nu": []any{f.aei}, "enc": net7()}).Must(t, 4124)
	f.c.Do(testcse.Req{Method: "POST", Path: f.cnt, From: f.aei, Ty: 23, Body: map[string]any{"m2m:sub": map[string]any{
		"nu": []any{f.aei}, "enc": map[string]any{"net": []any{7}, "atr": []any{"lbl"}}}}}).Must(t, 4124)
	f.subscribe(t, map[string]any{"rn": "plain", "nu": []any{f.aei}, "enc": map[string]any{"net": []any{3}}}).Must(t, 2001)
	if n := listSubs(); n != 2 {
		t.Errorf("%d subscriptions, want 2", n)
	}

	// Concurrent CREATEs on another container, all past the first checks
	// (each waits for its verification meanwhile): exactly one wins.
	f.c.Create(f.aei, "/cse-in/blk", 3, "m2m:cnt", map[string]any{"rn": "race"})
	rcv2 := testcse.NewReceiver(t)
	approver := f.c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Capprover", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "approver", "api": "Nap", "rr": true, "poa": []any{rcv2.URL}, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
	rcv2.Hold()
	var wg sync.WaitGroup
	rscs := make([]int, 8)
	for i := range rscs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rscs[i] = f.c.Do(testcse.Req{Method: "POST", Path: "/cse-in/blk/race", From: f.aei, Ty: 23,
				Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{approver}, "enc": net7()}}}).RSC
		}()
	}
	rcv2.WaitHeld(len(rscs), wait)
	rcv2.Release()
	wg.Wait()
	won := 0
	for _, rsc := range rscs {
		switch rsc {
		case 2001:
			won++
		case 4124:
		default:
			t.Errorf("concurrent blocking subscription: rsc %d", rsc)
		}
	}
	if won != 1 || len(aclDiscover(t, f.c, f.aei, "/cse-in/blk/race", "ty=23")) != 1 {
		t.Errorf("%d of %d concurrent blocking subscriptions created, want 1", won, len(rscs))
	}

	// UPDATE: net 7 cannot be set, the blocking one cannot lose it nor take
	// the attributes it may not have; its target may change to another ID.
	upd := func(path string, attrs map[string]any) *testcse.Resp {
		return f.c.Do(testcse.Req{Method: "PUT", Path: f.cnt + "/" + path, From: f.aei, Body: map[string]any{"m2m:sub": attrs}})
	}
	upd("plain", map[string]any{"enc": net7()}).Must(t, 4000)
	upd("b", map[string]any{"enc": net7()}).Must(t, 4000)
	upd("b", map[string]any{"enc": map[string]any{"net": []any{1}}}).Must(t, 4000)
	upd("b", map[string]any{"enc": map[string]any{"atr": []any{"lbl"}}}).Must(t, 4000)
	upd("b", map[string]any{"bn": map[string]any{"num": 2}}).Must(t, 4000)
	upd("b", map[string]any{"exc": 2}).Must(t, 4000)
	upd("b", map[string]any{"nct": 1}).Must(t, 4000)
	upd("b", map[string]any{"nu": []any{f.aei, other}}).Must(t, 4000)
	upd("b", map[string]any{"nu": []any{f.rcv.URL}}).Must(t, 4000)
	b := f.c.Do(testcse.Req{Method: "GET", Path: f.cnt + "/b", From: f.aei}).Must(t, 2000).Res("m2m:sub")
	if fmt.Sprint(b["enc"]) != "map[net:[7]]" || fmt.Sprint(b["nu"]) != fmt.Sprintf("[%s]", f.aei) || fmt.Sprint(b["nct"]) != "2" {
		t.Errorf("the blocking subscription changed: %v", b)
	}
	upd("b", map[string]any{"lbl": []any{"x"}}).Must(t, 2004)

	// The CSEBase cannot be updated (through the API): nothing to block.
	f.c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: f.c.Config.Admin, Ty: 23, Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{f.aei}, "enc": net7()}}}).Must(t, 4000)
}

// TestBlockingUpdateOtherTarget: the target may be another AE than the
// subscriber; it is verified first (TS-0004 7.5.1.2.3) and then asked on
// each UPDATE, with cr naming the subscriber.
func TestBlockingUpdateOtherTarget(t *testing.T) {
	f := newBlockingFixture(t, time.Second)
	rcv2 := testcse.NewReceiver(t)
	r := f.c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Capprover", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "approver", "api": "Nap", "rr": true, "poa": []any{rcv2.URL}, "srv": []any{"3"}}}}).Must(t, 2001)
	approver := r.Res("m2m:ae")["aei"].(string)
	sub := f.subscribe(t, map[string]any{"nu": []any{approver}, "enc": map[string]any{"net": []any{7}}}).Must(t, 2001).Res("m2m:sub")
	if got := rcv2.All(); len(got) != 1 || !got[0].IsVerification() {
		t.Fatalf("want one verification request at the other target, got %d", len(got))
	}
	f.update(t, map[string]any{"lbl": []any{"y"}}).Must(t, 2004)
	got := rcv2.All()
	if len(got) != 2 || got[1].Net() != 7 || got[1].Sgn()["cr"] != f.aei || got[1].Sgn()["sur"] != "/id-in/"+sub["ri"].(string) {
		t.Fatalf("notifications at the other target: %s", bodies(got))
	}
	if n := len(f.rcv.All()); n != 0 {
		t.Errorf("the subscriber itself got %d requests", n)
	}
}

func bodies(rs []*testcse.Received) string {
	s := ""
	for _, r := range rs {
		s += string(r.Body) + "\n"
	}
	return s
}

// TestBlockingUpdatePollingChannel: a subscriber that is not
// request-reachable answers the blocking update notification through its
// pollingChannelURI; the UPDATE waits for that answer.
func TestBlockingUpdatePollingChannel(t *testing.T) {
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyTimeout = 5 * time.Second })
	aei := aclRegister(t, c, "Cpoll", "poller") // rr=false, no poa
	c.Create(aei, "/cse-in/poller", 15, "m2m:pch", map[string]any{"rn": "pch"})
	c.Create(aei, "/cse-in/poller", 3, "m2m:cnt", map[string]any{"rn": "box"})
	c.Create(aei, "/cse-in/poller/box", 23, "m2m:sub", map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{7}}})
	pcu := "/cse-in/poller/pch/pcu"
	for _, tc := range []struct {
		answer, want int
		lbl          string
	}{{4005, 4127, "[]"}, {2000, 2004, "[approved]"}} {
		var wg sync.WaitGroup
		var upd *testcse.Resp
		wg.Add(1)
		go func() {
			defer wg.Done()
			upd = c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/poller/box", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"approved"}}}})
		}()
		r := c.Do(testcse.Req{Method: "GET", Path: pcu, From: aei, Header: map[string]string{"X-M2M-RET": "20000"}}).Must(t, 2000)
		rqp, _ := r.JSON["m2m:rqp"].(map[string]any)
		sgn, _ := rqp["pc"].(map[string]any)["m2m:sgn"].(map[string]any)
		if nev, _ := sgn["nev"].(map[string]any); fmt.Sprint(nev["net"]) != "7" {
			t.Fatalf("polled %s, want the blocking update notification", r.Body)
		}
		c.Do(testcse.Req{Method: "POST", Path: pcu, From: aei, Body: map[string]any{"m2m:rsp": map[string]any{"rsc": tc.answer, "rqi": rqp["rqi"], "rvi": "3"}}}).Must(t, 2000)
		wg.Wait()
		upd.Must(t, tc.want)
		got := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/poller/box", From: aei}).Must(t, 2000).Res("m2m:cnt")["lbl"]
		if got == nil {
			got = []any{}
		}
		if fmt.Sprint(got) != tc.lbl {
			t.Errorf("after answer %d: lbl %v, want %s", tc.answer, got, tc.lbl)
		}
	}
}

// TestBlockingUpdateBindings: the blocking update notification goes through
// the core's Sender like any other, so a subscriber reached over WebSocket
// or MQTT consents or refuses the same way.
func TestBlockingUpdateBindings(t *testing.T) {
	run := func(t *testing.T, cl testcse.Client, aei, rn string, got requests, answer *atomic.Int64) {
		t.Helper()
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/" + rn, From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "box"}}}).Must(t, 2001)
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/" + rn + "/box", From: aei, Ty: 23,
			PC: map[string]any{"m2m:sub": map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{7}}}}}).Must(t, 2001)
		for _, tc := range []struct{ answer, want int64 }{{2000, 2004}, {4005, 4127}} {
			answer.Store(tc.answer)
			cl.Send(t, testcse.Msg{Op: 3, To: "cse-in/" + rn + "/box", From: aei, PC: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{fmt.Sprint(tc.answer)}}}}).Must(t, int(tc.want))
			sgn := got.next(t)
			if nev, _ := sgn["nev"].(map[string]any); fmt.Sprint(nev["net"]) != "7" {
				t.Fatalf("notification %v, want net 7", sgn)
			}
		}
		r := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/" + rn + "/box", From: aei}).Must(t, 2000)
		if lbl := fmt.Sprint(r.Res("m2m:cnt")["lbl"]); lbl != "[2000]" {
			t.Errorf("lbl = %s, want [2000] (the refused UPDATE not applied)", lbl)
		}
	}
	answering := func(got requests, answer *atomic.Int64) func(map[string]any) (int, map[string]any) {
		return func(req map[string]any) (int, map[string]any) {
			got <- req
			return int(answer.Load()), nil
		}
	}
	t.Run("ws", func(t *testing.T) {
		c := testcse.Start(t, nil)
		w := testcse.DialWS(t, c, "oneM2M.json")
		got, answer := make(requests, 4), &atomic.Int64{}
		w.OnRequest = answering(got, answer)
		aei := w.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "w", "api": "Nw", "rr": true, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
		run(t, w, aei, "w", got, answer)
	})
	t.Run("mqtt", func(t *testing.T) {
		c := testcse.Start(t, func(cfg *config.Config) { cfg.MQTTEmbedded = "127.0.0.1:0"; cfg.CSEID = testcse.UniqueCSEID() })
		mc := testcse.DialMQTT(t, c, "json")
		got, answer := make(requests, 4), &atomic.Int64{}
		mc.OnRequest = answering(got, answer)
		aei := mc.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{
			"rn": "mq", "api": "Nmq", "rr": true, "srv": []any{"3"}, "poa": []any{brokerPoA(c.Server.MQTTBroker())}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
		mc.Serve(aei)
		run(t, mc, aei, "mq", got, answer)
	})
}
