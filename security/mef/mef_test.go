package mef

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedExporter returns 0x40, 0x41, … (the vector of enrolment-mef.md 3).
type fixedExporter struct{ label string }

func (f *fixedExporter) ExportKeyingMaterial(label string, ctx []byte, n int) ([]byte, error) {
	if ctx != nil {
		return nil, errors.New("a context was given")
	}
	f.label = label
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(0x40 + i)
	}
	return out, nil
}

// TestDerivations checks the exporter split, the KeID form and the
// usage-constrained key against the self-consistency vectors of
// enrolment-mef.md 3, and the Enrolment-Target-ID.
func TestDerivations(t *testing.T) {
	x := &fixedExporter{}
	rel, ke, err := EnrolmentKey(x)
	if err != nil {
		t.Fatal(err)
	}
	if x.label != "EXPORTER-oneM2M-Bootstrap" {
		t.Fatalf("label %q", x.label)
	}
	if hex.EncodeToString(rel) != "404142434445464748494a4b4c4d4e4f" || ke[0] != 0x50 || ke[31] != 0x6f || len(ke) != 32 {
		t.Fatalf("split: rel %x ke %x", rel, ke)
	}
	if got := KeID(rel, "mef.example.com"); got != "404142434445464748494A4B4C4D4E4F@mef.example.com" {
		t.Fatalf("KeID %s", got)
	}
	ke = unhex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if got := hex.EncodeToString(UsageKey(ke, "22", "in-cse.m2m.example.com")); got != "1b43c68c46a5d22fbc38432b9732b0f72e646f688fa6ee43aaf641f8be4d4e60" {
		t.Fatalf("usage-constrained key %s", got)
	}
	if got := TargetID("/id-in", "//onecse.example"); got != "id-in.onecse.example" {
		t.Fatalf("target %s", got)
	}
}

// mefUnderTest is a MEF on a TLS-PSK listener on 127.0.0.1:0.
type mefUnderTest struct {
	srv      *Server
	addr     string
	mu       sync.Mutex
	grants   []Grant
	now      time.Time
	enrolees map[string]Enrolee
	failProv bool
}

func startMEF(t *testing.T) *mefUnderTest {
	t.Helper()
	m := &mefUnderTest{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), enrolees: map[string]Enrolee{}}
	m.srv = &Server{
		FQDN:      "mef.onecse.example",
		Registrar: Registrar{CSEID: "/id-in", CSEBase: "cse-in", PoA: "https://127.0.0.1:1"},
		TargetID:  "id-in.onecse.example",
		Lifetime:  30 * 24 * time.Hour,
		Lookup: func(id string) (Enrolee, bool) {
			m.mu.Lock()
			defer m.mu.Unlock()
			e, ok := m.enrolees[id]
			return e, ok
		},
		Provision: func(_ context.Context, g Grant) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.failProv {
				return errors.New("disk full")
			}
			m.grants = append(m.grants, g)
			return nil
		},
		Now: func() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.now },
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: m.srv, ConnContext: tlspsk.ConnContext}
	go hs.Serve(tlspsk.NewListener(l, m.srv.TLSConfig()))
	t.Cleanup(func() { hs.Close() })
	m.addr = l.Addr().String()
	return m
}

func (m *mefUnderTest) add(e Enrolee) {
	m.mu.Lock()
	m.enrolees[e.KpmID] = e
	m.mu.Unlock()
}

var kpm = credentials.Secret(bytes.Repeat([]byte{7}, 32))

