package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// AE registration and deregistration (registration-security.md 3.3, 3.4,
// 3.6, 3.7; TS-0004 7.4.5.2).

func aeBody(rn string, extra map[string]any) map[string]any {
	b := map[string]any{"api": "Napp", "rr": true, "srv": []any{"3"}}
	if rn != "" {
		b["rn"] = rn
	}
	for k, v := range extra {
		if v == absent {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return map[string]any{"m2m:ae": b}
}

func register(c *testcse.CSE, from, rn string, extra map[string]any, hdr map[string]string) *testcse.Resp {
	return c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: from, Ty: 2, Body: aeBody(rn, extra), Header: hdr})
}

func TestAERegistrationFrom(t *testing.T) {
	c := testcse.Start(t, nil)
	for _, tc := range []struct {
		name, from string
		prefix     string // the AE-ID starts with it
		exact      string // or is exactly it
	}{
		{name: "absent", from: "-", prefix: "C"},
		{name: "empty", from: "", prefix: "C"},
		{name: "C", from: "C", prefix: "C"},
		{name: "S on the IN-CSE", from: "S", prefix: "S"},
		{name: "C stem", from: "Cstem1", exact: "Cstem1"},
		{name: "S stem", from: "Sstem1", exact: "Sstem1"},
		{name: "SP-relative", from: "/id-in/Cabc", exact: "Cabc"},
		{name: "absolute", from: "//onecse.example/id-in/Cdef", exact: "Cdef"},
		{name: "SP-relative S", from: "/Sghi", exact: "Sghi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rn := "ae-" + strings.NewReplacer("/", "", " ", "").Replace(tc.name)
			r := register(c, tc.from, rn, nil, nil).Must(t, 2001)
			ae := r.Res("m2m:ae")
			aei, _ := ae["aei"].(string)
			if tc.exact != "" && aei != tc.exact || tc.exact == "" && (!strings.HasPrefix(aei, tc.prefix) || len(aei) < 4) {
				t.Fatalf("aei %q (want %q%q)", aei, tc.exact, tc.prefix)
			}
			if ae["ri"] != aei {
				t.Fatalf("ri %v != aei %s", ae["ri"], aei)
			}
			if ae["rn"] != rn || ae["pi"] != "id-in" || ae["api"] != "Napp" || ae["rr"] != true {
				t.Fatalf("AE %v", ae)
			}
			if strings.TrimPrefix(r.Header.Get("Content-Location"), "/") != "cse-in/"+rn {
				t.Errorf("Content-Location %q", r.Header.Get("Content-Location"))
			}
			// The AE uses its AE-ID from now on, also by resource ID.
			c.Do(testcse.Req{Method: "GET", Path: "/" + aei, From: aei}).Must(t, 2000)
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/" + rn, From: aei}).Must(t, 2000)
			c.Create(aei, "/cse-in/"+rn, 3, "m2m:cnt", map[string]any{"rn": "c"})
		})
	}
	// Generated stems differ.
	a := register(c, "C", "", nil, nil).Must(t, 2001).Res("m2m:ae")["aei"]
	b := register(c, "C", "", nil, nil).Must(t, 2001).Res("m2m:ae")["aei"]
	if a == b {
		t.Fatalf("two registrations got the same AE-ID %v", a)
	}
}

