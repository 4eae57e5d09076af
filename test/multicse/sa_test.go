package multicse

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/server"
)

// Security associations over HTTPS with TLS-PSK (issue 5; registration-
// security.md 6.3, 6.6, 6.7, 7): the credentials of the IN, in a file that
// only its owner may read.

var (
	keyMN    = bytes.Repeat([]byte{0x11}, 16)
	keyAE    = bytes.Repeat([]byte{0x22}, 32)
	keyOld   = bytes.Repeat([]byte{0x33}, 16)
	keyMN2   = bytes.Repeat([]byte{0x44}, 16)
	keyWrong = bytes.Repeat([]byte{0x55}, 16)
)

const (
	idMN  = "mn1@in.onecse.example"
	idMN2 = "mn2@in.onecse.example"
	idAE  = "sensor@in.onecse.example"
	idOld = "old@in.onecse.example"
)

// writeSecret writes a file readable by its owner only.
func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func credentialFile(t *testing.T) string {
	return writeSecret(t, "credentials.yaml", fmt.Sprintf(`psk:
  - kpsa-id: %s
    key: %x
    cse-id: /id-mn-01
  - kpsa-id: %s
    key: %x
    cse-id: /id-mn-02
  - kpsa-id: %s
    key: %x
    ae-ids: [Csensor]
    app-ids: [Nsensor]
  - kpsa-id: %s
    key: %x
    cse-id: /id-old
    not-after: 2020-01-01T00:00:00Z
`, idMN, keyMN, idMN2, keyMN2, idAE, keyAE, idOld, keyOld))
}

// saIN configures an IN with the credential file, an HTTPS-PSK listener and
// associations required for CSEs and AEs (the production setting).
func saIN(t *testing.T, more ...func(*config.Config)) func(*config.Config) {
	creds := credentialFile(t)
	return cseCfg("IN", "/id-in", "cse-in", nil, append([]func(*config.Config){func(c *config.Config) {
		c.Credentials = creds
		c.HTTPSPSK = "127.0.0.1:0"
		c.RequireSAForCSEs = config.SAOn
		c.RequireSAForAEs = config.SAOn
	}}, more...)...)
}

func aeBody(rn, api string) map[string]any {
	return map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": api, "rr": false, "srv": []any{"3"}}}
}

// TestPSKHandshake: the right key is accepted, a wrong key, an unknown
// identity and an expired credential are refused in the handshake.
func TestPSKHandshake(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	url := "https://" + in.Server.HTTPSPSKAddr() + "/cse-in"
	for _, tc := range []struct {
		name string
		id   string
		key  []byte
		ok   bool
	}{
		{"right key", idMN, keyMN, true},
		{"wrong key", idMN, keyWrong, false},
		{"unknown identity", "nobody@in.onecse.example", keyMN, false},
		{"expired credential", idOld, keyOld, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header["X-M2M-Origin"] = []string{"/id-mn-01"}
			req.Header["X-M2M-RI"] = []string{"1"}
			req.Header["X-M2M-RVI"] = []string{"3"}
			resp, err := testcse.PSKClient(tc.id, tc.key).Do(req)
			if !tc.ok {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("handshake accepted: HTTP %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// The CSE-ID of the credential is not registered: its requests
			// reach the core as those of an unregistered CSE.
			if got := resp.Header.Get("X-M2M-RSC"); got == "" {
				t.Fatalf("no oneM2M answer: HTTP %d", resp.StatusCode)
			}
		})
	}
}

// TestMNRegistersOverPSK: an MN without a CSE-ID of its own registers with
// an IN that requires associations, over TLS-PSK, and gets the CSE-ID bound
// to its credential (the change request's Step 000/002). Its requests then
// go through the association.
func TestMNRegistersOverPSK(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	keyFile := writeSecret(t, "mn.key", hex.EncodeToString(keyMN)+"\n")
	mn := testcse.Start(t, cseCfg("MN", "", "cse-mn", nil, func(c *config.Config) {
		c.RegistrarURL = "https://" + in.Server.HTTPSPSKAddr()
		c.RegistrarID, c.RegistrarName = "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, keyFile
	}))
	if got := mn.Server.Core().Config().CSEID; got != "/id-mn-01" {
		t.Fatalf("MN CSE-ID %q, want /id-mn-01", got)
	}
	r := get(in, "/cse-in/id-mn-01").Must(t, 2000)
	if csi := r.Res("m2m:csr")["csi"]; csi != "/id-mn-01" {
		t.Fatalf("csi %v", csi)
	}
	waitFor(t, "the MN has the IN's <remoteCSE>", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })
	// An AE of the MN writes on the IN through the MN's association.
	in.Create("CAdmin", "/cse-in", 1, "m2m:acp", map[string]any{"rn": "open",
		"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}}, "pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"CAdmin"}, "acop": 63}}}})
	in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "Cmeter", Ty: 2, Body: aeBody("meter", "Nmeter")}).Must(t, 2001)
	mn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared", From: "Cmeter", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "m"}}}).Must(t, 2001)
	if cr := get(in, "/cse-in/shared/m").Must(t, 2000).Res("m2m:cnt")["cr"]; cr != nil && cr != "/id-mn-01/Cmeter" {
		t.Fatalf("creator %v", cr)
	}
}

