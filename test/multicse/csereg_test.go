// Package multicse starts several onecse instances that register with each
// other and tests CSE registration and routing over real HTTP.
package multicse

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/server"
)

// CSE registration and routing across a tree of three CSEs (IN ← MN ← ASN)
// on loopback (registration-security.md 4, appendices A and B; issue 4).

const sp = "//onecse.example"

// cseCfg returns the configuration modifier of one CSE of the tree.
func cseCfg(typ, id, name string, registrar *testcse.CSE, more ...func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = typ, id, name
		c.LivenessInterval = 100 * time.Millisecond
		if registrar != nil {
			c.RegistrarURL = registrar.URL
			c.RegistrarID = registrar.Config.CSEID
			c.RegistrarName = registrar.Config.CSEName
		}
		for _, m := range more {
			m(c)
		}
	}
}

type tree struct{ in, mn, asn *testcse.CSE }

// startTree starts IN, MN (registered with IN) and ASN (registered with MN)
// and waits until the IN knows the ASN as a descendant of the MN and both
// registrees have finished registering (their registrar's <remoteCSE>).
// The IN lists the ASN as soon as the ASN's <remoteCSE> exists at the MN,
// which is before the ASN has made its own for the MN and can send
// anything upwards.
func startTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{}
	tr.in = testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	tr.mn = testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", tr.in))
	tr.asn = testcse.Start(t, cseCfg("ASN", "/id-asn", "cse-asn", tr.mn))
	waitRegistered(t, tr.mn, "/id-in")
	waitRegistered(t, tr.asn, "/id-mn")
	waitFor(t, "the IN lists the ASN as a descendant of the MN", func() bool {
		r := get(tr.in, "/cse-in/id-mn")
		return r.RSC == 2000 && slices.Contains(strs(r.Res("m2m:csr")["dcse"]), "/id-asn")
	})
	return tr
}

// waitRegistered waits until c has finished registering with its
// registrar: it has the registrar's <remoteCSE> (and so routes through it).
func waitRegistered(t *testing.T, c *testcse.CSE, registrar string) {
	t.Helper()
	waitFor(t, c.Config.CSEName+" has its registrar's <remoteCSE>", func() bool {
		return get(c, "/"+c.Config.CSEName+registrar).RSC == 2000
	})
}

func get(c *testcse.CSE, path string) *testcse.Resp {
	return c.Do(testcse.Req{Method: "GET", Path: path, From: c.Config.Admin})
}

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// waitFor waits until cond holds. The deadline is generous: it only ends a
// test that would otherwise wait for ever, and CI runs packages in
// parallel on two cores under the race detector.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// csrCount counts the <remoteCSE> children of c's CSEBase with the CSE-ID csi.
func csrCount(t *testing.T, c *testcse.CSE, csi string) int {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: "/" + c.Config.CSEName + "?rcn=8&ty=16", From: c.Config.Admin}).Must(t, 2000)
	n := 0
	l, _ := r.Res("m2m:cb")["m2m:csr"].([]any)
	for _, e := range l {
		if e.(map[string]any)["csi"] == csi {
			n++
		}
	}
	return n
}

// csrTotal counts the <remoteCSE> children of c's CSEBase.
func csrTotal(t *testing.T, c *testcse.CSE) int {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: "/" + c.Config.CSEName + "?rcn=6&ty=16", From: c.Config.Admin}).Must(t, 2000)
	l, _ := r.Res("m2m:rrl")["rrf"].([]any)
	return len(l)
}

