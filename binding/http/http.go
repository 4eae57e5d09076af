// Package http is the oneM2M HTTP binding (TS-0009): it turns an HTTP request
// into a request primitive, hands it to the core and writes the response
// primitive back as HTTP.
package http

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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

// Header names exactly as TS-0009 spells them. They are set in the header map
// directly, not through Header.Set, because Go would canonicalise them to
// "X-M2m-Rsc", which deployed clients and test tools do not match.
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
)

// header reads a header whatever the case the client used.
func header(r *http.Request, name string) (string, bool) {
	if v, ok := r.Header[name]; ok && len(v) > 0 {
		return v[0], true
	}
	v, ok := r.Header[http.CanonicalHeaderKey(name)]
	if ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

func (b *Binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, respFormat, err := b.decode(r)
	var resp *primitive.Response
	if err != nil {
		resp = primitive.ErrorResponse(req, err)
		if req != nil {
			resp.RQI, resp.RVI = req.RQI, req.RVI
		}
	} else {
		resp = b.core.Handle(r.Context(), req)
	}
	b.write(w, resp, respFormat)
}

// decode builds the request primitive. It returns the response format even on
// failure, so that the error itself can be answered in the client's format.
func (b *Binding) decode(r *http.Request) (*primitive.Request, codec.MediaInfo, error) {
	req := primitive.NewRequest()
	req.Peer.Binding = "http"
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		req.Peer.Addr = ap.Addr().Unmap()
	}
	req.RQI, _ = header(r, hRI)
	req.RVI, _ = header(r, hRVI)
	req.From, req.FromPresent = header(r, hOrigin)
	fallback := codec.MediaInfo{Format: codec.JSON}

	var reqMedia codec.MediaInfo
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mi, err := codec.ParseMediaType(ct)
		if err != nil {
			return req, fallback, primitive.Errorf(primitive.RSCUnsupportedMediaType, "unsupported Content-Type %q: use application/json or application/cbor", ct)
		}
		reqMedia = mi
		fallback = codec.MediaInfo{Format: mi.Format, OneM2M: mi.OneM2M, Kind: "res"}
		if mi.Ty < 0 {
			return req, fallback, primitive.Errorf(primitive.RSCBadRequest, "the ty parameter of Content-Type %q is not a resource type", ct)
		}
	}
	respMedia, ok := codec.Negotiate(r.Header.Get("Accept"), fallback)
	if !ok {
		return req, fallback, primitive.Errorf(primitive.RSCNotAcceptable, "none of the Accept types %q can be produced: use application/json or application/cbor", r.Header.Get("Accept"))
	}
	if respMedia.OneM2M {
		respMedia.Kind = "res"
	}

	switch r.Method {
	case http.MethodPost:
		if reqMedia.Ty > 0 {
			req.Op, req.Ty = primitive.OpCreate, reqMedia.Ty
		} else {
			req.Op = primitive.OpNotify
		}
	case http.MethodGet:
		req.Op = primitive.OpRetrieve
	case http.MethodPut:
		req.Op = primitive.OpUpdate
	case http.MethodDelete:
		req.Op = primitive.OpDelete
	default:
		return req, respMedia, primitive.Errorf(primitive.RSCOperationNotAllowed, "HTTP method %s is not part of the oneM2M binding", r.Method)
	}
	if reqMedia.Ty > 0 && req.Op != primitive.OpCreate {
		return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "the ty parameter is only allowed with POST")
	}

	to, err := toFromPath(r.URL.Path)
	if err != nil {
		return req, respMedia, err
	}
	req.To = to

	now := b.opt.Now()
	for _, h := range []struct {
		name string
		dst  *time.Time
	}{{hRET, &req.RQET}, {hRST, &req.RSET}, {hOET, &req.OET}} {
		if v, ok := header(r, h.name); ok {
			t, ok := primitive.ParseAbsRelTime(v, now)
			if !ok {
				return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "header %s: %q is not a timestamp or a number of milliseconds", h.name, v)
			}
			*h.dst = t
		}
	}
	req.OT, _ = header(r, hOT)
	req.GID, _ = header(r, hGID)
	req.VSI, _ = header(r, hVSI)
	if v, ok := header(r, hEC); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 999 {
			return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "header %s: %q is not an event category", hEC, v)
		}
		req.EC = n
	}
	if err := primitive.ApplyQuery(req, r.URL.Query(), now); err != nil {
		return req, respMedia, err
	}
	if v, ok := header(r, hRTU); ok {
		if req.RT == nil {
			req.RT = &primitive.ResponseType{RTV: primitive.RTBlocking}
		}
		if v != "" {
			req.RT.NU = strings.Split(v, "&")
		} else {
			req.RT.NU = []string{}
		}
	}

	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, b.opt.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "the request body is larger than %d bytes", b.opt.MaxBody)
		}
		return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "reading the request body: %v", err)
	}
	if len(data) > 0 {
		if reqMedia.Format == codec.FormatNone {
			return req, respMedia, primitive.Errorf(primitive.RSCUnsupportedMediaType, "a request body needs a Content-Type")
		}
		m, err := codec.Decode(reqMedia.Format, data)
		if err != nil {
			return req, respMedia, primitive.Errorf(primitive.RSCBadRequest, "%v", err)
		}
		req.Content = m
		if req.Op == primitive.OpRetrieve {
			if err := attrListContent(req); err != nil {
				return req, respMedia, err
			}
		}
	}
	return req, respMedia, nil
}

