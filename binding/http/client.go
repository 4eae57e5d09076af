package http

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Client sends request primitives to other CSEs over HTTP (TS-0009, the
// originator's direction): the core's Sender for http:// points of access.
type Client struct {
	// HTTP is the client used; nil means one with a 30 s timeout.
	HTTP *http.Client
	// MaxBody bounds a response body (default 4 MiB).
	MaxBody int64
}

// NewClient returns a client with its own connection pool.
func NewClient() *Client {
	return &Client{HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Send maps req to an HTTP request at poa (e.g. "http://10.0.0.1:8080"),
// sends it and maps the answer back. A transport failure, or an answer that
// is not a oneM2M response (no X-M2M-RSC), is an error.
func (c *Client) Send(ctx context.Context, poa string, req *primitive.Request) (*primitive.Response, error) {
	u, err := url.Parse(poa)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("point of access %q is not an http URL", poa)
	}
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
	var method string
	switch req.Op {
	case primitive.OpCreate, primitive.OpNotify:
		method = http.MethodPost
	case primitive.OpRetrieve:
		method = http.MethodGet
	case primitive.OpUpdate:
		method = http.MethodPut
	case primitive.OpDelete:
		method = http.MethodDelete
	default:
		return nil, fmt.Errorf("operation %d cannot be sent", int(req.Op))
	}
	var body io.Reader
	var data []byte
	if req.Content != nil {
		if data, err = codec.Encode(codec.JSON, req.Content); err != nil {
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
	ct := ""
	if data != nil || method == http.MethodPost {
		ct = "application/json"
	}
	if req.Op == primitive.OpCreate {
		ct += ";ty=" + strconv.Itoa(req.Ty)
	}
	set("Content-Type", ct)
	set("Accept", "application/json")
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
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = 4 << 20
	}
	rb, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(rb)) > max {
		return nil, fmt.Errorf("the answer is larger than %d bytes", max)
	}
	return responseOf(poa, resp.StatusCode, resp.Header, rb)
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