func TestCSERegistrationTree(t *testing.T) {
	tr := startTree(t)
	for _, tc := range []struct {
		at         *testcse.CSE
		path       string
		csi, cb    string
		cst        int64
		peer       *testcse.CSE
		dcse       []string // nil: must be absent or empty
		wantNoDCSE bool
	}{
		{tr.in, "/cse-in/id-mn", "/id-mn", sp + "/id-mn/cse-mn", 2, tr.mn, []string{"/id-asn"}, false},
		{tr.mn, "/cse-mn/id-in", "/id-in", sp + "/id-in/cse-in", 1, tr.in, nil, true},
		{tr.mn, "/cse-mn/id-asn", "/id-asn", sp + "/id-asn/cse-asn", 3, tr.asn, nil, false},
		{tr.asn, "/cse-asn/id-mn", "/id-mn", sp + "/id-mn/cse-mn", 2, tr.mn, nil, true},
	} {
		r := get(tc.at, tc.path).Must(t, 2000).Res("m2m:csr")
		if r["ty"] != int64(16) || r["csi"] != tc.csi || r["cb"] != tc.cb || r["cst"] != tc.cst || r["rr"] != true {
			t.Errorf("%s: wrong attributes %v", tc.path, r)
		}
		if !slices.Contains(strs(r["poa"]), tc.peer.URL) {
			t.Errorf("%s: poa %v does not hold %s", tc.path, r["poa"], tc.peer.URL)
		}
		if len(strs(r["srv"])) == 0 {
			t.Errorf("%s: no srv", tc.path)
		}
		if got := strs(r["dcse"]); !slices.Equal(got, tc.dcse) {
			t.Errorf("%s: dcse %v, want %v", tc.path, got, tc.dcse)
		}
	}

	// An AE on the ASN creates a container on the IN and reads it back; both
	// requests go ASN → MN → IN.
	get(tr.in, "/cse-in").Must(t, 2000)
	openACP(tr.in)
	tr.in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	aei := tr.asn.RegisterAE("sensor")
	r := tr.asn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared", From: aei, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}}).Must(t, 2001)
	cnt := r.Res("m2m:cnt")
	if loc := r.Header.Get("Content-Location"); loc != "/~/id-in/cse-in/shared/data" {
		t.Errorf("Content-Location %q", loc)
	}
	back := tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in/shared/data", From: aei}).Must(t, 2000).Res("m2m:cnt")
	if back["ri"] != cnt["ri"] || back["ri"] == nil {
		t.Errorf("read back %v, created %v", back, cnt)
	}
	// It is on the IN, created by the AE under its SP-relative AE-ID.
	onIN := get(tr.in, "/cse-in/shared/data").Must(t, 2000).Res("m2m:cnt")
	if onIN["ri"] != cnt["ri"] {
		t.Errorf("not on the IN: %v", onIN)
	}
	tr.in.Do(testcse.Req{Method: "GET", Path: "/cse-in/shared/data", From: "/id-asn/" + aei}).Must(t, 2000)
	// Nothing was created on the MN or the ASN.
	get(tr.mn, "/cse-mn/shared").Must(t, 4004)
	get(tr.asn, "/cse-asn/shared").Must(t, 4004)

	// Downwards: an AE of the IN reads a container of the ASN through the MN.
	openACP(tr.asn)
	tr.asn.Create("CAdmin", "/cse-asn", 3, "m2m:cnt", map[string]any{"rn": "pub", "acpi": []any{"cse-asn/open"}})
	inAE := tr.in.RegisterAE("app")
	tr.in.Do(testcse.Req{Method: "GET", Path: "/~/id-asn/cse-asn/pub", From: inAE}).Must(t, 2000)

	// The absolute form takes the same way; another SP has no route.
	tr.asn.Do(testcse.Req{Method: "GET", Path: "/_/onecse.example/id-in/cse-in/shared/data", From: aei}).Must(t, 2000)
	tr.asn.Do(testcse.Req{Method: "GET", Path: "/_/other.example/id-in/cse-in", From: aei}).Must(t, 4004)
	// A registration is made with the registrar itself, never forwarded.
	tr.asn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in", From: "Cnew", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": false, "srv": []any{"3"}}}}).Must(t, 4000)
	// A CSE nobody knows: 4004 from the IN, back through MN and ASN.
	tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-nowhere/cse-x", From: aei}).Must(t, 4004)
	// An expired request is not forwarded (4008).
	tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in/shared/data", From: aei,
		Header: map[string]string{"X-M2M-RET": "20200101T000000"}}).Must(t, 4008)
}

// openACP creates the <accessControlPolicy> "open" that lets everybody do
// everything.
func openACP(c *testcse.CSE) {
	c.Create("CAdmin", "/"+c.Config.CSEName, 1, "m2m:acp", map[string]any{"rn": "open",
		"pv":  map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}},
		"pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"CAdmin"}, "acop": 63}}}})
}

