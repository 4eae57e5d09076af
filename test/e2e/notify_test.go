package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// Subscriptions and notifications over HTTP, with real receivers (TS-0001
// 9.6.8, TS-0004 7.4.8, 7.5.1; protocol.md 10).

// notifyCSE starts a CSE that retries failed deliveries quickly.
func notifyCSE(t *testing.T, mod func(*config.Config)) *testcse.CSE {
	return testcse.Start(t, func(cfg *config.Config) {
		cfg.NotifyRetry = 50 * time.Millisecond
		cfg.NotifyRetryMax = 400 * time.Millisecond
		cfg.NotifyAttempts = 30 // about 10 s of retries
		cfg.NotifyTimeout = 2 * time.Second
		if mod != nil {
			mod(cfg)
		}
	})
}

const wait = 10 * time.Second

// subscribeAt creates a subscription under path; attrs get the receiver URL
// as nu unless they name one.
func subscribeAt(t *testing.T, c *testcse.CSE, from, path string, rcv *testcse.Receiver, attrs map[string]any) map[string]any {
	t.Helper()
	if _, ok := attrs["nu"]; !ok {
		attrs["nu"] = []any{rcv.URL}
	}
	return c.Create(from, path, 23, "m2m:sub", attrs)
}

func addCIN(t *testing.T, c *testcse.CSE, from, path string, attrs map[string]any) map[string]any {
	t.Helper()
	return c.Create(from, path, 4, "m2m:cin", attrs)
}

func ncons(rs []*testcse.Received) []string {
	var out []string
	for _, r := range rs {
		if cin, ok := r.Rep()["m2m:cin"].(map[string]any); ok {
			out = append(out, fmt.Sprint(cin["con"]))
		}
	}
	return out
}

func seqCons(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// TestNotifyVerification: a new subscription's targets are asked first
// (TS-0004 7.4.8.2.1, 7.5.1.2.3), each one but the subscriber itself.
func TestNotifyVerification(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	sub := subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s"})
	all := rcv.All()
	if len(all) != 1 {
		t.Fatalf("%d requests at the target, want the verification only", len(all))
	}
	v := all[0]
	if v.Method != "POST" || v.Path != "/notify" {
		t.Errorf("verification is %s %s, want POST /notify", v.Method, v.Path)
	}
	for h, want := range map[string]string{"X-M2M-Origin": "/id-in", "X-M2M-RVI": "3", "Content-Type": "application/json"} {
		if got := v.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if v.Header.Get("X-M2M-RI") == "" {
		t.Error("no X-M2M-RI")
	}
	want := map[string]any{"vrq": true, "sur": "/id-in/" + sub["ri"].(string), "cr": aei}
	if got := v.Sgn(); fmt.Sprint(got) != fmt.Sprint(want) || len(v.JSON) != 1 {
		t.Errorf("verification = %s, want {\"m2m:sgn\": %v}", v.Body, want)
	}
	if sub["cr"] != aei {
		t.Errorf("cr = %v, want the subscriber %s", sub["cr"], aei)
	}

	// The subscriber itself, in any form, is not asked.
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{aei, "/id-in/" + aei, "//onecse.example/id-in/" + aei}})
	if n := len(rcv.All()); n != 1 {
		t.Errorf("%d requests after a subscription to the subscriber itself", n)
	}
	// This CSE itself (its CSE-ID, its CSEBase) is a target that answers OK.
	for _, nu := range []string{"/id-in", "//onecse.example/id-in", "cse-in"} {
		subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{nu}})
	}
	if n := len(rcv.All()); n != 1 {
		t.Errorf("%d requests after subscriptions for the CSE itself", n)
	}
	// ?ct= picks the serialisation and is not sent; other query items stay.
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{rcv.URL + "?ct=cbor"}})
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{rcv.URL + "?a=1&ct=json&b=2"}})
	all = rcv.All()
	if len(all) != 3 {
		t.Fatalf("%d requests, want 3", len(all))
	}
	if all[1].ContentType != "application/cbor" || all[1].Path != "/notify" || !all[1].IsVerification() {
		t.Errorf("?ct=cbor: %s %s %v", all[1].ContentType, all[1].Path, all[1].JSON)
	}
	if all[2].ContentType != "application/json" || all[2].Path != "/notify?a=1&b=2" || !all[2].IsVerification() {
		t.Errorf("?a=1&ct=json&b=2: %s %s %v", all[2].ContentType, all[2].Path, all[2].JSON)
	}
}

// TestNotifyVerificationFails: when a target cannot be asked, or does not
// answer OK, the subscription is refused with 5204 and nothing is created.
func TestNotifyVerificationFails(t *testing.T) {
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyTimeout = 500 * time.Millisecond })
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	// An AE that cannot be reached: rr=false, or no point of access.
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cnopoa", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "nopoa", "api": "Nx", "rr": true, "srv": []any{"3"}}}}).Must(t, 2001)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cnotrr", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "notrr", "api": "Nx", "rr": false, "poa": []any{"http://127.0.0.1:9/x"}, "srv": []any{"3"}}}}).Must(t, 2001)
	answering := func(rsc, status int) func(t *testing.T) string {
		return func(t *testing.T) string {
			r := testcse.NewReceiver(t)
			r.Answer(rsc, status)
			return r.URL
		}
	}
	url := func(u string) func(t *testing.T) string { return func(*testing.T) string { return u } }
	cases := []struct {
		name   string
		target func(t *testing.T) string
	}{
		{"answers 4101 creator has no privilege", answering(4101, 403)},
		{"answers 5205 host has no privilege", answering(5205, 403)},
		{"answers 2001, not 2000", answering(2001, 201)},
		{"answers HTTP 500 without RSC", answering(0, 500)},
		{"receiver down", func(t *testing.T) string {
			r := testcse.NewReceiver(t)
			r.Stop()
			return r.URL
		}},
		{"receiver too slow", func(t *testing.T) string {
			r := testcse.NewReceiver(t)
			r.Delay(2 * time.Second)
			return r.URL
		}},
		{"AE not request-reachable", url("Cnotrr")},
		{"AE without point of access", url("/id-in/Cnopoa")},
		{"unregistered AE-ID", url("Cnobody")},
		{"entity of another CSE", url("/id-mn/Cx")},
		{"scheme without a binding", url("xmpp://127.0.0.1:5222/topic")},
		{"MQTT broker not reachable", url("mqtt://127.0.0.1:1/topic")},
		{"not an AE", url("cse-in/ae/c")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target(t)
			before := snap(t, c, "/cse-in/ae/c")
			r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c", From: aei, Ty: 23,
				Body: map[string]any{"m2m:sub": map[string]any{"rn": "s", "nu": []any{aei, target}}}}).Must(t, 5204)
			if !strings.Contains(string(r.Body), target) {
				t.Errorf("the answer does not name the target: %s", r.Body)
			}
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/s", From: aei}).Must(t, 4004)
			before.mustEqual(t, c, "/cse-in/ae/c")
		})
	}
}

