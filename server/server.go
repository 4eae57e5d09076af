// Package server assembles a onecse process from its configuration: the
// store, the core and the bindings, with one lifecycle (New, Start, Shutdown).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	mqttb "github.com/onecse/onecse/binding/mqtt"
	"github.com/onecse/onecse/binding/ws"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/notify"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
	"github.com/onecse/onecse/store/sqlite"
)

// Server is a running onecse.
type Server struct {
	cfg    config.Config
	log    *slog.Logger
	st     *sqlite.Store
	core   *cse.CSE
	notify *notify.Service
	client *httpb.Client
	httpL  net.Listener
	httpS  *httpb.Server
	pskL   net.Listener  // the HTTPS-PSK listener, nil when off
	pskS   *httpb.Server // its server
	certL  net.Listener  // the HTTPS listener with client certificates, nil when off
	certS  *httpb.Server
	certA  *certAssoc
	assocs *associations // its security associations
	creds  *credentials.Store
	ws     *ws.Binding    // nil when the WebSocket binding is off
	mqtt   *mqttb.Binding // nil when no MQTT broker is configured
	broker *mqttb.Broker  // the embedded MQTT broker, when one runs
	mqttS  *mqttSender    // the core's requests to mqtt:// and mqtts://
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error
}

// New opens the store and the core and binds the listeners (so that an address
// with port 0 has its real port once New returns).
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cseType, _ := cfg.CSETypeNumber()
	var creds *credentials.Store
	if cfg.Credentials != "" {
		var err error
		if creds, err = credentials.Load(cfg.Credentials); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
	}
	sender, regOpts, err := senderFor(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	var certTLS *tls.Config
	var certA *certAssoc
	if cfg.HTTPSCert != "" {
		if certTLS, certA, err = serverTLS(cfg); err != nil {
			l.Close()
			return nil, err
		}
	}
	var pskL, certL net.Listener
	if cfg.HTTPSPSK != "" {
		if pskL, err = net.Listen("tcp", cfg.HTTPSPSK); err != nil {
			l.Close()
			return nil, fmt.Errorf("https-psk listener: %w", err)
		}
	}
	if cfg.HTTPSCert != "" {
		if certL, err = net.Listen("tcp", cfg.HTTPSCert); err != nil {
			l.Close()
			if pskL != nil {
				pskL.Close()
			}
			return nil, fmt.Errorf("https-cert listener: %w", err)
		}
	}
	poa := cfg.PoA
	if len(poa) == 0 {
		poa = defaultPoA(cfg, advertised(l.Addr()))
		if pskL != nil {
			poa = append(poa, "https://"+advertised(pskL.Addr()))
		}
		if certL != nil {
			poa = append(poa, "https://"+advertised(certL.Addr()))
		}
	}
	closeL := func() {
		l.Close()
		if pskL != nil {
			pskL.Close()
		}
		if certL != nil {
			certL.Close()
		}
	}
	st, err := sqlite.Open(cfg.Data, sqlite.Options{Sync: cfg.Sync})
	if err != nil {
		closeL()
		return nil, fmt.Errorf("store: %w", err)
	}
	// Requests the CSE originates (registration, forwarding, notifications)
	// leave through the bindings' clients, by URL scheme.
	client := sender
	msnd, wsnd := &mqttSender{}, &wsSender{registrar: cfg.RegistrarID}
	senders := cse.Senders{"http": client, "https": client, "mqtt": msnd, "mqtts": msnd, "ws": wsnd, "wss": wsnd}
	ccfg := cse.Config{
		CSEID: cfg.CSEID, CSEName: cfg.CSEName, SPID: cfg.SPID, CSEType: cseType, Admin: cfg.Admin,
		PoA: poa, DefaultET: cfg.DefaultExpiration, MaxET: cfg.MaxExpiration,
		AllowedAEOriginators: cfg.AllowedAEOriginators, DefaultBatchDuration: cfg.BatchDuration,
		Registration: cse.Registration{
			Registrar:                 cse.Registrar{URL: cfg.RegistrarURL, CSEID: cfg.RegistrarID, Name: cfg.RegistrarName},
			Sender:                    senders,
			RequireSAForCSEs:          cfg.RequireSAForCSEs,
			RequireSAForAEs:           cfg.RequireSAForAEs,
			CredentialBindings:        cfg.Bindings(),
			AcceptDeclaredCredentials: cfg.AcceptDeclaredCredentials,
			CredentialID:              cfg.CredentialID,
			INCSEID:                   cfg.INCSEID,
			LivenessInterval:          cfg.LivenessInterval,
			RegistreeTimeout:          cfg.RegistreeTimeout,
		},
	}
	var assocs *associations
	var pskBinding func(string) (cse.CredentialBinding, bool)
	if creds != nil {
		pskBinding = bindingOf(creds)
		assocs = newAssociations(creds, log)
	}
	if creds != nil || certL != nil {
		ccfg.Credentials = func(credID string) (cse.CredentialBinding, bool) {
			if certL != nil {
				if b, ok := certBinding(credID); ok {
					return b, true
				}
			}
			if pskBinding != nil {
				return pskBinding(credID)
			}
			return cse.CredentialBinding{}, false
		}
	}
	if ccfg.CSEID == "" {
		ccfg.CSEID, err = cseID(ctx, ccfg, st, log)
	}
	var core *cse.CSE
	if err == nil {
		core, err = cse.New(ctx, ccfg, st, log)
	}
	if err != nil {
		closeL()
		st.Close()
		return nil, err
	}
	n := notify.New(core, senders, notify.Options{
		Log: log, Timeout: cfg.NotifyTimeout, VerifyTimeout: cfg.NotifyTimeout,
		RetryInitial: cfg.NotifyRetry, RetryMax: cfg.NotifyRetryMax, Attempts: cfg.NotifyAttempts,
	})
	core.SetNotifier(n)
	msnd.core = core
	s := &Server{cfg: cfg, log: log, st: st, core: core, notify: n, client: client, httpL: l, creds: creds, assocs: assocs, mqttS: msnd, errc: make(chan error, 5)}
	hopt := httpb.Options{MaxBody: cfg.MaxBody, Log: log}
	var certAuth func(*http.Request) (string, bool)
	if certA != nil {
		certAuth = certA.authenticate
	}
	if assocs != nil || certAuth != nil {
		hopt.Authenticate = func(r *http.Request) (string, bool) {
			if assocs != nil {
				if id, ok := assocs.authenticate(r); ok {
					return id, ok
				}
			}
			if certAuth != nil {
				return certAuth(r)
			}
			return "", false
		}
	}
	var h http.Handler = httpb.New(core, hopt)
	if cfg.WebSocket {
		wopt := ws.Options{CSEID: core.Config().CSEID, MaxMessage: cfg.MaxBody, Log: log}
		wopt.Authenticate = hopt.Authenticate
		// The registree side (TS-0020 5.2): the WebSocket to a ws:// or
		// wss:// registrar, with the registrar's TLS settings.
		wopt.DialClient = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, DialTLSContext: regOpts.DialTLSContext, TLSClientConfig: regOpts.TLS,
			TLSHandshakeTimeout: 10 * time.Second}}
		s.ws = ws.New(core, wopt)
		h = ws.Mux(s.ws, h)
		wsnd.b = s.ws
		core.SetConnections(s.ws)
	}
	s.httpS = httpb.NewServerFor(h, log)
	if pskL != nil {
		s.pskL = tlspsk.NewListener(pskL, assocs.tlsConfig())
		s.pskS = httpb.NewServerFor(h, log)
		s.pskS.Configure(func(hs *http.Server) {
			hs.ConnContext = tlspsk.ConnContext
			hs.ConnState = assocs.connState
		})
	}
	if certL != nil {
		s.certL = tls.NewListener(certL, certTLS)
		s.certS = httpb.NewServerFor(h, log)
		s.certS.Configure(func(hs *http.Server) { hs.ConnState = certA.conns.connState })
		s.certA = certA
	}
	if cfg.MQTTEmbedded != "" {
		if s.broker, err = mqttb.StartBroker(cfg.MQTTEmbedded, log); err != nil {
			closeL()
			st.Close()
			return nil, err
		}
		if cfg.MQTTBroker == "" {
			cfg.MQTTBroker = "tcp://" + s.broker.Addr()
			s.cfg = cfg
		}
		log.Info("embedded mqtt broker", "addr", s.broker.Addr())
	}
	mopt := mqttb.Options{Broker: cfg.MQTTBroker, CSEID: core.Config().CSEID, SPID: cfg.SPID,
		TopicPrefix: cfg.MQTTTopicPrefix, Username: cfg.MQTTUsername, Password: cfg.MQTTPassword, Log: log}
	if mopt.TLS, mopt.PSK, err = mqttSecurity(cfg); err != nil {
		if s.broker != nil {
			s.broker.Close()
		}
		closeL()
		st.Close()
		return nil, err
	}
	msnd.base, msnd.tls, msnd.psk = mopt, mopt.TLS, mopt.PSK
	if cfg.MQTTBroker != "" {
		s.mqtt, err = mqttb.New(core, mopt)
		if err == nil {
			msnd.setMain(s.mqtt, cfg.MQTTBroker, cfg.MQTTTopicPrefix)
		}
		if err != nil {
			if s.broker != nil {
				s.broker.Close()
			}
			closeL()
			st.Close()
			return nil, err
		}
	}
	return s, nil
}

