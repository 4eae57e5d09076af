package client_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/client"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/certid"
)

// The client AE against real registrars: an IN started by testcse with an
// HTTPS-PSK listener or a mutual-TLS listener, associations required for
// AEs (the production setting of TS-0003 6.1.2.2.1 for AEs of an IN-CSE).

var (
	keySensor = bytes.Repeat([]byte{0x22}, 32)
	keyMeter  = bytes.Repeat([]byte{0x44}, 16)
	keyOld    = bytes.Repeat([]byte{0x33}, 16)
	keyCSE    = bytes.Repeat([]byte{0x11}, 16)
)

const (
	idSensor = "sensor@in.onecse.example"
	idMeter  = "meter@in.onecse.example"
	idOld    = "old@in.onecse.example"
	idCSE    = "mn1@in.onecse.example"
)

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// pskIN starts an IN with a credential file: sensor bound to Csensor with
// App-ID Nsensor; meter bound to two AE-IDs and any App-ID; old expired;
// a CSE's credential.
func pskIN(t *testing.T) *testcse.CSE {
	creds := writeFile(t, "credentials.yaml", fmt.Sprintf(`psk:
  - kpsa-id: %s
    key: %x
    ae-ids: [Csensor]
    app-ids: [Nsensor]
  - kpsa-id: %s
    key: %x
    ae-ids: [Cmeter1, Cmeter2]
  - kpsa-id: %s
    key: %x
    ae-ids: [Cold]
    not-after: 2020-01-01T00:00:00Z
  - kpsa-id: %s
    key: %x
    cse-id: /id-mn-01
`, idSensor, keySensor, idMeter, keyMeter, idOld, keyOld, idCSE, keyCSE), 0o600)
	return testcse.Start(t, func(c *config.Config) {
		c.Credentials, c.HTTPSPSK = creds, "127.0.0.1:0"
		c.RequireSAForAEs, c.RequireSAForCSEs = config.SAOn, config.SAOn
	})
}

func pskConfig(in *testcse.CSE, identity string, key []byte, aeid, api string) client.Config {
	return client.Config{
		URL: "https://" + in.Server.HTTPSPSKAddr(), CSEID: "/id-in",
		Credential: client.Credential{PSKIdentity: identity, PSKKey: key},
		AEID:       aeid, AppID: api, Name: strings.ToLower(strings.TrimPrefix(aeid, "C")),
		Notify: "127.0.0.1:0",
	}
}

func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantRSC(t *testing.T, err error, rsc primitive.RSC) {
	t.Helper()
	if got := primitive.ErrorRSC(err); err == nil || got != rsc {
		t.Fatalf("want RSC %d, got %v", rsc, err)
	}
}

