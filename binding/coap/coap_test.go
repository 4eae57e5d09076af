package coap_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/mux"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/options"
	coapudp "github.com/plgd-dev/go-coap/v3/udp"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/internal/testcse"
)

// Option numbers written out (TS-0008 Table 6.2.2.4.0-1), not taken from the
// package under test.
const (
	oTY  = 267
	oRVI = 271
	oFR  = 279
	oRQI = 283
	oRSC = 307
)

func opt(id message.OptionID, v string) message.Option {
	return message.Option{ID: id, Value: []byte(v)}
}

func u(n int) []byte {
	var b []byte
	for v := uint32(n); v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return b
}

func path(segs ...string) message.Options {
	var o message.Options
	for _, s := range segs {
		o = append(o, opt(message.URIPath, s))
	}
	return o
}

func aeJSON(rn string) []byte {
	b, _ := json.Marshal(map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Ncoap", "rr": true, "srv": []any{"3"}}})
	return b
}

// TestWire checks the CoAP side of a registration and a retrieval: codes,
// the oneM2M options of the answer, Location-Path, Max-Age 0, and the "~" and
// "_" forms of the Uri-Path.
func TestWire(t *testing.T) {
	c := testcse.StartCoAP(t, nil)
	cl := testcse.DialCoAP(t, c)
	opts := append(path("cse-in"), opt(oFR, "Cwire"), opt(oRQI, "r1"), opt(oRVI, "3"),
		message.Option{ID: oTY, Value: u(2)}, message.Option{ID: message.ContentFormat, Value: u(50)})
	r := cl.Do(t, codes.POST, opts, aeJSON("wire"))
	if r.Code != codes.Created || r.UintOpt(oRSC) != 2001 || r.Opt(oRQI) != "r1" || r.Opt(oRVI) != "3" {
		t.Fatalf("CREATE: %v rsc %d rqi %q rvi %q: %s", r.Code, r.UintOpt(oRSC), r.Opt(oRQI), r.Opt(oRVI), r.Body)
	}
	var loc []string
	maxAge := false
	for _, o := range r.Opts {
		if o.ID == message.LocationPath {
			loc = append(loc, string(o.Value))
		}
		if o.ID == message.MaxAge && len(o.Value) == 0 {
			maxAge = true
		}
	}
	if strings.Join(loc, "/") != "cse-in/wire" || !maxAge {
		t.Fatalf("Location-Path %v, Max-Age 0 %v", loc, maxAge)
	}
	if cf := r.UintOpt(message.ContentFormat); cf != 50 {
		t.Fatalf("Content-Format %d", cf)
	}
	res := r.Result(t).Res("m2m:ae")
	if res["aei"] != "Cwire" {
		t.Fatalf("registered %v", res)
	}
	cseID := c.Server.Core().Config().CSEID
	sp := c.Server.Core().Config().SPID
	for _, p := range []message.Options{
		path("cse-in", "wire"),
		append(path("~"), path(strings.Split(strings.TrimPrefix(cseID, "/"), "/")...)...),
		path("~", strings.TrimPrefix(cseID, "/"), "cse-in", "wire"),
		path("_", strings.TrimPrefix(sp, "//"), strings.TrimPrefix(cseID, "/"), "cse-in", "wire"),
	} {
		get := cl.Do(t, codes.GET, append(p, opt(oFR, "Cwire"), opt(oRQI, "r2"), opt(oRVI, "3")), nil)
		if get.Code != codes.Content || get.UintOpt(oRSC) != 2000 {
			t.Fatalf("GET %v: %v %d %s", p, get.Code, get.UintOpt(oRSC), get.Body)
		}
	}
	// CBOR in, oneM2M CBOR (10010) asked for.
	cb, _ := codec.Encode(codec.CBOR, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}})
	r = cl.Do(t, codes.POST, append(path("cse-in", "wire"), opt(oFR, "Cwire"), opt(oRQI, "r3"), opt(oRVI, "3"),
		message.Option{ID: oTY, Value: u(3)}, message.Option{ID: message.ContentFormat, Value: u(60)},
		message.Option{ID: message.Accept, Value: u(10010)}), cb)
	if r.Code != codes.Created || r.UintOpt(message.ContentFormat) != 10010 || r.Result(t).Res("m2m:cnt")["rn"] != "c" {
		t.Fatalf("CBOR CREATE: %v cf %d %x", r.Code, r.UintOpt(message.ContentFormat), r.Body)
	}
}

