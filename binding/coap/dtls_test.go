package coap_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"

	coapb "github.com/onecse/onecse/binding/coap"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/certid"
)

var (
	keyAE    = bytes.Repeat([]byte{0x22}, 16)
	keyMN    = bytes.Repeat([]byte{0x11}, 16)
	keyWrong = bytes.Repeat([]byte{0x55}, 16)
)

const (
	idAE = "sensor@in.onecse.example"
	idMN = "mn1@in.onecse.example"
)

func secret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pskCSE starts an IN with a DTLS-PSK listener whose credentials bind
// idAE to the AE-ID Csensor and idMN to the CSE-ID /id-mn-01, associations
// required.
func pskCSE(t *testing.T) *testcse.CSE {
	creds := secret(t, "credentials.yaml", fmt.Sprintf(`psk:
  - kpsa-id: %s
    key: %x
    ae-ids: [Csensor]
    app-ids: [Nsensor]
  - kpsa-id: %s
    key: %x
    cse-id: /id-mn-01
`, idAE, keyAE, idMN, keyMN))
	return testcse.StartCoAP(t, func(c *config.Config) {
		c.Credentials = creds
		c.CoAPSPSK = "127.0.0.1:0"
		c.RequireSAForAEs, c.RequireSAForCSEs = config.SAOn, config.SAOn
	})
}

func aeMsg(from, rn, api string) testcse.Msg {
	return testcse.Msg{Op: 1, To: "cse-in", From: from, Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": api, "rr": false, "srv": []any{"3"}}}}
}

// TestDTLSPSK: over DTLS-PSK (TLS_PSK_WITH_AES_128_CCM_8) an AE registers
// with the AE-ID bound to its identity; another From is refused with 4106
// and creates nothing; plain CoAP is refused with 4107 (an association is
// required); a CSE's association registers its bound CSE-ID only; a wrong
// key or an unknown identity fails the handshake.
func TestDTLSPSK(t *testing.T) {
	c := pskCSE(t)
	addr := c.Server.CoAPSPSKAddr()
	cfg := coapb.PSKClientConfig(idAE, keyAE)
	cfg.CipherSuites = []piondtls.CipherSuiteID{piondtls.TLS_PSK_WITH_AES_128_CCM_8}
	ae, err := testcse.DialCoAPS(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ae.Close()
	ae.Send(t, aeMsg("Cother", "other", "Nsensor")).Must(t, 4106)
	ae.Send(t, aeMsg("Csensor", "sensor", "Nother")).Must(t, 4126)
	testcse.DialCoAP(t, c).Send(t, aeMsg("Csensor", "sensor", "Nsensor")).Must(t, 4107)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/other", From: "CAdmin"}).Must(t, 4004)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor", From: "CAdmin"}).Must(t, 4004)
	ae.Send(t, aeMsg("Csensor", "sensor", "Nsensor")).Must(t, 2001)
	ae.Send(t, testcse.Msg{Op: 1, To: "cse-in/sensor", From: "Csensor", Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}}).Must(t, 2001)
	ae.Send(t, testcse.Msg{Op: 2, To: "cse-in/sensor/data", From: "CAdmin"}).Must(t, 4106)

	mn, err := testcse.DialCoAPS(addr, coapb.PSKClientConfig(idMN, keyMN))
	if err != nil {
		t.Fatal(err)
	}
	defer mn.Close()
	csr := func(id string) map[string]any {
		return map[string]any{"m2m:csr": map[string]any{"cb": "//onecse.example" + id + "/cse-x", "csi": id, "rr": true, "srv": []any{"3"}, "cst": 2}}
	}
	mn.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "/id-mn-02", Ty: 16, PC: csr("/id-mn-02")}).Must(t, 4106)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/id-mn-02", From: "CAdmin"}).Must(t, 4004)
	mn.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "/id-mn-01", Ty: 16, PC: csr("/id-mn-01")}).Must(t, 2001)

	for _, tc := range []struct {
		name, id string
		key      []byte
	}{
		{"wrong key", idAE, keyWrong},
		{"unknown identity", "nobody@in.onecse.example", keyAE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := testcse.DialCoAPS(addr, coapb.PSKClientConfig(tc.id, tc.key))
			if err == nil {
				cl.Close()
				t.Fatal("handshake accepted")
			}
		})
	}
}

// TestDTLSCert: DTLS with mutual certificate authentication; the AE-ID of
// the certificate is the only From accepted (4106 otherwise); a certificate
// of another CA fails the handshake.
func TestDTLSCert(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, caIs, err := certid.NewCA("onecse test CA", now.Add(-time.Hour), now.Add(24*time.Hour), "onecse.example")
	if err != nil {
		t.Fatal(err)
	}
	caFile := write("ca.crt", caIs.CertPEM, 0o644)
	inIs, err := ca.IssueCSE("/id-in", "onecse.example", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c := testcse.StartCoAP(t, func(cfg *config.Config) {
		cfg.CoAPSCert = "127.0.0.1:0"
		cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = write("in.crt", inIs.CertPEM, 0o644), write("in.key", inIs.KeyPEM, 0o600), caFile
		cfg.RequireSAForAEs = config.SAOn
	})
	clientCfg := func(ca *certid.CA) *piondtls.Config {
		is, err := ca.IssueAE("//onecse.example", "Csensor", now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caIs.CertPEM)
		return &piondtls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "id-in.onecse.example",
			CipherSuites: []piondtls.CipherSuiteID{piondtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8}, ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret}
	}
	addr := c.Server.CoAPSCertAddr()
	ae, err := testcse.DialCoAPS(addr, clientCfg(ca))
	if err != nil {
		t.Fatal(err)
	}
	defer ae.Close()
	ae.Send(t, aeMsg("Cother", "other", "Nx")).Must(t, 4106)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/other", From: "CAdmin"}).Must(t, 4004)
	ae.Send(t, aeMsg("Csensor", "sensor", "Nx")).Must(t, 2001)
	ae.Send(t, testcse.Msg{Op: 2, To: "cse-in/sensor", From: "Csensor"}).Must(t, 2000)

	rogue, _, err := certid.NewCA("rogue CA", now.Add(-time.Hour), now.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if cl, err := testcse.DialCoAPS(addr, clientCfg(rogue)); err == nil {
		cl.Close()
		t.Fatal("a certificate of another CA was accepted")
	}
}
