package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/security/certid"
	"github.com/onecse/onecse/security/credentials"
)

// Certificate security associations (TS-0003 8.2.2.2, 10.1, 10.2): HTTPS
// with mutual authentication on its own listener. The peer's CSE-ID or
// AE-ID comes from its certificate (security/certid); the Credential-ID the
// core sees is "32-<CSE-ID>" or "33-<AE-ID-Stem>".

// certSuites are the TLS 1.2 suites offered: TS-0003 10.2's mandatory
// TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (which Go leaves out of its
// defaults) and the AEAD ECDHE_ECDSA suites. TLS 1.3 suites are not
// configurable and stay on.
var certSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
}

func certMapper(cfg config.Config) certid.Mapper {
	d := cfg.CSEDomain
	if d == "" {
		d = strings.TrimPrefix(cfg.SPID, "//")
	}
	return certid.Mapper{SPID: cfg.SPID, Domain: d}
}

// certAssoc is the state of the certificate listener: the identity
// mapping, the CRL and the live connections.
type certAssoc struct {
	m       certid.Mapper
	issuers []*x509.Certificate
	crl     string // tls-crl, "" for none
	revoked atomic.Pointer[certid.Revoked]
	conns   certConns
}

// loadCRL (re)reads tls-crl.
func (ca *certAssoc) loadCRL() error {
	r := certid.Revoked{}
	if ca.crl != "" {
		var err error
		if r, err = certid.LoadRevoked(ca.crl, ca.issuers); err != nil {
			return fmt.Errorf("tls-crl: %w", err)
		}
	}
	ca.revoked.Store(&r)
	return nil
}

func (ca *certAssoc) isRevoked(c *x509.Certificate) bool { return ca.revoked.Load().Has(c) }

// serverTLS builds the certificate listener's configuration.
func serverTLS(cfg config.Config) (*tls.Config, *certAssoc, error) {
	certPEM, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return nil, nil, fmt.Errorf("tls-cert: %w", err)
	}
	keyPEM, err := credentials.ReadSecretFile(cfg.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tls-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("tls-cert/tls-key: not a matching PEM certificate and key")
	}
	caPEM, err := os.ReadFile(cfg.TLSClientCA)
	if err != nil {
		return nil, nil, fmt.Errorf("tls-client-ca: %w", err)
	}
	pool := x509.NewCertPool()
	ca := &certAssoc{m: certMapper(cfg), crl: cfg.TLSCRL, conns: certConns{timers: map[*tls.Conn]*time.Timer{}, hijacked: map[*tls.Conn]bool{}}}
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
			ca.issuers = append(ca.issuers, c)
		}
	}
	if len(ca.issuers) == 0 {
		return nil, nil, fmt.Errorf("tls-client-ca %s: no PEM certificate in it", cfg.TLSClientCA)
	}
	if err := ca.loadCRL(); err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: certSuites,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := ca.m.VerifyConnection(cs); err != nil {
				return err
			}
			if ca.isRevoked(cs.PeerCertificates[0]) {
				return fmt.Errorf("the client certificate is revoked")
			}
			return nil
		},
	}, ca, nil
}

// authenticate gives the Credential-ID of a request on a mutually
// authenticated TLS connection. A certificate that expired or was revoked
// since the handshake authenticates nothing: an empty Credential-ID, which
// the core refuses with 4107.
func (ca *certAssoc) authenticate(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", false
	}
	return ca.credentialOf(r.TLS.PeerCertificates[0]), true
}

// credentialOf is the Credential-ID of a verified leaf certificate ("" once
// it has expired or been revoked, or when it names no oneM2M identity).
func (ca *certAssoc) credentialOf(leaf *x509.Certificate) string {
	if time.Now().After(leaf.NotAfter) || ca.isRevoked(leaf) {
		return ""
	}
	id, err := ca.m.Of(leaf)
	if err != nil {
		return ""
	}
	return id.CredentialID()
}

