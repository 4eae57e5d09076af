// Package ws is the oneM2M WebSocket binding (TS-0020), server side: a
// registree (AE or CSE) opens a WebSocket to onecse with the subprotocol
// oneM2M.json or oneM2M.cbor and exchanges whole request and response
// primitives in both directions, one per message, correlated by rqi. The
// connection then also carries the requests onecse sends to that registree
// (notifications), through Send.
package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/onecse/onecse/binding/internal/pending"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/codec/wire"
	"github.com/onecse/onecse/primitive"
)

// Handler is what the binding needs from the core.
type Handler interface {
	Handle(ctx context.Context, req *primitive.Request) *primitive.Response
}

// Options tune the binding.
type Options struct {
	// CSEID is the SP-relative CSE-ID of this CSE; targets of Send given
	// SP-relative under it ("/id-in/Cae") are found by their AE-ID-Stem.
	CSEID string
	// MaxMessage is the largest message accepted, in bytes (default 1 MiB); a
	// larger one closes the connection with status 1009 (message too big),
	// since its rqi cannot be read to answer it.
	MaxMessage int64
	// PingInterval is how often an idle connection is checked with a ping
	// (default 30 s); a connection whose pong does not come back within the
	// interval is closed.
	PingInterval time.Duration
	// MaxInFlight bounds the requests handled at once on one connection
	// (default 64); further messages wait on the connection.
	MaxInFlight int
	Log         *slog.Logger
	// Now is the clock (for relative timestamps); nil means time.Now.
	Now func() time.Time
	// Authenticate returns the Credential-ID of the security association
	// the opening handshake arrived on (TS-0020 7: the association is set
	// up before the WebSocket), ok=false when there is none. Every request
	// of the connection carries it. Nil: never.
	Authenticate func(r *http.Request) (credentialID string, ok bool)
	// DialClient is the HTTP client Dial opens connections with (nil: the
	// default), e.g. one that speaks TLS-PSK or presents a certificate for
	// wss://.
	DialClient *http.Client
	// DialSubprotocols are offered by Dial, in order of preference
	// (default oneM2M.json).
	DialSubprotocols []string
}

// Binding serves WebSocket connections and sends requests over them.
type Binding struct {
	core Handler
	opt  Options

	mu     sync.Mutex
	conns  map[*conn]struct{}
	routes map[string]*conn // originator → the connection that carries it
	closed bool
	wg     sync.WaitGroup

	dialMu sync.Mutex // one Dial at a time
}

// New returns the binding for core.
func New(core Handler, opt Options) *Binding {
	if opt.MaxMessage <= 0 {
		opt.MaxMessage = 1 << 20
	}
	if opt.PingInterval <= 0 {
		opt.PingInterval = 30 * time.Second
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 64
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Binding{core: core, opt: opt, conns: map[*conn]struct{}{}, routes: map[string]*conn{}}
}

// subprotocols maps the subprotocol names, lower-cased, to serialisations:
// the names of TS-0020 Table 6.2.2.9-1 and the Release 2 names that older
// clients send (protocol.md 8). XML is not offered.
var subprotocols = map[string]codec.Format{
	"onem2m.json":      codec.JSON,
	"onem2m.cbor":      codec.CBOR,
	"onem2m.r2.0.json": codec.JSON,
	"onem2m.r2.0.cbor": codec.CBOR,
}

// negotiate picks the first subprotocol of the client's list (its order of
// preference, TS-0020 6.2.2.8) that onecse speaks, matching case-insensitively;
// the header may be repeated or comma-separated.
func negotiate(h http.Header) (string, codec.Format, bool) {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if f, ok := subprotocols[strings.ToLower(p)]; ok {
				return p, f, true
			}
		}
	}
	return "", codec.FormatNone, false
}

