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
	"sync/atomic"
	"time"

	coapb "github.com/onecse/onecse/binding/coap"
	httpb "github.com/onecse/onecse/binding/http"
	mqttb "github.com/onecse/onecse/binding/mqtt"
	"github.com/onecse/onecse/binding/ws"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/console"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/internal/logctx"
	"github.com/onecse/onecse/notify"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
	"github.com/onecse/onecse/security/mef"
	"github.com/onecse/onecse/security/tlspsk"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/postgres"
	"github.com/onecse/onecse/store/sqlite"
)

// Server is a running onecse.
type Server struct {
	cfg    config.Config
	log    *slog.Logger
	st     inspectableStore
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
	coap   *coapListeners // nil when CoAP is off
	coapC  *coapb.Client  // the CoAP client (coap://, coaps:// targets)
	mqttS  *mqttSender    // the core's requests to mqtt:// and mqtts://
	mef    *mefService    // the M2M Enrolment Function, nil when off
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error
	// metrics and readiness: /metrics, /healthz and /readyz (metrics.go).
	metrics   *metrics
	readiness readiness
	health    *health
	leader    atomic.Bool // this node leads (PostgreSQL store)
	// enrolment is what the MEF gave this CSE (nil: not enrolled by one).
	enrolment *mef.Enrolment
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
	// A CSE enrolled by a MEF takes its CSE-ID, registrar and registrar
	// credential from the enrolment (server/mef.go).
	var enrolment *mef.Enrolment
	if cfg.MEFURL != "" {
		var err error
		if cfg, enrolment, err = enrolled(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	// Lines logged while a request is handled carry its rqi and originator.
	log = slog.New(logctx.NewHandler(log.Handler()))
	m := newMetrics()
	cseType, _ := cfg.CSETypeNumber()
	// The enrolment file's credentials go to the credential file before it
	// is loaded; its resources are written once the core runs.
	var enrolFile *enrol.File
	if cfg.Enrolment != "" {
		var err error
		if enrolFile, err = loadEnrolment(cfg, log); err != nil {
			return nil, err
		}
	}
	var creds *credentials.Store
	if cfg.Credentials != "" {
		var err error
		if creds, err = credentials.Load(cfg.Credentials); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
	}
	sa2 := &sa2Dialer{creds: creds}
	sender, regOpts, err := senderFor(cfg, sa2)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	var certTLS *tls.Config
	var certA *certAssoc
	if cfg.HTTPSCert != "" || cfg.CoAPSCert != "" {
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
	coapL, err := listenCoAP(cfg, creds, certTLS, certA, log)
	if err != nil {
		l.Close()
		if pskL != nil {
			pskL.Close()
		}
		if certL != nil {
			certL.Close()
		}
		return nil, err
	}
	poa := cfg.PoA
	if len(poa) == 0 {
		// The secured points of access first: a registrar that holds this
		// CSE's credential reaches it over an association (SA2), one that
		// does not falls back to the next.
		if pskL != nil {
			poa = append(poa, "https://"+advertised(pskL.Addr()))
		}
		if certL != nil {
			poa = append(poa, "https://"+advertised(certL.Addr()))
		}
		poa = append(poa, defaultPoA(cfg, advertised(l.Addr()))...)
		if coapL != nil {
			poa = append(poa, coapL.poa()...)
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
		if coapL != nil {
			coapL.b.Close()
		}
	}
	coapC, err := coapSender(cfg)
	if err != nil {
		closeL()
		return nil, err
	}
	st, err := openStore(ctx, cfg, m, log)
	if err != nil {
		closeL()
		return nil, fmt.Errorf("store: %w", err)
	}
	// Requests the CSE originates (registration, forwarding, notifications)
	// leave through the bindings' clients, by URL scheme.
	client := sender
	msnd, wsnd := &mqttSender{}, &wsSender{registrar: cfg.RegistrarID}
	senders := cse.Senders{"http": client, "https": client, "coap": coapC, "coaps": coapC, "mqtt": msnd, "mqtts": msnd, "ws": wsnd, "wss": wsnd}
	ccfg := cse.Config{
		CSEID: cfg.CSEID, CSEName: cfg.CSEName, SPID: cfg.SPID, CSEType: cseType, Admin: cfg.Admin,
		PoA: poa, DefaultET: cfg.DefaultExpiration, MaxET: cfg.MaxExpiration,
		AllowedAEOriginators: cfg.AllowedAEOriginators, DefaultBatchDuration: cfg.BatchDuration,
		Registration: cse.Registration{
			Registrar:                 cse.Registrar{URL: cfg.RegistrarURL, CSEID: cfg.RegistrarID, Name: cfg.RegistrarName},
			Sender:                    senders,
			RequireSAForCSEs:          saRequirement(cfg.RequireSAForCSEs, true),
			RequireSAForAEs:           saRequirement(cfg.RequireSAForAEs, cseType == 1), // 1: IN-CSE
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
		var reg *credentials.Credential
		if cfg.RegistrarPSKIdentity != "" {
			key, err := credentials.ReadKeyFile(cfg.RegistrarPSKKeyFile)
			if err != nil {
				closeL()
				st.Close()
				return nil, fmt.Errorf("registrar-psk-key-file: %w", err)
			}
			reg = &credentials.Credential{KpsaID: cfg.RegistrarPSKIdentity, Key: key, CSEID: cfg.RegistrarID}
		}
		assocs = newAssociations(creds, reg, log)
		pskBinding = assocs.binding
	}
	if creds != nil || certA != nil {
		ccfg.Credentials = func(credID string) (cse.CredentialBinding, bool) {
			if certA != nil {
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
	sa2.core.Store(core)
	if enrolFile != nil {
		if err := applyEnrolment(ctx, cfg, core, enrolFile, log); err != nil {
			closeL()
			st.Close()
			return nil, err
		}
	}
	n := notify.New(core, senders, notify.Options{
		Log: log, Timeout: cfg.NotifyTimeout, VerifyTimeout: cfg.NotifyTimeout,
		RetryInitial: cfg.NotifyRetry, RetryMax: cfg.NotifyRetryMax, Attempts: cfg.NotifyAttempts,
	})
	core.SetNotifier(n)
	msnd.core = core
	m.watch(st, core, n, log)
	s := &Server{cfg: cfg, log: log, st: st, core: core, notify: n, client: client, httpL: l, creds: creds, assocs: assocs, errc: make(chan error, 5), metrics: m,
		coap: coapL, coapC: coapC, mqttS: msnd, enrolment: enrolment}
	// Each binding reaches the core through instrumented, named after it.
	via := func(binding string) *instrumented { return &instrumented{core: core, binding: binding, m: m, log: log} }
	if coapL != nil {
		coapL.core.c = via("coap")
	}
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
	var h http.Handler = httpb.New(via("http"), hopt)
	if cfg.WebSocket {
		wopt := ws.Options{CSEID: core.Config().CSEID, MaxMessage: cfg.MaxBody, Log: log}
		wopt.Authenticate = hopt.Authenticate
		// The registree side (TS-0020 5.2): the WebSocket to a ws:// or
		// wss:// registrar, with the registrar's TLS settings.
		wopt.DialClient = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, DialTLSContext: regOpts.DialTLSContext, TLSClientConfig: regOpts.TLS,
			TLSHandshakeTimeout: 10 * time.Second}}
		s.ws = ws.New(via("ws"), wopt)
		h = ws.Mux(s.ws, h)
		wsnd.b = s.ws
		core.SetConnections(s.ws)
	}
	// The web console (console/), on the plain HTTP listener only: a client
	// of the API like any other, with an event stream closed on shutdown.
	httpH, stopConsole := h, func() {}
	if console.Enabled(cfg.Console, l.Addr()) {
		con := console.New(console.Options{CSEID: core.Config().CSEID, CSEName: cfg.CSEName, SPID: cfg.SPID, MaxBody: cfg.MaxBody, Log: log})
		httpH, stopConsole = con.Wrap(h), con.Close
		log.Info("web console", "url", "http://"+advertised(l.Addr())+console.Prefix)
	}
	s.health = &health{next: httpH, ready: s.ready}
	if cfg.Metrics {
		s.health.metrics = m.handler()
	}
	s.httpS = httpb.NewServerFor(s.health, log)
	s.httpS.Configure(func(hs *http.Server) { hs.RegisterOnShutdown(stopConsole) })
	if pskL != nil {
		s.pskL = tlspsk.NewListener(pskL, assocs.tlsConfig())
		s.pskS = httpb.NewServerFor(assocs.track(h), log)
		s.pskS.Configure(func(hs *http.Server) {
			hs.ConnContext = tlspsk.ConnContext
			hs.ConnState = assocs.connState
		})
	}
	if cfg.MEF != "" {
		if s.mef, err = s.newMEF(cfg, enrolFile, "https://"+advertised(pskL.Addr())); err != nil {
			closeL()
			st.Close()
			return nil, err
		}
	}
	if certL != nil {
		s.certL = tls.NewListener(certL, certTLS)
		s.certS = httpb.NewServerFor(certA.conns.track(h), log)
		s.certS.Configure(func(hs *http.Server) {
			hs.ConnContext = certA.conns.connContext
			hs.ConnState = certA.conns.connState
		})
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
		s.mqtt, err = mqttb.New(via("mqtt"), mopt)
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
func cseID(ctx context.Context, ccfg cse.Config, st store.Store, log *slog.Logger) (string, error) {
	if id, err := cse.StoredCSEID(ctx, st); err != nil || id != "" {
		return id, err
	}
	var last error // why the last attempt that ran its course failed
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
		id, err := cse.AcquireCSEID(ctx, ccfg)
		if err == nil {
			log.Info("CSE-ID assigned by the registrar", "cse-id", id, "registrar", ccfg.Registrar.CSEID)
			return id, nil
		}
		if ctx.Err() != nil && last != nil {
			// Cut short by the end of ctx ("before the request
			// expired"): the earlier attempt says what is wrong.
			return "", fmt.Errorf("no CSE-ID: %w", last)
		}
		if primitive.ErrorRSC(err) != primitive.RSCTargetNotReachable && primitive.ErrorRSC(err) != primitive.RSCRequestTimeout {
			return "", err
		}
		last = err
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

// CoAPAddr is the address of the plain CoAP listener ("" when off).
func (s *Server) CoAPAddr() string {
	return s.coapAddr(func(c *coapListeners) *coapb.Listener { return c.plain })
}

// CoAPSPSKAddr is the address of the DTLS-PSK CoAP listener ("" when off).
func (s *Server) CoAPSPSKAddr() string {
	return s.coapAddr(func(c *coapListeners) *coapb.Listener { return c.psk })
}

// CoAPSCertAddr is the address of the DTLS CoAP listener with
// certificates ("" when off).
func (s *Server) CoAPSCertAddr() string {
	return s.coapAddr(func(c *coapListeners) *coapb.Listener { return c.cert })
}

func (s *Server) coapAddr(f func(*coapListeners) *coapb.Listener) string {
	if s.coap == nil {
		return ""
	}
	if l := f(s.coap); l != nil {
		return l.Addr().String()
	}
	return ""
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
	withdrawn := withdrawnBy(s.creds, n)
	s.creds.Replace(n)
	if s.assocs != nil {
		s.assocs.closeInvalid()
	}
	s.endRegistrations(context.Background(), withdrawn)
	s.log.Info("credentials reloaded", "file", s.cfg.Credentials, "count", len(n.All()))
	return nil
}

// RevokeCredential revokes the PSK credential with this KpsaID: new
// handshakes with it fail and its open associations are closed.
func (s *Server) RevokeCredential(kpsaID string) bool {
	if s.assocs == nil {
		return false
	}
	c, ok := s.creds.Lookup(kpsaID)
	if !s.assocs.revoke(kpsaID) {
		return false
	}
	if ok {
		s.endRegistrations(context.Background(), []credentials.Credential{c})
	}
	return true
}

// openStore opens the store the configuration names: PostgreSQL when a DSN is
// given, else the embedded store in the data directory.
func openStore(ctx context.Context, cfg config.Config, m *metrics, log *slog.Logger) (inspectableStore, error) {
	if cfg.Postgres != "" {
		size := cfg.PostgresCache
		if size <= 0 {
			size = -1
		}
		return postgres.Open(ctx, postgres.Options{DSN: cfg.Postgres, Log: log, CacheSize: size})
	}
	return sqlite.Open(cfg.Data, sqlite.Options{Sync: cfg.Sync, Observer: m})
}

// inspectableStore is a store that metrics and /readyz can look into.
type inspectableStore interface {
	store.Store
	CountChildren(ctx context.Context, pi string, ty int) (int, error)
	OutboxLen(ctx context.Context) (int, error)
	Ping(ctx context.Context) error
}

// StoreStats returns the store writer's counters: how many commits carried
// how many Updates (zero for a store that does not count them).
func (s *Server) StoreStats() sqlite.Stats {
	switch st := s.st.(type) {
	case *sqlite.Store:
		return st.Stats()
	case *postgres.Store:
		ps := st.Stats()
		return sqlite.Stats{Commits: ps.Commits, Transactions: ps.Transactions}
	}
	return sqlite.Stats{}
}

// Store returns the store, for in-process use (tests).
func (s *Server) Store() store.Store { return s.st }

// Core returns the core, for in-process use.
func (s *Server) Core() *cse.CSE { return s.core }

// Start serves in the background. Errors of the serving goroutines are
// reported by Wait.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpS.Serve(s.httpL); err != nil {
			s.readiness.state.Store(2)
			s.errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if s.coap != nil {
		for _, l := range s.coap.listeners() {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := l.Serve(); err != nil {
					s.errc <- fmt.Errorf("coap: %w", err)
				}
			}()
		}
	}
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
	if s.mef != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.mef.srv.Serve(s.mef.l); err != nil && err != http.ErrServerClosed {
				s.errc <- fmt.Errorf("mef: %w", err)
			}
		}()
	}
	if e := s.enrolment; e != nil {
		// The registrar refuses the credential from its end on; the process
		// ends so that it enrols again when it is started again.
		t := time.AfterFunc(time.Until(e.NotAfter), func() {
			s.errc <- fmt.Errorf("the enrolment by the MEF ended at %s: start again to enrol again", e.NotAfter.UTC().Format(time.RFC3339))
		})
		go func() { <-ctx.Done(); t.Stop() }()
	}
	if pg, ok := s.st.(*postgres.Store); ok {
		// Several nodes may serve this CSE from one database: what must run
		// once (expiry, the registree and registrar loops, the notification
		// service that owns the outbox) runs on the node that leads.
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			s.runShared(ctx, pg)
		}()
		go func() {
			defer s.wg.Done()
			pg.Listen(ctx, func(ev string) {
				switch ev {
				case postgres.EventOutbox:
					s.notify.Wake()
				case postgres.EventRoutes:
					if err := s.core.ReloadRoutes(ctx); err != nil && ctx.Err() == nil {
						s.log.Warn("reloading the routing table after another node's change", "err", err)
					}
				}
			})
		}()
	} else {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runLeader(ctx)
		}()
	}
	s.readiness.state.CompareAndSwap(0, 1)
	s.log.Info("onecse started", "cse-id", s.core.Config().CSEID, "cse-name", s.cfg.CSEName, "cse-type", s.cfg.CSEType, "http", s.HTTPAddr(), "https-psk", s.HTTPSPSKAddr(), "https-cert", s.HTTPSCertAddr(),
		"websocket", s.ws != nil, "mqtt", redactURL(s.cfg.MQTTBroker), "coap", s.CoAPAddr(), "coaps-psk", s.CoAPSPSKAddr(), "coaps-cert", s.CoAPSCertAddr(), "mef", s.MEFAddr(), "data", s.cfg.Data, "postgres", s.cfg.Postgres != "")
}

// runLeader runs what one process of the CSE runs: expiry and the registree
// and registrar loops (the core's Run), and the notification service.
func (s *Server) runLeader(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.core.Run(ctx); err != nil {
			s.errc <- err
		}
	}()
	go func() {
		defer wg.Done()
		if err := s.notify.Run(ctx); err != nil {
			s.errc <- err
		}
	}()
	wg.Wait()
}

// runShared runs runLeader while this node leads the CSE's nodes. A node
// that loses the leadership (its lock connection failed) reports an error:
// it must not go on delivering while another node does, so the process ends
// (a supervisor restarts it).
func (s *Server) runShared(ctx context.Context, pg *postgres.Store) {
	err := pg.Lead(ctx, "cse", func(ctx context.Context) {
		s.leader.Store(true)
		defer s.leader.Store(false)
		s.runLeader(ctx)
	})
	if err != nil {
		s.errc <- err
	}
}

// Leader reports whether this node runs expiry and notification delivery:
// always with the embedded store, with PostgreSQL when it holds the lock.
func (s *Server) Leader() bool {
	if _, ok := s.st.(*postgres.Store); !ok {
		return true
	}
	return s.leader.Load()
}

// Err delivers the first serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting requests, waits for those under way, stops the
// notification service (what it has not delivered stays in the store for the
// next start), and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.readiness.state.Store(2) // /readyz answers 503 from now on
	if s.cfg.DeregisterOnShutdown && s.cfg.RegistrarURL != "" {
		if err := s.core.Deregister(ctx); err != nil {
			s.log.Warn("deregistration on shutdown", "err", err)
		}
	}
	err := s.httpS.Shutdown(ctx)
	if s.pskS != nil {
		err = errors.Join(err, s.pskS.Shutdown(ctx))
	}
	if s.mef != nil {
		err = errors.Join(err, s.mef.srv.Shutdown(ctx))
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
	if s.coap != nil {
		s.coap.b.Close()
	}
	if s.broker != nil {
		s.broker.Close()
	}
	// Non-blocking requests under way get a moment to finish (their
	// result NOTIFYs need the notification service, stopped next); the
	// rest are recorded as FAILED.
	s.core.StopNonBlocking(nonBlockingGrace(ctx))
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.client.Close()
	s.coapC.Close()
	if cerr := s.st.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.log.Info("onecse stopped")
	return err
}

// nonBlockingGrace is how long Shutdown waits for non-blocking requests:
// up to 5 s, less when ctx ends sooner.
func nonBlockingGrace(ctx context.Context) time.Duration {
	g := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		g = min(g, time.Until(dl))
	}
	return max(g, 0)
}

// redactURL hides the password of a URL with user information (an MQTT
// broker URL may carry one) for logging.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// saRequirement turns a require-sa-for-* setting into the core's rule; auto
// requires associations from other hosts where autoApplies (for AEs: on an
// IN-CSE only).
func saRequirement(m config.SAMode, autoApplies bool) cse.SARequirement {
	switch m {
	case config.SAOn:
		return cse.SAAlways
	case config.SAOff:
		return cse.SANever
	}
	if autoApplies {
		return cse.SAFromOtherHosts
	}
	return cse.SANever
}
