package multicse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/certid"
	"github.com/onecse/onecse/server"
)

// Certificate security associations (TS-0003 8.2.2.2, 10.1; registration-
// security.md 6.5): mutual TLS, the identity from a CSE-ID certificate's
// dNSName or an AE-ID certificate's URI.

type pki struct {
	t       *testing.T
	dir     string
	ca      *certid.CA
	caFile  string
	now     time.Time
	rogueCA *certid.CA
}

func newPKI(t *testing.T) *pki {
	p := &pki{t: t, dir: t.TempDir(), now: time.Now()}
	var is certid.Issued
	var err error
	p.ca, is, err = certid.NewCA("onecse test CA", p.now.Add(-time.Hour), p.now.Add(24*time.Hour), "onecse.example")
	if err != nil {
		t.Fatal(err)
	}
	p.caFile = p.write("ca.crt", is.CertPEM, 0o644)
	p.rogueCA, _, _ = certid.NewCA("rogue CA", p.now.Add(-time.Hour), p.now.Add(24*time.Hour), "")
	return p
}

func (p *pki) write(name string, data []byte, mode os.FileMode) string {
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, data, mode); err != nil {
		p.t.Fatal(err)
	}
	return f
}

// files writes an issued certificate and its key (0600).
func (p *pki) files(name string, is certid.Issued, err error) (string, string) {
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(name+".crt", is.CertPEM, 0o644), p.write(name+".key", is.KeyPEM, 0o600)
}

func (p *pki) cse(ca *certid.CA, id string, from, to time.Time) (string, string) {
	is, err := ca.IssueCSE(id, "onecse.example", from, to)
	return p.files(strings.TrimPrefix(id, "/")+"-"+ca.Cert.Subject.CommonName, is, err)
}

func (p *pki) valid() (time.Time, time.Time) { return p.now.Add(-time.Hour), p.now.Add(time.Hour) }

// client is a TLS client with a certificate that trusts the test CA and
// expects the IN's CSE-ID certificate.
func (p *pki) client(certFile, keyFile string) *http.Client {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "id-in.onecse.example"}}}
}

func (p *pki) in(t *testing.T) *testcse.CSE {
	cert, key := p.cse(p.ca, "/id-in", p.now.Add(-time.Hour), p.now.Add(time.Hour))
	return testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.HTTPSCert, c.TLSCert, c.TLSKey, c.TLSClientCA = "127.0.0.1:0", cert, key, p.caFile
		c.RequireSAForCSEs, c.RequireSAForAEs = config.SAOn, config.SAOn
	}))
}

func certView(in *testcse.CSE, hc *http.Client) *testcse.CSE {
	return &testcse.CSE{T: in.T, Server: in.Server, Config: in.Config, URL: "https://" + in.Server.HTTPSCertAddr(), Client: hc}
}

// TestCertHandshake: a certificate of the trusted CA is accepted; one of
// another CA, an expired one, and one naming no oneM2M identity are refused
// in the handshake.
func TestCertHandshake(t *testing.T) {
	p := newPKI(t)
	in := p.in(t)
	from, to := p.valid()
	good := p.client(p.cse(p.ca, "/id-mn", from, to))
	untrusted := p.client(p.cse(p.rogueCA, "/id-mn", from, to))
	expired := p.client(p.cse(p.ca, "/id-old", p.now.Add(-2*time.Hour), p.now.Add(-time.Hour)))
	is, err := p.ca.IssueCSE("/id-x", "elsewhere.example", from, to)
	noID := p.client(p.files("noid", is, err))
	url := "https://" + in.Server.HTTPSCertAddr() + "/cse-in"
	for _, tc := range []struct {
		name string
		c    *http.Client
		ok   bool
	}{{"trusted", good, true}, {"untrusted CA", untrusted, false}, {"expired", expired, false}, {"no oneM2M identity", noID, false}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header["X-M2M-Origin"] = []string{"/id-mn"}
			req.Header["X-M2M-RI"] = []string{"1"}
			req.Header["X-M2M-RVI"] = []string{"3"}
			resp, err := tc.c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("handshake ok=%v, want %v (%v)", err == nil, tc.ok, err)
			}
		})
	}
}