// IsUpgrade reports whether r is a WebSocket opening handshake (RFC 6455
// 4.2.1: Connection: Upgrade and Upgrade: websocket, case-insensitive).
func IsUpgrade(r *http.Request) bool {
	return hasToken(r.Header, "Connection", "upgrade") && hasToken(r.Header, "Upgrade", "websocket")
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Mux returns an http.Handler that serves WebSocket handshakes with b
// and every other request with next, so that both bindings share one
// listener (TS-0020 6.2.2.1 asks for the handshake on "/"; any path is
// accepted, for clients behind a path-routing proxy).
func Mux(b *Binding, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsUpgrade(r) {
			b.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP accepts a WebSocket opening handshake and serves the connection
// until it closes. A handshake that offers no subprotocol onecse speaks is
// refused with 400: TS-0020 6.2.2.8 makes the subprotocol mandatory, and
// without it the serialisation is unknown.
func (b *Binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, format, ok := negotiate(r.Header)
	if !ok {
		http.Error(w, "Sec-WebSocket-Protocol must offer oneM2M.json or oneM2M.cbor", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	wsc, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{name}})
	if err != nil {
		b.opt.Log.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return // Accept has answered
	}
	wsc.SetReadLimit(b.opt.MaxMessage)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{b: b, ws: wsc, format: format, ctx: ctx, cancel: cancel, sem: make(chan struct{}, b.opt.MaxInFlight)}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.addr = ap.Addr().Unmap()
	}
	if b.opt.Authenticate != nil {
		c.credentialID, c.authenticated = b.opt.Authenticate(r)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		wsc.Close(websocket.StatusGoingAway, "shutting down")
		cancel()
		return
	}
	b.conns[c] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	b.opt.Log.Debug("websocket connected", "remote", r.RemoteAddr, "subprotocol", name)
	c.serve()
}

// Dial opens a WebSocket to url (ws:// or wss://) as a registree does to
// its registrar (TS-0020 5.2: the registree is the client) and serves it as
// the connections registrees open to onecse: requests to id (the
// registrar's CSE-ID) go over it through Send, and the requests the
// registrar sends down it are handled by the core. Nothing happens when a
// connection already carries id.
func (b *Binding) Dial(ctx context.Context, url, id string) error {
	b.dialMu.Lock()
	defer b.dialMu.Unlock()
	if b.Connected(id) {
		return nil
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return primitive.Errorf(primitive.RSCTargetNotReachable, "the WebSocket binding is closed")
	}
	protos := b.opt.DialSubprotocols
	if len(protos) == 0 {
		protos = []string{"oneM2M.json"}
	}
	wsc, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos, HTTPClient: b.opt.DialClient})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return primitive.Errorf(primitive.RSCTargetNotReachable, "opening a WebSocket to %s: %v", url, err)
	}
	format, ok := subprotocols[strings.ToLower(wsc.Subprotocol())]
	if !ok {
		wsc.Close(websocket.StatusProtocolError, "no oneM2M subprotocol")
		return primitive.Errorf(primitive.RSCTargetNotReachable, "%s accepted none of the subprotocols %v", url, protos)
	}
	wsc.SetReadLimit(b.opt.MaxMessage)
	cctx, cancel := context.WithCancel(context.Background())
	c := &conn{b: b, ws: wsc, format: format, ctx: cctx, cancel: cancel, sem: make(chan struct{}, b.opt.MaxInFlight)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		wsc.Close(websocket.StatusGoingAway, "shutting down")
		cancel()
		return primitive.Errorf(primitive.RSCTargetNotReachable, "the WebSocket binding is closed")
	}
	b.conns[c] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	b.register(id, c)
	b.opt.Log.Info("websocket to the registrar open", "url", url, "registrar", id, "subprotocol", wsc.Subprotocol())
	go func() {
		defer b.wg.Done()
		c.serve()
		b.opt.Log.Info("websocket to the registrar closed", "url", url, "registrar", id)
	}()
	return nil
}

// Close closes every connection (status 1001, going away) once the requests
// under way on it are answered; messages that arrive meanwhile are not
// handled. New handshakes are refused from then on.
func (b *Binding) Close() error {
	b.mu.Lock()
	b.closed = true
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		go c.drain()
	}
	b.wg.Wait()
	return nil
}