func TestEnrol(t *testing.T) {
	m := startMEF(t)
	m.add(Enrolee{KpmID: "gw1@factory.example", Kpm: kpm, CSEID: "/id-mn1", SubID: "acme", NotAfter: m.now.Add(24 * time.Hour)})
	ctx := context.Background()
	e, err := Enrol(ctx, Bootstrap{URL: "https://" + m.addr, Identity: "gw1@factory.example", Key: kpm})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.grants) != 1 {
		t.Fatalf("%d grants", len(m.grants))
	}
	g := m.grants[0]
	// Both sides hold the same key under the same identity, bound to the
	// pre-assigned CSE-ID, until the enrolee's end.
	if !g.Key.Equal(e.Key) || g.KeID != e.KeID || len(e.Key) != 32 {
		t.Fatalf("MEF and node disagree: %s vs %s", g.KeID, e.KeID)
	}
	if !strings.HasSuffix(e.KeID, "@mef.onecse.example") || len(strings.Split(e.KeID, "@")[0]) != 32 {
		t.Fatalf("KeID %s", e.KeID)
	}
	if e.CSEID != "/id-mn1" || e.SubID != "acme" || e.Registrar.CSEID != "/id-in" || e.Registrar.CSEBase != "cse-in" || g.Enrolee.CSEID != "/id-mn1" {
		t.Fatalf("enrolment %+v", e)
	}
	if !e.NotAfter.Equal(m.now.Add(24*time.Hour)) || !g.NotAfter.Equal(e.NotAfter) {
		t.Fatalf("not-after %s / %s", e.NotAfter, g.NotAfter)
	}
	// Enrolling again (a new session) gives a new KeID and key.
	e2, err := Enrol(ctx, Bootstrap{URL: "https://" + m.addr, Identity: "gw1@factory.example", Key: kpm})
	if err != nil {
		t.Fatal(err)
	}
	if e2.KeID == e.KeID || e2.Key.Equal(e.Key) || len(m.grants) != 2 {
		t.Fatal("a second enrolment reused the first one's key")
	}

	// An enrolee without an end of its own gets the MEF's lifetime.
	m.add(Enrolee{KpmID: "gw2@factory.example", Kpm: kpm, CSEID: "/id-mn2"})
	e3, err := Enrol(ctx, Bootstrap{URL: "https://" + m.addr, Identity: "gw2@factory.example", Key: kpm})
	if err != nil || !e3.NotAfter.Equal(m.now.Add(30*24*time.Hour)) {
		t.Fatalf("lifetime cap: %v %v", e3, err)
	}
}

func TestEnrolRefused(t *testing.T) {
	m := startMEF(t)
	m.add(Enrolee{KpmID: "gw1@factory.example", Kpm: kpm, CSEID: "/id-mn1", NotAfter: m.now.Add(time.Hour)})
	m.add(Enrolee{KpmID: "old@factory.example", Kpm: kpm, CSEID: "/id-mn9", NotAfter: m.now.Add(-time.Second)})
	ctx := context.Background()
	url := "https://" + m.addr
	wrong := credentials.Secret(bytes.Repeat([]byte{8}, 32))
	for _, tc := range []struct {
		name string
		b    Bootstrap
		rsc  primitive.RSC // 0: the handshake fails
	}{
		{"wrong bootstrap key", Bootstrap{URL: url, Identity: "gw1@factory.example", Key: wrong}, 0},
		{"unknown enrolee", Bootstrap{URL: url, Identity: "nobody@factory.example", Key: kpm}, 0},
		{"expired enrolment", Bootstrap{URL: url, Identity: "old@factory.example", Key: kpm}, primitive.RSCServiceSubscriptionNotEstablished},
	} {
		_, err := Enrol(ctx, tc.b)
		var me *Error
		switch {
		case err == nil:
			t.Errorf("%s: enrolled", tc.name)
		case tc.rsc == 0 && !strings.Contains(err.Error(), "handshake"):
			t.Errorf("%s: %v, want a handshake failure", tc.name, err)
		case tc.rsc != 0 && (!errors.As(err, &me) || me.RSC != tc.rsc):
			t.Errorf("%s: %v, want %d", tc.name, err, tc.rsc)
		}
	}
	// The registrar's credential could not be written: 5000, no enrolment.
	m.failProv = true
	var me *Error
	if _, err := Enrol(ctx, Bootstrap{URL: url, Identity: "gw1@factory.example", Key: kpm}); !errors.As(err, &me) || me.RSC != primitive.RSCInternalServerError {
		t.Errorf("provisioning failure: %v", err)
	}
	if len(m.grants) != 0 {
		t.Fatalf("%d grants for refused enrolments", len(m.grants))
	}
}

