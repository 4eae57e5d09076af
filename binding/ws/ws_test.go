package ws_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/onecse/onecse/binding/ws"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// rawConn is a WebSocket client written from RFC 6455 alone, with no
// WebSocket library: what the binding accepts from it, it accepts from any
// conforming client.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// rawDial performs the opening handshake with the given Sec-WebSocket-Protocol
// header lines and returns the status and headers of the answer.
func rawDial(t *testing.T, addr string, protocols ...string) (*rawConn, int, http.Header) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	rand.Read(key)
	var b strings.Builder
	fmt.Fprintf(&b, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", addr, base64.StdEncoding.EncodeToString(key))
	for _, p := range protocols {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", p)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
	}
	return &rawConn{Conn: c, r: r}, resp.StatusCode, resp.Header
}

// writeFrame writes one masked frame (clients must mask, RFC 6455 5.3).
func (c *rawConn) writeFrame(t *testing.T, opcode byte, payload []byte) {
	t.Helper()
	h := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	h = append(h, mask...)
	masked := make([]byte, len(payload))
	for i, p := range payload {
		masked[i] = p ^ mask[i%4]
	}
	if _, err := c.Write(append(h, masked...)); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one unmasked frame from the server.
func (c *rawConn) readFrame() (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("the server masked a frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(c.r, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(c.r, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.r, payload)
	return h[0] & 0x0f, payload, err
}

// TestHandshake: the subprotocol is mandatory (TS-0020 6.2.2.8), matched
// case-insensitively with the Release 2 aliases, in the client's order of
// preference, from one header or several; the answer echoes the client's
// spelling.
func TestHandshake(t *testing.T) {
	c := testcse.Start(t, nil)
	addr := c.Server.HTTPAddr()
	for _, tc := range []struct {
		offer []string
		want  string // "" → refused with 400
	}{
		{[]string{"oneM2M.json"}, "oneM2M.json"},
		{[]string{"oneM2M.cbor"}, "oneM2M.cbor"},
		{[]string{"onem2m.JSON"}, "onem2m.JSON"},
		{[]string{"oneM2M.R2.0.json"}, "oneM2M.R2.0.json"},
		{[]string{"onem2m.r2.0.cbor"}, "onem2m.r2.0.cbor"},
		{[]string{"oneM2M.xml, oneM2M.cbor"}, "oneM2M.cbor"},
		{[]string{"oneM2M.cbor, oneM2M.json"}, "oneM2M.cbor"},
		{[]string{"oneM2M.xml", "oneM2M.json"}, "oneM2M.json"},
		{nil, ""},
		{[]string{"oneM2M.xml"}, ""},
		{[]string{"chat, superchat"}, ""},
	} {
		_, status, h := rawDial(t, addr, tc.offer...)
		switch {
		case tc.want == "" && status != http.StatusBadRequest:
			t.Errorf("%q: status %d, want 400", tc.offer, status)
		case tc.want != "" && (status != http.StatusSwitchingProtocols || h.Get("Sec-WebSocket-Protocol") != tc.want):
			t.Errorf("%q: status %d protocol %q, want 101 %q", tc.offer, status, h.Get("Sec-WebSocket-Protocol"), tc.want)
		}
	}
	// The HTTP binding still answers plain requests on the same listener.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "CAdmin"}).Must(t, 2000)
}

// TestPlainClient: registration and a request over hand-written frames;
// ping answered with pong; a close answered with a close.
func TestPlainClient(t *testing.T) {
	c := testcse.Start(t, nil)
	rc, status, _ := rawDial(t, c.Server.HTTPAddr(), "oneM2M.json")
	if status != 101 {
		t.Fatalf("status %d", status)
	}
	exchange := func(doc string) map[string]any {
		t.Helper()
		rc.writeFrame(t, 0x1, []byte(doc))
		op, payload, err := rc.readFrame()
		if err != nil || op != 0x1 {
			t.Fatalf("frame %x %q %v: want a text frame (TS-0020 Table 6.2.2.9-1)", op, payload, err)
		}
		m, err := codec.Decode(codec.JSON, payload)
		if err != nil {
			t.Fatalf("%q: %v", payload, err)
		}
		return m
	}
	m := exchange(`{"op":1,"to":"cse-in","fr":"C","rqi":"A1000","rvi":"3","ty":2,"pc":{"m2m:ae":{"rn":"plain","api":"Na56","rr":false,"srv":["3"]}}}`)
	ae, _ := m["pc"].(map[string]any)["m2m:ae"].(map[string]any)
	if m["rsc"] != int64(2001) || m["rqi"] != "A1000" || m["rvi"] != "3" || ae["aei"] == nil {
		t.Fatalf("registration answer %v", m)
	}
	aei := ae["aei"].(string)
	m = exchange(`{"op":1,"to":"cse-in/plain","fr":"` + aei + `","rqi":"A1001","rvi":"3","ty":3,"pc":{"m2m:cnt":{"rn":"c1","mni":500}}}`)
	if m["rsc"] != int64(2001) || m["rqi"] != "A1001" {
		t.Fatalf("container answer %v", m)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/plain/c1", From: aei}).Must(t, 2000)

	rc.writeFrame(t, 0x9, []byte("hi"))
	if op, payload, err := rc.readFrame(); err != nil || op != 0xA || string(payload) != "hi" {
		t.Fatalf("ping answered with %x %q %v, want pong", op, payload, err)
	}
	rc.writeFrame(t, 0x8, []byte{0x03, 0xE8})
	if op, _, err := rc.readFrame(); err != nil || op != 0x8 {
		t.Fatalf("close answered with %x %v", op, err)
	}
}

// TestCBORBinaryFrames: a CBOR connection answers in binary frames, in CBOR.
func TestCBORBinaryFrames(t *testing.T) {
	c := testcse.Start(t, nil)
	rc, _, _ := rawDial(t, c.Server.HTTPAddr(), "oneM2M.cbor")
	doc, _ := codec.Encode(codec.CBOR, map[string]any{"op": 2, "to": "cse-in", "fr": "CAdmin", "rqi": "b1", "rvi": "3"})
	rc.writeFrame(t, 0x2, doc)
	op, payload, err := rc.readFrame()
	if err != nil || op != 0x2 {
		t.Fatalf("frame %x %v: want binary", op, err)
	}
	m, err := codec.Decode(codec.CBOR, payload)
	if err != nil || m["rsc"] != int64(2000) || m["rqi"] != "b1" {
		t.Fatalf("%v %v", m, err)
	}
	if cb, _ := m["pc"].(map[string]any)["m2m:cb"].(map[string]any); cb["csi"] != "/id-in" {
		t.Fatalf("content %v", m["pc"])
	}
}

// TestBadMessages: what cannot be read is answered 4000, with the rqi when it
// could be read, and changes nothing.
func TestBadMessages(t *testing.T) {
	c := testcse.Start(t, nil)
	w := testcse.DialWS(t, c, "oneM2M.json")
	for _, tc := range []struct {
		doc   map[string]any
		rsc   int
		names string
	}{
		{map[string]any{"op": 1, "to": "cse-in", "fr": "CAdmin", "rqi": "x1", "ty": 3, "pc": map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, "bogus": 1}, 4000, "bogus"},
		{map[string]any{"op": "1", "to": "cse-in", "fr": "CAdmin", "rqi": "x2", "ty": 3, "pc": map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}}, 4000, "op"},
		{map[string]any{"op": 1, "to": "cse-in", "fr": "CAdmin", "rqi": "x3", "ty": 3, "pc": map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, "rvi": 3}, 4000, "rvi"},
		{map[string]any{"op": 1, "to": "cse-in", "fr": "CAdmin", "rqi": "x4", "rvi": "9", "ty": 3, "pc": map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}}, 4001, ""},
		{map[string]any{"op": 1, "to": "cse-in", "fr": "CAdmin", "rqi": "x5", "ty": 3, "rqet": "20000101T000000", "pc": map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}}, 4008, ""},
	} {
		r := w.SendRaw(t, tc.doc)
		if r.RSC != tc.rsc || r.RQI != tc.doc["rqi"] || !strings.Contains(string(r.Raw), tc.names) {
			t.Errorf("%v: %d %s, want %d naming %q", tc.doc, r.RSC, r.Raw, tc.rsc, tc.names)
		}
	}
	// Not JSON at all: 4000 without an rqi to echo.
	rc, _, _ := rawDial(t, c.Server.HTTPAddr(), "oneM2M.json")
	rc.writeFrame(t, 0x1, []byte(`{"op":1,`))
	_, payload, err := rc.readFrame()
	if m, _ := codec.Decode(codec.JSON, payload); err != nil || m["rsc"] != int64(4000) {
		t.Fatalf("%q %v", payload, err)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/c", From: "CAdmin"}).Must(t, 4004)
}

// TestConcurrentRequests: many requests in flight on one connection, each
// answered to its own rqi.
func TestConcurrentRequests(t *testing.T) {
	c := testcse.Start(t, nil)
	w := testcse.DialWS(t, c, "oneM2M.json")
	aei := w.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "conc", "api": "Nx", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
	w.Send(t, testcse.Msg{Op: 1, To: "cse-in/conc", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "d"}}}).Must(t, 2001)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := w.Send(t, testcse.Msg{Op: 1, To: "cse-in/conc/d", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": fmt.Sprint(i)}}})
			if r.RSC != 2001 || r.Res("m2m:cin")["con"] != fmt.Sprint(i) {
				t.Errorf("request %d answered %d %s", i, r.RSC, r.Raw)
			}
		}()
	}
	wg.Wait()
	if cni := w.Send(t, testcse.Msg{Op: 2, To: "cse-in/conc/d", From: aei}).Must(t, 2000).Res("m2m:cnt")["cni"]; cni != int64(n) {
		t.Fatalf("cni %v", cni)
	}
}

