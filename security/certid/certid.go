// Package certid maps a verified peer certificate to the oneM2M identity it
// carries (TS-0003 8.1.2, 10.1.1; registration-security.md 6.5): a CSE-ID
// certificate names its CSE in a dNSName, "<CSE-ID without slash>.<domain>"
// (the public domain name representation of TS-0001 6.5; the domain is
// configured because the DNS name need not literally be the CSE-ID); an
// AE-ID certificate names its AE in a URI, the Absolute AE-ID
// "//<SP-ID>/<AE-ID-Stem>" (V3.18 does not spell out the "full URI
// representation"; a scheme-prefixed "<scheme>://<SP-ID>/<stem>" is also
// accepted). The CN is never used. Wildcards are not allowed.
package certid

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// Credential-ID types of certificates in TLS (TS-0003 Table 12.3.2.1-1).
const (
	TypeCSEIDCert = "32"
	TypeAEIDCert  = "33"
)

// Identity is what a certificate says.
type Identity struct {
	CSEID string // SP-relative CSE-ID of a CSE-ID certificate
	AEID  string // AE-ID-Stem of an AE-ID certificate
}

// CredentialID returns "32-<CSE-ID>" or "33-<AE-ID-Stem>".
func (id Identity) CredentialID() string {
	if id.CSEID != "" {
		return TypeCSEIDCert + "-" + id.CSEID
	}
	return TypeAEIDCert + "-" + id.AEID
}

// Parse is the inverse of CredentialID; ok=false for another type.
func Parse(credID string) (Identity, bool) {
	typ, v, ok := strings.Cut(credID, "-")
	if !ok || v == "" {
		return Identity{}, false
	}
	switch typ {
	case TypeCSEIDCert:
		if validCSEID(v) {
			return Identity{CSEID: v}, true
		}
	case TypeAEIDCert:
		if validStem(v) {
			return Identity{AEID: v}, true
		}
	}
	return Identity{}, false
}

func validCSEID(s string) bool {
	return len(s) > 1 && s[0] == '/' && !strings.ContainsAny(s[1:], "/*") && validLabel(s[1:])
}

func validStem(s string) bool {
	return len(s) > 1 && (s[0] == 'C' || s[0] == 'S') && !strings.ContainsAny(s, "/* ")
}

func validLabel(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// Mapper maps certificates of one service provider.
type Mapper struct {
	// SPID is the M2M-SP-ID, e.g. "//onecse.example".
	SPID string
	// Domain is the domain under which CSE-ID certificates name CSEs:
	// "id-mn.<Domain>" is the CSE /id-mn.
	Domain string
}

// Of returns the identity of a leaf certificate. A certificate that names
// more than one identity, or none, is refused.
func (m Mapper) Of(cert *x509.Certificate) (Identity, error) {
	var found []Identity
	suffix := "." + strings.ToLower(strings.TrimSuffix(m.Domain, "."))
	for _, d := range cert.DNSNames {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if m.Domain == "" || !strings.HasSuffix(d, suffix) {
			continue
		}
		label := d[:len(d)-len(suffix)]
		if strings.Contains(label, ".") || strings.Contains(label, "*") || !validLabel(label) {
			continue
		}
		found = append(found, Identity{CSEID: "/" + label})
	}
	sp := strings.TrimPrefix(m.SPID, "//")
	for _, u := range cert.URIs {
		if !strings.EqualFold(u.Host, sp) || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			continue
		}
		stem := strings.TrimPrefix(u.Path, "/")
		if !validStem(stem) || strings.Contains(stem, "*") {
			continue
		}
		found = append(found, Identity{AEID: stem})
	}
	switch len(found) {
	case 0:
		return Identity{}, fmt.Errorf("the certificate names no CSE-ID (dNSName <id>%s) and no AE-ID (URI %s/<stem>)", suffix, m.SPID)
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("the certificate names %d oneM2M identities; one is expected", len(found))
}

// VerifyConnection is a tls.Config.VerifyConnection for a server that
// requires and verifies client certificates: it refuses a handshake whose
// client certificate carries no oneM2M identity.
func (m Mapper) VerifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("no client certificate")
	}
	_, err := m.Of(cs.PeerCertificates[0])
	return err
}

// VerifyServer returns a tls.Config.VerifyConnection for a registree (AE
// or CSE) towards its registrar: the registrar's chain must verify against
// roots, and its certificate must be a CSE-ID certificate of cseID, the
// registrar CSE-ID of the Association Configuration (TS-0003 8.2.1:
// Entity A binds the association to IdB). The host name the registree
// dialled plays no part, so it goes with InsecureSkipVerify.
func (m Mapper) VerifyServer(roots *x509.CertPool, cseID string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("the registrar sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
			return fmt.Errorf("registrar certificate: %w", err)
		}
		id, err := m.Of(cs.PeerCertificates[0])
		if err != nil {
			return fmt.Errorf("registrar certificate: %w", err)
		}
		if id.CSEID != cseID {
			return fmt.Errorf("registrar certificate names %s, not the registrar %s", id.CredentialID(), cseID)
		}
		return nil
	}
}