// TestOneRegistrationPerSession: the MEF closes the session after its
// answer, so a request replayed in it is not answered; bad requests get
// 4000; outside a MEF Handshake 4107.
func TestOneRegistrationPerSession(t *testing.T) {
	m := startMEF(t)
	m.add(Enrolee{KpmID: "gw1@factory.example", Kpm: kpm, CSEID: "/id-mn1", NotAfter: m.now.Add(time.Hour)})
	c, err := tlspsk.Dial("tcp", m.addr, &tlspsk.Config{Identity: "gw1@factory.example", Key: kpm, RequireExtendedMasterSecret: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	post := func(body string) string {
		return "POST /MEFBase HTTP/1.1\r\nHost: mef\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	}
	good := `{"mefClientReg":{"adminFQDN":"mef.onecse.example"}}`
	if _, err := c.Write([]byte(post(`{"mefClientReg":{"adminFQDN":"not a host"}}`) + post(good) + post(good))); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var all bytes.Buffer
	all.ReadFrom(c)
	out := all.String()
	if !strings.Contains(out, "X-M2M-RSC: 4000") || strings.Count(out, "HTTP/1.1 ") != 1 {
		t.Fatalf("pipelined requests: %s", out)
	}
	if len(m.grants) != 0 {
		t.Fatal("a request after the session's first answer was served")
	}

	// Plain HTTP (no MEF Handshake): 4107.
	hs := httptest.NewServer(m.srv)
	defer hs.Close()
	resp, err := http.Post(hs.URL+Path, "application/json", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-M2M-RSC") != "4107" {
		t.Fatalf("without handshake: %s", resp.Header.Get("X-M2M-RSC"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"mefClientReg":{"adminFQDN":"sp.example"}}`, true},
		{`{"mefClientReg":{"adminFQDN":"sp.example","expirationTime":"20301231T000000","labels":["a","b"]}}`, true},
		{`{"mefClientReg":{"adminFQDN":"sp.example"}} {}`, false},
		{`{"mefClientReg":{"adminFQDN":"sp.example","x":1}}`, false},
		{`{"mefClientReg":{"adminFQDN":""}}`, false},
		{`{"mefClientReg":{"adminFQDN":"a..b"}}`, false},
		{`{"mefClientReg":{"adminFQDN":"sp.example","expirationTime":"tomorrow"}}`, false},
		{`{"mefClientReg":{"adminFQDN":"sp.example","labels":["a b"]}}`, false},
		{`{"other":{}}`, false},
		{`{}`, false},
		{`[`, false},
	} {
		_, err := ParseRequest([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.in, err)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mef-enrolment.json")
	if e, err := Load(p); e != nil || err != nil {
		t.Fatalf("missing file: %v %v", e, err)
	}
	e := &Enrolment{CSEID: "/id-mn1", KeID: "AB@mef", Key: credentials.Secret{1, 2, 3}, NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Registrar: Registrar{CSEID: "/id-in", CSEBase: "cse-in", PoA: "https://x"}}
	if err := e.Save(p); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	got, err := Load(p)
	if err != nil || !got.Key.Equal(e.Key) || got.CSEID != "/id-mn1" || !got.NotAfter.Equal(e.NotAfter) || got.Registrar != e.Registrar {
		t.Fatalf("loaded %+v %v", got, err)
	}
	os.Chmod(p, 0o644)
	if _, err := Load(p); err == nil {
		t.Fatal("a record others may read was loaded")
	}
}