// TestBadRequests: each malformed request gets the CoAP code of TS-0008
// Table 6.2.4-1, the exact RSC, and creates nothing.
func TestBadRequests(t *testing.T) {
	c := testcse.StartCoAP(t, nil)
	cl := testcse.DialCoAP(t, c)
	aei := c.RegisterAE("bad")
	base := func(extra ...message.Option) message.Options {
		return append(append(path("cse-in", "bad"), opt(oRQI, "rb"), opt(oRVI, "3")), extra...)
	}
	cnt := []byte(`{"m2m:cnt":{"rn":"x"}}`)
	for _, tc := range []struct {
		name string
		code codes.Code
		opts message.Options
		body []byte
		want codes.Code
		rsc  int
	}{
		{"no From", codes.GET, base(), nil, codes.BadRequest, 4000},
		{"XML content", codes.POST, base(opt(oFR, aei), message.Option{ID: oTY, Value: u(3)}, message.Option{ID: message.ContentFormat, Value: u(41)}), []byte("<x/>"), codes.UnsupportedMediaType, 4015},
		{"payload without Content-Format", codes.POST, base(opt(oFR, aei), message.Option{ID: oTY, Value: u(3)}), cnt, codes.UnsupportedMediaType, 4015},
		{"XML asked for", codes.GET, base(opt(oFR, aei), message.Option{ID: message.Accept, Value: u(41)}), nil, codes.NotAcceptable, 5207},
		{"FETCH", codes.FETCH, base(opt(oFR, aei)), nil, codes.MethodNotAllowed, 4005},
		{"TY on a GET", codes.GET, base(opt(oFR, aei), message.Option{ID: oTY, Value: u(3)}), nil, codes.BadRequest, 4000},
		{"unknown attribute", codes.POST, base(opt(oFR, aei), message.Option{ID: oTY, Value: u(3)}, message.Option{ID: message.ContentFormat, Value: u(50)}), []byte(`{"m2m:cnt":{"rn":"x","bogus":1}}`), codes.BadRequest, 4000},
		{"bad JSON", codes.POST, base(opt(oFR, aei), message.Option{ID: oTY, Value: u(3)}, message.Option{ID: message.ContentFormat, Value: u(50)}), []byte(`{"m2m:cnt":`), codes.BadRequest, 4000},
		{"op on a GET", codes.GET, base(opt(oFR, aei), opt(message.URIQuery, "op=2")), nil, codes.BadRequest, 4000},
		{"segment with a slash", codes.GET, append(path("cse-in", "bad/x"), opt(oFR, aei), opt(oRQI, "rb"), opt(oRVI, "3")), nil, codes.BadRequest, 4000},
		{"unknown query item", codes.GET, base(opt(oFR, aei), opt(message.URIQuery, "rcn=99")), nil, codes.BadRequest, 4000},
		{"not found", codes.GET, append(path("cse-in", "nothing"), opt(oFR, aei), opt(oRQI, "rb"), opt(oRVI, "3")), nil, codes.NotFound, 4004},
		{"not registered", codes.GET, base(opt(oFR, "Cunknown")), nil, codes.Forbidden, 4106},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cl.Do(t, tc.code, tc.opts, tc.body)
			if r.Code != tc.want || r.UintOpt(oRSC) != tc.rsc {
				t.Fatalf("got %v rsc %d, want %v rsc %d: %s", r.Code, r.UintOpt(oRSC), tc.want, tc.rsc, r.Body)
			}
			if r.Opt(oRQI) != "rb" {
				t.Fatalf("rqi %q", r.Opt(oRQI))
			}
		})
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/bad/x", From: aei}).Must(t, 4004)
}

