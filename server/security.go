package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

// Security associations over HTTP (TS-0003 8.2.2.1, TS-0009 7.2): a second
// listener speaks HTTPS over TLS-PSK with the keys of the credential store;
// each request on it carries the Credential-ID "12-<KpsaID>" of its
// association to the core, which checks From against the identity bound to
// it (cse/originator.go). An association never outlives its credential: a
// connection is closed at the credential's not-after time, and on
// revocation.

// associations tracks the TLS-PSK connections of the HTTPS-PSK listener.
type associations struct {
	creds *credentials.Store
	// registrar is this CSE's own credential with its registrar, when it
	// has one: the registrar uses it to open the second association
	// towards this CSE (TS-0003 8.2.1, SA2), bound to the registrar's
	// CSE-ID.
	registrar *credentials.Credential
	log       *slog.Logger
	mu        sync.Mutex
	conns     map[*tlspsk.Conn]*assoc
}

type assoc struct {
	kpsaID   string
	timer    *time.Timer // closes the connection when the credential ends
	hijacked bool        // a WebSocket runs on it (see track)
}

func newAssociations(creds *credentials.Store, registrar *credentials.Credential, log *slog.Logger) *associations {
	return &associations{creds: creds, registrar: registrar, log: log, conns: map[*tlspsk.Conn]*assoc{}}
}

// lookup is the valid credential of a KpsaID: one of the store, or this
// CSE's credential with its registrar.
func (a *associations) lookup(kpsaID string) (credentials.Credential, bool) {
	if c, ok := a.creds.Lookup(kpsaID); ok {
		return c, true
	}
	if r := a.registrar; r != nil && r.KpsaID == kpsaID {
		return *r, true
	}
	return credentials.Credential{}, false
}

// binding adapts the credentials to the core.
func (a *associations) binding(credID string) (cse.CredentialBinding, bool) {
	kpsa, ok := strings.CutPrefix(credID, credentials.CredIDTypePSK+"-")
	if !ok {
		return cse.CredentialBinding{}, false
	}
	c, ok := a.lookup(kpsa)
	if !ok {
		return cse.CredentialBinding{}, false
	}
	return cse.CredentialBinding{CSEID: c.CSEID, AEIDs: c.AEIDs, AppIDs: c.AppIDs}, true
}

// tlsConfig is the server side of the handshake: the key of a valid
// credential; an unknown, expired or revoked identity fails the handshake.
func (a *associations) tlsConfig() *tlspsk.Config {
	return &tlspsk.Config{
		GetKey: func(identity string) ([]byte, error) {
			c, ok := a.lookup(identity)
			if !ok {
				// The identity is no secret; the key never appears here.
				a.log.Warn("TLS-PSK handshake refused: unknown, expired or revoked credential", "kpsa-id", identity)
				return nil, nil
			}
			return c.Key, nil
		},
		HandshakeTimeout: 10 * time.Second,
	}
}

// authenticate is the HTTP binding's Authenticate: the Credential-ID of
// the request's association. The core looks the credential up for every
// request, so one revoked or expired since the handshake gets 4107 there
// rather than being treated as a request without an association.
func (a *associations) authenticate(r *http.Request) (string, bool) {
	tc, ok := tlspsk.FromContext(r.Context())
	if !ok {
		return "", false
	}
	return credentials.CredentialID(tc.ConnectionState().Identity), true
}

// connState is the http.Server's ConnState: on a connection's first request
// (the handshake is complete by then) it arms a timer that closes it when
// its credential ends; a closed connection is forgotten.
func (a *associations) connState(c net.Conn, st http.ConnState) {
	tc, ok := c.(*tlspsk.Conn)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch st {
	case http.StateActive:
		if _, seen := a.conns[tc]; seen {
			return
		}
		id := tc.ConnectionState().Identity
		as := &assoc{kpsaID: id}
		a.conns[tc] = as
		cred, ok := a.lookup(id)
		if !ok {
			tc.Close() // expired or revoked since the handshake
			return
		}
		if !cred.NotAfter.IsZero() {
			as.timer = time.AfterFunc(time.Until(cred.NotAfter), func() {
				a.log.Info("security association ended: its credential expired", "kpsa-id", id)
				tc.Close()
			})
		}
	case http.StateClosed:
		if as, ok := a.conns[tc]; ok {
			if as.timer != nil {
				as.timer.Stop()
			}
			delete(a.conns, tc)
		}
	case http.StateHijacked:
		// A WebSocket took the connection over; the server no longer
		// reports its end, track does. It stays here, so that expiry and
		// revocation close it as they close an HTTP connection.
		if as, ok := a.conns[tc]; ok {
			as.hijacked = true
		}
	}
}

