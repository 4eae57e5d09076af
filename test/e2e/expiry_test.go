package e2e

import (
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// expirationTime (TS-0004 7.3.3.3, 7.3.3.4, 7.3.3.5; protocol.md 3.1).

func etOf(t *testing.T, attrs map[string]any) time.Time {
	t.Helper()
	s, _ := attrs["et"].(string)
	et, ok := primitive.ParseTime(s)
	if !ok {
		t.Fatalf("et %q is not a timestamp", s)
	}
	return et
}

func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -5*time.Second || d > 5*time.Second {
		t.Fatalf("%s = %s, want about %s", what, got.Format(time.RFC3339), want.Format(time.RFC3339))
	}
}

func TestExpirationTime(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) {
		cfg.DefaultExpiration = time.Hour
		cfg.MaxExpiration = 2 * time.Hour
	})
	aei := c.RegisterAE("ae")
	ae := get(t, c, "/cse-in/ae")["m2m:ae"].(map[string]any)
	near(t, "AE default et", etOf(t, ae), time.Now().Add(time.Hour))

	// Default applied, maximum caps.
	cnt := c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "def"})
	near(t, "default et", etOf(t, cnt), time.Now().Add(time.Hour))
	// The AE expires in an hour, so a longer child et is capped by the parent's.
	cnt = c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "long", "et": future(10 * time.Hour)})
	if !etOf(t, cnt).Equal(etOf(t, ae)) {
		t.Fatalf("child et %v not capped by the parent's %v", cnt["et"], ae["et"])
	}
	// Raise the AE's et above the maximum: capped at max.
	up := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"et": future(10 * time.Hour)}}}).Must(t, 2004).Res("m2m:ae")
	near(t, "capped et", etOf(t, up), time.Now().Add(2*time.Hour))
	cnt = c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "max", "et": future(10 * time.Hour)})
	near(t, "max et", etOf(t, cnt), time.Now().Add(2*time.Hour))
	// An et the client asks for within the limits is kept exactly.
	want := future(30 * time.Minute)
	cnt = c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "exact", "et": want})
	if w, _ := primitive.ParseTime(want); !etOf(t, cnt).Equal(w) {
		t.Fatalf("et %v, asked for %s", cnt["et"], want)
	}
	// The rcn=9 answer shows an et the CSE changed.
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae?rcn=9", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "mod", "et": future(10 * time.Hour)}}}).Must(t, 2001)
	if _, ok := r.Res("m2m:cnt")["et"]; !ok {
		t.Fatalf("rcn=9 does not show the capped et: %s", r.Body)
	}

	// A past et is refused on CREATE and UPDATE; nothing changes.
	before := snap(t, c, "/cse-in/ae")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"et": primitive.FormatTime(time.Now().Add(-time.Second))}}}).Must(t, 4000)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"et": past}}}).Must(t, 4000)
	before.mustEqual(t, c, "/cse-in/ae")

	// Null lets the CSE choose again.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/exact", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"et": nil}}}).Must(t, 2004)
	near(t, "et after null", etOf(t, cntAttrs(t, c, "/cse-in/ae/exact")), time.Now().Add(time.Hour))

	// Shortening an et below a child's is refused (TS-0004 7.3.3.4).
	c.Create(aei, "/cse-in/ae/def", 3, "m2m:cnt", map[string]any{"rn": "kid", "et": future(50 * time.Minute)})
	before = snap(t, c, "/cse-in/ae/def")
	r = c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/def", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"et": future(10 * time.Minute)}}}).Must(t, 4000)
	before.mustEqual(t, c, "/cse-in/ae/def")
	// Above the child's it is fine.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/def", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"et": future(55 * time.Minute)}}}).Must(t, 2004)
}

// TestExpiryRemovesSubtree: an expired resource answers 4004 at once and the
// expiry loop removes it with everything below it.
func TestExpiryRemovesSubtree(t *testing.T) {
	t.Parallel()
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "keep"})
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "tmp", "et": future(2 * time.Second)})
	c.Create(aei, "/cse-in/ae/tmp", 3, "m2m:cnt", map[string]any{"rn": "inner"})
	c.Create(aei, "/cse-in/ae/tmp/inner", 4, "m2m:cin", map[string]any{"rn": "i", "con": "x"})
	c.Create(aei, "/cse-in/ae/tmp", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}})
	paths := []string{"/cse-in/ae/tmp", "/cse-in/ae/tmp/inner", "/cse-in/ae/tmp/inner/i", "/cse-in/ae/tmp/s"}
	for _, p := range paths {
		get(t, c, p)
	}
	time.Sleep(2100 * time.Millisecond)
	for _, p := range paths {
		c.Do(testcse.Req{Method: "GET", Path: p, From: admin}).Must(t, 4004)
	}
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/tmp", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}).Must(t, 4004)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/tmp", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{}}}).Must(t, 4004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae/tmp/inner", From: aei}).Must(t, 4004)
	// Once the loop has run the names are free again, at every level: the
	// whole subtree is gone from the store, not just hidden.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "tmp"}}})
		if r.RSC == 2001 {
			break
		}
		if r.RSC != 4105 || time.Now().After(deadline) {
			t.Fatalf("re-creating tmp: %d %s", r.RSC, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.Create(aei, "/cse-in/ae/tmp", 3, "m2m:cnt", map[string]any{"rn": "inner"})
	c.Create(aei, "/cse-in/ae/tmp/inner", 4, "m2m:cin", map[string]any{"rn": "i", "con": "x"})
	c.Create(aei, "/cse-in/ae/tmp", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}})
	get(t, c, "/cse-in/ae/keep")

	// An expired AE is deregistered: its AE-ID is unknown (4106) and can
	// register again.
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cshort", Ty: 2, Body: map[string]any{"m2m:ae": map[string]any{"rn": "short", "api": "Nx", "rr": false, "srv": []any{"3"}, "et": future(2 * time.Second)}}}).Must(t, 2001)
	if r.Res("m2m:ae")["aei"] != "Cshort" {
		t.Fatalf("aei %v", r.Res("m2m:ae")["aei"])
	}
	c.Create("Cshort", "/cse-in/short", 3, "m2m:cnt", map[string]any{"rn": "data"})
	c.Create("Cshort", "/cse-in/short", 1, "m2m:acp", map[string]any{"rn": "p", "pv": acpRule, "pvs": acpRule})
	time.Sleep(2100 * time.Millisecond)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/short", From: "Cshort"}).Must(t, 4106)
	for _, p := range []string{"/cse-in/short", "/cse-in/short/data", "/cse-in/short/p"} {
		c.Do(testcse.Req{Method: "GET", Path: p, From: admin}).Must(t, 4004)
	}
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cshort", Ty: 2, Body: map[string]any{"m2m:ae": map[string]any{"rn": "short", "api": "Nx", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/short/data", From: "Cshort"}).Must(t, 4004)
	c.Create("Cshort", "/cse-in/short", 3, "m2m:cnt", map[string]any{"rn": "data"})
	c.Create("Cshort", "/cse-in/short", 1, "m2m:acp", map[string]any{"rn": "p", "pv": acpRule, "pvs": acpRule})
}