// exercise runs the life of a registered AE: CRUD, discovery, a
// subscription with a notification received, deregistration. It checks
// each step on the registrar through the administrator's plain HTTP.
func exercise(t *testing.T, in *testcse.CSE, ae *client.Client) {
	t.Helper()
	cx := ctx(t)
	aei := ae.AEID()
	rn := in.Do(testcse.Req{Method: "GET", Path: "/~/id-in/" + aei, From: "CAdmin"}).Must(t, 2000).Res("m2m:ae")["rn"].(string)
	base := "cse-in/" + rn
	if _, err := ae.Create(cx, base, map[string]any{"m2m:cnt": map[string]any{"rn": "data", "mni": int64(10)}}); err != nil {
		t.Fatal(err)
	}
	got := make(chan client.Notification, 4)
	sur, err := ae.Subscribe(cx, base+"/data", client.SubscribeOptions{Name: "watch"}, func(n client.Notification) { got <- n })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.Create(cx, base+"/data", map[string]any{"m2m:cin": map[string]any{"rn": "v1", "con": "21.5"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		cin, _ := n.Resource["m2m:cin"].(map[string]any)
		if n.Subscription != sur || n.Event != 3 || cin["con"] != "21.5" {
			t.Fatalf("notification %+v, want one of %s for the new cin", n, sur)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notification received")
	}
	r, err := ae.Retrieve(cx, base+"/data/v1")
	if err != nil {
		t.Fatal(err)
	}
	if con := r["m2m:cin"].(map[string]any)["con"]; con != "21.5" {
		t.Fatalf("retrieved con %v", con)
	}
	if _, err := ae.Update(cx, base+"/data", map[string]any{"m2m:cnt": map[string]any{"mni": int64(5), "lbl": []any{"room/1"}}}); err != nil {
		t.Fatal(err)
	}
	if mni := in.Do(testcse.Req{Method: "GET", Path: "/" + base + "/data", From: "CAdmin"}).Must(t, 2000).Res("m2m:cnt")["mni"]; fmt.Sprint(mni) != "5" {
		t.Fatalf("mni %v after the update", mni)
	}
	fc := primitive.NewFilterCriteria()
	fc.Labels = []string{"room/1"}
	found, err := ae.Discover(cx, base, fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !strings.HasSuffix(found[0], "/data") {
		t.Fatalf("discovered %v", found)
	}
	if err := ae.Unsubscribe(cx, sur); err != nil {
		t.Fatal(err)
	}
	if err := ae.Delete(cx, base+"/data/v1"); err != nil {
		t.Fatal(err)
	}
	in.Do(testcse.Req{Method: "GET", Path: "/" + base + "/data/v1", From: "CAdmin"}).Must(t, 4004)
	_, err = ae.Retrieve(cx, base+"/data/v1")
	wantRSC(t, err, primitive.RSCNotFound)
	if err := ae.Deregister(cx); err != nil {
		t.Fatal(err)
	}
	in.Do(testcse.Req{Method: "GET", Path: "/" + base, From: "CAdmin"}).Must(t, 4004)
}

// TestPSKRegistersAndWorks: the AE registers over TLS-PSK with the AE-ID
// bound to its credential and does everything an AE does, in JSON and in
// CBOR.
func TestPSKRegistersAndWorks(t *testing.T) {
	in := pskIN(t)
	for _, f := range []codec.Format{codec.JSON, codec.CBOR} {
		t.Run(f.String(), func(t *testing.T) {
			cfg := pskConfig(in, idSensor, keySensor, "Csensor", "Nsensor")
			cfg.Format = f
			ae := newClient(t, cfg)
			if err := ae.Register(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if ae.AEID() != "Csensor" {
				t.Fatalf("AE-ID %q", ae.AEID())
			}
			r := in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 2000).Res("m2m:ae")
			if poa := fmt.Sprint(r["poa"]); !strings.Contains(poa, ae.NotifyURL()) || r["rr"] != true {
				t.Fatalf("poa %v rr %v, want the receiver %s", r["poa"], r["rr"], ae.NotifyURL())
			}
			exercise(t, in, ae)
		})
	}
}

// TestPSKKeyFile: the key comes from a file that only its owner may read.
func TestPSKKeyFile(t *testing.T) {
	in := pskIN(t)
	cfg := pskConfig(in, idSensor, nil, "Csensor", "Nsensor")
	cfg.Credential.PSKKeyFile = writeFile(t, "sensor.key", hex.EncodeToString(keySensor)+"\n", 0o644)
	if _, err := client.New(cfg); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key file others may read: %v", err)
	}
	cfg.Credential.PSKKeyFile = writeFile(t, "sensor.key", hex.EncodeToString(keySensor)+"\n", 0o600)
	if err := newClient(t, cfg).Register(ctx(t)); err != nil {
		t.Fatal(err)
	}
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 2000)
}

// TestPSKRefused: what the registrar refuses reaches the AE as its status,
// and nothing is registered.
func TestPSKRefused(t *testing.T) {
	in := pskIN(t)
	for _, tc := range []struct {
		name string
		cfg  client.Config
		rsc  primitive.RSC // 0: no answer (handshake refused)
	}{
		{"App-ID not bound to the credential", pskConfig(in, idSensor, keySensor, "Csensor", "Nother"), primitive.RSCAppRuleValidationFailed},
		{"AE-ID not bound to the credential", pskConfig(in, idSensor, keySensor, "Cother", "Nsensor"), primitive.RSCOriginatorNotAuthenticated},
		{"no AE-ID on a credential bound to one", pskConfig(in, idSensor, keySensor, "", "Nsensor"), primitive.RSCOriginatorNotAuthenticated},
		{"a CSE's credential", pskConfig(in, idCSE, keyCSE, "Csensor", "Nsensor"), primitive.RSCOriginatorNotAuthenticated},
		{"wrong key", pskConfig(in, idSensor, keyMeter, "Csensor", "Nsensor"), 0},
		{"unknown identity", pskConfig(in, "nobody@in.onecse.example", keySensor, "Csensor", "Nsensor"), 0},
		{"expired credential", pskConfig(in, idOld, keyOld, "Cold", "Nsensor"), 0},
		{"no association", client.Config{URL: in.URL, CSEID: "/id-in", AEID: "Csensor", AppID: "Nsensor", Name: "sensor"}, primitive.RSCSecurityAssociationRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name = "refused"
			err := newClient(t, tc.cfg).Register(ctx(t))
			if err == nil {
				t.Fatal("registered")
			}
			var answer *primitive.Error
			switch {
			case tc.rsc != 0 && primitive.ErrorRSC(err) != tc.rsc:
				t.Fatalf("want %d, got %v", tc.rsc, err)
			case tc.rsc == 0 && errors.As(err, &answer):
				t.Fatalf("want a refused handshake, got an answer: %v", err)
			}
			in.Do(testcse.Req{Method: "GET", Path: "/cse-in/refused", From: "CAdmin"}).Must(t, 4004)
		})
	}
}

// TestPSKAppIDRules: a credential bound to several AE-IDs and no App-ID
// registers either AE-ID with any App-ID; one with App-IDs only those.
func TestPSKAppIDRules(t *testing.T) {
	in := pskIN(t)
	for _, aeid := range []string{"Cmeter1", "Cmeter2"} {
		cfg := pskConfig(in, idMeter, keyMeter, aeid, "Nanything")
		if err := newClient(t, cfg).Register(ctx(t)); err != nil {
			t.Fatalf("%s: %v", aeid, err)
		}
	}
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in/meter1", From: "CAdmin"}).Must(t, 2000)
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in/meter2", From: "CAdmin"}).Must(t, 2000)
	err := newClient(t, pskConfig(in, idSensor, keySensor, "Csensor", "Rsensor")).Register(ctx(t))
	wantRSC(t, err, primitive.RSCAppRuleValidationFailed)
}

// TestRegisterAgain: an AE that restarts with its AE-ID finds its <AE>
// still registered (4117) and takes it over, with its new receiver in poa.
func TestRegisterAgain(t *testing.T) {
	in := pskIN(t)
	first := newClient(t, pskConfig(in, idSensor, keySensor, "Csensor", "Nsensor"))
	if err := first.Register(ctx(t)); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := newClient(t, pskConfig(in, idSensor, keySensor, "Csensor", "Nsensor"))
	if second.NotifyURL() == first.NotifyURL() {
		t.Fatal("the test needs a new receiver address")
	}
	if err := second.Register(ctx(t)); err != nil {
		t.Fatal(err)
	}
	poa := fmt.Sprint(in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 2000).Res("m2m:ae")["poa"])
	if !strings.Contains(poa, second.NotifyURL()) || strings.Contains(poa, first.NotifyURL()) {
		t.Fatalf("poa %s, want %s only", poa, second.NotifyURL())
	}
	exercise(t, in, second)
}