// TestNotifyVerificationOnUpdate: an UPDATE verifies the targets it adds,
// and only those.
func TestNotifyVerificationOnUpdate(t *testing.T) {
	c := notifyCSE(t, nil)
	r1, r2 := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	subscribeAt(t, c, aei, "/cse-in/ae/c", r1, map[string]any{"rn": "s"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/s", From: aei,
		Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{r1.URL, r2.URL}}}}).Must(t, 2004)
	if n1, n2 := len(r1.All()), len(r2.All()); n1 != 1 || n2 != 1 || !r2.All()[0].IsVerification() {
		t.Fatalf("requests: %d at the old target, %d at the new one; want 1 and 1 verification", n1, n2)
	}
	// A target that refuses: 5204 and the subscription keeps its targets.
	bad := testcse.NewReceiver(t)
	bad.Answer(4101, 403)
	before := snap(t, c, "/cse-in/ae/c/s")
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/s", From: aei,
		Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{r1.URL, bad.URL}, "exc": 5}}}).Must(t, 5204)
	before.mustEqual(t, c, "/cse-in/ae/c/s")
	// The subscription still delivers to both.
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "x"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"a"}}}}).Must(t, 2004)
	r1.Wait(1, wait)
	r2.Wait(1, wait)
}

// TestNotifyEventTypes: net 1 to 4 with each content type they allow.
func TestNotifyEventTypes(t *testing.T) {
	c := notifyCSE(t, nil)
	aei := c.RegisterAE("ae")
	type tc struct {
		name string
		net  []any
		nct  any // nil: default
		act  func(t *testing.T, cnt string)
		// check looks at the one notification expected.
		check func(t *testing.T, cnt string, g *testcse.Received)
	}
	update := func(t *testing.T, cnt string) {
		c.Do(testcse.Req{Method: "PUT", Path: cnt, From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"new"}}}}).Must(t, 2004)
	}
	createChild := func(t *testing.T, cnt string) { addCIN(t, c, aei, cnt, map[string]any{"rn": "kid", "con": "v"}) }
	deleteChild := func(t *testing.T, cnt string) {
		addCIN(t, c, aei, cnt, map[string]any{"rn": "kid", "con": "v"})
		c.Do(testcse.Req{Method: "DELETE", Path: cnt + "/kid", From: aei}).Must(t, 2002)
	}
	deleteIt := func(t *testing.T, cnt string) {
		c.Do(testcse.Req{Method: "DELETE", Path: cnt, From: aei}).Must(t, 2002)
	}
	whole := func(key string, want map[string]any) func(t *testing.T, cnt string, g *testcse.Received) {
		return func(t *testing.T, cnt string, g *testcse.Received) {
			res, _ := g.Rep()[key].(map[string]any)
			if res == nil || len(g.Rep()) != 1 {
				t.Fatalf("rep = %v, want one %s", g.Rep(), key)
			}
			for k, v := range want {
				if fmt.Sprint(res[k]) != fmt.Sprint(v) {
					t.Errorf("rep %s = %v, want %v", k, res[k], v)
				}
			}
			for _, k := range []string{"ri", "ct", "lt", "ty", "pi"} {
				if _, ok := res[k]; !ok {
					t.Errorf("rep lacks %s: %v", k, res)
				}
			}
		}
	}
	uri := func(path string) func(t *testing.T, cnt string, g *testcse.Received) {
		return func(t *testing.T, cnt string, g *testcse.Received) {
			ri := get(t, c, cnt+path)
			var id string
			for _, v := range ri {
				id, _ = v.(map[string]any)["ri"].(string)
			}
			if got := g.Rep()["m2m:uri"]; got != "/id-in/"+id || len(g.Rep()) != 1 {
				t.Errorf("rep = %v, want {m2m:uri: /id-in/%s}", g.Rep(), id)
			}
		}
	}
	cases := []tc{
		{"update, default net and nct", nil, nil, update, whole("m2m:cnt", map[string]any{"lbl": []any{"new"}})},
		{"update, all attributes", []any{1}, 1, update, whole("m2m:cnt", map[string]any{"lbl": []any{"new"}, "st": 1})},
		{"update, modified attributes", []any{1}, 2, update, func(t *testing.T, cnt string, g *testcse.Received) {
			m, _ := g.Rep()["m2m:cnt"].(map[string]any)
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range m {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(keys, []string{"lbl", "lt", "st"}) || fmt.Sprint(m["lbl"]) != "[new]" {
				t.Errorf("modified attributes = %v, want lbl, lt, st", m)
			}
		}},
		{"update, resource ID", []any{1}, 3, update, uri("")},
		{"create child, all attributes", []any{3}, nil, createChild, whole("m2m:cin", map[string]any{"con": "v", "rn": "kid", "cs": 1})},
		{"create child, resource ID", []any{3}, 3, createChild, uri("/kid")},
		{"delete child, all attributes", []any{4}, nil, deleteChild, whole("m2m:cin", map[string]any{"con": "v", "rn": "kid"})},
		{"delete, all attributes", []any{2}, nil, deleteIt, whole("m2m:cnt", map[string]any{"rn": "box"})},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv := testcse.NewReceiver(t)
			parent := fmt.Sprintf("/cse-in/ae/p%d", i)
			c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": fmt.Sprintf("p%d", i)})
			cnt := parent + "/box"
			c.Create(aei, parent, 3, "m2m:cnt", map[string]any{"rn": "box"})
			attrs := map[string]any{"rn": "s"}
			if tc.net != nil {
				attrs["enc"] = map[string]any{"net": tc.net}
			}
			if tc.nct != nil {
				attrs["nct"] = tc.nct
			}
			sub := subscribeAt(t, c, aei, cnt, rcv, attrs)
			tc.act(t, cnt)
			g := rcv.Wait(1, wait)[0]
			if g.Net() != int64(net0(tc.net)) {
				t.Errorf("net = %d, want %d: %s", g.Net(), net0(tc.net), g.Body)
			}
			// cr: the target is not the subscriber (TS-0004 7.4.8.2.1 Recv-6.5).
			if g.Sgn()["sur"] != "/id-in/"+sub["ri"].(string) || g.Sgn()["cr"] != aei {
				t.Errorf("sur = %v, cr = %v; want /id-in/%v and %s", g.Sgn()["sur"], g.Sgn()["cr"], sub["ri"], aei)
			}
			if g.Header.Get("X-M2M-Origin") != "/id-in" || g.Header.Get("X-M2M-RVI") != "3" || g.Header.Get("X-M2M-RI") == "" {
				t.Errorf("headers %v", g.Header)
			}
			if ct := g.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tc.check(t, cnt, g)
			rcv.Quiet(1, 300*time.Millisecond)
		})
	}
}