// csrBody is a registration request's content.
func csrBody(attrs map[string]any) map[string]any {
	b := map[string]any{"cb": sp + "/mn1/cse-mn1", "csi": "/mn1", "rr": true, "srv": []any{"3"}, "cst": 2}
	for k, v := range attrs {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return map[string]any{"m2m:csr": b}
}

// TestRegistrarChecks is the test matrix of registration-security.md
// appendix B, run against a registrar with one credential binding
// (credential "cred-mn1" → /mn1) that trusts declared credentials.
func TestRegistrarChecks(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.AcceptDeclaredCredentials = true
		c.CredentialBindings = []config.CredentialBinding{{CredentialID: "cred-mn1", CSEID: "/mn1"}}
	}))
	asn := testcse.Start(t, cseCfg("ASN", "/id-asn", "cse-asn", nil))
	aei := in.RegisterAE("someapp")
	bound := []any{"Credential-ID:cred-mn1"}
	for _, tc := range []struct {
		name  string
		at    *testcse.CSE
		from  string
		attrs map[string]any
		rsc   int
		csi   string // the registered CSE-ID on success
	}{
		{"From an AE-ID", in, aei, map[string]any{"cb": sp + "/" + aei + "/x", "csi": nil}, 4005, ""},
		{"registrar is an ASN", asn, "/mn1", nil, 4005, ""},
		{"missing cb", in, "/mn1", map[string]any{"cb": nil}, 4000, ""},
		{"missing rr", in, "/mn1", map[string]any{"rr": nil}, 4000, ""},
		{"missing srv", in, "/mn1", map[string]any{"srv": nil}, 4000, ""},
		{"read-only attribute", in, "/mn1", map[string]any{"ri": "x"}, 4000, ""},
		{"bad csi", in, "/mn1", map[string]any{"csi": "mn1"}, 4000, ""},
		{"csi differs from From", in, "/mn1", map[string]any{"csi": "/mn2"}, 4000, ""},
		{"cb of another CSE", in, "/mn1", map[string]any{"cb": sp + "/mn2/cse-mn2"}, 4000, ""},
		{"From empty, no binding", in, "", map[string]any{"csi": nil, "cb": sp + "/-/cse-mn1"}, 4000, ""},
		{"bound to /mn1, From /mn2", in, "/mn2", map[string]any{"csi": nil, "cb": sp + "/mn2/cse-mn2", "lbl": bound}, 4106, ""},
		{"bound to /mn1, csi /mnX", in, "/mn1", map[string]any{"csi": "/mnX", "lbl": bound}, 4106, ""},
		{"bound to /mn1, From empty", in, "", map[string]any{"csi": nil, "cb": sp + "/-/cse-mn1", "lbl": bound}, 2001, "/mn1"},
		{"registered again", in, "/mn1", nil, 4117, ""},
		{"another CSE", in, "/mn2", map[string]any{"csi": "/mn2", "cb": "/mn2/cse-mn2"}, 2001, "/mn2"},
		{"From an AE of another CSE", in, "/mn2/Cabc", map[string]any{"csi": nil, "cb": "/mn2/cse-x"}, 4005, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := "/" + tc.at.Config.CSEName
			before := csrTotal(t, tc.at)
			r := tc.at.Do(testcse.Req{Method: "POST", Path: base, From: tc.from, Ty: 16, Body: csrBody(tc.attrs)}).Must(t, tc.rsc)
			if tc.rsc != 2001 {
				// Nothing was registered.
				if n := csrTotal(t, tc.at); n != before {
					t.Errorf("%d <remoteCSE> before, %d after", before, n)
				}
				for _, id := range []string{"mnX", aei} {
					get(tc.at, base+"/"+id).Must(t, 4004)
				}
				return
			}
			if n := csrTotal(t, tc.at); n != before+1 {
				t.Errorf("%d <remoteCSE> before, %d after", before, n)
			}
			csr := r.Res("m2m:csr")
			if csr["csi"] != tc.csi || csr["cb"] != sp+tc.csi+"/cse-"+tc.csi[1:] {
				t.Errorf("registered %v", csr)
			}
			get(tc.at, base+tc.csi).Must(t, 2000)
		})
	}
	// The registered CSE updates its dcse; one that would make a loop is
	// refused and changes nothing; AEs cannot touch it.
	in.Do(testcse.Req{Method: "PUT", Path: "/cse-in/mn2", From: "/mn2", Body: map[string]any{"m2m:csr": map[string]any{"dcse": []any{"/asn7"}}}}).Must(t, 2004)
	for _, loop := range []string{"/id-in", "/mn2"} {
		in.Do(testcse.Req{Method: "PUT", Path: "/cse-in/mn2", From: "/mn2", Body: map[string]any{"m2m:csr": map[string]any{"dcse": []any{loop}}}}).Must(t, 4000)
	}
	in.Do(testcse.Req{Method: "PUT", Path: "/cse-in/mn2", From: "/mn2", Body: map[string]any{"m2m:csr": map[string]any{"csi": "/mn3"}}}).Must(t, 4000)
	in.Do(testcse.Req{Method: "PUT", Path: "/cse-in/mn2", From: aei, Body: map[string]any{"m2m:csr": map[string]any{"dcse": []any{}}}}).Must(t, 4103)
	in.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/mn2", From: aei}).Must(t, 4103)
	if got := strs(get(in, "/cse-in/mn2").Must(t, 2000).Res("m2m:csr")["dcse"]); !slices.Equal(got, []string{"/asn7"}) {
		t.Errorf("dcse %v", got)
	}
	// Routing follows the dcse: /asn7 is reached through /mn2 (whose poa is
	// nowhere: 5103).
	in.Do(testcse.Req{Method: "GET", Path: "/~/asn7/cse-x", From: aei}).Must(t, 5103)
	// A next hop that accepts connections but never answers: the request
	// expires (rqet, relative form in milliseconds) → 4008, not a hang.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/mn5", Ty: 16, Body: csrBody(map[string]any{
		"csi": "/mn5", "cb": "/mn5/cse-mn5", "poa": []any{"http://" + hole.Addr().String()}})}).Must(t, 2001)
	start := time.Now()
	in.Do(testcse.Req{Method: "GET", Path: "/~/mn5/cse-mn5", From: aei, Header: map[string]string{"X-M2M-RET": "300"}}).Must(t, 4008)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("4008 after %s", d)
	}
	// CREATE or DELETE of a <CSEBase> is never allowed (4005).
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "CAdmin", Ty: 5, Body: map[string]any{"m2m:cb": map[string]any{}}}).Must(t, 4005)
	in.Do(testcse.Req{Method: "DELETE", Path: "/cse-in", From: "CAdmin"}).Must(t, 4005)
	// A registered CSE is an accepted originator; an unknown one is not.
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/mn1"}).Must(t, 2000)
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/mn9"}).Must(t, 4107)
	// Unknown CSE below the IN.
	in.Do(testcse.Req{Method: "GET", Path: "/~/unknown-cse/x", From: aei}).Must(t, 4004)
}