// TestBlockwise: a content instance bigger than several 1024-byte blocks is
// created (Block1) and read back (Block2) whole.
func TestBlockwise(t *testing.T) {
	c := testcse.StartCoAP(t, nil)
	cl := testcse.DialCoAP(t, c)
	aei := c.RegisterAE("big")
	c.Create(aei, "/cse-in/big", 3, "m2m:cnt", map[string]any{"rn": "data"})
	con := strings.Repeat("0123456789abcdef", 600) // 9600 bytes
	r := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/big/data", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"rn": "b", "con": con}}}).Must(t, 2001)
	if r.Res("m2m:cin")["con"] != con {
		t.Fatalf("created con of %d bytes", len(fmt.Sprint(r.Res("m2m:cin")["con"])))
	}
	got := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/big/data/b", From: aei}).Must(t, 2000).Res("m2m:cin")
	if got["con"] != con {
		t.Fatalf("retrieved con of %d bytes", len(fmt.Sprint(got["con"])))
	}
	// And through HTTP: the same resource.
	if h := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/big/data/b", From: aei}).Must(t, 2000).Res("m2m:cin"); h["con"] != con {
		t.Fatal("HTTP sees another con")
	}
}

// receiver is a CoAP notification target: it records the requests it gets
// and answers 2.04 with oneM2M-RSC 2000.
type receiver struct {
	addr string
	mu   sync.Mutex
	got  []received
}

type received struct {
	code codes.Code
	path string
	from string
	cf   int
	pc   map[string]any
}

func newReceiver(t *testing.T) *receiver {
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{addr: l.LocalAddr().String()}
	s := coapudp.NewServer(options.WithMux(mux.HandlerFunc(func(w mux.ResponseWriter, r *mux.Message) {
		p, _ := r.Options().Path()
		from, _ := r.Options().GetString(oFR)
		cf, _ := r.Options().ContentFormat()
		var pc map[string]any
		if b := r.Body(); b != nil {
			var buf bytes.Buffer
			buf.ReadFrom(b)
			f := codec.JSON
			if cf == 60 {
				f = codec.CBOR
			}
			pc, _ = codec.Decode(f, buf.Bytes())
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{code: r.Code(), path: p, from: from, cf: int(cf), pc: pc})
		rc.mu.Unlock()
		w.SetResponse(codes.Changed, message.TextPlain, nil, message.Option{ID: oRSC, Value: u(2000)})
	})))
	go s.Serve(l)
	t.Cleanup(func() { s.Stop(); l.Close() })
	return rc
}

func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]received(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d notifications, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifyCoAPReceiver: a subscription whose target is an AE with a
// coap:// point of access gets its notifications as CoAP POST (NOTIFY: no oneM2M-TY) to that address; a
// subscription to a coap:// URL too.
func TestNotifyCoAPReceiver(t *testing.T) {
	c := testcse.StartCoAP(t, nil)
	cl := testcse.DialCoAP(t, c)
	rc := newReceiver(t)
	r := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Cnotified", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{
		"rn": "notified", "api": "Nn", "rr": true, "srv": []any{"3"}, "poa": []any{"coap://" + rc.addr}}}}).Must(t, 2001)
	aei := r.Res("m2m:ae")["aei"].(string)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/notified", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "box"}}}).Must(t, 2001)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/notified/box", From: aei, Ty: 23, PC: map[string]any{"m2m:sub": map[string]any{
		"rn": "s", "nu": []any{aei}, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2001)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/notified/box", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "hello"}}}).Must(t, 2001)
	got := rc.wait(t, 1)
	sgn, _ := got[0].pc["m2m:sgn"].(map[string]any)
	nev, _ := sgn["nev"].(map[string]any)
	rep, _ := nev["rep"].(map[string]any)
	cin, _ := rep["m2m:cin"].(map[string]any)
	if got[0].code != codes.POST || cin["con"] != "hello" || got[0].cf != 50 || got[0].from == "" {
		t.Fatalf("notification: %+v", got[0])
	}
	// A URL target with a path: the path is kept.
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/notified/box", From: aei, Ty: 23, PC: map[string]any{"m2m:sub": map[string]any{
		"rn": "s2", "nu": []any{"coap://" + rc.addr + "/hook/n"}, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2001)
	// Its verification request (the target is not the subscriber).
	got = rc.wait(t, 2)
	if got[1].path != "/hook/n" && got[1].path != "hook/n" || got[1].pc["m2m:sgn"].(map[string]any)["vrq"] != true {
		t.Fatalf("URL target: %+v", got[1])
	}
}

var _ = net.IPv4
var _ = pool.NewMessage