func net0(l []any) int {
	if len(l) == 0 {
		return 1
	}
	return l[0].(int)
}

// TestNotifyOnlyWhatWasAskedFor: events of other types are not notified.
func TestNotifyOnlyWhatWasAskedFor(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "upd"}) // net 1 by default
	// A new instance changes the container's cni and st, but is no UPDATE.
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"rn": "i", "con": "x"})
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/i", From: aei}).Must(t, 2002)
	c.Create(aei, "/cse-in/ae/c", 3, "m2m:cnt", map[string]any{"rn": "sub"})
	// Nor is an UPDATE of a child, nor of the parent.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/sub", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"lbl": []any{"x"}}}}).Must(t, 2004)
	rcv.Quiet(0, 500*time.Millisecond)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 5}}}).Must(t, 2004)
	if g := rcv.Wait(1, wait)[0]; g.Net() != 1 {
		t.Errorf("net = %d", g.Net())
	}
	rcv.Quiet(1, 300*time.Millisecond)
}

// TestNotifyFilters: the conditions of eventNotificationCriteria (TS-0004
// 7.5.1.2.2 step 1.0): each is tried with an event that matches and one that
// does not.
func TestNotifyFilters(t *testing.T) {
	c := notifyCSE(t, nil)
	aei := c.RegisterAE("ae")
	t0 := time.Now()
	type action struct {
		name  string
		do    func(t *testing.T, cnt string)
		match bool
	}
	cin := func(name, con string, match bool, extra ...map[string]any) action {
		return action{name, func(t *testing.T, cnt string) {
			a := map[string]any{"con": con, "lbl": []any{name}}
			for _, e := range extra {
				for k, v := range e {
					a[k] = v
				}
			}
			addCIN(t, c, aei, cnt, a)
		}, match}
	}
	// upd updates the container with attrs; its lbl names the action.
	upd := func(name string, attrs map[string]any, match bool) action {
		return action{name, func(t *testing.T, cnt string) {
			a := map[string]any{"lbl": []any{name}}
			for k, v := range attrs {
				a[k] = v
			}
			c.Do(testcse.Req{Method: "PUT", Path: cnt, From: aei, Body: map[string]any{"m2m:cnt": a}}).Must(t, 2004)
		}, match}
	}
	child := func(name string, ty int, match bool) action {
		return action{name, func(t *testing.T, cnt string) {
			if ty == 3 {
				c.Create(aei, cnt, 3, "m2m:cnt", map[string]any{"rn": name, "lbl": []any{name}})
			} else {
				addCIN(t, c, aei, cnt, map[string]any{"rn": name, "con": "x", "lbl": []any{name}})
			}
		}, match}
	}
	ts := func(d time.Duration) string { return testTime(t0.Add(d)) }
	cases := []struct {
		name    string
		enc     map[string]any
		actions []action
	}{
		{"sza", map[string]any{"net": []any{3}, "sza": 5}, []action{cin("small", "1234", false), cin("big", "12345", true)}},
		{"szb", map[string]any{"net": []any{3}, "szb": 5}, []action{cin("big", "12345", false), cin("small", "1234", true)}},
		{"sza and szb", map[string]any{"net": []any{3}, "sza": 2, "szb": 4}, []action{cin("one", "1", false), cin("five", "12345", false), cin("three", "123", true)}},
		{"fo=2: sza or szb", map[string]any{"net": []any{3}, "sza": 5, "szb": 2, "fo": 2}, []action{cin("three", "123", false), cin("one", "1", true), cin("six", "123456", true)}},
		{"stb", map[string]any{"net": []any{3}, "stb": 3}, []action{cin("st1", "a", false), cin("st2", "a", false), cin("st3", "a", true)}},
		{"sts", map[string]any{"net": []any{3}, "sts": 2}, []action{cin("st1", "a", true), cin("st2", "a", false)}},
		{"crb", map[string]any{"net": []any{3}, "crb": ts(-time.Hour)}, []action{cin("now", "a", false)}},
		{"cra", map[string]any{"net": []any{3}, "cra": ts(-time.Hour)}, []action{cin("now", "a", true)}},
		{"cra in the future", map[string]any{"net": []any{3}, "cra": ts(time.Hour)}, []action{cin("now", "a", false)}},
		{"ms", map[string]any{"net": []any{1}, "ms": ts(-time.Hour)}, []action{upd("lbl", nil, true)}},
		{"us", map[string]any{"net": []any{1}, "us": ts(-time.Hour)}, []action{upd("lbl", nil, false)}},
		{"exb", map[string]any{"net": []any{3}, "exb": ts(2 * time.Hour)}, []action{
			cin("long", "a", false), cin("short", "a", true, map[string]any{"et": ts(time.Hour)})}},
		{"exa", map[string]any{"net": []any{3}, "exa": ts(2 * time.Hour)}, []action{
			cin("short", "a", false, map[string]any{"et": ts(time.Hour)}), cin("long", "a", true)}},
		{"atr", map[string]any{"net": []any{1}, "atr": []any{"mni", "mbs"}}, []action{
			upd("lbl", nil, false), upd("mni", map[string]any{"mni": 10}, true), upd("mia", map[string]any{"mia": 100}, false), upd("mbs", map[string]any{"mbs": 1000}, true)}},
		{"atr set to the same value", map[string]any{"net": []any{1}, "atr": []any{"mni"}}, []action{
			upd("mni", map[string]any{"mni": 10}, true), upd("mni again", map[string]any{"mni": 10}, true)}},
		{"chty", map[string]any{"net": []any{3}, "chty": []any{4}}, []action{child("cnt", 3, false), child("cin", 4, true)}},
		{"chty on delete", map[string]any{"net": []any{4}, "chty": []any{3}}, []action{
			child("cin", 4, false), {"cnt", func(t *testing.T, cnt string) {
				c.Create(aei, cnt, 3, "m2m:cnt", map[string]any{"rn": "cnt", "lbl": []any{"cnt"}})
				c.Do(testcse.Req{Method: "DELETE", Path: cnt + "/cnt", From: aei}).Must(t, 2002)
			}, true}}},
		{"several event types", map[string]any{"net": []any{1, 3}}, []action{cin("cin", "a", true), upd("lbl", nil, true)}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv := testcse.NewReceiver(t)
			cnt := fmt.Sprintf("/cse-in/ae/f%d", i)
			c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": fmt.Sprintf("f%d", i)})
			subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": tc.enc})
			var want []string
			for _, a := range tc.actions {
				a.do(t, cnt)
				if a.match {
					want = append(want, a.name)
				}
			}
			got := rcv.Wait(len(want), wait)
			rcv.Quiet(len(want), 300*time.Millisecond)
			var names []string
			for _, g := range got {
				for _, res := range g.Rep() {
					if l, ok := res.(map[string]any)["lbl"].([]any); ok && len(l) > 0 {
						names = append(names, fmt.Sprint(l[0]))
					}
				}
			}
			if !slices.Equal(names, want) {
				t.Errorf("notified for %v, want %v", names, want)
			}
		})
	}
}

