package coap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	piondtls "github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	dtlsServer "github.com/plgd-dev/go-coap/v3/dtls/server"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	coapudp "github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Handler is what the binding needs from the core.
type Handler interface {
	Handle(ctx context.Context, req *primitive.Request) *primitive.Response
}

// Options tune the binding.
type Options struct {
	// MaxBody is the largest request or response payload, in bytes, after
	// block-wise reassembly (default 1 MiB).
	MaxBody int64
	Log     *slog.Logger
	// Now is the clock (for relative timestamps); nil means time.Now.
	Now func() time.Time
	// Authenticate returns the Credential-ID of the DTLS association a
	// request arrived on ("12-<KpsaID>" for PSK, "32-<CSE-ID>" or
	// "33-<AE-ID-Stem>" for certificates), ok=false when there is none.
	// It is called with the connection's *dtls.Conn (or another net.Conn
	// for plain UDP). Nil: never.
	Authenticate func(c net.Conn) (credentialID string, ok bool)
}

// Binding serves the oneM2M CoAP binding on any number of UDP and DTLS
// listeners.
type Binding struct {
	core Handler
	opt  Options

	mu        sync.Mutex
	listeners []*Listener
	closed    bool
	wg        sync.WaitGroup // requests under way
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

// blockTimeout bounds a block-wise transfer between two of its blocks.
const blockTimeout = 30 * time.Second

// maxMessage is the message size limit given to go-coap: the largest
// reassembled payload plus room for the options.
func (b *Binding) maxMessage() uint32 {
	n := b.opt.MaxBody + 64<<10
	if n > 1<<31 {
		n = 1 << 31
	}
	return uint32(n)
}

// Listener is one UDP or DTLS socket of the binding.
type Listener struct {
	addr  net.Addr
	serve func() error
	stop  func()
}

// Addr is the local address.
func (l *Listener) Addr() net.Addr { return l.addr }

// Serve serves requests until Close.
func (l *Listener) Serve() error { return l.serve() }

// ListenUDP opens a plain CoAP listener (coap://) on a UDP address.
func (b *Binding) ListenUDP(addr string) (*Listener, error) {
	l, err := coapNet.NewListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	s := coapudp.NewServer(
		options.WithHandlerFunc(b.handle),
		options.WithMaxMessageSize(b.maxMessage()),
		options.WithBlockwise(true, blockwise.SZX1024, blockTimeout),
		options.WithErrors(b.logError),
	)
	lis := &Listener{addr: l.LocalAddr(), serve: func() error { return s.Serve(l) }, stop: func() { s.Stop(); l.Close() }}
	return lis, b.add(lis)
}

// ListenDTLS opens a CoAP-over-DTLS listener (coaps://) with cfg: PSK or
// certificates, see PSKConfig and CertConfig.
func (b *Binding) ListenDTLS(addr string, cfg *piondtls.Config) (*Listener, error) {
	l, err := coapNet.NewDTLSListener("udp", addr, cfg)
	if err != nil {
		return nil, err
	}
	s := coapdtls.NewServer(
		options.WithHandlerFunc(b.handle),
		options.WithMaxMessageSize(b.maxMessage()),
		options.WithBlockwise(true, blockwise.SZX1024, blockTimeout),
		options.WithErrors(b.logError),
	)
	var _ dtlsServer.Listener = l
	lis := &Listener{addr: l.Addr(), serve: func() error { return s.Serve(l) }, stop: func() { s.Stop(); l.Close() }}
	return lis, b.add(lis)
}

func (b *Binding) add(l *Listener) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		l.stop()
		return errors.New("the CoAP binding is closed")
	}
	b.listeners = append(b.listeners, l)
	return nil
}

func (b *Binding) logError(err error) {
	b.opt.Log.Debug("coap", "err", err)
}

// Close stops the listeners and waits for the requests under way.
func (b *Binding) Close() {
	b.mu.Lock()
	b.closed = true
	ls := b.listeners
	b.listeners = nil
	b.mu.Unlock()
	for _, l := range ls {
		l.stop()
	}
	b.wg.Wait()
}

