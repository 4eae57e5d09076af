package http

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// specHTTPStatus is TS-0009 V3.9.1 Table 6.3.2-1, copied independently of
// primitive/rsc.tsv (from which the code is generated) so that a typo in the
// data table cannot hide. 4128 has no row in that table: onecse answers 403,
// as for the other "not permitted" codes of its family.
var specHTTPStatus = map[int]int{
	1000: 202, 1001: 202, 1002: 202, 2000: 200, 2001: 201, 2002: 200, 2004: 200, 4000: 400, 4001: 501,
	4004: 404, 4005: 405, 4008: 504, 4015: 415, 4101: 403, 4102: 400, 4103: 403, 4104: 409, 4105: 409,
	4106: 403, 4107: 403, 4108: 403, 4109: 403, 4110: 400, 4111: 403, 4112: 403, 4113: 403, 4114: 403,
	4115: 403, 4116: 403, 4117: 403, 4118: 404, 4119: 404, 4120: 400, 4121: 404, 4122: 400, 4123: 400,
	4124: 409, 4125: 501, 4126: 403, 4127: 403, 4143: 400, 5000: 500, 5001: 501, 5103: 404, 5105: 403,
	5106: 409, 5107: 404, 5203: 403, 5204: 500, 5205: 403, 5206: 501, 5207: 406, 5208: 403, 5209: 500,
	5210: 500, 5211: 500, 5212: 500, 5214: 403, 5215: 403, 5216: 500, 5217: 500, 5218: 403, 5219: 409,
	5220: 409, 5221: 500, 5222: 403, 6003: 404, 6005: 404, 6010: 400, 6020: 500, 6021: 500, 6022: 400,
	6023: 400, 6024: 400, 6025: 500, 6026: 500, 6028: 409, 6029: 409, 6030: 504, 6031: 504,
	4128: 403,
}

// rscTable reads primitive/rsc.tsv: code → HTTP status.
func rscTable(t *testing.T) map[int]int {
	t.Helper()
	data, err := os.ReadFile("../../primitive/rsc.tsv")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("rsc.tsv: bad line %q", line)
		}
		code, err1 := strconv.Atoi(f[0])
		status, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			t.Fatalf("rsc.tsv: bad line %q", line)
		}
		out[code] = status
	}
	return out
}

// fixedCore answers every request with one response.
type fixedCore struct {
	resp func(*primitive.Request) *primitive.Response
}

func (f fixedCore) Handle(_ context.Context, req *primitive.Request) *primitive.Response {
	r := f.resp(req)
	r.RQI, r.RVI = req.RQI, req.RVI
	return r
}

// serve runs the binding for core on 127.0.0.1:0 and returns its base URL.
func serve(t *testing.T, core Handler, opt Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(New(core, opt))
	go s.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return "http://" + l.Addr().String()
}

// TestStatusMapping sends, over real HTTP, a response with every code of
// rsc.tsv and checks the status line against TS-0009 Table 6.3.2-1 and the
// exact code in X-M2M-RSC (TS-0009 6.3.2, 6.4.17).
func TestStatusMapping(t *testing.T) {
	table := rscTable(t)
	if len(table) != len(specHTTPStatus) {
		t.Errorf("rsc.tsv has %d codes, the specification table %d", len(table), len(specHTTPStatus))
	}
	for code, want := range specHTTPStatus {
		if got, ok := table[code]; !ok || got != want {
			t.Errorf("rsc.tsv maps %d to HTTP %d (present: %v), TS-0009 says %d", code, got, ok, want)
		}
	}
	var current atomic.Int64 // the code to answer with (set by the test, read by the server)
	url := serve(t, fixedCore{func(*primitive.Request) *primitive.Response {
		rsc := primitive.RSC(current.Load())
		r := &primitive.Response{RSC: rsc}
		if !rsc.Success() {
			r.PC = map[string]any{"m2m:dbg": "test " + strconv.Itoa(int(rsc))}
		}
		return r
	}}, Options{})
	// Codes outside the table map by class.
	extra := map[int]int{2999: 200, 4999: 400, 5999: 500, 6999: 500, 3000: 500, 1999: 500}
	for code, want := range table {
		extra[code] = want
	}
	for code, want := range extra {
		current.Store(int64(code))
		if got := primitive.RSC(code).HTTPStatus(); got != want {
			t.Errorf("RSC(%d).HTTPStatus() = %d, want %d", code, got, want)
		}
		req, _ := http.NewRequest("GET", url+"/cse-in", nil)
		req.Header["X-M2M-RI"] = []string{"r" + strconv.Itoa(code)}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("X-M2M-RSC") != strconv.Itoa(code) || resp.Header.Get("X-M2M-RI") != "r"+strconv.Itoa(code) {
			t.Errorf("RSC %d: HTTP %d, X-M2M-RSC %q, X-M2M-RI %q; want HTTP %d", code, resp.StatusCode, resp.Header.Get("X-M2M-RSC"), resp.Header.Get("X-M2M-RI"), want)
		}
	}
}