func testTime(t time.Time) string { return t.UTC().Format("20060102T150405") }

// TestNotifyBadCriteria: criteria onecse refuses, with the exact code, and
// nothing is created.
func TestNotifyBadCriteria(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	cases := []struct {
		name  string
		attrs map[string]any
		rsc   int
	}{
		{"net 6 not implemented", map[string]any{"enc": map[string]any{"net": []any{6}}}, 5001},
		{"net 7 with another net", map[string]any{"enc": map[string]any{"net": []any{1, 7}}}, 4000},
		{"net 7 to a URL", map[string]any{"enc": map[string]any{"net": []any{7}}}, 4000},
		{"net 8 needs a timeSeries", map[string]any{"enc": map[string]any{"net": []any{8}}}, 4000},
		{"missingData needs a timeSeries", map[string]any{"enc": map[string]any{"md": map[string]any{"num": 1, "dur": "PT1S"}}}, 4000},
		{"operationMonitor not implemented", map[string]any{"enc": map[string]any{"om": []any{map[string]any{"ops": 1}}}}, 5001},
		{"net and om together", map[string]any{"enc": map[string]any{"net": []any{1}, "om": []any{}}}, 4000},
		{"chty not a child type of a container", map[string]any{"enc": map[string]any{"net": []any{3}, "chty": []any{2}}}, 4000},
		{"atr not an attribute of a container", map[string]any{"enc": map[string]any{"atr": []any{"api"}}}, 4000},
		{"nct 2 with net 3", map[string]any{"enc": map[string]any{"net": []any{3}}, "nct": 2}, 4000},
		{"preSubscriptionNotify not implemented", map[string]any{"psn": 3}, 5001},
		{"nu asks for XML", map[string]any{"nu": []any{"http://127.0.0.1:1/x?ct=xml"}}, 4000},
		{"nu with an unknown serialisation", map[string]any{"nu": []any{"http://127.0.0.1:1/x?ct=yaml"}}, 4000},
		{"enc unknown member", map[string]any{"enc": map[string]any{"xyz": 1}}, 4000},
		{"bn num 0", map[string]any{"bn": map[string]any{"num": 0}}, 4000},
		{"rl tww not a duration", map[string]any{"rl": map[string]any{"mnn": 1, "tww": "soon"}}, 4000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snap(t, c, "/cse-in/ae/c")
			attrs := map[string]any{"rn": "s", "nu": []any{rcv.URL}}
			for k, v := range tc.attrs {
				attrs[k] = v
			}
			c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c", From: aei, Ty: 23, Body: map[string]any{"m2m:sub": attrs}}).Must(t, tc.rsc)
			before.mustEqual(t, c, "/cse-in/ae/c")
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/s", From: aei}).Must(t, 4004)
		})
	}
	// The 5001s say why.
	for enc, why := range map[string]string{`{"net":[6]}`: "device triggering", `{"om":[{"ops":1}]}`: "records no event"} {
		r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c", From: aei, Ty: 23, ContentType: "application/json",
			Body: `{"m2m:sub":{"nu":["` + aei + `"],"enc":` + enc + `}}`}).Must(t, 5001)
		if !strings.Contains(string(r.Body), why) {
			t.Errorf("enc %s: %s, want the reason (%q)", enc, r.Body, why)
		}
	}
	if n := len(rcv.All()); n != 0 {
		t.Errorf("refused subscriptions sent %d verification requests", n)
	}
	// The same on UPDATE: nothing changes.
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "ok"})
	for _, enc := range []map[string]any{{"net": []any{6}}, {"net": []any{3}, "chty": []any{5}}} {
		before := snap(t, c, "/cse-in/ae/c/ok")
		r := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/ok", From: aei, Body: map[string]any{"m2m:sub": map[string]any{"enc": enc}}})
		if r.RSC != 5001 && r.RSC != 4000 {
			t.Errorf("UPDATE enc %v: rsc %d", enc, r.RSC)
		}
		before.mustEqual(t, c, "/cse-in/ae/c/ok")
	}
}