// MQTTBroker is the URL of the broker the MQTT binding uses ("" when off):
// the configured one, or the embedded broker's.
func (s *Server) MQTTBroker() string { return s.cfg.MQTTBroker }

// WebSocket returns the WebSocket binding (nil when it is off), whose Send
// reaches the AEs and CSEs connected to it.
func (s *Server) WebSocket() *ws.Binding { return s.ws }

// MQTT returns the MQTT binding (nil when no broker is configured), whose
// Send reaches AEs and CSEs through the broker.
func (s *Server) MQTT() *mqttb.Binding { return s.mqtt }

// defaultPoA lists the points of access of the bindings that are on: the
// HTTP address, the same address as ws:// (TS-0020 6.2.1), and the broker as
// mqtt:// with the topic prefix as its path (TS-0010 6.6).
func defaultPoA(cfg config.Config, httpAddr string) []string {
	poa := []string{"http://" + httpAddr}
	if cfg.WebSocket {
		poa = append(poa, "ws://"+httpAddr)
	}
	broker := cfg.MQTTBroker
	if broker == "" && cfg.MQTTEmbedded != "" {
		broker = "tcp://" + cfg.MQTTEmbedded
	}
	if broker != "" {
		if u, err := url.Parse(broker); err == nil {
			scheme := "mqtt"
			switch u.Scheme {
			case "ssl", "tls", "mqtts", "wss":
				scheme = "mqtts"
			}
			p := scheme + "://" + u.Host
			if prefix := strings.Trim(cfg.MQTTTopicPrefix, "/"); prefix != "" {
				p += "/" + prefix
			}
			poa = append(poa, p)
		}
	}
	return poa
}