// routeKey is how an originator is remembered: AE-IDs under this CSE by their
// stem, whatever form they were given in ("Cae", "/id-in/Cae").
func (b *Binding) routeKey(id string) string {
	if b.opt.CSEID != "" {
		if rest, ok := strings.CutPrefix(id, b.opt.CSEID+"/"); ok {
			return rest
		}
	}
	return id
}

// register makes c the connection that carries originator id (the latest
// connection wins: a registree that reconnects takes its route with it).
func (b *Binding) register(id string, c *conn) {
	key := b.routeKey(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, open := b.conns[c]; !open {
		return
	}
	if b.routes[key] != c {
		b.routes[key] = c
		c.keys = append(c.keys, key)
		b.opt.Log.Debug("websocket route", "originator", key)
	}
}

func (b *Binding) forget(c *conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.conns, c)
	for _, k := range c.keys {
		if b.routes[k] == c {
			delete(b.routes, k)
		}
	}
}

// Connected reports whether a connection carries originator to.
func (b *Binding) Connected(to string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.routes[b.routeKey(to)] != nil
}

// Send sends req to the AE or CSE to (an AE-ID or CSE-ID) over the
// connection it registered on, in that connection's serialisation, and waits
// for the response with req's rqi until ctx ends. Without a connection for
// to it fails with 5103 TARGET_NOT_REACHABLE (TS-0020 6.5 would have the
// request stored until the registree reconnects: that is for the caller,
// which knows the request's expiration).
func (b *Binding) Send(ctx context.Context, to string, req *primitive.Request) (*primitive.Response, error) {
	b.mu.Lock()
	c := b.routes[b.routeKey(to)]
	b.mu.Unlock()
	if c == nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "no WebSocket connection carries %s", to)
	}
	if req.RQI == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a request sent over WebSocket needs an rqi")
	}
	data, err := wire.EncodeRequest(c.format, req)
	if err != nil {
		return nil, err
	}
	ch, done, ok := c.pending.Add(req.RQI)
	if !ok {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a request with rqi %q is already waiting on this connection", req.RQI)
	}
	defer done()
	if err := c.write(ctx, data); err != nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "writing to %s: %v", to, err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, primitive.Errorf(primitive.RSCRequestTimeout, "no response from %s: %v", to, ctx.Err())
	case <-c.ctx.Done():
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "the connection of %s closed before it answered", to)
	}
}

// conn is one WebSocket connection.
type conn struct {
	b      *Binding
	ws     *websocket.Conn
	format codec.Format
	addr   netip.Addr
	// the security association the connection was opened on
	credentialID  string
	authenticated bool
	ctx           context.Context
	cancel        context.CancelFunc
	sem           chan struct{}
	pending       pending.Table
	keys          []string // routes registered on it (guarded by b.mu)

	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup // requests under way
}

// drain stops handling new messages, waits for the requests under way, and
// closes the connection.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	c.wg.Wait()
	c.ws.Close(websocket.StatusGoingAway, "onecse is shutting down")
}

func (c *conn) msgType() websocket.MessageType {
	if c.format == codec.CBOR {
		return websocket.MessageBinary // TS-0020 Table 6.2.2.9-1: CBOR in binary frames
	}
	return websocket.MessageText // JSON in text frames
}

func (c *conn) write(ctx context.Context, data []byte) error {
	return c.ws.Write(ctx, c.msgType(), data)
}

// serve reads messages until the connection ends; each is handled on its own
// goroutine, so that one slow request does not hold up the others or the
// responses to onecse's own requests.
func (c *conn) serve() {
	defer func() {
		c.cancel()
		c.wg.Wait()
		c.b.forget(c)
		c.ws.CloseNow()
	}()
	go c.keepAlive()
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusNormalClosure && s != websocket.StatusGoingAway && !errors.Is(err, context.Canceled) {
				c.b.opt.Log.Debug("websocket closed", "remote", c.addr, "err", err)
			}
			return
		}
		if typ != c.msgType() {
			// The serialisation is the subprotocol's; a frame of the other
			// kind is read as such rather than refused.
			c.b.opt.Log.Debug("websocket message of the other frame type", "remote", c.addr, "type", typ)
		}
		select {
		case c.sem <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		c.mu.Lock()
		if c.draining {
			c.mu.Unlock()
			<-c.sem
			continue
		}
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer func() { <-c.sem; c.wg.Done() }()
			c.handle(data)
		}()
	}
}