// TestSend: a request of the CSE (a notification) reaches the AE over the
// connection it registered on, in its serialisation, and its answer comes
// back; a reconnecting AE takes its route with it.
func TestSend(t *testing.T) {
	for _, proto := range []string{"oneM2M.json", "oneM2M.cbor"} {
		t.Run(proto, func(t *testing.T) {
			c := testcse.Start(t, nil)
			w := testcse.DialWS(t, c, proto)
			got := make(chan map[string]any, 1)
			w.OnRequest = func(req map[string]any) (int, map[string]any) {
				got <- req
				return 2000, nil
			}
			aei := w.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "n", "api": "Nx", "rr": true, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
			b := c.Server.WebSocket()
			notify := func(to, rqi string) (*primitive.Response, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req := primitive.NewRequest()
				req.Op, req.To, req.From, req.RQI, req.RVI = primitive.OpNotify, aei, "/id-in", rqi, "3"
				req.Content = map[string]any{"m2m:sgn": map[string]any{"sur": "/id-in/sub1", "nev": map[string]any{"net": int64(1)}}}
				return b.Send(ctx, to, req)
			}
			for i, to := range []string{aei, "/id-in/" + aei} {
				resp, err := notify(to, fmt.Sprint("n", i))
				if err != nil || resp.RSC != 2000 || resp.RQI != fmt.Sprint("n", i) {
					t.Fatalf("send to %s: %+v %v", to, resp, err)
				}
				req := <-got
				if req["op"] != int64(5) || req["rqi"] != fmt.Sprint("n", i) || req["pc"].(map[string]any)["m2m:sgn"] == nil {
					t.Fatalf("the AE received %v", req)
				}
			}
			if _, err := notify("Cnobody", "n9"); primitive.ErrorRSC(err) != primitive.RSCTargetNotReachable {
				t.Fatalf("send to an unconnected AE: %v", err)
			}
			// Reconnected: the From of its first request moves the route.
			w.Close()
			w2 := testcse.DialWS(t, c, proto)
			w2.OnRequest = w.OnRequest
			if _, err := notify(aei, "n10"); primitive.ErrorRSC(err) != primitive.RSCTargetNotReachable {
				t.Fatalf("send after the AE left: %v", err)
			}
			w2.Send(t, testcse.Msg{Op: 2, To: "cse-in/n", From: aei}).Must(t, 2000)
			if resp, err := notify(aei, "n11"); err != nil || resp.RSC != 2000 {
				t.Fatalf("send after the AE came back: %+v %v", resp, err)
			}
			<-got
		})
	}
}