// cseID finds the CSE-ID of a CSE configured without one: the one its
// registrar assigned on an earlier start, kept in its <CSEBase>, or a new one
// the registrar assigns now (the change request's registree that does not
// know its CSE-ID). While the registrar cannot be reached it tries again
// until ctx ends.
func cseID(ctx context.Context, ccfg cse.Config, st *sqlite.Store, log *slog.Logger) (string, error) {
	if id, err := cse.StoredCSEID(ctx, st); err != nil || id != "" {
		return id, err
	}
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
		id, err := cse.AcquireCSEID(ctx, ccfg)
		if err == nil {
			log.Info("CSE-ID assigned by the registrar", "cse-id", id, "registrar", ccfg.Registrar.CSEID)
			return id, nil
		}
		if primitive.ErrorRSC(err) != primitive.RSCTargetNotReachable && primitive.ErrorRSC(err) != primitive.RSCRequestTimeout {
			return "", err
		}
		log.Warn("registrar not reachable: trying again", "registrar", ccfg.Registrar.URL, "err", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no CSE-ID: %w", err)
		case <-time.After(wait):
		}
	}
}

// advertised turns a listen address into one a client can use ("[::]:8080" →
// "127.0.0.1:8080" is not right for remote clients, so only loopback and
// explicit addresses are rewritten).
func advertised(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "127.0.0.1:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "127.0.0.1:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}

// HTTPAddr is the address the HTTP binding listens on.
func (s *Server) HTTPAddr() string { return s.httpL.Addr().String() }