// TestCSEAssociationIdentity: a CSE whose association is bound to
// /id-mn-01 cannot register as another CSE (4106, nothing created) nor
// speak for another registree or for an AE of the IN; a CSE without an
// association is refused with 4107.
func TestCSEAssociationIdentity(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	mn := in.PSK(idMN, keyMN)
	mn2 := in.PSK(idMN2, keyMN2)
	body := func(id string) map[string]any {
		b := map[string]any{"cb": sp + id + "/cse-x", "rr": true, "srv": []any{"3"}, "cst": 2}
		if id != "/-" {
			b["csi"] = id
		}
		return map[string]any{"m2m:csr": b}
	}
	for _, tc := range []struct {
		name   string
		at     *testcse.CSE
		from   string
		id     string // csi and cb's CSE-ID
		rsc    int
		absent string
	}{
		{"another CSE-ID", mn, "/id-mn-02", "/id-mn-02", 4106, "/cse-in/id-mn-02"},
		{"own From, another csi", mn, "/id-mn-01", "/id-mn-02", 4106, "/cse-in/id-mn-02"},
		{"plain HTTP, no association", in, "/id-mn-01", "/id-mn-01", 4107, "/cse-in/id-mn-01"},
		{"plain HTTP, empty From", in, "", "/-", 4107, "/cse-in/id-mn-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.at.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: tc.from, Ty: 16, Body: body(tc.id)}).Must(t, tc.rsc)
			get(in, tc.absent).Must(t, 4004)
			if n := csrTotal(t, in); n != 0 {
				t.Fatalf("%d <remoteCSE> after a refused registration", n)
			}
		})
	}
	// The right registration, with an empty From: the bound CSE-ID.
	r := mn.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "", Ty: 16, Body: body("/-")}).Must(t, 2001)
	if csi := r.Res("m2m:csr")["csi"]; csi != "/id-mn-01" {
		t.Fatalf("csi %v", csi)
	}
	mn2.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn-02", Ty: 16, Body: body("/id-mn-02")}).Must(t, 2001)
	ae := in.PSK(idAE, keyAE)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	for _, tc := range []struct {
		name, from string
		rsc        int
	}{
		{"itself", "/id-mn-01", 2000},
		{"an AE of itself (passes, then access control)", "/id-mn-01/Cx", 4103},
		{"another registree", "/id-mn-02", 4106},
		{"an AE of another registree", "/id-mn-02/Cx", 4106},
		{"an AE of the IN", "Csensor", 4106},
		{"the IN itself", "/id-in", 4106},
		{"the administrator", "CAdmin", 4106},
	} {
		t.Run("From "+tc.name, func(t *testing.T) {
			mn.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: tc.from}).Must(t, tc.rsc)
		})
	}
	// Without an association the registered CSE is refused.
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/id-mn-01"}).Must(t, 4107)
}

// TestAEAssociationIdentity: an AE over TLS-PSK may register and act only
// as the AE-ID bound to its credential, with a bound App-ID; without an
// association (required here) it is refused with 4107.
func TestAEAssociationIdentity(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	ae := in.PSK(idAE, keyAE)
	mn := in.PSK(idMN, keyMN)
	for _, tc := range []struct {
		name      string
		at        *testcse.CSE
		from, api string
		rsc       int
	}{
		{"From not bound", ae, "Cother", "Nsensor", 4106},
		{"empty From", ae, "", "Nsensor", 4106},
		{"App-ID not bound", ae, "Csensor", "Nother", 4126},
		{"a CSE's association", mn, "Csensor", "Nsensor", 4106},
		{"plain HTTP", in, "Csensor", "Nsensor", 4107},
		{"the administrator", ae, "CAdmin", "Nsensor", 4106},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.at.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: tc.from, Ty: 2, Body: aeBody("sensor", tc.api)}).Must(t, tc.rsc)
			get(in, "/cse-in/sensor").Must(t, 4004)
		})
	}
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in/sensor", From: "Csensor", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}}).Must(t, 2001)
	// The administrator registers another AE; the sensor's association
	// cannot speak for it, and plain HTTP cannot either.
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "CAdmin", Ty: 2, Body: aeBody("other", "Nother")})
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in/sensor", From: "Cother", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "x"}}}).Must(t, 4106)
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in/sensor", From: "Csensor", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "x"}}}).Must(t, 4107)
	get(in, "/cse-in/sensor/x").Must(t, 4004)
}