// handle serves one (reassembled) request. go-coap answers a CON request
// with the response piggy-backed on its ACK and a NON request with a NON
// response (TS-0008 6.3.1); duplicates are answered from its cache.
func (b *Binding) handle(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	// Only requests are answered: an empty message (a Reset, a ping) or a
	// response that matched no request of ours gets none.
	if r.Code() < codes.GET || r.Code() >= 32 {
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()

	in := inMsg{code: r.Code(), opts: r.Options()}
	if body := r.Body(); body != nil {
		data, err := io.ReadAll(io.LimitReader(body, b.opt.MaxBody+1))
		if err != nil || int64(len(data)) > b.opt.MaxBody {
			b.write(w, &primitive.Response{RSC: primitive.RSCBadRequest, PC: map[string]any{"m2m:dbg": fmt.Sprintf("the payload is larger than %d bytes", b.opt.MaxBody)}}, primitive.OpRetrieve, codec.MediaInfo{Format: codec.JSON})
			return
		}
		in.body = data
	}
	d, err := decode(in, b.opt.Now())
	req := d.req
	req.Peer.Binding = "coap"
	if ua, ok := w.Conn().RemoteAddr().(*net.UDPAddr); ok {
		if a, ok := netip.AddrFromSlice(ua.IP); ok {
			req.Peer.Addr = a.Unmap()
		}
	}
	if b.opt.Authenticate != nil {
		req.Peer.CredentialID, req.Peer.Authenticated = b.opt.Authenticate(w.Conn().NetConn())
	}
	var resp *primitive.Response
	if err != nil {
		resp = primitive.ErrorResponse(req, err)
		b.opt.Log.Debug("coap request not decoded", "rqi", req.RQI, "code", codeString(in.code), "rsc", int(resp.RSC), "err", err)
	} else {
		resp = b.core.Handle(r.Context(), req)
	}
	b.write(w, resp, req.Op, d.resp)
}

// write renders the response primitive (TS-0008 6.2.3, 6.2.4): the CoAP code
// from the table, the exact RSC in oneM2M-RSC always (several RSCs share a
// code), the other response parameters in their options, Location-Path for
// a created resource, Max-Age 0 (no caching, TS-0008 6.4) and the content
// as the payload.
func (b *Binding) write(w *responsewriter.ResponseWriter[*udpClient.Conn], resp *primitive.Response, op primitive.Operation, mi codec.MediaInfo) {
	if mi.Format == codec.FormatNone {
		mi.Format = codec.JSON
	}
	var body []byte
	// A NOTIFY's 2000 is 2.04 with an empty payload (Table 6.2.4-1).
	if resp.PC != nil && !(op == primitive.OpNotify && resp.RSC == primitive.RSCOK) {
		var err error
		if body, err = codec.Encode(mi.Format, resp.PC); err != nil {
			b.opt.Log.Error("encoding a response", "rqi", resp.RQI, "err", err)
			resp = &primitive.Response{RSC: primitive.RSCInternalServerError, RQI: resp.RQI, RVI: resp.RVI}
			body, _ = codec.Encode(mi.Format, map[string]any{"m2m:dbg": "the response could not be encoded"})
		}
	}
	opts := responseOptions(resp)
	var rd io.ReadSeeker
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	if err := w.SetResponse(codeOf(resp.RSC, op), contentFormat(mi), rd, opts...); err != nil {
		b.opt.Log.Warn("coap response not set", "rqi", resp.RQI, "err", err)
	}
}

// responseOptions are the options of a response primitive.
func responseOptions(resp *primitive.Response) message.Options {
	opts := message.Options{
		{ID: optRSC, Value: uintBytes(uint32(resp.RSC))},
		{ID: message.MaxAge, Value: []byte{}},
	}
	str := func(id message.OptionID, v string) {
		if v != "" {
			opts = append(opts, message.Option{ID: id, Value: []byte(v)})
		}
	}
	str(optRQI, resp.RQI)
	str(optRVI, resp.RVI)
	str(optFR, resp.From)
	str(optOT, resp.OT)
	str(optVSI, resp.VSI)
	if !resp.RSET.IsZero() {
		str(optRSET, primitive.FormatTime(resp.RSET))
	}
	if resp.EC != 0 {
		opts = append(opts, message.Option{ID: optEC, Value: uintBytes(uint32(resp.EC))})
	}
	if resp.CNST != 0 {
		opts = append(opts, message.Option{ID: optCTS, Value: uintBytes(uint32(resp.CNST))})
	}
	if resp.CNOT != 0 {
		opts = append(opts, message.Option{ID: optCTO, Value: uintBytes(uint32(resp.CNOT))})
	}
	if resp.Location != "" && (resp.RSC == primitive.RSCCreated || resp.RSC == primitive.RSCAcceptedNonBlockingSynch || resp.RSC == primitive.RSCAcceptedNonBlockingAsynch) {
		// TS-0008 6.2.3: the URI of a created resource in Location-Path,
		// as the path that retrieves it over this binding; 6.3.2/6.3.3: the
		// <request> of a non-blocking request likewise.
		for _, s := range pathOf(resp.Location) {
			opts = append(opts, message.Option{ID: message.LocationPath, Value: []byte(s)})
		}
	}
	sortOptions(opts)
	return opts
}

// sortOptions orders options by number, keeping the order of repeated ones
// (CoAP encodes option deltas).
func sortOptions(opts message.Options) {
	for i := 1; i < len(opts); i++ {
		for j := i; j > 0 && opts[j-1].ID > opts[j].ID; j-- {
			opts[j-1], opts[j] = opts[j], opts[j-1]
		}
	}
}

// uintBytes is the CoAP uint encoding: big-endian, no leading zero bytes.
func uintBytes(v uint32) []byte {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
	}
	return b
}
