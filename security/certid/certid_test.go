package certid

import (
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"testing"
	"time"
)

func parse(t *testing.T, is Issued) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(is.CertPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMapper(t *testing.T) {
	now := time.Now()
	ca, _, err := NewCA("test CA", now.Add(-time.Hour), now.Add(time.Hour), "onecse.example")
	if err != nil {
		t.Fatal(err)
	}
	m := Mapper{SPID: "//onecse.example", Domain: "onecse.example"}
	cse, _ := ca.IssueCSE("/id-mn", "onecse.example", now.Add(-time.Hour), now.Add(time.Hour))
	ae, _ := ca.IssueAE("//onecse.example", "Csensor", now.Add(-time.Hour), now.Add(time.Hour))
	other, _ := ca.IssueCSE("/id-mn", "elsewhere.example", now.Add(-time.Hour), now.Add(time.Hour))
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want string // Credential-ID, "" = refused
	}{
		{"CSE-ID certificate", parse(t, cse), "32-/id-mn"},
		{"AE-ID certificate", parse(t, ae), "33-Csensor"},
		{"another domain", parse(t, other), ""},
		{"wildcard", &x509.Certificate{DNSNames: []string{"*.onecse.example"}}, ""},
		{"two levels", &x509.Certificate{DNSNames: []string{"a.b.onecse.example"}}, ""},
		{"CN only", &x509.Certificate{}, ""},
		{"scheme-prefixed AE-ID", &x509.Certificate{URIs: []*url.URL{{Scheme: "https", Host: "onecse.example", Path: "/Sabc"}}}, "33-Sabc"},
		{"AE-ID of another SP", &x509.Certificate{URIs: []*url.URL{{Host: "other.example", Path: "/Cx"}}}, ""},
		{"not a stem", &x509.Certificate{URIs: []*url.URL{{Host: "onecse.example", Path: "/id-in/Cx"}}}, ""},
		{"two identities", &x509.Certificate{DNSNames: []string{"id-mn.onecse.example"}, URIs: []*url.URL{{Host: "onecse.example", Path: "/Cx"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := m.Of(tc.cert)
			got := ""
			if err == nil {
				got = id.CredentialID()
			}
			if got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
			if got != "" {
				back, ok := Parse(got)
				if !ok || back != id {
					t.Fatalf("Parse(%q) = %+v %v", got, back, ok)
				}
			}
		})
	}
	for _, bad := range []string{"12-x@y", "32-id-mn", "32-/a/b", "33-/x/Cy", "33-", "32"} {
		if _, ok := Parse(bad); ok {
			t.Fatalf("Parse(%q) accepted", bad)
		}
	}
	// The CA's name constraint is enforced by path validation: an AE-ID
	// of another SP under it does not verify.
	bad, _ := ca.IssueAE("//other.example", "Cx", now.Add(-time.Hour), now.Add(time.Hour))
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := parse(t, bad).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Fatal("name constraint not enforced")
	}
	if _, err := parse(t, ae).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
}