// TestNotifyOrderAndRecovery: a receiver that is down and comes back gets
// everything, in order.
func TestNotifyOrderAndRecovery(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"enc": map[string]any{"net": []any{3}}})
	for i := range 5 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("a%d", i)})
	}
	rcv.Wait(5, wait)
	rcv.Stop()
	for i := range 20 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("b%d", i)})
	}
	time.Sleep(time.Second) // several failed attempts
	rcv.Start()
	for i := range 5 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("c%d", i)})
	}
	got := rcv.Wait(30, wait)
	rcv.Quiet(30, 300*time.Millisecond)
	want := append(append(seqCons("a", 5), seqCons("b", 20)...), seqCons("c", 5)...)
	if !slices.Equal(ncons(got), want) {
		t.Fatalf("received %v\nwant %v", ncons(got), want)
	}
}

// TestNotifySlowReceiver: a receiver that takes its time delays nobody's
// CREATE, and still gets everything in order.
func TestNotifySlowReceiver(t *testing.T) {
	// The slow receiver answers nothing until released, and the CSE waits
	// for it far longer than the client waits for a CREATE (30 s): a CREATE
	// that waited for its notification could not complete at all. No
	// duration is compared, so a loaded machine changes nothing.
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyTimeout = time.Minute })
	slow, fast := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	// chty: the second subscription is a new child too, not to be counted.
	subscribeAt(t, c, aei, "/cse-in/ae/c", slow, map[string]any{"enc": map[string]any{"net": []any{3}, "chty": []any{4}}})
	subscribeAt(t, c, aei, "/cse-in/ae/c", fast, map[string]any{"enc": map[string]any{"net": []any{3}, "chty": []any{4}}})
	slow.Hold()
	defer slow.Release()
	const n = 10
	for i := range n {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("x%d", i)})
	}
	// Every CREATE is done; the slow receiver is holding a notification
	// and has answered none.
	slow.WaitHeld(1, wait)
	if got := slow.Notifications(); len(got) != 0 {
		t.Fatalf("the held receiver answered: %v", ncons(got))
	}
	// The fast receiver is not held up by the slow one either: it gets
	// everything while the slow one still holds its first.
	if got := fast.Wait(n, wait); !slices.Equal(ncons(got), seqCons("x", n)) {
		t.Errorf("fast receiver: %v", ncons(got))
	}
	if got := slow.Notifications(); len(got) != 0 {
		t.Fatalf("the held receiver answered: %v", ncons(got))
	}
	slow.Release()
	if got := slow.Wait(n, wait); !slices.Equal(ncons(got), seqCons("x", n)) {
		t.Errorf("slow receiver: %v", ncons(got))
	}
}

// TestNotifyExpirationCounter: exc notifications, then the subscription is
// deleted and the subscriber told.
func TestNotifyExpirationCounter(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv, subscriber := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	sub := subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s", "exc": 3, "su": subscriber.URL, "enc": map[string]any{"net": []any{3}}})
	for i := range 6 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("x%d", i)})
	}
	got := rcv.Wait(3, wait)
	sud := subscriber.Wait(1, wait)[0].Sgn()
	if sud["sud"] != true || sud["sur"] != "/id-in/"+sub["ri"].(string) || sud["cr"] != aei {
		t.Errorf("deletion notice = %v", sud)
	}
	rcv.Quiet(3, 300*time.Millisecond)
	if !slices.Equal(ncons(got), seqCons("x", 3)) {
		t.Errorf("received %v", ncons(got))
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/s", From: aei}).Must(t, 4004)
	subscriber.Quiet(1, 200*time.Millisecond)

	// The counter goes down with each notification, and an UPDATE sets it.
	sub2 := subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s2", "exc": 10, "enc": map[string]any{"net": []any{3}}})
	_ = sub2
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "y0"})
	rcv.Wait(4, wait)
	deadline := time.Now().Add(wait)
	for get(t, c, "/cse-in/ae/c/s2")["m2m:sub"].(map[string]any)["exc"] != int64(9) {
		if time.Now().After(deadline) {
			t.Fatalf("exc = %v, want 9", get(t, c, "/cse-in/ae/c/s2")["m2m:sub"].(map[string]any)["exc"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c/s2", From: aei, Body: map[string]any{"m2m:sub": map[string]any{"exc": 1}}}).Must(t, 2004)
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "y1"})
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "y2"})
	got = rcv.Wait(5, wait)
	rcv.Quiet(5, 300*time.Millisecond)
	if !slices.Equal(ncons(got[3:]), []string{"y0", "y1"}) {
		t.Errorf("after the UPDATE: %v", ncons(got[3:]))
	}
	waitGone(t, c, "/cse-in/ae/c/s2")
}