// HTTPSPSKAddr is the address of the HTTPS-PSK listener ("" when off).
func (s *Server) HTTPSPSKAddr() string {
	if s.pskL == nil {
		return ""
	}
	return s.pskL.Addr().String()
}

// HTTPSCertAddr is the address of the HTTPS listener with client
// certificates ("" when off).
func (s *Server) HTTPSCertAddr() string {
	if s.certL == nil {
		return ""
	}
	return s.certL.Addr().String()
}

// Credentials is the credential store (nil without a credentials file).
func (s *Server) Credentials() *credentials.Store { return s.creds }

// ReloadCredentials reads the credential file again (onecse does it on
// SIGHUP): new and changed credentials apply to the next handshakes,
// associations whose credential was revoked or removed are closed. A file
// that does not load leaves everything as it was.
//
// It also rereads tls-crl: connections of certificates it revokes are
// closed.
func (s *Server) ReloadCredentials() error {
	if s.creds == nil && s.certA == nil {
		return fmt.Errorf("no credentials file and no certificate listener configured")
	}
	if s.certA != nil {
		if err := s.certA.reload(); err != nil {
			return err
		}
		s.log.Info("certificate revocation list reloaded", "file", s.cfg.TLSCRL)
	}
	if s.creds == nil {
		return nil
	}
	n, err := credentials.Load(s.cfg.Credentials)
	if err != nil {
		return err
	}
	s.creds.Replace(n)
	if s.assocs != nil {
		s.assocs.closeInvalid()
	}
	s.log.Info("credentials reloaded", "file", s.cfg.Credentials, "count", len(n.All()))
	return nil
}

// RevokeCredential revokes the PSK credential with this KpsaID: new
// handshakes with it fail and its open associations are closed.
func (s *Server) RevokeCredential(kpsaID string) bool {
	if s.assocs == nil {
		return false
	}
	return s.assocs.revoke(kpsaID)
}

// StoreStats returns the embedded store's writer counters.
func (s *Server) StoreStats() sqlite.Stats { return s.st.Stats() }

// Core returns the core, for in-process use.
func (s *Server) Core() *cse.CSE { return s.core }

// Start serves in the background. Errors of the serving goroutines are
// reported by Wait.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := s.httpS.Serve(s.httpL); err != nil {
			s.errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if s.certS != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.certS.Serve(s.certL); err != nil {
				s.errc <- fmt.Errorf("https-cert: %w", err)
			}
		}()
	}
	if s.pskS != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.pskS.Serve(s.pskL); err != nil {
				s.errc <- fmt.Errorf("https-psk: %w", err)
			}
		}()
	}
	go func() {
		defer s.wg.Done()
		if err := s.core.Run(ctx); err != nil {
			s.errc <- err
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.notify.Run(ctx); err != nil {
			s.errc <- err
		}
	}()
	s.log.Info("onecse started", "cse-id", s.core.Config().CSEID, "cse-name", s.cfg.CSEName, "cse-type", s.cfg.CSEType, "http", s.HTTPAddr(), "https-psk", s.HTTPSPSKAddr(), "https-cert", s.HTTPSCertAddr(),
		"websocket", s.ws != nil, "mqtt", s.cfg.MQTTBroker, "data", s.cfg.Data)
}

// Err delivers the first serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting requests, waits for those under way, stops the
// notification service (what it has not delivered stays in the store for the
// next start), and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.cfg.DeregisterOnShutdown && s.cfg.RegistrarURL != "" {
		if err := s.core.Deregister(ctx); err != nil {
			s.log.Warn("deregistration on shutdown", "err", err)
		}
	}
	err := s.httpS.Shutdown(ctx)
	if s.pskS != nil {
		err = errors.Join(err, s.pskS.Shutdown(ctx))
	}
	if s.certS != nil {
		err = errors.Join(err, s.certS.Shutdown(ctx))
	}
	// The bindings whose connections outlive HTTP's own shutdown: their
	// requests under way finish before the store closes.
	if s.ws != nil {
		s.ws.Close()
	}
	s.mqttS.close(ctx)
	if s.mqtt != nil {
		s.mqtt.Close(ctx)
	}
	if s.broker != nil {
		s.broker.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.client.Close()
	if cerr := s.st.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.log.Info("onecse stopped")
	return err
}