// TestRevokedCredential: revoking a credential closes the associations made
// with it and refuses new handshakes; its holder is then an entity without
// an association.
func TestRevokedCredential(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	ae := in.PSK(idAE, keyAE)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	// Revoked in the store only, the connection still open: a request on
	// it is no longer authenticated by it (4107), not taken as plain.
	mn := in.PSK(idMN, keyMN)
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/id-mn-01"}).Must(t, 4106) // not registered yet
	mn.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "", Ty: 16, Body: map[string]any{"m2m:csr": map[string]any{
		"cb": sp + "/-/cse-mn", "rr": true, "srv": []any{"3"}, "cst": 2}}}).Must(t, 2001)
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/id-mn-01"}).Must(t, 2000)
	in.Server.Credentials().Revoke(idMN)
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "/id-mn-01"}).Must(t, 4107)
	if !in.Server.RevokeCredential(idAE) {
		t.Fatal("credential not found")
	}
	req, _ := http.NewRequest("GET", ae.URL+"/cse-in/sensor", nil)
	req.Header["X-M2M-Origin"] = []string{"Csensor"}
	req.Header["X-M2M-RI"] = []string{"1"}
	req.Header["X-M2M-RVI"] = []string{"3"}
	if resp, err := ae.Client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request over a revoked credential answered: HTTP %d", resp.StatusCode)
	}
}

// TestExpiringCredentialEndsAssociation: a live association is closed when
// its credential's not-after time passes.
func TestExpiringCredentialEndsAssociation(t *testing.T) {
	notAfter := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	creds := writeSecret(t, "c.yaml", fmt.Sprintf("psk:\n  - kpsa-id: %s\n    key: %x\n    ae-ids: [Csensor]\n    not-after: %s\n", idAE, keyAE, notAfter))
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.Credentials, c.HTTPSPSK = creds, "127.0.0.1:0"
	}))
	ae := in.PSK(idAE, keyAE)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	tr := ae.Client.Transport.(*http.Transport)
	closed := make(chan struct{})
	var once sync.Once
	// Poll on the open connection until it is gone (the transport then
	// dials again, which the handshake refuses).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", ae.URL+"/cse-in/sensor", nil)
		req.Header["X-M2M-Origin"] = []string{"Csensor"}
		req.Header["X-M2M-RI"] = []string{"1"}
		req.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := ae.Client.Do(req)
		if err != nil {
			once.Do(func() { close(closed) })
			break
		}
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond)
	}
	tr.CloseIdleConnections()
	select {
	case <-closed:
	default:
		t.Fatal("the association outlived its credential")
	}
}