func waitGone(t *testing.T, c *testcse.CSE, path string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for c.Do(testcse.Req{Method: "GET", Path: path, From: admin}).RSC != 4004 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still there", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNotifyBatches: batchNotify by number and by duration (TS-0001
// 10.2.10.7), latestNotify, rateLimit.
func TestNotifyBatches(t *testing.T) {
	c := notifyCSE(t, nil)
	aei := c.RegisterAE("ae")
	net3 := map[string]any{"net": []any{3}}
	n := 0
	// box gives each case a container of its own.
	box := func(t *testing.T) string {
		n++
		c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": fmt.Sprintf("b%d", n)})
		return fmt.Sprintf("/cse-in/ae/b%d", n)
	}

	t.Run("by number", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		sub := subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "bn": map[string]any{"num": 3, "dur": "PT2S"}})
		start := time.Now()
		for i := range 7 {
			addCIN(t, c, aei, cnt, map[string]any{"con": fmt.Sprintf("n%d", i)})
		}
		got := rcv.Wait(2, wait)
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("two full batches took %s: not sent by number", d)
		}
		got = rcv.Wait(3, wait) // the 7th, alone, after the duration
		if d := time.Since(start); d < 1900*time.Millisecond {
			t.Errorf("the last batch came after %s, before its duration", d)
		}
		var sizes []int
		var all []string
		for _, g := range got {
			b := g.Batch()
			sizes = append(sizes, len(b))
			for _, s := range b {
				if s["sur"] != "/id-in/"+sub["ri"].(string) {
					t.Errorf("sur %v in a batch", s["sur"])
				}
				nev := s["nev"].(map[string]any)
				all = append(all, fmt.Sprint(nev["rep"].(map[string]any)["m2m:cin"].(map[string]any)["con"]))
			}
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) || !slices.Equal(all, seqCons("n", 7)) {
			t.Errorf("batches of %v holding %v", sizes, all)
		}
	})
	t.Run("by duration", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "bn": map[string]any{"dur": "PT1S"}})
		start := time.Now()
		for i := range 4 {
			addCIN(t, c, aei, cnt, map[string]any{"con": fmt.Sprintf("d%d", i)})
		}
		g := rcv.Wait(1, wait)[0]
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("the batch came after %s, before its duration", d)
		}
		if len(g.Batch()) != 4 {
			t.Errorf("one batch of %d, want 4: %s", len(g.Batch()), g.Body)
		}
		rcv.Quiet(1, 300*time.Millisecond)
	})
	t.Run("default duration", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		sub := subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "bn": map[string]any{"num": 2}})
		if bn := sub["bn"].(map[string]any); bn["dur"] != "PT60S" || bn["num"] != int64(2) {
			t.Errorf("bn = %v, want the default duration PT60S filled in", bn)
		}
	})
	t.Run("latest of a batch", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "ln": true, "bn": map[string]any{"num": 3, "dur": "PT5S"}})
		for i := range 6 {
			addCIN(t, c, aei, cnt, map[string]any{"con": fmt.Sprintf("l%d", i)})
		}
		got := rcv.Wait(2, wait)
		rcv.Quiet(2, 300*time.Millisecond)
		if !slices.Equal(ncons(got), []string{"l2", "l5"}) {
			t.Errorf("latestNotify with batches of 3 sent %v, want l2 and l5", ncons(got))
		}
		for _, g := range got {
			if g.Header.Get("X-M2M-EC") != "4" {
				t.Errorf("X-M2M-EC = %q, want 4 (latest)", g.Header.Get("X-M2M-EC"))
			}
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "rl": map[string]any{"mnn": 2, "tww": "PT1S"}})
		start := time.Now()
		for i := range 5 {
			addCIN(t, c, aei, cnt, map[string]any{"con": fmt.Sprintf("r%d", i)})
		}
		got := rcv.Wait(5, wait)
		if !slices.Equal(ncons(got), seqCons("r", 5)) {
			t.Errorf("received %v", ncons(got))
		}
		// Two in the first window, two in the second, one in the third.
		if d := got[2].At.Sub(start); d < 900*time.Millisecond {
			t.Errorf("the third came %s after the first: more than 2 in a 1 s window", d)
		}
		if d := got[4].At.Sub(start); d < 1900*time.Millisecond {
			t.Errorf("the fifth came %s after the first", d)
		}
	})
	t.Run("latest under a rate limit", func(t *testing.T) {
		rcv := testcse.NewReceiver(t)
		cnt := box(t)
		subscribeAt(t, c, aei, cnt, rcv, map[string]any{"enc": net3, "ln": true, "rl": map[string]any{"mnn": 1, "tww": "PT1S"}})
		for i := range 5 {
			addCIN(t, c, aei, cnt, map[string]any{"con": fmt.Sprintf("q%d", i)})
		}
		got := rcv.Wait(2, wait)
		rcv.Quiet(2, 1500*time.Millisecond)
		// The first goes at once; what waited for the next window is only the newest.
		if c := ncons(got); len(c) != 2 || c[1] != "q4" {
			t.Errorf("received %v, want the first and then q4", c)
		}
	})
}

