package coap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	piondtls "github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	coapudp "github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Client is the originator's side of the binding: it sends the requests the
// CSE originates (notifications, registration, forwarded requests) to
// coap:// and coaps:// addresses. It implements cse.Sender.
type Client struct {
	opt   ClientOptions
	mu    sync.Mutex
	conns map[string]*udpClient.Conn // by scheme://host:port
}

// ClientOptions tune the client.
type ClientOptions struct {
	// DTLS returns the DTLS configuration for a coaps:// host:port (a PSK
	// or a certificate); nil, or a nil configuration, means coaps targets
	// cannot be reached.
	DTLS func(hostport string) *piondtls.Config
	// MaxBody bounds the answer payload (default 4 MiB).
	MaxBody int64
	// Timeout bounds a request that has no deadline of its own (default 30 s).
	Timeout time.Duration
	// HandshakeTimeout bounds a DTLS handshake (default 10 s): a wrong key
	// makes no alert, the handshake just never completes (interop.md 4.4).
	HandshakeTimeout time.Duration
}

// NewClient returns a client; it keeps one CoAP connection per target.
func NewClient(o ClientOptions) *Client {
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	return &Client{opt: o, conns: map[string]*udpClient.Conn{}}
}

// Close closes the connections.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cc := range c.conns {
		cc.Close()
		delete(c.conns, k)
	}
}

func (c *Client) maxMessage() uint32 { return uint32(c.opt.MaxBody + 64<<10) }

// conn returns the connection to scheme://hostport, dialling it when there
// is none (or the last one ended).
func (c *Client) conn(ctx context.Context, scheme, hostport string) (*udpClient.Conn, error) {
	key := scheme + "://" + hostport
	c.mu.Lock()
	if cc, ok := c.conns[key]; ok {
		select {
		case <-cc.Done():
			delete(c.conns, key)
		default:
			c.mu.Unlock()
			return cc, nil
		}
	}
	c.mu.Unlock()
	opts := []coapudp.Option{
		options.WithMaxMessageSize(c.maxMessage()),
		options.WithBlockwise(true, blockwise.SZX1024, blockTimeout),
	}
	var cc *udpClient.Conn
	switch scheme {
	case "coap":
		var err error
		if cc, err = coapudp.Dial(hostport, opts...); err != nil {
			return nil, err
		}
	case "coaps":
		var cfg *piondtls.Config
		if c.opt.DTLS != nil {
			cfg = c.opt.DTLS(hostport)
		}
		if cfg == nil {
			return nil, fmt.Errorf("no DTLS credentials for coaps://%s", hostport)
		}
		raddr, err := net.ResolveUDPAddr("udp", hostport)
		if err != nil {
			return nil, err
		}
		uc, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return nil, err
		}
		dc, err := piondtls.Client(&connectedPacketConn{uc}, raddr, cfg)
		if err != nil {
			uc.Close()
			return nil, err
		}
		hctx, cancel := context.WithTimeout(ctx, c.opt.HandshakeTimeout)
		err = dc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			dc.Close()
			return nil, fmt.Errorf("DTLS handshake with %s: %w", hostport, err)
		}
		cc = coapdtls.Client(dc, append(opts, options.WithCloseSocket())...)
	default:
		return nil, fmt.Errorf("%s:// is not a CoAP scheme", scheme)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.conns[key]; ok {
		// Another request dialled meanwhile: keep one.
		cc.Close()
		return old, nil
	}
	c.conns[key] = cc
	return cc, nil
}

func (c *Client) drop(scheme, hostport string, cc *udpClient.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := scheme + "://" + hostport
	if c.conns[key] == cc {
		delete(c.conns, key)
	}
	cc.Close()
}