// reload rereads the CRL and closes the connections of certificates it
// revokes.
func (ca *certAssoc) reload() error {
	if err := ca.loadCRL(); err != nil {
		return err
	}
	ca.conns.mu.Lock()
	defer ca.conns.mu.Unlock()
	for tc := range ca.conns.timers {
		if p := tc.ConnectionState().PeerCertificates; len(p) > 0 && ca.isRevoked(p[0]) {
			tc.Close()
		}
	}
	return nil
}

// certBinding resolves "32-…"/"33-…" Credential-IDs for the core.
func certBinding(credID string) (cse.CredentialBinding, bool) {
	id, ok := certid.Parse(credID)
	if !ok {
		return cse.CredentialBinding{}, false
	}
	if id.CSEID != "" {
		return cse.CredentialBinding{CSEID: id.CSEID}, true
	}
	return cse.CredentialBinding{AEIDs: []string{id.AEID}}, true
}

// registrarTLS is the registree's side of a certificate association: its
// own CSE-ID certificate, and the registrar's certificate verified against
// registrar-ca and required to name registrar-id (TS-0003 8.2.1: Entity A
// binds the association to IdB). The host name of registrar-url is not
// what identifies a oneM2M registrar, so Go's host name check is replaced
// by this one.
func registrarTLS(cfg config.Config) (*tls.Config, error) {
	certPEM, err := os.ReadFile(cfg.RegistrarCert)
	if err != nil {
		return nil, fmt.Errorf("registrar-cert: %w", err)
	}
	keyPEM, err := credentials.ReadSecretFile(cfg.RegistrarKey)
	if err != nil {
		return nil, fmt.Errorf("registrar-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("registrar-cert/registrar-key: not a matching PEM certificate and key")
	}
	caPEM, err := os.ReadFile(cfg.RegistrarCA)
	if err != nil {
		return nil, fmt.Errorf("registrar-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("registrar-ca %s: no PEM certificate in it", cfg.RegistrarCA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: certSuites,
		// Verified in VerifyConnection instead (chain and oneM2M identity).
		InsecureSkipVerify: true,
		VerifyConnection:   certMapper(cfg).VerifyServer(pool, cfg.RegistrarID),
	}, nil
}

// certConns closes each mutually authenticated connection when the peer's
// certificate ends (an association never outlives its credential,
// registration-security.md 7).
type certConns struct {
	mu       sync.Mutex
	timers   map[*tls.Conn]*time.Timer
	hijacked map[*tls.Conn]bool // WebSockets running (see track)
}

type certConnKey struct{}

// connContext is the http.Server's ConnContext: the request's connection,
// for track.
func (cc *certConns) connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, certConnKey{}, c)
}

// track wraps the listener's handler: a WebSocket's handler returns when
// its hijacked connection has ended, which is when it is forgotten.
func (cc *certConns) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		tc, ok := r.Context().Value(certConnKey{}).(*tls.Conn)
		if !ok {
			return
		}
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.hijacked[tc] {
			if t, ok := cc.timers[tc]; ok {
				t.Stop()
			}
			delete(cc.timers, tc)
			delete(cc.hijacked, tc)
		}
	})
}

func (cc *certConns) connState(c net.Conn, st http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	switch st {
	case http.StateActive:
		if _, seen := cc.timers[tc]; seen {
			return
		}
		peers := tc.ConnectionState().PeerCertificates
		if len(peers) == 0 {
			return
		}
		cc.timers[tc] = time.AfterFunc(time.Until(peers[0].NotAfter), func() { tc.Close() })
	case http.StateClosed:
		if t, ok := cc.timers[tc]; ok {
			t.Stop()
		}
		delete(cc.timers, tc)
	case http.StateHijacked:
		// A WebSocket: it stays here, with its timer armed, so that the
		// certificate's end and a CRL reload close it; track forgets it.
		if _, ok := cc.timers[tc]; ok {
			cc.hijacked[tc] = true
		}
	}
}