// TestNotifyRestart: notifications pending when the CSE stops are delivered
// after it starts again on the same data.
func TestNotifyRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.HTTP, cfg.Data, cfg.Sync = "127.0.0.1:0", dir, "normal"
	cfg.NotifyRetry, cfg.NotifyRetryMax, cfg.NotifyAttempts = 50*time.Millisecond, 200*time.Millisecond, 1000
	c := testcse.StartConfig(t, cfg)
	// Two targets: rcv goes down, up stays up and must get nothing twice.
	rcv, up := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{rcv.URL, up.URL}, "enc": map[string]any{"net": []any{3}}})
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "before"})
	rcv.Wait(1, wait)
	rcv.Stop()
	for i := range 10 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("p%d", i)})
	}
	up.Wait(11, wait)
	time.Sleep(300 * time.Millisecond) // attempts at rcv fail meanwhile
	shutdown(t, c)

	c2 := testcse.StartConfig(t, cfg)
	time.Sleep(200 * time.Millisecond)
	rcv.Start()
	addCIN(t, c2, aei, "/cse-in/ae/c", map[string]any{"con": "after"})
	got := rcv.Wait(12, wait)
	rcv.Quiet(12, 300*time.Millisecond)
	want := append(append([]string{"before"}, seqCons("p", 10)...), "after")
	if !slices.Equal(ncons(got), want) {
		t.Fatalf("received %v\nwant %v", ncons(got), want)
	}
	if got := up.Wait(12, wait); !slices.Equal(ncons(got), want) {
		t.Fatalf("the target that was up received %v\nwant %v", ncons(got), want)
	}
	// Delivered is done: another restart sends nothing again.
	shutdown(t, c2)
	testcse.StartConfig(t, cfg)
	rcv.Quiet(12, time.Second)
	up.Quiet(12, 0)
}

func shutdown(t *testing.T, c *testcse.CSE) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestNotifyDeletions: the deletion of children (by a client, by expiry; not
// by the container's limits) and of the subscribed-to resource itself, with
// its subtree.
func TestNotifyDeletions(t *testing.T) {
	c := notifyCSE(t, func(cfg *config.Config) {})
	rcv, subscriber := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c", "mni": 2})
	sub := subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s", "su": subscriber.URL, "enc": map[string]any{"net": []any{2, 4}}})
	for _, rn := range []string{"a", "b"} {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"rn": rn, "con": rn})
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/a", From: aei}).Must(t, 2002)
	g := rcv.Wait(1, wait)[0]
	if g.Net() != 4 || ncons([]*testcse.Received{g})[0] != "a" {
		t.Errorf("explicit deletion: %s", g.Body)
	}
	// mni=2: c and d push b and c out, which is not notified (TS-0004
	// 7.4.7.2.1 d).
	for _, rn := range []string{"c", "d", "e"} {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"rn": rn, "con": rn})
	}
	rcv.Quiet(1, 500*time.Millisecond)
	// Expiry is a deletion.
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"rn": "short", "con": "short", "et": testTime(time.Now().Add(1500 * time.Millisecond))})
	g = rcv.Wait(2, wait)[1]
	if g.Net() != 4 || ncons([]*testcse.Received{g})[0] != "short" {
		t.Errorf("expiry: %s", g.Body)
	}
	// A subscription to a child container, deleted with its parent.
	c.Create(aei, "/cse-in/ae/c", 3, "m2m:cnt", map[string]any{"rn": "inner"})
	rcv2 := testcse.NewReceiver(t)
	inner := subscribeAt(t, c, aei, "/cse-in/ae/c/inner", rcv2, map[string]any{"su": subscriber.URL, "enc": map[string]any{"net": []any{2}}})
	// The container itself goes.
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c", From: aei}).Must(t, 2002)
	got := rcv.Wait(3, wait)
	if got[2].Net() != 2 || got[2].Rep()["m2m:cnt"].(map[string]any)["rn"] != "c" {
		t.Errorf("the subscribed-to resource's deletion: %s", got[2].Body)
	}
	g2 := rcv2.Wait(1, wait)[0]
	if g2.Net() != 2 || g2.Rep()["m2m:cnt"].(map[string]any)["rn"] != "inner" {
		t.Errorf("the inner container's deletion: %s", g2.Body)
	}
	sud := subscriber.Wait(2, wait)
	var refs []string
	for _, s := range sud {
		if s.Sgn()["sud"] != true {
			t.Errorf("not a deletion notice: %s", s.Body)
		}
		refs = append(refs, s.Sgn()["sur"].(string))
	}
	slices.Sort(refs)
	want := []string{"/id-in/" + sub["ri"].(string), "/id-in/" + inner["ri"].(string)}
	slices.Sort(want)
	if !slices.Equal(refs, want) {
		t.Errorf("deletion notices for %v, want %v", refs, want)
	}
	rcv.Quiet(3, 300*time.Millisecond)
	subscriber.Quiet(2, 0)
}

// TestNotifySubscriptionLifecycle: an explicit DELETE tells the subscriber,
// the parent's other subscriptions see a child go, and an expired
// subscription goes the same way.
func TestNotifySubscriptionLifecycle(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv, subscriber := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	watcher := testcse.NewReceiver(t)
	subscribeAt(t, c, aei, "/cse-in/ae/c", watcher, map[string]any{"rn": "watch", "enc": map[string]any{"net": []any{3, 4}, "chty": []any{23}}})
	sub := subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s", "su": subscriber.URL})
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/c/s", From: aei}).Must(t, 2002)
	if s := subscriber.Wait(1, wait)[0].Sgn(); s["sud"] != true || s["sur"] != "/id-in/"+sub["ri"].(string) {
		t.Errorf("deletion notice %v", s)
	}
	w := watcher.Wait(2, wait)
	if w[0].Net() != 3 || w[1].Net() != 4 || w[1].Rep()["m2m:sub"].(map[string]any)["rn"] != "s" {
		t.Errorf("the other subscription saw %s and %s", w[0].Body, w[1].Body)
	}
	// Expiry.
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "brief", "su": subscriber.URL, "et": testTime(time.Now().Add(1500 * time.Millisecond))})
	if s := subscriber.Wait(2, wait)[1].Sgn(); s["sud"] != true {
		t.Errorf("expiry notice %v", s)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/brief", From: aei}).Must(t, 4004)
	// A deleted subscription sends nothing more.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}).Must(t, 2004)
	rcv.Quiet(0, 300*time.Millisecond)
}

