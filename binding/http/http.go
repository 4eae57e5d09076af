// Package http is the oneM2M HTTP binding (TS-0009): it turns an HTTP request
// into a request primitive, hands it to the core and writes the response
// primitive back as HTTP.
package http

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Handler is what the binding needs from the core.
type Handler interface {
	Handle(ctx context.Context, req *primitive.Request) *primitive.Response
}

// Options tune the binding.
type Options struct {
	// MaxBody is the largest request body accepted, in bytes (default 1 MiB).
	MaxBody int64
	Log     *slog.Logger
	// Now is the clock (for relative timestamps); nil means time.Now.
	Now func() time.Time
	// Authenticate returns the Credential-ID of the security association
	// a request arrived on (TLS-PSK: "12-<KpsaID>"), ok=false when there is
	// none or its credential is no longer valid. The binding sets
	// Peer.Authenticated and Peer.CredentialID from it. Nil: never.
	Authenticate func(r *http.Request) (credentialID string, ok bool)
}

// Binding is an http.Handler serving the oneM2M HTTP binding.
type Binding struct {
	core Handler
	opt  Options
}

// New returns the binding for core.
func New(core Handler, opt Options) *Binding {
	if opt.MaxBody <= 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Binding{core: core, opt: opt}
}

// Header names exactly as TS-0009 spells them. Response headers are set in
// the header map directly, not through Header.Set, because Go would
// canonicalise them to "X-M2m-Rsc", which deployed clients and test tools do
// not match.
const (
	hOrigin = "X-M2M-Origin"
	hRI     = "X-M2M-RI"
	hRVI    = "X-M2M-RVI"
	hRSC    = "X-M2M-RSC"
	hOT     = "X-M2M-OT"
	hRET    = "X-M2M-RET"
	hRST    = "X-M2M-RST"
	hOET    = "X-M2M-OET"
	hRTU    = "X-M2M-RTU"
	hEC     = "X-M2M-EC"
	hGID    = "X-M2M-GID"
	hVSI    = "X-M2M-VSI"
	hCTS    = "X-M2M-CTS"
	hCTO    = "X-M2M-CTO"
	hAS     = "X-M2M-AS"
)

func (b *Binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d, err := b.decode(r)
	var resp *primitive.Response
	if err != nil {
		resp = primitive.ErrorResponse(d.req, err)
		b.opt.Log.Debug("request not decoded", "rqi", d.req.RQI, "method", r.Method, "path", r.URL.Path, "rsc", int(resp.RSC), "err", err)
		if d.allow {
			w.Header()["Allow"] = []string{"GET, POST, PUT, DELETE"}
		}
		if d.tooLarge {
			// The rest of the body is still on the connection: close it
			// rather than read it.
			w.Header()["Connection"] = []string{"close"}
		}
	} else {
		resp = b.core.Handle(r.Context(), d.req)
	}
	b.write(w, resp, d.resp)
}

// write renders the response primitive (TS-0009 6.3, 6.4): the status line
// from the RSC table, the exact RSC in X-M2M-RSC, the other response
// parameters in their headers, the content as the body, and Content-Length on
// every answer (also an empty one) so that clients never wait for the
// connection to close.
func (b *Binding) write(w http.ResponseWriter, resp *primitive.Response, mi codec.MediaInfo) {
	h := w.Header()
	if mi.Format == codec.FormatNone {
		mi.Format = codec.JSON
	}
	var body []byte
	if resp.PC != nil {
		var err error
		if body, err = codec.Encode(mi.Format, resp.PC); err != nil {
			b.opt.Log.Error("encoding a response", "rqi", resp.RQI, "err", err)
			resp = &primitive.Response{RSC: primitive.RSCInternalServerError, RQI: resp.RQI, RVI: resp.RVI}
			body, _ = codec.Encode(mi.Format, map[string]any{"m2m:dbg": "the response could not be encoded"})
		}
	}
	// The header values share one backing array (each a full slice of one
	// element, so an append by anyone copies instead of overwriting the next).
	vals := make([]string, 0, 12)
	set := func(name, v string) {
		if v != "" {
			vals = append(vals, v)
			n := len(vals)
			h[name] = vals[n-1 : n : n]
		}
	}
	set(hRSC, strconv.Itoa(int(resp.RSC)))
	set(hRI, resp.RQI)
	set(hRVI, resp.RVI)
	set(hOrigin, resp.From)
	set(hOT, resp.OT)
	if !resp.RSET.IsZero() {
		set(hRST, primitive.FormatTime(resp.RSET))
	}
	if resp.EC != 0 {
		set(hEC, strconv.Itoa(resp.EC))
	}
	set(hVSI, resp.VSI)
	if resp.CNST != 0 {
		set(hCTS, strconv.Itoa(resp.CNST))
	}
	if resp.CNOT != 0 {
		set(hCTO, strconv.Itoa(resp.CNOT))
	}
	if resp.Location != "" && (resp.RSC == primitive.RSCCreated || resp.RSC == primitive.RSCAcceptedNonBlockingSynch || resp.RSC == primitive.RSCAcceptedNonBlockingAsynch) {
		// TS-0009 6.4.4 asks for it when the content holds the URI (rcn 2 or
		// 3); onecse sends it on every CREATE, as the TR-0051 examples do,
		// as the path that retrieves the new resource over this binding.
		// The acknowledgement of a non-blocking request names its
		// <request> the same way.
		set("Content-Location", "/"+resp.Location)
	}
	if len(body) > 0 {
		set("Content-Type", codec.ContentType(mi.Format, mi.OneM2M, mi.Kind))
	}
	vals = append(vals, strconv.Itoa(len(body)))
	h["Content-Length"] = vals[len(vals)-1 : len(vals) : len(vals)]
	w.WriteHeader(resp.RSC.HTTPStatus())
	if len(body) > 0 {
		w.Write(body)
	}
}

// Server runs the binding on a listener.
type Server struct {
	srv *http.Server
}

// NewServer returns an HTTP server for the binding with production timeouts.
func NewServer(b *Binding) *Server { return NewServerFor(b, b.opt.Log) }

// NewServerFor returns an HTTP server with the binding's timeouts for h: the
// binding, or the binding together with another one on the same listener
// (WebSocket handshakes, whose connections leave these timeouts behind when
// they are hijacked).
func NewServerFor(h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// Configure lets the caller set more of the http.Server (ConnContext,
// ConnState: for example tlspsk.ConnContext, so that requests know their
// security association). Call it before Serve.
func (s *Server) Configure(f func(*http.Server)) { f(s.srv) }

// Serve serves connections from l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for the requests under way.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
