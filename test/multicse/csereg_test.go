// Package multicse starts several onecse instances that register with each
// other and tests CSE registration and routing over real HTTP.
package multicse

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
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
// and waits until the IN knows the ASN as a descendant of the MN.
func startTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{}
	tr.in = testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil))
	tr.mn = testcse.Start(t, cseCfg("MN", "/id-mn", "cse-mn", tr.in))
	tr.asn = testcse.Start(t, cseCfg("ASN", "/id-asn", "cse-asn", tr.mn))
	waitFor(t, "the IN lists the ASN as a descendant of the MN", func() bool {
		r := get(tr.in, "/cse-in/id-mn")
		return r.RSC == 2000 && slices.Contains(strs(r.Res("m2m:csr")["dcse"]), "/id-asn")
	})
	return tr
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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
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
	for _, e := range r.JSON["m2m:cb"].(map[string]any)["m2m:csr"].([]any) {
		if e.(map[string]any)["csi"] == csi {
			n++
		}
	}
	return n
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