// attrListContent takes a RETRIEVE's content, which may only be an attribute
// list {"m2m:atrl": [...]} (partial retrieve).
func attrListContent(req *primitive.Request) error {
	l, ok := req.Content["m2m:atrl"].([]any)
	if !ok || len(req.Content) != 1 {
		return primitive.Errorf(primitive.RSCBadRequest, "the content of a RETRIEVE may only be m2m:atrl")
	}
	for _, e := range l {
		s, ok := e.(string)
		if !ok || s == "" {
			return primitive.Errorf(primitive.RSCBadRequest, "m2m:atrl must list attribute names")
		}
		req.ATRL = append(req.ATRL, s)
	}
	req.Content = nil
	return nil
}

// toFromPath reverses TS-0009 6.2.2.1: "/~/x" is SP-relative "/x", "/_/x" is
// absolute "//x", anything else is CSE-relative.
func toFromPath(p string) (string, error) {
	switch {
	case p == "/~" || p == "/_" || p == "/" || p == "":
		return "", primitive.Errorf(primitive.RSCBadRequest, "the request path %q names no resource", p)
	case strings.HasPrefix(p, "/~/"):
		return p[2:], nil
	case strings.HasPrefix(p, "/_/"):
		return "/" + p[2:], nil
	}
	return p[1:], nil
}

func (b *Binding) write(w http.ResponseWriter, resp *primitive.Response, mi codec.MediaInfo) {
	h := w.Header()
	h[hRSC] = []string{strconv.Itoa(int(resp.RSC))}
	h[hRI] = []string{resp.RQI}
	if resp.RVI != "" {
		h[hRVI] = []string{resp.RVI}
	}
	if resp.CNST != 0 {
		h[hCTS] = []string{strconv.Itoa(resp.CNST)}
	}
	if resp.CNOT != 0 {
		h[hCTO] = []string{strconv.Itoa(resp.CNOT)}
	}
	if resp.RSC == primitive.RSCCreated && resp.Location != "" {
		h["Content-Location"] = []string{"/" + resp.Location}
	}
	var body []byte
	if resp.PC != nil {
		if mi.Format == codec.FormatNone {
			mi.Format = codec.JSON
		}
		var err error
		body, err = codec.Encode(mi.Format, resp.PC)
		if err != nil {
			b.opt.Log.Error("encoding a response", "rqi", resp.RQI, "err", err)
			h[hRSC] = []string{strconv.Itoa(int(primitive.RSCInternalServerError))}
			body, _ = codec.Encode(mi.Format, map[string]any{"m2m:dbg": "the response could not be encoded"})
			resp = &primitive.Response{RSC: primitive.RSCInternalServerError}
		}
		h["Content-Type"] = []string{codec.ContentType(mi.Format, mi.OneM2M, mi.Kind)}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
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
func NewServer(b *Binding) *Server {
	return &Server{srv: &http.Server{
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.opt.Log.Handler(), slog.LevelWarn),
	}}
}

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