// TestMNRegistersWithCertificate: an MN with a CSE-ID certificate registers
// over mutual TLS; one without a configured CSE-ID gets the one its
// certificate names; the IN's certificate must name the registrar.
func TestMNRegistersWithCertificate(t *testing.T) {
	p := newPKI(t)
	in := p.in(t)
	from, to := p.valid()
	cert, key := p.cse(p.ca, "/id-mn", from, to)
	regCfg := func(c *config.Config) {
		c.RegistrarURL = "https://" + in.Server.HTTPSCertAddr()
		c.RegistrarID, c.RegistrarName = "/id-in", "cse-in"
		c.RegistrarCert, c.RegistrarKey, c.RegistrarCA = cert, key, p.caFile
	}
	mn := testcse.Start(t, cseCfg("MN", "", "cse-mn", nil, regCfg))
	if got := mn.Server.Core().Config().CSEID; got != "/id-mn" {
		t.Fatalf("MN CSE-ID %q", got)
	}
	get(in, "/cse-in/id-mn").Must(t, 2000)
	waitFor(t, "the MN has the IN's <remoteCSE>", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })

	// A registrar whose certificate names another CSE is not trusted as
	// /id-in: no CSE-ID, nothing registered.
	cfg := config.Default()
	cfg.HTTP, cfg.Data, cfg.Sync, cfg.CSEType, cfg.CSEName, cfg.CSEID = "127.0.0.1:0", t.TempDir(), "normal", "MN", "cse-mn2", ""
	regCfg(&cfg)
	cfg.RegistrarID = "/id-other"
	// server.New tries the registrar again until its context ends: the
	// context ends once an attempt was refused for the certificate (or
	// after a minute, which only stops a test that would hang).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.New(ctx, cfg, slog.New(&cancelOn{cancel: cancel, text: "not the registrar /id-other"}))
	if err == nil {
		s.Shutdown(context.Background())
		t.Fatal("registered with a registrar whose certificate names another CSE")
	}
	if !strings.Contains(err.Error(), "not the registrar /id-other") {
		t.Fatalf("refused for another reason: %v", err)
	}
	if n := csrTotal(t, in); n != 1 {
		t.Fatalf("%d <remoteCSE> on the IN", n)
	}
}

// cancelOn is a log handler that calls cancel once a record mentions text.
type cancelOn struct {
	cancel context.CancelFunc
	text   string
	attrs  []slog.Attr
}

func (h *cancelOn) Enabled(context.Context, slog.Level) bool { return true }

func (h *cancelOn) Handle(_ context.Context, r slog.Record) error {
	found := strings.Contains(r.Message, h.text)
	check := func(a slog.Attr) bool {
		found = found || strings.Contains(a.Value.String(), h.text)
		return !found
	}
	for _, a := range h.attrs {
		check(a)
	}
	r.Attrs(check)
	if found {
		h.cancel()
	}
	return nil
}

func (h *cancelOn) WithAttrs(as []slog.Attr) slog.Handler {
	return &cancelOn{cancel: h.cancel, text: h.text, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *cancelOn) WithGroup(string) slog.Handler { return h }

// TestCertIdentity: From must be the identity of the certificate (4106,
// nothing created); plain HTTP is 4107.
func TestCertIdentity(t *testing.T) {
	p := newPKI(t)
	in := p.in(t)
	from, to := p.valid()
	mn := certView(in, p.client(p.cse(p.ca, "/id-mn-02", from, to)))
	is, err := p.ca.IssueAE("//onecse.example", "Csensor", from, to)
	ae := certView(in, p.client(p.files("ae", is, err)))
	csr := func(id string) map[string]any {
		return map[string]any{"m2m:csr": map[string]any{"cb": sp + id + "/cse-x", "csi": id, "rr": true, "srv": []any{"3"}, "cst": 2}}
	}
	mn.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn", Ty: 16, Body: csr("/id-mn")}).Must(t, 4106)
	get(in, "/cse-in/id-mn").Must(t, 4004)
	in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn-02", Ty: 16, Body: csr("/id-mn-02")}).Must(t, 4107)
	mn.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn-02", Ty: 16, Body: csr("/id-mn-02")}).Must(t, 2001)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cother", Ty: 2, Body: aeBody("other", "Nx")}).Must(t, 4106)
	get(in, "/cse-in/other").Must(t, 4004)
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nx")}).Must(t, 2001)
	mn.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "Csensor"}).Must(t, 4106)
	ae.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "Csensor"}).Must(t, 2000)
}