func TestAERegistrationRefused(t *testing.T) {
	c := testcse.Start(t, nil)
	first := register(c, "Cdup", "dup", nil, nil).Must(t, 2001).Res("m2m:ae")
	c.Create("Cdup", "/cse-in/dup", 3, "m2m:cnt", map[string]any{"rn": "c"})
	for _, tc := range []struct {
		name  string
		from  string
		rn    string
		extra map[string]any
		hdr   map[string]string
		rsc   int
	}{
		{name: "same stem again", from: "Cdup", rn: "other", rsc: 4117},
		{name: "same stem SP-relative", from: "/id-in/Cdup", rn: "other", rsc: 4117},
		{name: "same rn other stem", from: "Cother", rn: "dup", rsc: 4105},
		{name: "same rn generated stem", from: "C", rn: "dup", rsc: 4105},
		{name: "own CSE-ID", from: "/id-in", rn: "x", rsc: 4107},
		{name: "other CSE-ID", from: "/id-mn", rn: "x", rsc: 4107},
		{name: "other CSE's AE", from: "/id-mn/Cabc", rn: "x", rsc: 4107},
		{name: "other SP", from: "//other.example/id-in/Cabc", rn: "x", rsc: 4107},
		{name: "not a stem", from: "abc", rn: "x", rsc: 4000},
		{name: "api X", from: "C", rn: "x", extra: map[string]any{"api": "Xapp"}, rsc: 4000},
		{name: "api empty", from: "C", rn: "x", extra: map[string]any{"api": ""}, rsc: 4000},
		{name: "api r with rvi 4", from: "C", rn: "x", extra: map[string]any{"api": "rapp"}, hdr: map[string]string{"X-M2M-RVI": "4"}, rsc: 4000},
		{name: "api r with rvi 5", from: "C", rn: "x", extra: map[string]any{"api": "rapp"}, hdr: map[string]string{"X-M2M-RVI": "5"}, rsc: 4000},
		{name: "no api", from: "C", rn: "x", extra: map[string]any{"api": absent}, rsc: 4000},
		{name: "no rr", from: "C", rn: "x", extra: map[string]any{"rr": absent}, rsc: 4000},
		{name: "no srv", from: "C", rn: "x", extra: map[string]any{"srv": absent}, rsc: 4000},
		{name: "aei given", from: "C", rn: "x", extra: map[string]any{"aei": "Cmine"}, rsc: 4000},
		{name: "cr given", from: "C", rn: "x", extra: map[string]any{"cr": nil}, rsc: 4000},
		// The From checks come before the content and the place (protocol.md 1.12).
		{name: "CSE-ID and no api", from: "/id-in", rn: "x", extra: map[string]any{"api": absent}, rsc: 4107},
		{name: "CSE-ID and unknown attribute", from: "/id-mn", rn: "x", extra: map[string]any{"foo": 1}, rsc: 4107},
		{name: "bad From and bad api", from: "x/y", rn: "x", extra: map[string]any{"api": "Xapp"}, rsc: 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snap(t, c, "/cse-in")
			r := register(c, tc.from, tc.rn, tc.extra, tc.hdr).Must(t, tc.rsc)
			if dbg(r) == "" {
				t.Errorf("no debug message")
			}
			before.mustEqual(t, c, "/cse-in")
		})
	}
	if got := get(t, c, "/cse-in/dup")["m2m:ae"].(map[string]any); got["ct"] != first["ct"] || got["ri"] != "Cdup" {
		t.Fatalf("the first registration changed: %v", got)
	}
	// Lower-case r is accepted up to Release 3 and without rvi (Release 1).
	for i, hdr := range []map[string]string{{"X-M2M-RVI": "3"}, {"X-M2M-RVI": "2a"}, {"X-M2M-RVI": "1"}} {
		register(c, "C", "r"+string(rune('a'+i)), map[string]any{"api": "rapp"}, hdr).Must(t, 2001)
	}
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "C", Ty: 2, NoRVI: true, Body: aeBody("rnorvi", map[string]any{"api": "rapp"})})
	r.Must(t, 2001)
}

// TestAERegistrationPlace: an <AE> only under the <CSEBase> (4108 elsewhere).
// Elsewhere it is an ordinary CREATE, so access control decides first: an
// originator without the CREATE right gets 4103 (TS-0004 7.2.2.2), the owner
// of the parent 4108.
func TestAERegistrationPlace(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	for _, p := range []string{"/cse-in/ae", "/cse-in/ae/c"} {
		for from, rsc := range map[string]int{"C": 4103, "Cnew": 4103, aei: 4108} {
			before := snap(t, c, p)
			c.Do(testcse.Req{Method: "POST", Path: p, From: from, Ty: 2, Body: aeBody("x", nil)}).Must(t, rsc)
			before.mustEqual(t, c, p)
		}
	}
}

// TestAERegistrationOnMN: an MN-CSE cannot reach an IN-CSE yet, so it can
// neither get nor confirm an S-type AE-ID (TS-0004 7.4.5.2.1): 5103, nothing
// stored. C-type AE-IDs are local.
func TestAERegistrationOnMN(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.CSEType = "MN"; cfg.CSEID = "/id-mn"; cfg.CSEName = "cse-mn" })
	for _, from := range []string{"S", "Sabc", "/id-mn/Sabc"} {
		before := snap(t, c, "/cse-mn")
		c.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: from, Ty: 2, Body: aeBody("s", nil)}).Must(t, 5103)
		before.mustEqual(t, c, "/cse-mn")
	}
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "C", Ty: 2, Body: aeBody("c", nil)}).Must(t, 2001)
	if aei := r.Res("m2m:ae")["aei"].(string); !strings.HasPrefix(aei, "C") {
		t.Fatalf("aei %s", aei)
	}
	c.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "/id-in", Ty: 2, Body: aeBody("x", nil)}).Must(t, 4107)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "/id-mn", Ty: 2, Body: aeBody("x", nil)}).Must(t, 4107)
}

// TestAERegistrationPolicy: a stem outside --allowed-ae-originators is 4126
// APP_RULE_VALIDATION_FAILED (TS-0004 7.3.2.7), whatever form From takes.
func TestAERegistrationPolicy(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.AllowedAEOriginators = []string{"Cgood*", "S*"} })
	register(c, "Cgood1", "g1", nil, nil).Must(t, 2001)
	register(c, "/id-in/Cgood2", "g2", nil, nil).Must(t, 2001)
	register(c, "S", "s1", nil, nil).Must(t, 2001)
	for _, from := range []string{"Cbad", "/id-in/Cbad", "C", "", "-"} {
		before := snap(t, c, "/cse-in")
		r := register(c, from, "bad", nil, nil).Must(t, 4126)
		if dbg(r) == "" {
			t.Errorf("From %q: no debug message", from)
		}
		before.mustEqual(t, c, "/cse-in")
	}
}