// TestRequireSAForCSEs: with the switch on, a CSE without a security
// association cannot register (4107, TS-0004 7.3.2.1).
func TestRequireSAForCSEs(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) { c.RequireSAForCSEs = config.SAOn }))
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/mn1", Ty: 16, Body: csrBody(nil)}).Must(t, 4107)
	get(in, "/cse-in/mn1").Must(t, 4004)
}

// restart stops c and starts it again on the same port and data directory.
func restart(t *testing.T, c *testcse.CSE) *testcse.CSE {
	t.Helper()
	c.Stop()
	cfg := c.Config
	cfg.HTTP = c.Addr()
	return testcse.StartConfig(t, cfg)
}

// TestAssignedCSEID: an MN started without a CSE-ID gets the one its
// credential is bound to at the registrar, adopts it for its CSEBase and
// its requests, and keeps it across a restart without registering twice.
func TestAssignedCSEID(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.AcceptDeclaredCredentials = true
		c.CredentialBindings = []config.CredentialBinding{{CredentialID: "cred-mn", CSEID: "/id-mn-42"}}
	}))
	mn := testcse.Start(t, cseCfg("MN", "", "cse-mn", in, func(c *config.Config) { c.CredentialID = "cred-mn" }))
	check := func(mn *testcse.CSE) {
		t.Helper()
		if got := mn.Server.Core().Config().CSEID; got != "/id-mn-42" {
			t.Fatalf("the MN has the CSE-ID %q", got)
		}
		if csi := get(mn, "/cse-mn").Must(t, 2000).Res("m2m:cb")["csi"]; csi != "/id-mn-42" {
			t.Errorf("CSEBase csi %v", csi)
		}
		waitFor(t, "the MN has its registrar's <remoteCSE>", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })
		csr := get(in, "/cse-in/id-mn-42").Must(t, 2000).Res("m2m:csr")
		if csr["csi"] != "/id-mn-42" || csr["cb"] != sp+"/id-mn-42/cse-mn" {
			t.Errorf("registered as %v", csr)
		}
		if n := csrCount(t, in, "/id-mn-42"); n != 1 {
			t.Errorf("%d registrations of /id-mn-42", n)
		}
		// Requests from the MN carry the assigned CSE-ID: an AE of the MN
		// reaches the IN as /id-mn-42/C….
		aei := mn.RegisterAE(fmt.Sprintf("ae%d", time.Now().UnixNano()))
		mn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: aei}).Must(t, 4103)
	}
	check(mn)
	mn = restart(t, mn)
	check(mn)
	// The MN loses its data and, still without a CSE-ID, gets the same one
	// again: the registrar replaces the leftover registration.
	mn.Stop()
	cfg := mn.Config
	cfg.HTTP, cfg.Data = mn.Addr(), t.TempDir()
	mn = testcse.StartConfig(t, cfg)
	check(mn)
	// Not even the IN's restart makes a second registration.
	in = restart(t, in)
	time.Sleep(300 * time.Millisecond)
	if n := csrCount(t, in, "/id-mn-42"); n != 1 {
		t.Errorf("%d registrations of /id-mn-42", n)
	}
}