// TestCertificateEndsAssociation: a connection is closed when the peer's
// certificate ends, and no new one is accepted with it.
func TestCertificateEndsAssociation(t *testing.T) {
	p := newPKI(t)
	in := p.in(t)
	is, err := p.ca.IssueAE("//onecse.example", "Csensor", p.now.Add(-time.Hour), time.Now().Add(3*time.Second))
	ae := certView(in, p.client(p.files("short", is, err)))
	ae.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Csensor", Ty: 2, Body: aeBody("sensor", "Nx")}).Must(t, 2001)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", ae.URL+"/cse-in/sensor", nil)
		req.Header["X-M2M-Origin"] = []string{"Csensor"}
		req.Header["X-M2M-RI"] = []string{"1"}
		req.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := ae.Client.Do(req)
		if err != nil {
			return // closed, and the new handshake refused
		}
		resp.Body.Close()
		// 2000 while the certificate is valid; 4107 in the instant between
		// its end and the closing of the connection.
		if rsc := resp.Header.Get("X-M2M-RSC"); rsc != "2000" && rsc != "4107" {
			t.Fatalf("RSC %s on a certificate association", rsc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the association outlived its certificate")
}

// TestWebSocketWithCertificate: a wss connection on the certificate
// listener carries the identity of its client certificate.
func TestWebSocketWithCertificate(t *testing.T) {
	p := newPKI(t)
	in := p.in(t)
	from, to := p.valid()
	is, err := p.ca.IssueAE("//onecse.example", "Csensor", from, to)
	ws := testcse.DialWSURL(t, "wss://"+in.Server.HTTPSCertAddr()+"/", "oneM2M.json", p.client(p.files("ae", is, err)))
	ws.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Cother", Ty: 2, PC: aeBody("other", "Nx")}).Must(t, 4106)
	ws.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Csensor", Ty: 2, PC: aeBody("sensor", "Nx")}).Must(t, 2001)
	get(in, "/cse-in/other").Must(t, 4004)
}

// TestRevokedCertificate: a certificate in tls-crl is refused in the
// handshake; one revoked while its connection is open loses it at the
// reload, and a CRL of an untrusted CA is refused.
func TestRevokedCertificate(t *testing.T) {
	p := newPKI(t)
	from, to := p.valid()
	isA, errA := p.ca.IssueAE("//onecse.example", "Ca", from, to)
	isB, errB := p.ca.IssueAE("//onecse.example", "Cb", from, to)
	aCrt, aKey := p.files("a", isA, errA)
	bCrt, bKey := p.files("b", isB, errB)
	serial := func(f string) *big.Int {
		data, _ := os.ReadFile(f)
		b, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber
	}
	crl, err := p.ca.Revoke(nil, serial(aCrt), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := p.write("ca.crl", crl, 0o644)
	cert, key := p.cse(p.ca, "/id-in", from, to)
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.HTTPSCert, c.TLSCert, c.TLSKey, c.TLSClientCA, c.TLSCRL = "127.0.0.1:0", cert, key, p.caFile, crlFile
	}))
	req := func(c *http.Client, from string) (string, error) {
		r, _ := http.NewRequest("GET", "https://"+in.Server.HTTPSCertAddr()+"/cse-in", nil)
		r.Header["X-M2M-Origin"] = []string{from}
		r.Header["X-M2M-RI"] = []string{"1"}
		r.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := c.Do(r)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return resp.Header.Get("X-M2M-RSC"), nil
	}
	if _, err := req(p.client(aCrt, aKey), "Ca"); err == nil {
		t.Fatal("a revoked certificate was accepted")
	}
	b := p.client(bCrt, bKey)
	bv := certView(in, b)
	bv.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cb", Ty: 2, Body: aeBody("b", "Nx")}).Must(t, 2001)
	crl, err = p.ca.Revoke(crl, serial(bCrt), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.write("ca.crl", crl, 0o644)
	if err := in.Server.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	if rsc, err := req(b, "Cb"); err == nil {
		t.Fatalf("a certificate revoked at the reload still works (RSC %s)", rsc)
	}
	rogueCRL, _ := p.rogueCA.Revoke(nil, big.NewInt(1), time.Now(), time.Hour)
	p.write("ca.crl", rogueCRL, 0o644)
	if err := in.Server.ReloadCredentials(); err == nil {
		t.Fatal("a CRL of an untrusted CA was loaded")
	}
}

// TestCRLClosesWebSocket: a certificate revoked by a reloaded CRL loses its
// wss connection at once; another certificate's stays open.
func TestCRLClosesWebSocket(t *testing.T) {
	p := newPKI(t)
	from, to := p.valid()
	crl, err := p.ca.Revoke(nil, big.NewInt(12345), time.Now(), time.Hour) // revokes nothing issued here
	if err != nil {
		t.Fatal(err)
	}
	crlFile := p.write("ca.crl", crl, 0o644)
	cert, key := p.cse(p.ca, "/id-in", from, to)
	in := testcse.Start(t, cseCfg("IN", "/id-in", "cse-in", nil, func(c *config.Config) {
		c.HTTPSCert, c.TLSCert, c.TLSKey, c.TLSClientCA, c.TLSCRL = "127.0.0.1:0", cert, key, p.caFile, crlFile
	}))
	isA, errA := p.ca.IssueAE("//onecse.example", "Ca", from, to)
	isB, errB := p.ca.IssueAE("//onecse.example", "Cb", from, to)
	aCrt, aKey := p.files("a", isA, errA)
	bCrt, bKey := p.files("b", isB, errB)
	url := "wss://" + in.Server.HTTPSCertAddr() + "/"
	a := testcse.DialWSURL(t, url, "oneM2M.json", p.client(aCrt, aKey))
	b := testcse.DialWSURL(t, url, "oneM2M.json", p.client(bCrt, bKey))
	a.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Ca", Ty: 2, PC: aeBody("a", "Nx")}).Must(t, 2001)
	b.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Cb", Ty: 2, PC: aeBody("b", "Nx")}).Must(t, 2001)
	data, _ := os.ReadFile(aCrt)
	blk, _ := pem.Decode(data)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if crl, err = p.ca.Revoke(crl, leaf.SerialNumber, time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	p.write("ca.crl", crl, 0o644)
	if err := in.Server.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the wss connection of a revoked certificate is still open")
	}
	b.Send(t, testcse.Msg{Op: 2, To: "cse-in/b", From: "Cb"}).Must(t, 2000)
}