// TestAEDeregistration: DELETE of the <AE> by the AE removes its whole
// subtree; its AE-ID is then unknown (4106) and may register again.
func TestAEDeregistration(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := register(c, "Cdereg", "app", nil, nil).Must(t, 2001).Res("m2m:ae")["aei"].(string)
	c.Create(aei, "/cse-in/app", 3, "m2m:cnt", map[string]any{"rn": "c"})
	c.Create(aei, "/cse-in/app/c", 4, "m2m:cin", map[string]any{"rn": "i", "con": "x"})
	c.Create(aei, "/cse-in/app/c", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}})
	c.Create(aei, "/cse-in/app", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []any{aei}})
	c.Create(aei, "/cse-in/app", 1, "m2m:acp", map[string]any{"rn": "p", "pv": acpRule, "pvs": acpRule})
	other := c.RegisterAE("other")
	// Somebody else may not deregister it (default rule: creator and owner only).
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/app", From: other}).Must(t, 4103)
	// An unregistered AE-ID is not authenticated.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/app", From: "Cnobody"}).Must(t, 4106)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/app", From: "Cnobody"}).Must(t, 4106)

	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/app", From: aei}).Must(t, 2002)
	for _, p := range []string{"/cse-in/app", "/cse-in/app/c", "/cse-in/app/c/i", "/cse-in/app/c/s", "/cse-in/app/s", "/cse-in/app/p", "/" + aei} {
		c.Do(testcse.Req{Method: "GET", Path: p, From: admin}).Must(t, 4004)
	}
	// The old AE-ID is no longer registered.
	for _, m := range []string{"GET", "DELETE"} {
		c.Do(testcse.Req{Method: m, Path: "/cse-in", From: aei}).Must(t, 4106)
	}
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{}}}).Must(t, 4106)
	get(t, c, "/cse-in/other")
	// Re-registration with the same AE-ID and name starts empty.
	r := register(c, aei, "app", nil, nil).Must(t, 2001)
	if r.Res("m2m:ae")["aei"] != aei {
		t.Fatalf("re-registered as %v", r.Res("m2m:ae")["aei"])
	}
	if kids := childRefs(t, c, "/cse-in/app"); len(kids) != 0 {
		t.Fatalf("the new registration has children %v", kids)
	}
	c.Create(aei, "/cse-in/app", 3, "m2m:cnt", map[string]any{"rn": "c"})
}

// TestAEUpdate: the AE may change its own registration within the table.
func TestAEUpdate(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	r := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: aei, Body: map[string]any{"m2m:ae": map[string]any{
		"apn": "name", "poa": []any{"http://127.0.0.1:9"}, "rr": false, "srv": []any{"3", "4"}, "regs": 2, "csz": []any{"application/json"},
	}}}).Must(t, 2004).Res("m2m:ae")
	if r["apn"] != "name" || r["rr"] != false || len(r["srv"].([]any)) != 2 || r["aei"] != aei || r["api"] != "Ntest" {
		t.Fatalf("UPDATE answer %v", r)
	}
	other := c.RegisterAE("other")
	before := snap(t, c, "/cse-in/ae")
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae", From: other, Body: map[string]any{"m2m:ae": map[string]any{"apn": "x"}}}).Must(t, 4103)
	before.mustEqual(t, c, "/cse-in/ae")
}

// TestRegistrationRace: of many simultaneous registrations of one AE-ID (or
// creations of one name) exactly one succeeds; the others get 4117 (4105).
func TestRegistrationRace(t *testing.T) {
	c := testcse.Start(t, nil)
	const n = 12
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- register(c, "Crace", fmt.Sprintf("race%d", i), nil, nil).RSC
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for rsc := range codes {
		count[rsc]++
	}
	if count[2001] != 1 || count[4117] != n-1 {
		t.Fatalf("registrations answered %v", count)
	}
	codes = make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- c.Do(testcse.Req{Method: "POST", Path: "/Crace", From: "Crace", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "same"}}}).RSC
		}()
	}
	wg.Wait()
	close(codes)
	count = map[int]int{}
	for rsc := range codes {
		count[rsc]++
	}
	if count[2001] != 1 || count[4105] != n-1 {
		t.Fatalf("creations answered %v", count)
	}
}

// TestAERegistrationAdminReserved: nobody can register the admin originator's
// ID as an AE-ID.
func TestAERegistrationAdminReserved(t *testing.T) {
	c := testcse.Start(t, nil)
	before := snap(t, c, "/cse-in")
	for _, from := range []string{"CAdmin", "/id-in/CAdmin"} {
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: from, Ty: 2, Body: aeBody("adm", nil)}).Must(t, 4117)
	}
	before.mustEqual(t, c, "/cse-in")
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/adm", From: "CAdmin"}).Must(t, 4004)
}