// TestPreassignedMismatch: a registree whose CSE-ID differs from the one
// pre-assigned to its credential is refused (4106) and nothing is created
// on either side.
func TestPreassignedMismatch(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.AcceptDeclaredCredentials = true
		c.CredentialBindings = []config.CredentialBinding{{CredentialID: "cred-x", CSEID: "/id-other"}}
	}))
	// The same request the MN will send, to see the status code.
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn", Ty: 16, Body: csrBody(map[string]any{
		"csi": "/id-mn", "cb": sp + "/id-mn/cse-mn", "lbl": []any{"Credential-ID:cred-x"}})}).Must(t, 4106)
	mn := testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", in, func(c *config.Config) { c.CredentialID = "cred-x" }))
	time.Sleep(500 * time.Millisecond) // several liveness rounds
	get(in, "/cse-in/id-mn").Must(t, 4004)
	get(in, "/cse-in/id-other").Must(t, 4004)
	if n := csrCount(t, in, "/id-mn") + csrCount(t, in, "/id-other"); n != 0 {
		t.Errorf("%d <remoteCSE> at the IN", n)
	}
	get(mn, "/cse-mn/id-in").Must(t, 4004)
	if n := csrCount(t, mn, "/id-in"); n != 0 {
		t.Errorf("%d <remoteCSE> at the MN", n)
	}
}

// TestMNRestart: the MN restarts (same data) and finds its registration in
// place on both links; with its data lost, it takes over the <remoteCSE>
// the IN still has. No duplicate either way.
func TestMNRestart(t *testing.T) {
	tr := startTree(t)
	tr.mn = restart(t, tr.mn)
	aei := tr.asn.RegisterAE("sensor")
	waitFor(t, "the ASN reaches the IN again", func() bool {
		return tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: aei}).RSC == 4103 // reached; no ACP grants it
	})
	for _, c := range []struct {
		at  *testcse.CSE
		csi string
	}{{tr.in, "/id-mn"}, {tr.mn, "/id-in"}, {tr.mn, "/id-asn"}, {tr.asn, "/id-mn"}} {
		if n := csrCount(t, c.at, c.csi); n != 1 {
			t.Errorf("%s: %d <remoteCSE> for %s", c.at.Config.CSEID, n, c.csi)
		}
	}
	// The MN loses its data but keeps its CSE-ID.
	tr.mn.Stop()
	cfg := tr.mn.Config
	cfg.HTTP, cfg.Data = tr.mn.Addr(), t.TempDir()
	tr.mn = testcse.StartConfig(t, cfg)
	waitFor(t, "the MN registered again", func() bool { return get(tr.mn, "/cse-mn/id-in").RSC == 2000 })
	if n := csrCount(t, tr.in, "/id-mn"); n != 1 {
		t.Errorf("%d <remoteCSE> for /id-mn at the IN", n)
	}
}

