package certid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// Issuing the certificates of TS-0003 10.1 for a small deployment (and for
// tests): a CA, CSE-ID certificates and AE-ID certificates, all EC P-256
// with ECDSA-SHA256 signatures, keyUsage digitalSignature (and certSign for
// the CA), usable for TLS client and server authentication.

// CA is a certificate authority able to issue.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Issued is a certificate and its key in PEM.
type Issued struct {
	CertPEM, KeyPEM []byte
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// NewCA makes a self-signed CA valid from notBefore to notAfter. With
// permittedURIDomain set it carries the nameConstraints TS-0003 10.1.1.5
// requires of a CA that signs AE-ID certificates (the host part of the
// AE-IDs, the SP-ID without "//").
func NewCA(name string, notBefore, notAfter time.Time, permittedURIDomain string) (*CA, Issued, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, Issued{}, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	if permittedURIDomain != "" {
		t.PermittedURIDomains = []string{permittedURIDomain}
		t.PermittedDNSDomainsCritical = false
	}
	der, err := x509.CreateCertificate(rand.Reader, t, t, &k.PublicKey, k)
	if err != nil {
		return nil, Issued{}, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: k}, Issued{CertPEM: certPEM(der), KeyPEM: keyPEM(k)}, nil
}

// LoadCA reads a CA from PEM.
func LoadCA(certPEMData, keyPEMData []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEMData)
	kb, _ := pem.Decode(keyPEMData)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("not a PEM certificate and key")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CA key is not an EC private key")
	}
	return &CA{Cert: cert, Key: k}, nil
}

func (ca *CA) issue(t *x509.Certificate) (Issued, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, err
	}
	t.SerialNumber = serial()
	t.KeyUsage = x509.KeyUsageDigitalSignature
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
	t.BasicConstraintsValid = true
	t.SignatureAlgorithm = x509.ECDSAWithSHA256
	der, err := x509.CreateCertificate(rand.Reader, t, ca.Cert, &k.PublicKey, ca.Key)
	if err != nil {
		return Issued{}, err
	}
	return Issued{CertPEM: certPEM(der), KeyPEM: keyPEM(k)}, nil
}

// IssueCSE issues a CSE-ID certificate: dNSName "<CSE-ID without
// slash>.<domain>".
func (ca *CA) IssueCSE(cseID, domain string, notBefore, notAfter time.Time) (Issued, error) {
	if !validCSEID(cseID) {
		return Issued{}, fmt.Errorf("%q is not an SP-relative CSE-ID such as /id-mn", cseID)
	}
	name := strings.ToLower(cseID[1:]) + "." + strings.TrimSuffix(domain, ".")
	return ca.issue(&x509.Certificate{Subject: pkix.Name{CommonName: cseID}, DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter})
}

// IssueAE issues an AE-ID certificate: URI "//<SP-ID>/<stem>", the
// Absolute AE-ID.
func (ca *CA) IssueAE(spID, stem string, notBefore, notAfter time.Time) (Issued, error) {
	if !validStem(stem) {
		return Issued{}, fmt.Errorf("%q is not an AE-ID-Stem (C… or S…)", stem)
	}
	u := &url.URL{Host: strings.TrimPrefix(spID, "//"), Path: "/" + stem}
	return ca.issue(&x509.Certificate{Subject: pkix.Name{CommonName: stem}, URIs: []*url.URL{u}, NotBefore: notBefore, NotAfter: notAfter})
}
