package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Client is the client side of the binding (TS-0009, the originator's
// direction): it sends the requests the CSE originates — notifications,
// registrations, requests forwarded to other CSEs — to an http:// or https://
// address. It implements cse.Sender.
type Client struct {
	hc      *http.Client
	maxBody int64
}

// ClientOptions tune the client.
type ClientOptions struct {
	// MaxConnsPerHost bounds the connections to one target (default 64).
	MaxConnsPerHost int
	// TLS configures https targets (nil: the system roots).
	TLS *tls.Config
	// DialTLSContext, when set, opens https connections instead of crypto/tls
	// (for example a TLS-PSK association).
	DialTLSContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxBody bounds the answer body (default 4 MiB); a larger answer is an error.
	MaxBody int64
	// Timeout bounds a request that has no deadline of its own (default 30 s).
	Timeout time.Duration
}

// NewClient returns a client with its own connection pool. A request's
// context bounds it in time.
func NewClient(o ClientOptions) *Client {
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 64
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DialTLSContext:      o.DialTLSContext,
		TLSClientConfig:     o.TLS,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        1024,
		// Notifications to one receiver come in bursts: keep the
		// connections rather than open one per notification.
		MaxIdleConnsPerHost: o.MaxConnsPerHost,
		MaxConnsPerHost:     o.MaxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{hc: &http.Client{Transport: tr, Timeout: o.Timeout}, maxBody: o.MaxBody}
}

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

var methods = map[primitive.Operation]string{
	primitive.OpCreate:   http.MethodPost,
	primitive.OpRetrieve: http.MethodGet,
	primitive.OpUpdate:   http.MethodPut,
	primitive.OpDelete:   http.MethodDelete,
	primitive.OpNotify:   http.MethodPost,
}

// Send maps req to an HTTP request at addr, sends it and maps the answer back
// (TS-0009 6.2-6.4).
//
// addr is either a point of access of a CSE ("http://10.0.0.1:8080"): the
// request path then comes from req.To (6.2.2.1), with every request parameter
// in the query string and headers; or a full URL with a path, or any NOTIFY's
// target URL ("http://host:9000/notify"), which is used as it is.
// The content goes in f (JSON by default) labelled with its media type —
// without ty for a NOTIFY, which is how a receiver tells it from a CREATE.
//
// An error means no oneM2M answer came: a transport failure, or, except for a
// NOTIFY, an answer without X-M2M-RSC (not a CSE). A NOTIFY may go to a plain
// HTTP receiver, whose status code is then read by TS-0009 Table 6.3.2-1.
func (c *Client) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	method, ok := methods[req.Op]
	if !ok {
		return nil, fmt.Errorf("operation %d cannot be sent", int(req.Op))
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http URL", addr)
	}
	// A NOTIFY goes to its target URL as given (the notification target's
	// path is its own business); other requests to a point of access carry
	// their To as the path, and so does a NOTIFY sent to a CSE on its way to
	// an entity of that CSE.
	if (req.Op != primitive.OpNotify || primitive.IsHopToCSE(ctx)) && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && req.To != "" {
		to, q := req.To, req.Query()
		if i := strings.IndexByte(to, '#'); i >= 0 {
			// To#attr: a fragment never reaches an HTTP server, so the
			// attribute travels as the first item of atrl (TS-0009 6.2.2.2).
			if to[i+1:] != "" {
				q["atrl"] = append([]string{to[i+1:]}, q["atrl"]...)
			}
			to = to[:i]
		}
		u.Path, u.RawPath = pathOf(to)
		u.RawQuery = primitive.EncodeQuery(q)
	}
	if f == codec.FormatNone {
		f = codec.JSON
	}
	var body io.Reader
	var data []byte
	if req.Content != nil {
		if data, err = codec.Encode(f, req.Content); err != nil {
			return nil, fmt.Errorf("encoding the content: %w", err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	h := hr.Header
	set := func(name, v string) {
		if v != "" {
			h[name] = []string{v} // spelled as TS-0009 does, not canonicalised
		}
	}
	if data != nil || req.Op == primitive.OpCreate {
		ct := codec.ContentType(f, false, "")
		if req.Op == primitive.OpCreate {
			ct += ";ty=" + strconv.Itoa(req.Ty)
		}
		set("Content-Type", ct)
	}
	set("Accept", "application/json, application/cbor;q=0.9")
	set(hOrigin, req.From)
	set(hRI, req.RQI)
	set(hRVI, req.RVI)
	for _, t := range []struct {
		name string
		v    time.Time
	}{{hRET, req.RQET}, {hRST, req.RSET}, {hOET, req.OET}} {
		if !t.v.IsZero() {
			set(t.name, primitive.FormatTime(t.v))
		}
	}
	set(hOT, req.OT)
	if req.EC != 0 {
		set(hEC, strconv.Itoa(req.EC))
	}
	set(hGID, req.GID)
	set(hVSI, req.VSI)
	if req.RT != nil && req.RT.NU != nil {
		// rt.nu: targets joined with '&' (TS-0009 6.4.11); present but
		// empty means "no result notification".
		h[hRTU] = []string{strings.Join(req.RT.NU, "&")}
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(rb)) > c.maxBody {
		return nil, fmt.Errorf("the answer is larger than %d bytes", c.maxBody)
	}
	if req.Op == primitive.OpNotify && firstHeader(resp.Header, hRSC) == "" {
		return plainAnswer(resp.StatusCode, resp.Header, rb), nil
	}
	return responseOf(addr, resp.StatusCode, resp.Header, rb)
}

// plainAnswer reads the answer of a receiver that is not oneM2M-aware.
func plainAnswer(status int, h http.Header, rb []byte) *primitive.Response {
	out := &primitive.Response{RSC: rscOfStatus(status), RQI: firstHeader(h, hRI)}
	if len(rb) > 0 {
		if mi, err := codec.ParseMediaType(h.Get("Content-Type")); err == nil {
			out.PC, _ = codec.Decode(mi.Format, rb)
		}
	}
	return out
}

// rscOfStatus reads an answer without X-M2M-RSC, as a plain HTTP receiver
// gives: any 2xx is OK, the rest maps by TS-0009 Table 6.3.2-1 where it is
// unambiguous, else by class.
func rscOfStatus(status int) primitive.RSC {
	switch {
	case status >= 200 && status < 300:
		return primitive.RSCOK
	case status == http.StatusNotFound:
		return primitive.RSCNotFound
	case status == http.StatusForbidden:
		return primitive.RSCOriginatorHasNoPrivilege
	case status == http.StatusNotImplemented:
		return primitive.RSCNotImplemented
	case status >= 400 && status < 500:
		return primitive.RSCBadRequest
	}
	return primitive.RSCInternalServerError
}

// responseOf maps an HTTP answer to a response primitive (TS-0009 6.3, 6.4,
// in the originator's direction). The answer comes from another party: any
// malformed part is an error, never a panic.
func responseOf(poa string, status int, h http.Header, rb []byte) (*primitive.Response, error) {
	rsc, err := strconv.Atoi(firstHeader(h, hRSC))
	if err != nil || rsc < 1000 || rsc > 9999 {
		return nil, fmt.Errorf("the answer of %s (HTTP %d) has no valid %s: not a oneM2M CSE", poa, status, hRSC)
	}
	out := &primitive.Response{
		RSC:  primitive.RSC(rsc),
		RQI:  firstHeader(h, hRI),
		RVI:  firstHeader(h, hRVI),
		From: firstHeader(h, hOrigin),
		OT:   firstHeader(h, hOT),
		VSI:  firstHeader(h, hVSI),
	}
	if t, ok := primitive.ParseTime(firstHeader(h, hRST)); ok {
		out.RSET = t
	}
	if loc := h.Get("Content-Location"); loc != "" && out.RSC == primitive.RSCCreated {
		out.Location = strings.TrimPrefix(loc, "/")
	}
	if len(rb) > 0 {
		mi, err := codec.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			return nil, fmt.Errorf("the answer's Content-Type: %w", err)
		}
		if out.PC, err = codec.Decode(mi.Format, rb); err != nil {
			return nil, fmt.Errorf("the answer's content: %w", err)
		}
	}
	return out, nil
}

func firstHeader(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return h.Get(name)
}

// pathOf maps a To to the request path (TS-0009 6.2.2.1): SP-relative
// "/x" → "/~/x", absolute "//x" → "/_/x", CSE-relative "x" → "/x". It returns
// the decoded path and its escaped form.
func pathOf(to string) (string, string) {
	p := "/" + to
	switch {
	case strings.HasPrefix(to, "//"):
		p = "/_/" + to[2:]
	case strings.HasPrefix(to, "/"):
		p = "/~" + to
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return p, strings.Join(segs, "/")
}