// TestRegistrarDown: while the IN is down the originator gets 5103; when it
// comes back (with its data, or without it) the registration is restored
// without a manual step.
func TestRegistrarDown(t *testing.T) {
	tr := startTree(t)
	aei := tr.asn.RegisterAE("sensor")
	reach := func() int {
		return tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: aei}).RSC
	}
	if rsc := reach(); rsc != 4103 {
		t.Fatalf("IN answered %d", rsc)
	}
	tr.in.Stop()
	if rsc := reach(); rsc != 5103 {
		t.Errorf("IN down: %d, want 5103", rsc)
	}
	// A request that came down from the registrar for a CSE the MN does not
	// know is not sent back up (which would give 5103 now): 4004, no loop.
	tr.mn.Do(testcse.Req{Method: "GET", Path: "/~/id-ghost/x", From: "/id-in/Cabc"}).Must(t, 4004)
	// One from below is sent up: 5103.
	tr.mn.Do(testcse.Req{Method: "GET", Path: "/~/id-ghost/x", From: "/id-asn/" + aei}).Must(t, 5103)
	tr.in = restart(t, tr.in)
	waitFor(t, "the IN is reached again", func() bool { return reach() == 4103 })

	// The IN comes back with empty data: the MN notices on its next liveness
	// check and registers again, with its descendants.
	tr.in.Stop()
	cfg := tr.in.Config
	cfg.HTTP, cfg.Data = tr.in.Addr(), t.TempDir()
	tr.in = testcse.StartConfig(t, cfg)
	waitFor(t, "the MN registered again with the ASN as descendant", func() bool {
		r := get(tr.in, "/cse-in/id-mn")
		return r.RSC == 2000 && slices.Contains(strs(r.Res("m2m:csr")["dcse"]), "/id-asn")
	})
	waitFor(t, "the IN is reached again", func() bool { return reach() == 4103 })
	if n := csrCount(t, tr.mn, "/id-in"); n != 1 {
		t.Errorf("%d <remoteCSE> for the IN at the MN", n)
	}
}

// TestDeregistration from either side: the registree deletes its
// registrar's <remoteCSE>, or the registrar deletes the registree's; both
// <remoteCSE> go, the dcse above follows, and nobody registers again.
func TestDeregistration(t *testing.T) {
	tr := startTree(t)
	// The ASN deregisters (its admin deletes the MN's <remoteCSE> on it).
	tr.asn.Do(testcse.Req{Method: "DELETE", Path: "/cse-asn/id-mn", From: "CAdmin"}).Must(t, 2002)
	get(tr.mn, "/cse-mn/id-asn").Must(t, 4004)
	waitFor(t, "the IN drops the ASN from the MN's dcse", func() bool {
		r := get(tr.in, "/cse-in/id-mn")
		return r.RSC == 2000 && !slices.Contains(strs(r.Res("m2m:csr")["dcse"]), "/id-asn")
	})
	// The IN deregisters the MN.
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/id-mn", From: "CAdmin"}).Must(t, 2002)
	get(tr.mn, "/cse-mn/id-in").Must(t, 4004)
	time.Sleep(400 * time.Millisecond) // liveness rounds: neither registers again
	get(tr.in, "/cse-in/id-mn").Must(t, 4004)
	get(tr.mn, "/cse-mn/id-asn").Must(t, 4004)
	get(tr.mn, "/cse-mn/id-in").Must(t, 4004)
	get(tr.asn, "/cse-asn/id-mn").Must(t, 4004)
	// Deregistered, the ASN's requests to the IN have no route.
	aei := tr.asn.RegisterAE("sensor")
	tr.asn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: aei}).Must(t, 4004)
}

// TestRegistrationUpdates: a registree that comes back on another point of
// access UPDATEs its <remoteCSE> at the registrar; a registree that stays
// unreachable beyond registree-timeout is removed (and the dcse above with
// it), and registers again when it is back; a registree with
// deregister-on-shutdown leaves nothing behind.
func TestRegistrationUpdates(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	mn := testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", in, func(c *config.Config) { c.RegistreeTimeout = 300 * time.Millisecond }))
	asn := testcse.Start(t, cseCfg("ASN", "/id-asn", "cse-asn", mn))
	dcseAtIN := func() []string { return strs(get(in, "/cse-in/id-mn").Res("m2m:csr")["dcse"]) }
	waitFor(t, "the ASN is a descendant", func() bool { return slices.Contains(dcseAtIN(), "/id-asn") })

	// The MN moves to another port, keeping its data.
	mn.Stop()
	cfg := mn.Config
	mn = testcse.StartConfig(t, cfg) // 127.0.0.1:0: a new port
	waitFor(t, "the IN has the MN's new poa", func() bool {
		return slices.Contains(strs(get(in, "/cse-in/id-mn").Res("m2m:csr")["poa"]), mn.URL)
	})

	// The ASN (registered with the old MN port) vanishes.
	asn.Stop()
	waitFor(t, "the MN removes the vanished ASN", func() bool { return get(mn, "/cse-mn/id-asn").RSC == 4004 })
	waitFor(t, "the IN drops it from the dcse", func() bool { return !slices.Contains(dcseAtIN(), "/id-asn") })

	// It comes back (now pointed at the MN's new port) and registers again.
	acfg := asn.Config
	acfg.RegistrarURL, acfg.HTTP = mn.URL, asn.Addr()
	asn = testcse.StartConfig(t, acfg)
	waitFor(t, "the ASN is registered again", func() bool {
		return get(mn, "/cse-mn/id-asn").RSC == 2000 && slices.Contains(dcseAtIN(), "/id-asn")
	})
	if n := csrCount(t, mn, "/id-asn"); n != 1 {
		t.Errorf("%d <remoteCSE> for the ASN", n)
	}

	// Deregistration on shutdown.
	asn.Stop()
	dcfg := asn.Config
	dcfg.DeregisterOnShutdown = true
	asn = testcse.StartConfig(t, dcfg)
	waitFor(t, "the ASN is registered", func() bool { return get(asn, "/cse-asn/id-mn").RSC == 2000 })
	asn.Stop()
	get(mn, "/cse-mn/id-asn").Must(t, 4004)
	waitFor(t, "the IN drops it from the dcse", func() bool { return !slices.Contains(dcseAtIN(), "/id-asn") })
}