// keepAlive pings the peer; a missing pong ends the connection.
func (c *conn) keepAlive() {
	t := time.NewTicker(c.b.opt.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.b.opt.PingInterval)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil {
					c.b.opt.Log.Debug("websocket ping failed", "remote", c.addr, "err", err)
				}
				c.ws.CloseNow()
				return
			}
		}
	}
}

// handle serves one message: a response goes to the request of onecse that
// waits for it, a request to the core, whose response is written back in the
// connection's serialisation.
func (c *conn) handle(data []byte) {
	log := c.b.opt.Log
	req, resp, err := wire.Decode(c.format, data, c.b.opt.Now())
	if resp != nil {
		if err != nil {
			// Its sender waits until its own timeout: a malformed answer
			// is no answer.
			log.Debug("websocket response not decoded", "remote", c.addr, "rqi", resp.RQI, "err", err)
			return
		}
		if !c.pending.Deliver(resp) {
			log.Debug("websocket response matches no request", "remote", c.addr, "rqi", resp.RQI)
		}
		return
	}
	var out *primitive.Response
	if err != nil {
		out = primitive.ErrorResponse(req, err)
		log.Debug("websocket request not decoded", "remote", c.addr, "rqi", out.RQI, "rsc", int(out.RSC), "err", err)
	} else {
		req.Peer = primitive.Peer{Binding: "ws", Addr: c.addr, Authenticated: c.authenticated, CredentialID: c.credentialID}
		out = c.b.core.Handle(c.ctx, req)
		c.learnRoute(req, out)
	}
	b, err := wire.EncodeResponse(c.format, out)
	if err != nil {
		log.Error("encoding a response", "rqi", out.RQI, "err", err)
		b, _ = wire.EncodeResponse(c.format, &primitive.Response{RSC: primitive.RSCInternalServerError, RQI: out.RQI, RVI: out.RVI,
			PC: map[string]any{"m2m:dbg": "the response could not be encoded"}})
	}
	if err := c.write(c.ctx, b); err != nil && c.ctx.Err() == nil {
		log.Debug("websocket write failed", "remote", c.addr, "rqi", out.RQI, "err", err)
	}
}

// learnRoute registers the originator a request shows this connection to
// carry (TS-0020 6.4: after a registration the server routes the
// registree's requests over its connection): the AE-ID or CSE-ID a
// successful registration assigned, or the From of a request the core
// accepted the originator of. Without a security association (wss, for a
// later issue) the From is as trustworthy here as over HTTP.
func (c *conn) learnRoute(req *primitive.Request, resp *primitive.Response) {
	if req.Op == primitive.OpCreate && resp.RSC == primitive.RSCCreated {
		switch req.Ty {
		case 2:
			if ae, ok := resp.PC["m2m:ae"].(map[string]any); ok {
				if aei, ok := ae["aei"].(string); ok && aei != "" {
					c.b.register(aei, c)
				}
			}
			return
		case 16:
			if csr, ok := resp.PC["m2m:csr"].(map[string]any); ok {
				if csi, ok := csr["csi"].(string); ok && csi != "" {
					c.b.register(csi, c)
				}
			}
			return
		}
	}
	switch resp.RSC {
	case primitive.RSCOriginatorNotAuthenticated, primitive.RSCSecurityAssociationRequired, primitive.RSCBadRequest:
		return // the originator was not accepted, or the request not understood
	}
	if req.From != "" && (primitive.IsAEStem(c.b.routeKey(req.From)) || strings.HasPrefix(req.From, "/")) {
		c.b.register(req.From, c)
	}
}