// TestSecretsStayOutOfLogs runs an IN and a registering MN at debug level
// with a wrong key attempt and a refused registration, and looks for the
// keys (hex and raw) in everything they logged.
func TestSecretsStayOutOfLogs(t *testing.T) {
	var buf safeBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	start := func(mod func(*config.Config)) *server.Server {
		cfg := config.Default()
		cfg.HTTP, cfg.Data, cfg.Sync = "127.0.0.1:0", t.TempDir(), "normal"
		mod(&cfg)
		s, err := server.New(context.Background(), cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		return s
	}
	var inCfg config.Config
	saIN(t)(&inCfg)
	in := start(func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = "IN", "/id-in", "cse-in"
		c.Credentials, c.HTTPSPSK, c.RequireSAForCSEs = inCfg.Credentials, "127.0.0.1:0", config.SAOn
	})
	keyFile := writeSecret(t, "mn.key", hex.EncodeToString(keyMN))
	start(func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = "MN", "", "cse-mn"
		c.RegistrarURL, c.RegistrarID, c.RegistrarName = "https://"+in.HTTPSPSKAddr(), "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, keyFile
	})
	// A wrong key and an unknown identity.
	if resp, err := testcse.PSKClient("nobody@x", keyWrong).Get("https://" + in.HTTPSPSKAddr() + "/cse-in"); err == nil {
		resp.Body.Close()
	}
	if resp, err := testcse.PSKClient(idMN, keyWrong).Get("https://" + in.HTTPSPSKAddr() + "/cse-in"); err == nil {
		resp.Body.Close()
	}
	// A registree with a bad key file is refused with a message that
	// does not quote it.
	bad := writeSecret(t, "bad.key", "zz"+hex.EncodeToString(keyMN2))
	cfg := config.Default()
	cfg.HTTP, cfg.Data, cfg.CSEType, cfg.CSEName, cfg.CSEID = "127.0.0.1:0", t.TempDir(), "MN", "cse-x", "/id-x"
	cfg.RegistrarURL, cfg.RegistrarID, cfg.RegistrarName = "https://"+in.HTTPSPSKAddr(), "/id-in", "cse-in"
	cfg.RegistrarPSKIdentity, cfg.RegistrarPSKKeyFile = idMN2, bad
	if _, err := server.New(context.Background(), cfg, log); err == nil {
		t.Fatal("a bad key file was accepted")
	} else {
		log.Error("start failed", "err", err)
	}
	out := buf.String()
	for _, k := range [][]byte{keyMN, keyMN2, keyWrong, keyAE} {
		for _, form := range []string{hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)), string(k)} {
			if strings.Contains(out, form) {
				t.Fatalf("a key appears in the log:\n%s", out)
			}
		}
	}
	for _, want := range []string{"CSE-ID assigned by the registrar", "start failed", "handshake refused"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the run did not log %q (the test would prove less than it says):\n%s", want, out)
		}
	}
}

// TestCredentialFilePermissions: a credential file or key file others may
// read stops the start with a message that says what to do.
func TestCredentialFilePermissions(t *testing.T) {
	creds := credentialFile(t)
	if err := os.Chmod(creds, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.HTTP, cfg.Data = "127.0.0.1:0", t.TempDir()
	cfg.Credentials, cfg.HTTPSPSK = creds, "127.0.0.1:0"
	_, err := server.New(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("want a refusal naming chmod 600, got %v", err)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeclaredCredentialCannotBorrowAKey: with the development stand-in
// accept-declared-credentials on, a registree over plain HTTP that declares
// the Credential-ID of a PSK it does not hold gets no CSE-ID from it.
func TestDeclaredCredentialCannotBorrowAKey(t *testing.T) {
	in := testcse.Start(t, saIN(t, func(c *config.Config) {
		c.RequireSAForCSEs, c.RequireSAForAEs = config.SAOff, config.SAOff
		c.AcceptDeclaredCredentials = true
	}))
	body := map[string]any{"m2m:csr": map[string]any{"cb": sp + "/-/cse-x", "rr": true, "srv": []any{"3"}, "cst": 2,
		"lbl": []any{"Credential-ID:12-" + idMN}}}
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "", Ty: 16, Body: body}).Must(t, 4000)
	get(in, "/cse-in/id-mn-01").Must(t, 4004)
	// Over the association the same request gets the bound CSE-ID.
	in.PSK(idMN, keyMN).Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "", Ty: 16, Body: body}).Must(t, 2001)
	get(in, "/cse-in/id-mn-01").Must(t, 2000)
}