// track wraps the listener's handler: a WebSocket's handler returns when
// its connection has ended, and the connection, hijacked, is forgotten
// then.
func (a *associations) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		tc, ok := tlspsk.FromContext(r.Context())
		if !ok {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if as, ok := a.conns[tc]; ok && as.hijacked {
			if as.timer != nil {
				as.timer.Stop()
			}
			delete(a.conns, tc)
		}
	})
}

// revoke revokes a credential and closes the associations made with it.
func (a *associations) revoke(kpsaID string) bool {
	if !a.creds.Revoke(kpsaID) {
		return false
	}
	a.closeInvalid()
	return true
}

// closeInvalid closes the associations whose credential is no longer valid
// (revoked, expired, or gone from a reloaded file).
func (a *associations) closeInvalid() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tc, as := range a.conns {
		if _, ok := a.lookup(as.kpsaID); !ok {
			a.log.Info("security association ended: its credential was revoked or removed", "kpsa-id", as.kpsaID)
			tc.Close()
		}
	}
}

// senderFor returns the client the core sends to other CSEs with, and its
// options (the WebSocket binding dials a wss:// registrar with the same).
//   - To the registrar's https:// address: TLS-PSK with the registrar PSK
//     (the registree is the TLS client, TS-0003 8.2.1), or TLS with this
//     CSE's CSE-ID certificate, the registrar's certificate required to
//     name registrar-id. The registree's credential is used for that
//     address only, so no other server learns the identity.
//   - To an https:// point of access of a registree CSE whose CSE-ID is
//     bound to a PSK of the credential store: TLS-PSK with that credential
//     (SA2 of TS-0003 8.2.1: the registrar as the TLS client, reusing the
//     credential of the registree's association).
//   - Anything else (notification receivers): ordinary TLS.
func senderFor(cfg config.Config, sa2 *sa2Dialer) (*httpb.Client, httpb.ClientOptions, error) {
	var regDial func(ctx context.Context, network, addr string) (net.Conn, error)
	var hostport string
	if cfg.RegistrarCert != "" || cfg.RegistrarPSKIdentity != "" {
		u, err := url.Parse(cfg.RegistrarURL)
		if err != nil || u.Host == "" {
			return nil, httpb.ClientOptions{}, fmt.Errorf("registrar-url %q is not a URL", cfg.RegistrarURL)
		}
		hostport = u.Host
		if u.Port() == "" {
			hostport = net.JoinHostPort(u.Hostname(), "443")
		}
	}
	switch {
	case cfg.RegistrarCert != "":
		tc, err := registrarTLS(cfg)
		if err != nil {
			return nil, httpb.ClientOptions{}, err
		}
		d := &tls.Dialer{Config: tc}
		regDial = d.DialContext
	case cfg.RegistrarPSKIdentity != "":
		key, err := credentials.ReadKeyFile(cfg.RegistrarPSKKeyFile)
		if err != nil {
			return nil, httpb.ClientOptions{}, fmt.Errorf("registrar-psk-key-file: %w", err)
		}
		pcfg := &tlspsk.Config{Identity: cfg.RegistrarPSKIdentity, Key: key, HandshakeTimeout: 10 * time.Second}
		regDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			tc, err := tlspsk.DialContext(ctx, network, addr, pcfg)
			if err != nil {
				return nil, err
			}
			return tc, nil
		}
	}
	o := httpb.ClientOptions{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if regDial != nil && addr == hostport {
			return regDial(ctx, network, addr)
		}
		if pcfg := sa2.config(addr); pcfg != nil {
			tc, err := tlspsk.DialContext(ctx, network, addr, pcfg)
			if err != nil {
				return nil, err
			}
			return tc, nil
		}
		host, _, _ := net.SplitHostPort(addr)
		d := tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
		return d.DialContext(ctx, network, addr)
	}}
	return httpb.NewClient(o), o, nil
}

// sa2Dialer finds the PSK to open the registrar's side of the second
// association towards a registree's point of access with.
type sa2Dialer struct {
	creds *credentials.Store // nil: none
	core  atomic.Pointer[cse.CSE]
}

// config returns the TLS-PSK client configuration for addr, nil when addr
// is no https point of access of a registree CSE with a valid PSK.
func (s *sa2Dialer) config(addr string) *tlspsk.Config {
	if s == nil || s.creds == nil {
		return nil
	}
	core := s.core.Load()
	if core == nil {
		return nil
	}
	csi, ok := core.RegistreeAt(addr)
	if !ok {
		return nil
	}
	for _, c := range s.creds.All() {
		if c.CSEID != csi {
			continue
		}
		if full, ok := s.creds.Lookup(c.KpsaID); ok {
			return &tlspsk.Config{Identity: full.KpsaID, Key: full.Key, HandshakeTimeout: 10 * time.Second}
		}
	}
	return nil
}