// fakeCore answers every request 2000.
type fakeCore struct{}

func (fakeCore) Handle(_ context.Context, req *primitive.Request) *primitive.Response {
	return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI, RVI: req.RVI}
}

// TestKeepAlive: a peer that answers pings stays; one that does not is
// dropped after the ping interval.
func TestKeepAlive(t *testing.T) {
	b := ws.New(fakeCore{}, ws.Options{PingInterval: 100 * time.Millisecond})
	srv := httptest.NewServer(b)
	defer srv.Close()
	defer b.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	// A library client answers pings while it reads.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	good, _, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{Subprotocols: []string{"oneM2M.json"}})
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() { _, _, err := good.Read(ctx); readErr <- err }()

	// A raw client that never answers.
	rc, _, _ := rawDial(t, addr, "oneM2M.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		op, _, err := rc.readFrame()
		if err != nil || op == 0x8 {
			break // closed by the server
		}
		if op != 0x9 || time.Now().After(deadline) {
			t.Fatalf("frame %x, err %v", op, err)
		}
	}
	select {
	case err := <-readErr:
		t.Fatalf("the answering client was dropped: %v", err)
	case <-time.After(400 * time.Millisecond):
	}
	// Still usable.
	if err := good.Write(ctx, websocket.MessageText, []byte(`{"op":2,"to":"x","fr":"C","rqi":"k1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("no answer: %v", err)
	}
	good.CloseNow()
}

// TestDisabled: with websocket off, a handshake is an ordinary HTTP request
// to the HTTP binding.
func TestDisabled(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.WebSocket = false })
	if c.Server.WebSocket() != nil {
		t.Fatal("binding on")
	}
	_, status, _ := rawDial(t, c.Server.HTTPAddr(), "oneM2M.json")
	if status == http.StatusSwitchingProtocols {
		t.Fatal("upgraded")
	}
}

// slowCore answers after a delay; started (if not nil) gets a value when a
// request reaches it.
type slowCore struct {
	d       time.Duration
	started chan struct{}
}

func (s slowCore) Handle(_ context.Context, req *primitive.Request) *primitive.Response {
	if s.started != nil {
		s.started <- struct{}{}
	}
	time.Sleep(s.d)
	return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI, RVI: req.RVI}
}

// TestCloseAnswersFirst: on shutdown, a request under way is answered before
// the connection closes with 1001.
func TestCloseAnswersFirst(t *testing.T) {
	started := make(chan struct{}, 1)
	b := ws.New(slowCore{300 * time.Millisecond, started}, ws.Options{})
	srv := httptest.NewServer(b)
	defer srv.Close()
	rc, _, _ := rawDial(t, strings.TrimPrefix(srv.URL, "http://"), "oneM2M.json")
	rc.writeFrame(t, 0x1, []byte(`{"op":2,"to":"x","fr":"C","rqi":"slow1"}`))
	select {
	case <-started: // under way (not guessed from a pause)
	case <-time.After(30 * time.Second):
		t.Fatal("the request never reached the core")
	}
	go b.Close()
	op, payload, err := rc.readFrame()
	if m, _ := codec.Decode(codec.JSON, payload); err != nil || op != 0x1 || m["rqi"] != "slow1" {
		t.Fatalf("first frame %x %q %v, want the answer", op, payload, err)
	}
	op, payload, err = rc.readFrame()
	if err != nil || op != 0x8 || len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1001 {
		t.Fatalf("then %x %q %v, want close 1001", op, payload, err)
	}
}