// TestPlainHTTPAssignsAEID: without a credential, on a registrar that does
// not require associations, an empty From or "C" gets a registrar-assigned
// C-type AE-ID, which the client then uses as its From.
func TestPlainHTTPAssignsAEID(t *testing.T) {
	in := testcse.Start(t, nil)
	for _, from := range []string{"", "C"} {
		ae := newClient(t, client.Config{URL: in.URL, CSEID: "/id-in", AEID: from, AppID: "Napp", Notify: "127.0.0.1:0"})
		if err := ae.Register(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if id := ae.AEID(); !strings.HasPrefix(id, "C") || len(id) < 5 {
			t.Fatalf("From %q: AE-ID %q", from, id)
		}
		exercise(t, in, ae)
	}
}

// TestConfigRefused: New refuses what cannot work.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"no URL", client.Config{CSEID: "/id-in", AppID: "Nx"}, "URL"},
		{"a URL with a path", client.Config{URL: "http://h:1/cse-in", CSEID: "/id-in", AppID: "Nx"}, "URL"},
		{"no CSE-ID", client.Config{URL: "http://h:1", AppID: "Nx"}, "CSEID"},
		{"absolute CSE-ID", client.Config{URL: "http://h:1", CSEID: "//sp/id-in", AppID: "Nx"}, "CSEID"},
		{"bad App-ID", client.Config{URL: "http://h:1", CSEID: "/id-in", AppID: "xapp"}, "AppID"},
		{"bad AE-ID", client.Config{URL: "http://h:1", CSEID: "/id-in", AppID: "Nx", AEID: "/id-in"}, "AEID"},
		{"PSK over http", client.Config{URL: "http://h:1", CSEID: "/id-in", AppID: "Nx",
			Credential: client.Credential{PSKIdentity: "a@b", PSKKey: keyMeter}}, "https"},
		{"short PSK", client.Config{URL: "https://h:1", CSEID: "/id-in", AppID: "Nx",
			Credential: client.Credential{PSKIdentity: "a@b", PSKKey: []byte("short")}}, "16 bytes"},
		{"PSK and certificate", client.Config{URL: "https://h:1", CSEID: "/id-in", AppID: "Nx",
			Credential: client.Credential{PSKIdentity: "a@b", PSKKey: keyMeter, CertFile: "x"}}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error about %s, got %v", tc.want, err)
			}
		})
	}
}