// TestReloadCredentials: a credential added to the file works after a
// reload without a restart; one revoked in the file ends its association.
func TestReloadCredentials(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	file := in.Config.Credentials
	key := credentials.NewKey()
	if err := credentials.AddPSK(file, credentials.Credential{KpsaID: "late@x", Key: key, AEIDs: []string{"Clate"}}); err != nil {
		t.Fatal(err)
	}
	late := in.PSK("late@x", key)
	req := func(c *testcse.CSE) error {
		r, _ := http.NewRequest("GET", c.URL+"/cse-in", nil)
		r.Header["X-M2M-Origin"] = []string{"CAdmin"}
		r.Header["X-M2M-RI"] = []string{"1"}
		r.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := c.Client.Do(r)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if req(late) == nil {
		t.Fatal("a credential not yet loaded was accepted")
	}
	if err := in.Server.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	late.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Clate", Ty: 2, Body: aeBody("late", "Nlate")}).Must(t, 2001)
	ae := in.PSK(idAE, keyAE)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	if err := credentials.SetRevoked(file, idAE); err != nil {
		t.Fatal(err)
	}
	if err := in.Server.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	if req(ae) == nil {
		t.Fatal("a credential revoked in the file still works after the reload")
	}
	late.Do(testcse.Req{Method: "GET", Path: "/cse-in/late", From: "Clate"}).Must(t, 2000)
	// A broken file leaves the loaded credentials in place.
	os.WriteFile(file, []byte("psk: [\n"), 0o600)
	if err := in.Server.ReloadCredentials(); err == nil {
		t.Fatal("a broken file was loaded")
	}
	late.Do(testcse.Req{Method: "GET", Path: "/cse-in/late", From: "Clate"}).Must(t, 2000)
}

// TestWebSocketOverPSK: a WebSocket opened on the HTTPS-PSK listener
// carries its association: the bound AE registers and acts, another From
// is refused (4106), and the same requests on a plain WebSocket are 4107.
func TestWebSocketOverPSK(t *testing.T) {
	in := testcse.Start(t, saIN(t, func(c *config.Config) { c.WebSocket = true }))
	wss := testcse.DialWSPSK(t, in, "oneM2M.json", idAE, keyAE)
	reg := testcse.Msg{Op: 1, To: "cse-in", From: "Csensor", Ty: 2, PC: aeBody("sensor", "Nsensor")}
	plain := testcse.DialWS(t, in, "oneM2M.json")
	plain.Send(t, reg).Must(t, 4107)
	wss.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Cother", Ty: 2, PC: aeBody("other", "Nsensor")}).Must(t, 4106)
	wss.Send(t, reg).Must(t, 2001)
	wss.Send(t, testcse.Msg{Op: 2, To: "cse-in/sensor", From: "Csensor"}).Must(t, 2000)
	plain.Send(t, testcse.Msg{Op: 2, To: "cse-in/sensor", From: "Csensor"}).Must(t, 4107)
	get(in, "/cse-in/other").Must(t, 4004)
}

// TestTreeOverPSK: IN ← MN ← ASN, each link a TLS-PSK association and
// each registrar requiring one; an AE of the ASN writes on the IN through
// both associations (the IN accepts /id-asn/… on the MN's association as a
// descendant of the MN), and the ASN cannot speak for the MN.
func TestTreeOverPSK(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	in.Create("CAdmin", "/cse-in", 1, "m2m:acp", map[string]any{"rn": "open",
		"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}}, "pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"CAdmin"}, "acop": 63}}}})
	in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	keyASN := bytes.Repeat([]byte{0x66}, 16)
	mnCreds := writeSecret(t, "mn-credentials.yaml", fmt.Sprintf("psk:\n  - kpsa-id: asn1@mn.x\n    key: %x\n    cse-id: /id-asn\n", keyASN))
	mn := testcse.Start(t, cseCfg("MN", "", "cse-mn", nil, func(c *config.Config) {
		c.RegistrarURL = "https://" + in.Server.HTTPSPSKAddr()
		c.RegistrarID, c.RegistrarName = "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, writeSecret(t, "mn.key", hex.EncodeToString(keyMN))
		c.Credentials, c.HTTPSPSK, c.RequireSAForCSEs = mnCreds, "127.0.0.1:0", config.SAOn
	}))
	asn := testcse.Start(t, cseCfg("ASN", "/id-asn", "cse-asn", nil, func(c *config.Config) {
		c.RegistrarURL = "https://" + mn.Server.HTTPSPSKAddr()
		c.RegistrarID, c.RegistrarName, c.INCSEID = "/id-mn-01", "cse-mn", "/id-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = "asn1@mn.x", writeSecret(t, "asn.key", hex.EncodeToString(keyASN))
	}))
	waitFor(t, "the IN lists the ASN as a descendant of the MN", func() bool {
		r := get(in, "/cse-in/id-mn-01")
		return r.RSC == 2000 && strings.Contains(string(r.Body), `"/id-asn"`)
	})
	waitRegistered(t, mn, "/id-in")
	waitRegistered(t, asn, "/id-mn-01")
	asn.Do(testcse.Req{Method: "POST", Path: "/cse-asn", From: "Cmeter", Ty: 2, Body: aeBody("meter", "Nmeter")}).Must(t, 2001)
	asn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared", From: "Cmeter", Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "m"}}}).Must(t, 2001)
	get(in, "/cse-in/shared/m").Must(t, 2000)
	// On the MN, the ASN's association cannot carry the MN's identity.
	mn.PSK("asn1@mn.x", keyASN).Do(testcse.Req{Method: "GET", Path: "/cse-mn", From: "/id-mn-01"}).Must(t, 4106)
	// Nor can plain HTTP reach the MN as the ASN.
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-mn", From: "/id-asn"}).Must(t, 4107)
}

