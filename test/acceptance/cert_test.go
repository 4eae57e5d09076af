package acceptance

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/certid"
)

// https-cert: mutual TLS with AE-ID and CSE-ID certificates of a CA made
// in-process (TS-0003 8.2.2.2). A certificate names one AE-ID, so each AE
// of a case has its own certificate and connection: the client picks the
// certificate of the From it sends.

const certDomain = "onecse.example"

// pkis are the CAs of the running CSEs (for the MN's certificate).
var pkis sync.Map // *testcse.CSE → *pki

type pki struct {
	ca     *certid.CA
	caFile string
	dir    string
}

func (p *pki) files(t testing.TB, name string, is certid.Issued, err error) (string, string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	if err := os.WriteFile(crt, is.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, is.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return crt, key
}

func validity() (time.Time, time.Time) { return time.Now().Add(-time.Hour), time.Now().Add(time.Hour) }

// certClient sends each request over a connection with the AE-ID
// certificate of its From (one of boundStems; any other From goes with
// the first one's).
type certClient struct {
	c     *testcse.CSE
	p     *pki
	mu    sync.Mutex
	views map[string]testcse.Client
}

func (k *certClient) Name() string { return "https-cert" }

func (k *certClient) Send(t testing.TB, m testcse.Msg) *testcse.Result {
	t.Helper()
	stem := m.From
	if !slices.Contains(boundStems, stem) {
		stem = boundStems[0]
	}
	k.mu.Lock()
	v, ok := k.views[stem]
	if !ok {
		from, to := validity()
		is, err := k.p.ca.IssueAE("//"+certDomain, stem, from, to)
		crt, key := k.p.files(t, "ae-"+stem, is, err)
		pair, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(k.p.ca.Cert)
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: strings.TrimPrefix(k.c.Config.CSEID, "/") + "." + certDomain}}}
		t.Cleanup(hc.CloseIdleConnections)
		v = (&testcse.CSE{T: k.c.T, Server: k.c.Server, Config: k.c.Config, URL: "https://" + k.c.Server.HTTPSCertAddr(), Client: hc}).HTTPClient()
		k.views[stem] = v
	}
	k.mu.Unlock()
	return v.Send(t, m)
}

func httpsCertBinding() binding {
	return binding{
		name: "https-cert",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			from, to := validity()
			ca, is, err := certid.NewCA("acceptance CA", from, to, certDomain)
			if err != nil {
				t.Fatal(err)
			}
			p := &pki{ca: ca, dir: t.TempDir()}
			p.caFile, _ = p.files(t, "ca", is, nil)
			c := testcse.Start(t, func(cfg *config.Config) {
				is, err := ca.IssueCSE(cfg.CSEID, certDomain, from, to)
				crt, key := p.files(t, "cse", is, err)
				cfg.HTTPSCert, cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = "127.0.0.1:0", crt, key, p.caFile
				cfg.RequireSAForAEs, cfg.RequireSAForCSEs = config.SAOn, config.SAOn
				if mod != nil {
					mod(cfg)
				}
			})
			requireSA(t, c)
			pkis.Store(c, p)
			t.Cleanup(func() { pkis.Delete(c) })
			return c, &certClient{c: c, p: p, views: map[string]testcse.Client{}}
		},
		listen: httpListen,
		registrar: func(t *testing.T, c *testcse.CSE, mn *config.Config) {
			v, _ := pkis.Load(c)
			p := v.(*pki)
			from, to := validity()
			is, err := p.ca.IssueCSE(mn.CSEID, certDomain, from, to)
			crt, key := p.files(t, "mn", is, err)
			mn.RegistrarURL, mn.RegistrarID, mn.RegistrarName = "https://"+c.Server.HTTPSCertAddr(), c.Config.CSEID, c.Config.CSEName
			mn.RegistrarCert, mn.RegistrarKey, mn.RegistrarCA = crt, key, p.caFile
		},
		secured: true,
	}
}
