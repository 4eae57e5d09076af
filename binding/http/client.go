package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Client is the client side of the binding (TS-0009 clause 6, read in the
// originator's direction): it sends the requests the CSE originates, such as
// notifications, to an http:// or https:// point of access. It implements
// cse.Sender.
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
	// MaxBody bounds the answer body read (default 1 MiB); the rest is
	// discarded.
	MaxBody int64
}

// NewClient returns a client. Each request's context bounds it in time.
func NewClient(o ClientOptions) *Client {
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 64
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     o.TLS,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        1024,
		// Notifications to one receiver come in bursts: keep the
		// connections, rather than open one per notification.
		MaxIdleConnsPerHost: o.MaxConnsPerHost,
		MaxConnsPerHost:     o.MaxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{hc: &http.Client{Transport: tr}, maxBody: o.MaxBody}
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

// Send delivers req to the URL addr and returns the answer (TS-0009 6.2-6.4):
// the operation as the method, the originator, request ID and release in
// their headers, the content as the body in f (JSON by default) labelled
// with its media type — without ty for a NOTIFY, which is how a receiver
// tells it from a CREATE (TS-0009 6.2.1). An error means no answer came.
func (c *Client) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	method, ok := methods[req.Op]
	if !ok {
		return nil, fmt.Errorf("operation %d has no HTTP method", int(req.Op))
	}
	if f == codec.FormatNone {
		f = codec.JSON
	}
	var body io.Reader
	var data []byte
	if req.Content != nil {
		var err error
		if data, err = codec.Encode(f, req.Content); err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequestWithContext(ctx, method, addr, body)
	if err != nil {
		return nil, err
	}
	// Header names as TS-0009 spells them (see the server side).
	set := func(name, v string) {
		if v != "" {
			hr.Header[name] = []string{v}
		}
	}
	set(hOrigin, req.From)
	set(hRI, req.RQI)
	set(hRVI, req.RVI)
	if req.EC != 0 {
		set(hEC, strconv.Itoa(req.EC))
	}
	if !req.RQET.IsZero() {
		set(hRET, primitive.FormatTime(req.RQET))
	}
	if data != nil {
		ct := codec.ContentType(f, false, "")
		if req.Op == primitive.OpCreate {
			ct += ";ty=" + strconv.Itoa(req.Ty)
		}
		set("Content-Type", ct)
	}
	set("Accept", "application/json, application/cbor;q=0.9")
	hresp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	rbody, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(hresp.Body, 64<<10)) // so the connection can be reused
	resp := &primitive.Response{RQI: hresp.Header.Get(hRI), RVI: hresp.Header.Get(hRVI), From: hresp.Header.Get(hOrigin)}
	if v := hresp.Header.Get(hRSC); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("the answer's %s %q is not a number", hRSC, v)
		}
		resp.RSC = primitive.RSC(n)
	} else {
		resp.RSC = rscOfStatus(hresp.StatusCode)
	}
	if len(rbody) > 0 {
		if mi, err := codec.ParseMediaType(hresp.Header.Get("Content-Type")); err == nil {
			resp.PC, _ = codec.Decode(mi.Format, rbody)
		}
	}
	return resp, nil
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