// registerS registers an AE with From from ("S" or an S-stem) at c.
func registerS(c *testcse.CSE, from, rn string) *testcse.Resp {
	return c.Do(testcse.Req{Method: "POST", Path: "/" + c.Config.CSEName, From: from, Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nmeter", "rr": false, "srv": []any{"3"}}}})
}

// TestSTypeAEAnnounced: an S-type AE registering with the MN or the ASN gets
// its stem from the IN-CSE, which keeps an <AEAnnc> for it (TS-0004
// 7.4.5.2.1, registration-security.md 3.5).
func TestSTypeAEAnnounced(t *testing.T) {
	tr := startTree(t)
	tr.asn.Stop() // the ASN needs in-cse-id: its registrar is not the IN
	acfg := tr.asn.Config
	acfg.HTTP, acfg.INCSEID = tr.asn.Addr(), "/id-in"
	tr.asn = testcse.StartConfig(t, acfg)
	waitFor(t, "the ASN is registered", func() bool { return get(tr.asn, "/cse-asn/id-mn").RSC == 2000 })

	// From "S" on the MN: the IN assigns the stem.
	ae := registerS(tr.mn, "S", "meter").Must(t, 2001).Res("m2m:ae")
	stem, _ := ae["aei"].(string)
	if len(stem) < 2 || stem[0] != 'S' || ae["ri"] != stem {
		t.Fatalf("registered %v", ae)
	}
	annc := get(tr.in, "/cse-in/"+stem).Must(t, 2000).Res("m2m:aeA")
	if annc["ri"] != stem || annc["lnk"] != "/id-mn/"+stem || annc["api"] != "Nmeter" || annc["ty"] != int64(10002) {
		t.Errorf("announced as %v", annc)
	}
	// The S-type AE works on the IN under its SP-relative AE-ID /S….
	openACP(tr.in)
	tr.in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	tr.mn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared", From: stem, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "m"}}}).Must(t, 2001)
	if cr := get(tr.in, "/cse-in/shared/m").Must(t, 2000); cr.RSC != 2000 {
		t.Fatal(cr)
	}

	// A stem the AE brings, on the ASN (two hops to the IN).
	registerS(tr.asn, "Sfixed1", "meter2").Must(t, 2001)
	if lnk := get(tr.in, "/cse-in/Sfixed1").Must(t, 2000).Res("m2m:aeA")["lnk"]; lnk != "/id-asn/Sfixed1" {
		t.Errorf("lnk %v", lnk)
	}
	// The same stem on another CSE: it is the ASN's (4117), nothing created.
	registerS(tr.mn, "Sfixed1", "meter3").Must(t, 4117)
	get(tr.mn, "/cse-mn/meter3").Must(t, 4004)

	// Deregistration marks the announcement INACTIVE; registering again
	// (with the same stem) makes it active again.
	tr.asn.Do(testcse.Req{Method: "DELETE", Path: "/cse-asn/meter2", From: "Sfixed1"}).Must(t, 2002)
	if lnk := get(tr.in, "/cse-in/Sfixed1").Must(t, 2000).Res("m2m:aeA")["lnk"]; lnk != "INACTIVE" {
		t.Errorf("after deregistration lnk %v", lnk)
	}
	tr.mn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: "Sfixed1"}).Must(t, 4106) // not registered on the MN
	registerS(tr.asn, "Sfixed1", "meter2").Must(t, 2001)
	if lnk := get(tr.in, "/cse-in/Sfixed1").Must(t, 2000).Res("m2m:aeA")["lnk"]; lnk != "/id-asn/Sfixed1" {
		t.Errorf("after re-registration lnk %v", lnk)
	}

	// Only CSEs announce; an IN that cannot be reached fails the
	// registration with 5103 and nothing is created.
	inAE := tr.in.RegisterAE("plain")
	tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: inAE, Ty: 10002,
		Body: map[string]any{"m2m:aeA": map[string]any{"lnk": "/id-mn/Sx1"}}}).Must(t, 4103)
	get(tr.in, "/cse-in/Sx1").Must(t, 4004)
	// C-type AE-IDs are the registrar's own business.
	tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn/Cabc", Ty: 10002,
		Body: map[string]any{"m2m:aeA": map[string]any{"lnk": "/id-mn/Cabc"}}}).Must(t, 4000)
	get(tr.in, "/cse-in/Cabc").Must(t, 4004)
	// The registrar CSE itself is not an AE.
	tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn", Ty: 10002,
		Body: map[string]any{"m2m:aeA": map[string]any{"lnk": "/id-mn"}}}).Must(t, 4000)
	// A CSE announces only its own AEs.
	tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn/S", Ty: 10002,
		Body: map[string]any{"m2m:aeA": map[string]any{"lnk": "/id-asn/S"}}}).Must(t, 4000)
	tr.in.Stop()
	registerS(tr.mn, "S", "meter4").Must(t, 5103)
	get(tr.mn, "/cse-mn/meter4").Must(t, 4004)
}

