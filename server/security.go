package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
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
	log   *slog.Logger
	mu    sync.Mutex
	conns map[*tlspsk.Conn]*assoc
}

type assoc struct {
	kpsaID string
	timer  *time.Timer // closes the connection when the credential ends
}

func newAssociations(creds *credentials.Store, log *slog.Logger) *associations {
	return &associations{creds: creds, log: log, conns: map[*tlspsk.Conn]*assoc{}}
}

// tlsConfig is the server side of the handshake: the key of a valid
// credential; an unknown, expired or revoked identity fails the handshake.
func (a *associations) tlsConfig() *tlspsk.Config {
	return &tlspsk.Config{
		GetKey: func(identity string) ([]byte, error) {
			k, err := a.creds.GetKey(identity)
			if k == nil && err == nil {
				// The identity is no secret; the key never appears here.
				a.log.Warn("TLS-PSK handshake refused: unknown, expired or revoked credential", "kpsa-id", identity)
			}
			return k, err
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
		cred, ok := a.creds.Lookup(id)
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
		// reports its end. Its expiry timer stays armed (closing a closed
		// connection is harmless); revocation reaches it through the
		// core, which refuses each of its requests with 4107.
		delete(a.conns, tc)
	}
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
		if _, ok := a.creds.Lookup(as.kpsaID); !ok {
			a.log.Info("security association ended: its credential was revoked or removed", "kpsa-id", as.kpsaID)
			tc.Close()
		}
	}
}

// binding adapts the credential store to the core.
func bindingOf(creds *credentials.Store) func(string) (cse.CredentialBinding, bool) {
	return func(credID string) (cse.CredentialBinding, bool) {
		c, ok := creds.ByCredentialID(credID)
		if !ok {
			return cse.CredentialBinding{}, false
		}
		return cse.CredentialBinding{CSEID: c.CSEID, AEIDs: c.AEIDs, AppIDs: c.AppIDs}, true
	}
}

// senderFor returns the client the core sends to other CSEs with. With a
// registrar PSK, connections to the registrar's https:// address run over
// TLS-PSK (the registree is the TLS client, TS-0003 8.2.1); the key is used
// for that address only, so no other server learns the identity.
func senderFor(cfg config.Config) (*httpb.Client, httpb.ClientOptions, error) {
	o, err := registrarClient(cfg)
	if err != nil {
		return nil, o, err
	}
	return httpb.NewClient(o), o, nil
}

// registrarClient returns the TLS settings of the connections to the
// registrar (https:// and wss://).
func registrarClient(cfg config.Config) (httpb.ClientOptions, error) {
	var o httpb.ClientOptions
	if cfg.RegistrarCert != "" {
		tc, err := registrarTLS(cfg)
		if err != nil {
			return o, err
		}
		o.TLS = tc
		return o, nil
	}
	if cfg.RegistrarPSKIdentity == "" {
		return o, nil
	}
	key, err := credentials.ReadKeyFile(cfg.RegistrarPSKKeyFile)
	if err != nil {
		return o, fmt.Errorf("registrar-psk-key-file: %w", err)
	}
	u, err := url.Parse(cfg.RegistrarURL)
	if err != nil || u.Host == "" {
		return o, fmt.Errorf("registrar-url %q is not a URL", cfg.RegistrarURL)
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	pcfg := &tlspsk.Config{Identity: cfg.RegistrarPSKIdentity, Key: key, HandshakeTimeout: 10 * time.Second}
	// The PSK is the registrar's: only connections to it use TLS-PSK; other
	// https targets (notification receivers) get ordinary TLS.
	o.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != hostport {
			host, _, _ := net.SplitHostPort(addr)
			d := tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
			return d.DialContext(ctx, network, addr)
		}
		tc, err := tlspsk.DialContext(ctx, network, addr, pcfg)
		if err != nil {
			return nil, err
		}
		return tc, nil
	}
	return o, nil
}