// pki is a CA with files for the IN and the AEs.
type pki struct {
	t      *testing.T
	dir    string
	ca     *certid.CA
	caFile string
}

func newPKI(t *testing.T) *pki {
	p := &pki{t: t, dir: t.TempDir()}
	var is certid.Issued
	var err error
	p.ca, is, err = certid.NewCA("client test CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "onecse.example")
	if err != nil {
		t.Fatal(err)
	}
	p.caFile = p.write("ca.crt", is.CertPEM, 0o644)
	return p
}

func (p *pki) write(name string, data []byte, mode os.FileMode) string {
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, data, mode); err != nil {
		p.t.Fatal(err)
	}
	return f
}

func (p *pki) files(name string, is certid.Issued, err error) (string, string) {
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(name+".crt", is.CertPEM, 0o644), p.write(name+".key", is.KeyPEM, 0o600)
}

// in starts an IN whose certificate is a CSE-ID certificate of cseID.
func (p *pki) in(cseID string) *testcse.CSE {
	is, err := p.ca.IssueCSE(cseID, "onecse.example", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cert, key := p.files("in"+strings.ReplaceAll(cseID, "/", "-"), is, err)
	return testcse.Start(p.t, func(c *config.Config) {
		c.HTTPSCert, c.TLSCert, c.TLSKey, c.TLSClientCA = "127.0.0.1:0", cert, key, p.caFile
		c.RequireSAForAEs, c.RequireSAForCSEs = config.SAOn, config.SAOn
	})
}

func (p *pki) ae(stem string, from, to time.Time) client.Credential {
	is, err := p.ca.IssueAE("//onecse.example", stem, from, to)
	cert, key := p.files(stem+fmt.Sprint(to.Unix()), is, err)
	return client.Credential{CertFile: cert, KeyFile: key, CAFile: p.caFile}
}

// TestCertificateRegistersAndWorks: with an AE-ID certificate the AE-ID
// comes from the certificate; the AE registers, works and deregisters.
func TestCertificateRegistersAndWorks(t *testing.T) {
	p := newPKI(t)
	in := p.in("/id-in")
	cred := p.ae("Csensor", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	ae := newClient(t, client.Config{URL: "https://" + in.Server.HTTPSCertAddr(), CSEID: "/id-in", Credential: cred,
		AppID: "Nsensor", Name: "sensor", Notify: "127.0.0.1:0"})
	if err := ae.Register(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ae.AEID() != "Csensor" {
		t.Fatalf("AE-ID %q, want the certificate's Csensor", ae.AEID())
	}
	exercise(t, in, ae)
}

// TestCertificateRefused: the registrar's certificate must name the
// configured registrar CSE-ID and chain to the CA; the AE's certificate
// must be valid and its AE-ID the configured one.
func TestCertificateRefused(t *testing.T) {
	p := newPKI(t)
	in := p.in("/id-in")
	other := p.in("/id-other")
	now := time.Now()
	good := p.ae("Csensor", now.Add(-time.Hour), now.Add(time.Hour))
	url := "https://" + in.Server.HTTPSCertAddr()
	t.Run("registrar with another CSE-ID", func(t *testing.T) {
		ae := newClient(t, client.Config{URL: "https://" + other.Server.HTTPSCertAddr(), CSEID: "/id-in", Credential: good, AppID: "Nsensor", Name: "sensor"})
		err := ae.Register(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "names 32-/id-other, not the registrar /id-in") {
			t.Fatalf("want the registrar's identity refused, got %v", err)
		}
		other.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 4004)
	})
	t.Run("registrar of another CA", func(t *testing.T) {
		rogue := newPKI(t)
		cred := good
		cred.CAFile = rogue.caFile
		err := newClient(t, client.Config{URL: url, CSEID: "/id-in", Credential: cred, AppID: "Nsensor", Name: "sensor"}).Register(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "registrar certificate") {
			t.Fatalf("want the registrar's chain refused, got %v", err)
		}
	})
	t.Run("expired AE certificate", func(t *testing.T) {
		cred := p.ae("Csensor", now.Add(-2*time.Hour), now.Add(-time.Hour))
		if err := newClient(t, client.Config{URL: url, CSEID: "/id-in", Credential: cred, AppID: "Nsensor", Name: "sensor"}).Register(ctx(t)); err == nil {
			t.Fatal("registered with an expired certificate")
		}
	})
	t.Run("AE-ID other than the certificate's", func(t *testing.T) {
		_, err := client.New(client.Config{URL: url, CSEID: "/id-in", Credential: good, AEID: "Cother", AppID: "Nsensor"})
		if err == nil || !strings.Contains(err.Error(), "not the AE-ID") {
			t.Fatalf("got %v", err)
		}
	})
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 4004)
}