// TestNotifyAETargets: a target given as an AE-ID is reached through the
// AE's pointOfAccess, in order, in its serialisation.
func TestNotifyAETargets(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	dead := testcse.NewReceiver(t)
	dead.Stop()
	aei := c.RegisterAE("ae")
	// The receiving AE lists a dead point of access first.
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Creceiver", Ty: 2, Body: map[string]any{"m2m:ae": map[string]any{
		"rn": "receiver", "api": "Nrcv", "rr": true, "srv": []any{"3"}, "poa": []any{dead.URL, rcv.URL}, "csz": []any{"application/cbor"}}}}).Must(t, 2001)
	_ = r
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	for _, nu := range []string{"Creceiver", "/id-in/Creceiver", "//onecse.example/id-in/Creceiver", "cse-in/receiver"} {
		subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"nu": []any{nu}, "enc": map[string]any{"net": []any{3}, "chty": []any{4}}})
	}
	v := rcv.All()
	if len(v) != 4 {
		t.Fatalf("%d verification requests, want 4", len(v))
	}
	for _, g := range v {
		if !g.IsVerification() || g.ContentType != "application/cbor" {
			t.Errorf("verification %s %v", g.ContentType, g.JSON)
		}
	}
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "x"})
	got := rcv.Wait(4, wait)
	for _, g := range got {
		if g.ContentType != "application/cbor" || ncons([]*testcse.Received{g})[0] != "x" {
			t.Errorf("notification %s %v", g.ContentType, g.JSON)
		}
	}
	// The subscriber's own AE-ID with a point of access: no verification,
	// but notifications.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"poa": []any{rcv.URL}}}}).Must(t, 2004)
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "own"})
	before := len(rcv.All())
	subscribeAt(t, c, aei, "/cse-in/ae/own", rcv, map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{3}}})
	if len(rcv.All()) != before {
		t.Errorf("the subscriber was asked to verify its own subscription")
	}
	addCIN(t, c, aei, "/cse-in/ae/own", map[string]any{"con": "own"})
	if g := rcv.Wait(5, wait)[4]; g.ContentType != "application/json" || ncons([]*testcse.Received{g})[0] != "own" {
		t.Errorf("own notification %s %s", g.ContentType, g.Body)
	}
}

// TestNotifyTargetGivesUp: a target that never answers is given up after the
// attempts, with the rest delivered meanwhile; a 4xxx answer is not retried.
func TestNotifyTargetGivesUp(t *testing.T) {
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyAttempts = 3 })
	good, bad := testcse.NewReceiver(t), testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	net3 := map[string]any{"net": []any{3}, "chty": []any{4}}
	subscribeAt(t, c, aei, "/cse-in/ae/c", good, map[string]any{"enc": net3})
	subscribeAt(t, c, aei, "/cse-in/ae/c", bad, map[string]any{"enc": net3})
	bad.Answer(5000, 500)
	for i := range 3 {
		addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": fmt.Sprintf("x%d", i)})
	}
	good.Wait(3, wait)
	// 3 attempts for the first, then one each for the others: 5 in all.
	deadline := time.Now().Add(wait)
	for len(bad.Notifications()) < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	bad.Quiet(5, 500*time.Millisecond)
	// It recovers: the next one is delivered once.
	bad.Answer(2000, 200)
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "ok"})
	if got := bad.Wait(6, wait); ncons(got[5:])[0] != "ok" {
		t.Errorf("after recovery: %v", ncons(got))
	}
	bad.Quiet(6, 300*time.Millisecond)
	// A refusal (4xxx) is final at once.
	bad.Answer(4103, 403)
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "refused"})
	bad.Wait(7, wait)
	bad.Quiet(7, 500*time.Millisecond)
	good.Wait(5, wait)
}

// TestNotifyToAnAE: a NOTIFY addressed to an <AE> goes on to the AE through
// its pointOfAccess, as it came, and the AE's answer comes back (TS-0004
// 7.3.3.9.1); an AE that cannot be reached is 5103.
func TestNotifyToAnAE(t *testing.T) {
	c := notifyCSE(t, func(cfg *config.Config) { cfg.NotifyTimeout = 500 * time.Millisecond })
	rcv, dead := testcse.NewReceiver(t), testcse.NewReceiver(t)
	dead.Stop()
	reg := func(from string, rr bool, poa ...any) {
		ae := map[string]any{"rn": strings.ToLower(from), "api": "Nx", "rr": rr, "srv": []any{"3"}}
		if len(poa) > 0 {
			ae["poa"] = poa
		}
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: from, Ty: 2, Body: map[string]any{"m2m:ae": ae}}).Must(t, 2001)
	}
	reg("Creach", true, dead.URL, rcv.URL)
	reg("Cnoreach", false, rcv.URL)
	reg("Cnopoa", true)
	sgn := map[string]any{"m2m:sgn": map[string]any{"nev": map[string]any{"net": 1, "rep": map[string]any{"m2m:uri": "x"}}, "sur": "/id-in/subx"}}
	notify := func(to string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "POST", Path: to, From: admin, Body: sgn, Header: map[string]string{"X-M2M-RI": "relay-1"}})
	}
	notify("/cse-in/creach").Must(t, 2000)
	got := rcv.All()
	if len(got) != 1 || got[0].Header.Get("X-M2M-Origin") != admin || got[0].Header.Get("X-M2M-RI") != "relay-1" || got[0].Sgn()["sur"] != "/id-in/subx" {
		t.Fatalf("relayed: %v", got)
	}
	// The AE's answer is the answer.
	rcv.Answer(4103, 403)
	notify("/~/id-in/Creach").Must(t, 4103)
	// Not reachable: rr=false, no point of access, all points of access down.
	notify("/cse-in/cnoreach").Must(t, 5103)
	notify("/cse-in/cnopoa").Must(t, 5103)
	rcv.Stop()
	notify("/cse-in/creach").Must(t, 5103)
	if n := len(rcv.All()); n != 2 {
		t.Errorf("%d requests reached the receiver, want 2", n)
	}
}
