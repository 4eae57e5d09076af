// Package server assembles a onecse process from its configuration: the
// store, the core and the bindings, with one lifecycle (New, Start, Shutdown).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/notify"
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
	l, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	poa := cfg.PoA
	if len(poa) == 0 {
		poa = []string{"http://" + advertised(l.Addr())}
	}
	st, err := sqlite.Open(cfg.Data, sqlite.Options{Sync: cfg.Sync})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	core, err := cse.New(ctx, cse.Config{
		CSEID: cfg.CSEID, CSEName: cfg.CSEName, SPID: cfg.SPID, CSEType: cseType, Admin: cfg.Admin,
		PoA: poa, DefaultET: cfg.DefaultExpiration, MaxET: cfg.MaxExpiration,
		AllowedAEOriginators: cfg.AllowedAEOriginators, DefaultBatchDuration: cfg.BatchDuration,
	}, st, log)
	if err != nil {
		l.Close()
		st.Close()
		return nil, err
	}
	// Notifications leave through the bindings' clients, by URL scheme.
	client := httpb.NewClient(httpb.ClientOptions{})
	n := notify.New(core, cse.Senders{"http": client, "https": client}, notify.Options{
		Log: log, Timeout: cfg.NotifyTimeout, VerifyTimeout: cfg.NotifyTimeout,
		RetryInitial: cfg.NotifyRetry, RetryMax: cfg.NotifyRetryMax, Attempts: cfg.NotifyAttempts,
	})
	core.SetNotifier(n)
	b := httpb.New(core, httpb.Options{MaxBody: cfg.MaxBody, Log: log})
	return &Server{cfg: cfg, log: log, st: st, core: core, notify: n, client: client, httpL: l, httpS: httpb.NewServer(b), errc: make(chan error, 3)}, nil
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
	s.log.Info("onecse started", "cse-id", s.cfg.CSEID, "cse-name", s.cfg.CSEName, "cse-type", s.cfg.CSEType, "http", s.HTTPAddr(), "data", s.cfg.Data)
}

// Err delivers the first serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting requests, waits for those under way, stops the
// notification service (what it has not delivered stays in the store for the
// next start), and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.httpS.Shutdown(ctx)
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