// Send maps req to a CoAP request at addr (TS-0008 6.2), sends it as a
// Confirmable message and maps the answer back.
//
// addr is a point of access ("coap://10.0.0.1:5683"): the Uri-Path then
// comes from req.To; or a URL with a path, or any NOTIFY's target, used as
// it is. An error means no oneM2M answer came: a transport failure, a
// timeout, or (except for a NOTIFY, which may go to a plain CoAP receiver)
// an answer without oneM2M-RSC.
func (c *Client) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "coap" && u.Scheme != "coaps") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a coap URL", addr)
	}
	hostport := u.Host
	if u.Port() == "" {
		port := "5683"
		if u.Scheme == "coaps" {
			port = "5684"
		}
		hostport = net.JoinHostPort(u.Hostname(), port)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opt.Timeout)
		defer cancel()
	}
	opts, code, body, cf, err := requestMessage(u, f, req, primitive.IsHopToCSE(ctx))
	if err != nil {
		return nil, err
	}
	cc, err := c.conn(ctx, u.Scheme, hostport)
	if err != nil {
		return nil, err
	}
	m := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(m)
	token, err := message.GetToken()
	if err != nil {
		return nil, err
	}
	m.SetCode(code)
	m.SetToken(token)
	m.ResetOptionsTo(opts)
	if body != nil {
		m.SetContentFormat(cf)
		m.SetBody(bytes.NewReader(body))
	}
	resp, err := cc.Do(m)
	if err != nil {
		if ctx.Err() == nil {
			c.drop(u.Scheme, hostport, cc)
		}
		return nil, err
	}
	defer cc.ReleaseMessage(resp)
	var rb []byte
	if b := resp.Body(); b != nil {
		if rb, err = io.ReadAll(io.LimitReader(b, c.opt.MaxBody+1)); err != nil {
			return nil, fmt.Errorf("reading the answer: %w", err)
		}
		if int64(len(rb)) > c.opt.MaxBody {
			return nil, fmt.Errorf("the answer is larger than %d bytes", c.opt.MaxBody)
		}
	}
	return responseOf(addr, req.Op, resp.Code(), resp.Options(), rb)
}

