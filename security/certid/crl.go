package certid

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Certificate revocation by CRL (RFC 5280 5; TS-0003 10.1 names CRL/OCSP
// for certificate status).

// Revoke returns a new CRL of ca (PEM) listing the serials of prev (a PEM
// CRL of the same CA, or nil) and serial, valid for validity.
func (ca *CA) Revoke(prev []byte, serial *big.Int, now time.Time, validity time.Duration) ([]byte, error) {
	var entries []x509.RevocationListEntry
	number := big.NewInt(1)
	if len(prev) > 0 {
		old, err := ParseCRL(prev, []*x509.Certificate{ca.Cert})
		if err != nil {
			return nil, err
		}
		entries = old.RevokedCertificateEntries
		number = new(big.Int).Add(old.Number, big.NewInt(1))
	}
	for _, e := range entries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return nil, fmt.Errorf("serial %x is revoked already", serial)
		}
	}
	entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: now})
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries, Number: number, ThisUpdate: now, NextUpdate: now.Add(validity),
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

// ParseCRL parses a PEM (or DER) CRL and checks its signature against one
// of issuers.
func ParseCRL(data []byte, issuers []*x509.Certificate) (*x509.RevocationList, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("not a CRL: %w", err)
	}
	for _, is := range issuers {
		if crl.CheckSignatureFrom(is) == nil {
			return crl, nil
		}
	}
	return nil, fmt.Errorf("the CRL is not signed by a trusted CA")
}

// Revoked is the set of revoked certificates, by issuer and serial.
type Revoked map[string]bool

func revokedKey(issuer []byte, serial *big.Int) string {
	return string(issuer) + "\x00" + serial.String()
}

// LoadRevoked reads PEM CRLs from path (several may be concatenated), each
// checked against issuers.
func LoadRevoked(path string, issuers []*x509.Certificate) (Revoked, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := Revoked{}
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		crl, err := ParseCRL(pem.EncodeToMemory(b), issuers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, e := range crl.RevokedCertificateEntries {
			r[revokedKey(crl.RawIssuer, e.SerialNumber)] = true
		}
	}
	return r, nil
}

// Has reports whether cert is revoked.
func (r Revoked) Has(cert *x509.Certificate) bool {
	return r[revokedKey(cert.RawIssuer, cert.SerialNumber)]
}