// TestRevocationClosesWebSocket: revoking a credential closes a wss
// connection made with it at once, as it does an HTTP connection; a wss of
// another credential stays open.
func TestRevocationClosesWebSocket(t *testing.T) {
	in := testcse.Start(t, saIN(t, func(c *config.Config) { c.WebSocket = true }))
	wss := testcse.DialWSPSK(t, in, "oneM2M.json", idAE, keyAE)
	wss.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Csensor", Ty: 2, PC: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	other := testcse.DialWSPSK(t, in, "oneM2M.json", idMN, keyMN)
	other.Send(t, testcse.Msg{Op: 2, To: "cse-in", From: "/id-mn-01"}).Must(t, 4106) // open, not registered
	if !in.Server.RevokeCredential(idAE) {
		t.Fatal("credential not found")
	}
	select {
	case <-wss.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the wss connection of a revoked credential is still open")
	}
	other.Send(t, testcse.Msg{Op: 2, To: "cse-in", From: "/id-mn-01"}).Must(t, 4106)
}

// TestRegistrarReachesRegistreeOverPSK: SA2 of TS-0003 8.2.1. The IN sends
// requests to an MN that requires associations for CSEs, through the MN's
// https point of access, as the TLS client with the PSK of the MN's own
// association; the MN binds that association to its registrar's CSE-ID.
// Over plain HTTP the same MN refuses the IN (4107).
func TestRegistrarReachesRegistreeOverPSK(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	keyOther := bytes.Repeat([]byte{0x77}, 16)
	mnCreds := writeSecret(t, "mn-credentials.yaml", fmt.Sprintf("psk:\n  - kpsa-id: asn9@mn.x\n    key: %x\n    cse-id: /id-asn9\n", keyOther))
	mn := testcse.Start(t, cseCfg("MN", "", "cse-mn", nil, func(c *config.Config) {
		c.RegistrarURL = "https://" + in.Server.HTTPSPSKAddr()
		c.RegistrarID, c.RegistrarName = "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, writeSecret(t, "mn.key", hex.EncodeToString(keyMN))
		c.Credentials, c.HTTPSPSK, c.RequireSAForCSEs = mnCreds, "127.0.0.1:0", config.SAOn
	}))
	waitFor(t, "the MN has the IN's <remoteCSE>", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })
	// The MN lets the IN read a container.
	mn.Create("CAdmin", "/cse-mn", 1, "m2m:acp", map[string]any{"rn": "in",
		"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"/id-in", "/id-in/CAdmin"}, "acop": 63}}}, "pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"CAdmin"}, "acop": 63}}}})
	mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "box", "acpi": []any{"cse-mn/in"}})
	r := in.Do(testcse.Req{Method: "GET", Path: "/~/id-mn-01/cse-mn/box", From: "CAdmin"})
	if r.RSC != 2000 {
		t.Fatalf("the IN reading the MN's container: %d %s", r.RSC, r.Body)
	}
	// The IN's identity on the MN's plain listener is refused.
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-mn/box", From: "/id-in"}).Must(t, 4107)
	// On the MN's PSK listener the IN's key is bound to /id-in only.
	mn.PSK(idMN, keyMN).Do(testcse.Req{Method: "GET", Path: "/cse-mn/box", From: "/id-in"}).Must(t, 2000)
	mn.PSK(idMN, keyMN).Do(testcse.Req{Method: "GET", Path: "/cse-mn/box", From: "/id-mn-01"}).Must(t, 4106)
}

// TestExpiringCredentialEndsWebSocket: a wss connection is closed when its
// credential's not-after time passes, as an HTTP one is.
func TestExpiringCredentialEndsWebSocket(t *testing.T) {
	notAfter := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	creds := writeSecret(t, "c.yaml", fmt.Sprintf("psk:\n  - kpsa-id: %s\n    key: %x\n    ae-ids: [Csensor]\n    not-after: %s\n", idAE, keyAE, notAfter))
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.Credentials, c.HTTPSPSK, c.WebSocket = creds, "127.0.0.1:0", true
	}))
	wss := testcse.DialWSPSK(t, in, "oneM2M.json", idAE, keyAE)
	wss.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Csensor", Ty: 2, PC: aeBody("sensor", "Nsensor")}).Must(t, 2001)
	select {
	case <-wss.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the wss association outlived its credential")
	}
}