// TestResponseHeadersOnTheWire: every response parameter the core sets leaves
// in its header, spelled as TS-0009 spells it (read from the raw bytes).
func TestResponseHeadersOnTheWire(t *testing.T) {
	rset := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	url := serve(t, fixedCore{func(*primitive.Request) *primitive.Response {
		return &primitive.Response{RSC: primitive.RSCCreated, From: "/id-in", OT: "20250102T030405", RSET: rset,
			EC: 3, VSI: "onecse-test", CNST: 1, CNOT: 11, Location: "cse-in/ae1/cnt1",
			PC: map[string]any{"m2m:cnt": map[string]any{"rn": "cnt1", "f": 1.0}}}
	}}, Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /cse-in HTTP/1.1\r\nHost: x\r\nX-M2M-RI: wire-1\r\nX-M2M-RVI: 3\r\nAccept: application/vnd.onem2m-res+json\r\n\r\n")
	head, body := readRaw(t, conn)
	for _, want := range []string{
		"HTTP/1.1 201 Created\r\n", "\r\nX-M2M-RSC: 2001\r\n", "\r\nX-M2M-RI: wire-1\r\n", "\r\nX-M2M-RVI: 3\r\n",
		"\r\nX-M2M-Origin: /id-in\r\n", "\r\nX-M2M-OT: 20250102T030405\r\n", "\r\nX-M2M-RST: 20300102T030405,000000\r\n",
		"\r\nX-M2M-EC: 3\r\n", "\r\nX-M2M-VSI: onecse-test\r\n", "\r\nX-M2M-CTS: 1\r\n", "\r\nX-M2M-CTO: 11\r\n",
		"\r\nContent-Location: /cse-in/ae1/cnt1\r\n", "\r\nContent-Type: application/vnd.onem2m-res+json\r\n",
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("response head lacks %q:\n%s", want, head)
		}
	}
	if string(body) != `{"m2m:cnt":{"f":1.0,"rn":"cnt1"}}` {
		t.Errorf("body %s", body)
	}
}

// readRaw reads one HTTP response from conn: the head as text and the body
// by its Content-Length (failing when there is none).
func readRaw(t *testing.T, conn net.Conn) (string, []byte) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var head strings.Builder
	length := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		t.Fatalf("no Content-Length in\n%s", head.String())
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("reading %d body bytes: %v", length, err)
	}
	return head.String(), body
}

// TestEncodeFailureIs5000: content the codec cannot write is a 5000 answer,
// with headers that still agree with the body.
func TestEncodeFailureIs5000(t *testing.T) {
	url := serve(t, fixedCore{func(*primitive.Request) *primitive.Response {
		return &primitive.Response{RSC: primitive.RSCOK, PC: map[string]any{"m2m:x": make(chan int)}}
	}}, Options{})
	req, _ := http.NewRequest("GET", url+"/cse-in", nil)
	req.Header["X-M2M-RI"] = []string{"e1"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m, derr := codec.Decode(codec.JSON, body)
	if resp.StatusCode != 500 || resp.Header.Get("X-M2M-RSC") != "5000" || resp.Header.Get("X-M2M-RI") != "e1" || derr != nil || m["m2m:dbg"] == nil {
		t.Errorf("HTTP %d, RSC %q, RI %q, body %s (%v)", resp.StatusCode, resp.Header.Get("X-M2M-RSC"), resp.Header.Get("X-M2M-RI"), body, derr)
	}
}