// TestNoCSEIDRefused: a registree without a CSE-ID whose credential is bound
// to none does not start (the registrar answers 4000), and the registrar has
// created nothing.
func TestNoCSEIDRefused(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) { c.AcceptDeclaredCredentials = true }))
	cfg := config.Default()
	cseCfg("MN", "", "cse-mn", in, func(c *config.Config) { c.CredentialID = "unknown-cred" })(&cfg)
	cfg.HTTP, cfg.Data, cfg.Sync = "127.0.0.1:0", t.TempDir(), "normal"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := server.New(ctx, cfg, nil)
	if err == nil {
		srv.Shutdown(ctx)
		t.Fatal("started without a CSE-ID")
	}
	if !strings.Contains(err.Error(), "4000") {
		t.Errorf("error %v", err)
	}
	if n := csrTotal(t, in); n != 0 {
		t.Errorf("%d <remoteCSE> at the IN", n)
	}
}

// TestDeregistrationUnreachable: a deregistration whose peer cannot be
// reached deletes nothing (5103, TS-0001 10.2.2.10) and the registration
// stays alive; it succeeds once the peer is back.
func TestDeregistrationUnreachable(t *testing.T) {
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	mn := testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", in))
	waitFor(t, "the MN is registered", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })
	in.Stop()
	mn.Do(testcse.Req{Method: "DELETE", Path: "/cse-mn/id-in", From: "CAdmin"}).Must(t, 5103)
	get(mn, "/cse-mn/id-in").Must(t, 2000)
	in = restart(t, in)
	get(in, "/cse-in/id-mn").Must(t, 2000)
	mn.Do(testcse.Req{Method: "DELETE", Path: "/cse-mn/id-in", From: "CAdmin"}).Must(t, 2002)
	get(in, "/cse-in/id-mn").Must(t, 4004)
	time.Sleep(300 * time.Millisecond)
	get(mn, "/cse-mn/id-in").Must(t, 4004)
	get(in, "/cse-in/id-mn").Must(t, 4004)
}

// TestBadRegistrarSettings: a registrar CSE-ID or name that cannot be one
// stops the start.
func TestBadRegistrarSettings(t *testing.T) {
	for _, mod := range []func(*config.Config){
		func(c *config.Config) { c.RegistrarID = "id-in" },
		func(c *config.Config) { c.RegistrarID = "//sp/id-in" },
		func(c *config.Config) { c.RegistrarID = "/id-mn" }, // itself
		func(c *config.Config) { c.RegistrarName = "a/b" },
		func(c *config.Config) { c.INCSEID = "x" },
	} {
		cfg := config.Default()
		cseCfg("MN", "/id-mn", "cse-mn", nil, func(c *config.Config) {
			c.RegistrarURL, c.RegistrarID, c.RegistrarName = "http://127.0.0.1:1", "/id-in", "cse-in"
		}, mod)(&cfg)
		cfg.HTTP, cfg.Data = "127.0.0.1:0", t.TempDir()
		if srv, err := server.New(context.Background(), cfg, nil); err == nil {
			srv.Shutdown(context.Background())
			t.Errorf("started with %+v", cfg)
		}
	}
}