// requestMessage builds the options, method and payload of req.
func requestMessage(u *url.URL, f codec.Format, req *primitive.Request, toCSE bool) (message.Options, codes.Code, []byte, message.MediaType, error) {
	var code codes.Code
	switch req.Op {
	case primitive.OpCreate, primitive.OpNotify:
		code = codes.POST
	case primitive.OpRetrieve:
		code = codes.GET
	case primitive.OpUpdate:
		code = codes.PUT
	case primitive.OpDelete:
		code = codes.DELETE
	default:
		return nil, 0, nil, 0, fmt.Errorf("operation %d cannot be sent", int(req.Op))
	}
	var opts message.Options
	add := func(id message.OptionID, v []byte) { opts = append(opts, message.Option{ID: id, Value: v}) }
	str := func(id message.OptionID, v string) {
		if v != "" {
			add(id, []byte(v))
		}
	}
	var queries []string
	// A NOTIFY to a CSE on its way to an entity of that CSE is addressed
	// by its To like any request (primitive.WithHopToCSE).
	if (req.Op != primitive.OpNotify || toCSE) && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && req.To != "" {
		to, q := req.To, req.Query()
		if i := strings.IndexByte(to, '#'); i >= 0 {
			if to[i+1:] != "" {
				q["atrl"] = append([]string{to[i+1:]}, q["atrl"]...)
			}
			to = to[:i]
		}
		for _, s := range pathOf(to) {
			add(message.URIPath, []byte(s))
		}
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		sortStrings(names)
		for _, k := range names {
			for _, v := range q[k] {
				queries = append(queries, k+"="+v)
			}
		}
	} else {
		for _, s := range strings.Split(strings.Trim(u.Path, "/"), "/") {
			if s != "" {
				add(message.URIPath, []byte(s))
			}
		}
		for _, item := range strings.Split(u.RawQuery, "&") {
			if item != "" {
				if d, err := url.QueryUnescape(item); err == nil {
					queries = append(queries, d)
				}
			}
		}
	}
	for _, q := range queries {
		add(message.URIQuery, []byte(q))
	}
	if req.Op == primitive.OpCreate {
		add(optTY, uintBytes(uint32(req.Ty)))
	}
	str(optFR, req.From)
	str(optRQI, req.RQI)
	str(optRVI, req.RVI)
	str(optOT, req.OT)
	for _, t := range []struct {
		id message.OptionID
		v  time.Time
	}{{optRQET, req.RQET}, {optRSET, req.RSET}, {optOET, req.OET}} {
		if !t.v.IsZero() {
			str(t.id, primitive.FormatTime(t.v))
		}
	}
	if req.EC != 0 {
		add(optEC, uintBytes(uint32(req.EC)))
	}
	str(optGID, req.GID)
	str(optVSI, req.VSI)
	if req.RT != nil && req.RT.NU != nil {
		add(optRTURI, []byte(strings.Join(req.RT.NU, "&")))
	}
	if f == codec.FormatNone {
		f = codec.JSON
	}
	mi := codec.MediaInfo{Format: f}
	add(message.Accept, uintBytes(uint32(contentFormat(mi))))
	sortOptions(opts)
	var body []byte
	if req.Content != nil {
		var err error
		if body, err = codec.Encode(f, req.Content); err != nil {
			return nil, 0, nil, 0, fmt.Errorf("encoding the content: %w", err)
		}
	}
	return opts, code, body, contentFormat(mi), nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// responseOf maps a CoAP answer to a response primitive (TS-0008 6.2.3,
// 6.2.4 in the originator's direction). The answer comes from another
// party: any malformed part is an error, never a panic.
func responseOf(addr string, op primitive.Operation, code codes.Code, opts message.Options, rb []byte) (*primitive.Response, error) {
	rsc, hasRSC, err := uintOption(opts, optRSC, "oneM2M-RSC")
	if err != nil {
		return nil, fmt.Errorf("the answer of %s: %w", addr, err)
	}
	out := &primitive.Response{}
	switch {
	case hasRSC && rsc >= 1000 && rsc <= 9999:
		out.RSC = primitive.RSC(rsc)
	case op == primitive.OpNotify:
		out.RSC = rscOfCode(code)
	default:
		return nil, fmt.Errorf("the answer of %s (CoAP %s) has no valid oneM2M-RSC: not a oneM2M CSE", addr, codeString(code))
	}
	out.RQI, _, _ = stringOption(opts, optRQI, "")
	out.RVI, _, _ = stringOption(opts, optRVI, "")
	out.From, _, _ = stringOption(opts, optFR, "")
	out.OT, _, _ = stringOption(opts, optOT, "")
	out.VSI, _, _ = stringOption(opts, optVSI, "")
	if v, ok, _ := stringOption(opts, optRSET, ""); ok {
		if t, ok := primitive.ParseTime(v); ok {
			out.RSET = t
		}
	}
	if out.RSC == primitive.RSCCreated {
		var segs []string
		for _, o := range opts {
			if o.ID == message.LocationPath {
				segs = append(segs, string(o.Value))
			}
		}
		if len(segs) > 0 {
			switch segs[0] {
			case "~":
				out.Location = "/" + strings.Join(segs[1:], "/")
			case "_":
				out.Location = "//" + strings.Join(segs[1:], "/")
			default:
				out.Location = strings.Join(segs, "/")
			}
		}
	}
	if len(rb) > 0 {
		cf, err := opts.GetUint32(message.ContentFormat)
		if err != nil {
			if op == primitive.OpNotify {
				return out, nil // a plain receiver's text: not ours to read
			}
			return nil, fmt.Errorf("the answer of %s has a payload without Content-Format", addr)
		}
		mi, ok := mediaOf(message.MediaType(cf))
		if !ok {
			if op == primitive.OpNotify {
				return out, nil
			}
			return nil, fmt.Errorf("the answer of %s has Content-Format %d", addr, cf)
		}
		if out.PC, err = codec.Decode(mi.Format, rb); err != nil {
			return nil, fmt.Errorf("the answer's content: %w", err)
		}
	}
	return out, nil
}

// connectedPacketConn lets pion/dtls use a connected UDP socket.
type connectedPacketConn struct{ *net.UDPConn }

func (c *connectedPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

var _ = strconv.Itoa
