package coap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	piondtls "github.com/pion/dtls/v3"
)

// PSKSuites are the DTLS 1.2 PSK suites offered: TLS_PSK_WITH_AES_128_CCM_8
// first (the suite of the oneM2M DTLS profile, TS-0003 10.1; libcoap and
// OpenSSL accept it, interop.md 4.2), then the other PSK AEAD and CBC suites
// pion implements, for peers that do not offer CCM_8.
var PSKSuites = []piondtls.CipherSuiteID{
	piondtls.TLS_PSK_WITH_AES_128_CCM_8,
	piondtls.TLS_PSK_WITH_AES_128_CCM,
	piondtls.TLS_PSK_WITH_AES_128_GCM_SHA256,
	piondtls.TLS_PSK_WITH_AES_128_CBC_SHA256,
}

// CertSuites are the DTLS 1.2 certificate suites offered (ECDSA keys, as
// the CSE-ID and AE-ID certificates of onecse have).
var CertSuites = []piondtls.CipherSuiteID{
	piondtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
	piondtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
	piondtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	piondtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	piondtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ErrUnknownIdentity fails a handshake with an identity that has no valid
// credential.
var ErrUnknownIdentity = errors.New("unknown, expired or revoked PSK identity")

// PSKServerConfig is the server side of DTLS-PSK: getKey returns the key of
// a valid credential for the client's identity (KpsaID), nil for none,
// which fails the handshake.
func PSKServerConfig(getKey func(identity string) ([]byte, error)) *piondtls.Config {
	return &piondtls.Config{
		CipherSuites:         PSKSuites,
		ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret,
		PSK: func(identity []byte) ([]byte, error) {
			k, err := getKey(string(identity))
			if err != nil {
				return nil, err
			}
			if k == nil {
				return nil, ErrUnknownIdentity
			}
			return k, nil
		},
	}
}

// PSKClientConfig is the client side of DTLS-PSK with this identity and key.
func PSKClientConfig(identity string, key []byte) *piondtls.Config {
	return &piondtls.Config{
		CipherSuites:         PSKSuites,
		ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret,
		PSKIdentityHint:      []byte(identity), // on a client: the identity it sends
		PSK:                  func([]byte) ([]byte, error) { return key, nil },
	}
}

// CertServerConfig is the server side of DTLS with mutual certificate
// authentication: this CSE's certificate, clients verified against
// clientCAs, and verify (may be nil) to check the verified leaf further
// (its oneM2M identity, revocation).
func CertServerConfig(cert tls.Certificate, clientCAs *x509.CertPool, verify func(leaf *x509.Certificate) error) *piondtls.Config {
	return &piondtls.Config{
		Certificates:         []tls.Certificate{cert},
		CipherSuites:         CertSuites,
		ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret,
		ClientAuth:           piondtls.RequireAndVerifyClientCert,
		ClientCAs:            clientCAs,
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if verify == nil {
				return nil
			}
			if len(chains) == 0 || len(chains[0]) == 0 {
				return errors.New("no verified client certificate")
			}
			return verify(chains[0][0])
		},
	}
}

// PeerLeaf returns the verified leaf certificate of a DTLS connection.
func PeerLeaf(c net.Conn) (*x509.Certificate, bool) {
	dc, ok := c.(*piondtls.Conn)
	if !ok {
		return nil, false
	}
	st, ok := dc.ConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		return nil, false
	}
	leaf, err := x509.ParseCertificate(st.PeerCertificates[0])
	if err != nil {
		return nil, false
	}
	return leaf, true
}

// PSKIdentity returns the PSK identity a DTLS client presented.
func PSKIdentity(c net.Conn) (string, bool) {
	dc, ok := c.(*piondtls.Conn)
	if !ok {
		return "", false
	}
	st, ok := dc.ConnectionState()
	if !ok || st.IdentityHint == nil || len(st.PeerCertificates) > 0 {
		return "", false
	}
	return string(st.IdentityHint), true
}
