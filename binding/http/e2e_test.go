package http_test

// Black-box tests of the HTTP binding: a whole onecse in-process on
// 127.0.0.1:0 (internal/testcse), spoken to over real HTTP, and over raw TCP
// where Go's client would hide what is on the wire.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

const admin = "CAdmin"

// fixture is a CSE with one AE (ae1), a container (cnt1) holding one
// contentInstance, and the AE's originator.
type fixture struct {
	c      *testcse.CSE
	aei    string
	cntRI  string
	maxBod int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := testcse.Start(t, func(cfg *config.Config) { cfg.MaxBody = 4000 })
	f := &fixture{c: c, maxBod: 4000}
	f.aei = c.RegisterAE("ae1")
	cnt := c.Create(f.aei, "/cse-in/ae1", 3, "m2m:cnt", map[string]any{"rn": "cnt1", "lbl": []string{"keep"}})
	f.cntRI = cnt["ri"].(string)
	c.Create(f.aei, "/cse-in/ae1/cnt1", 4, "m2m:cin", map[string]any{"rn": "first", "con": "v1"})
	return f
}

// snapshot is the state a bad request must leave alone: the AE and the
// container with their children, as the admin sees them.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/cse-in?rcn=4", "/cse-in/ae1?rcn=4", "/cse-in/ae1/cnt1?rcn=4"} {
		r := f.c.Do(testcse.Req{Method: "GET", Path: p, From: admin}).Must(t, 2000)
		b.Write(r.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// checkAnswer asserts the exact RSC, the HTTP status of TS-0009 Table
// 6.3.2-1, and the headers every answer has.
func checkAnswer(t *testing.T, name string, r *testcse.Resp, rsc, status int) {
	t.Helper()
	if r.RSC != rsc || r.Status != status {
		t.Errorf("%s: rsc %d HTTP %d, want rsc %d HTTP %d: %s", name, r.RSC, r.Status, rsc, status, r.Body)
	}
	if r.Header.Get("Content-Length") != strconv.Itoa(len(r.Body)) {
		t.Errorf("%s: Content-Length %q for %d body bytes", name, r.Header.Get("Content-Length"), len(r.Body))
	}
	if rsc >= 4000 {
		if _, ok := r.JSON["m2m:dbg"].(string); !ok {
			t.Errorf("%s: error without m2m:dbg: %s", name, r.Body)
		}
	}
}

func cbor(t *testing.T, v any) []byte {
	t.Helper()
	b, err := codec.Encode(codec.CBOR, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadInput: each malformed or refused request gets its exact code and
// HTTP status, and changes nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot(t)
	cin := "/cse-in/ae1/cnt1"
	deep := strings.Repeat("[", codec.MaxDepth) + strings.Repeat("]", codec.MaxDepth)
	deepCBOR := append([]byte{0xa1, 0x67}, "m2m:cin"...)
	deepCBOR = append(deepCBOR, 0xa1, 0x63, 'c', 'o', 'n')
	for i := 0; i < codec.MaxDepth; i++ {
		deepCBOR = append(deepCBOR, 0x81)
	}
	deepCBOR = append(deepCBOR, 0x00)
	// {"m2m:cin": {"con": "a", "con": "b"}} with the key written twice.
	dupCBOR := append([]byte{0xa1, 0x67}, "m2m:cin"...)
	dupCBOR = append(dupCBOR, 0xa2, 0x63, 'c', 'o', 'n', 0x61, 'a', 0x63, 'c', 'o', 'n', 0x61, 'b')
	// The largest body accepted is 4000 bytes; this one is 4001.
	pad := strings.Repeat("x", int(f.maxBod)-len(`{"m2m:cin":{"con":""}}`)+1)
	tooBig := `{"m2m:cin":{"con":"` + pad + `"}}`
	if len(tooBig) != int(f.maxBod)+1 {
		t.Fatalf("tooBig is %d bytes", len(tooBig))
	}
	past := primitive.FormatTime(time.Now().Add(-time.Hour))

	for _, tc := range []struct {
		name        string
		req         testcse.Req
		rsc, status int
	}{
		{"malformed JSON", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `{"m2m:cin":{"con":"x"`}, 4000, 400},
		{"malformed CBOR", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: []byte{0xa1, 0x67, 'm', '2', 'm'}}, 4000, 400},
		{"trailing garbage after JSON", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `{"m2m:cin":{"con":"x"}} garbage`}, 4000, 400},
		{"trailing bytes after CBOR", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: append(cbor(t, map[string]any{"m2m:cin": map[string]any{"con": "x"}}), 0)}, 4000, 400},
		{"JSON top level an array", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `[{"m2m:cin":{"con":"x"}}]`}, 4000, 400},
		{"JSON top level a string", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `"m2m:cin"`}, 4000, 400},
		{"CBOR top level an array", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: cbor(t, []any{"x"})}, 4000, 400},
		{"CBOR integer map key", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: cbor(t, map[any]any{1: map[string]any{"con": "x"}})}, 4000, 400},
		{"CBOR integer key inside", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: cbor(t, map[string]any{"m2m:cin": map[any]any{7: "x"}})}, 4000, 400},
		{"CBOR duplicate key", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: dupCBOR}, 4000, 400},
		{"JSON duplicate key", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `{"m2m:cin":{"con":"a","con":"b"}}`}, 4000, 400},
		{"JSON nested too deep", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: `{"m2m:cin":{"con":` + deep + `}}`}, 4000, 400},
		{"CBOR nested too deep", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/cbor", Body: deepCBOR}, 4000, 400},
		{"body over max-body", testcse.Req{Method: "POST", Path: cin, Ty: 4, Body: tooBig}, 4000, 400},
		{"unsupported Content-Type", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "text/plain", Body: `con=x`}, 4015, 415},
		{"XML Content-Type", testcse.Req{Method: "POST", Path: cin, Ty: 4, ContentType: "application/xml", Body: `<m2m:cin><con>x</con></m2m:cin>`}, 4015, 415},
		{"body without Content-Type", testcse.Req{Method: "PUT", Path: cin, ContentType: " ", Body: `{"m2m:cnt":{"lbl":["x"]}}`}, 4015, 415},
		{"Accept only XML", testcse.Req{Method: "POST", Path: cin, Ty: 4, Accept: "application/xml", Body: `{"m2m:cin":{"con":"x"}}`}, 5207, 406},
		{"missing X-M2M-Origin", testcse.Req{Method: "POST", Path: cin, From: "-", Ty: 4, Body: `{"m2m:cin":{"con":"x"}}`}, 4000, 400},
		{"missing X-M2M-RI", testcse.Req{Method: "POST", Path: cin, NoRI: true, Ty: 4, Body: `{"m2m:cin":{"con":"x"}}`}, 4000, 400},
		{"unknown resource", testcse.Req{Method: "GET", Path: "/cse-in/ae1/nope"}, 4004, 404},
		{"CREATE under an unknown parent", testcse.Req{Method: "POST", Path: "/cse-in/ae1/nope", Ty: 4, Body: `{"m2m:cin":{"con":"x"}}`}, 4004, 404},
		{"rcn=abc", testcse.Req{Method: "DELETE", Path: cin + "?rcn=abc"}, 4000, 400},
		{"rcn=99", testcse.Req{Method: "DELETE", Path: cin + "?rcn=99"}, 4000, 400},
		{"drt=3", testcse.Req{Method: "GET", Path: "/cse-in?fu=1&drt=3"}, 4000, 400},
		{"fu=9", testcse.Req{Method: "DELETE", Path: cin + "?fu=9"}, 4000, 400},
		{"lim=-1", testcse.Req{Method: "GET", Path: "/cse-in?fu=1&lim=-1"}, 4000, 400},
		{"crb=notatime", testcse.Req{Method: "DELETE", Path: cin + "?crb=notatime"}, 4000, 400},
		{"malformed percent-encoding in the query", testcse.Req{Method: "DELETE", Path: cin + "?rcn=%zz"}, 4000, 400},
		{"unknown method PATCH", testcse.Req{Method: "PATCH", Path: cin, Body: `{"m2m:cnt":{"lbl":["x"]}}`}, 4005, 405},
		{"unknown method FOO", testcse.Req{Method: "FOO", Path: cin}, 4005, 405},
		{"release 9", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RVI": "9"}}, 4001, 501},
		{"X-M2M-RET in the past", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RET": past}}, 4008, 504},
		{"X-M2M-RET relative in the past", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RET": "-1000"}}, 4008, 504},
		{"X-M2M-RST in the past", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RST": past}}, 4008, 504},
		{"X-M2M-RET malformed", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RET": "tomorrow"}}, 4000, 400},
		{"X-M2M-OT malformed", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-OT": "2025-01-01"}}, 4000, 400},
		{"X-M2M-EC out of range", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-EC": "1000"}}, 4000, 400},
		{"X-M2M-RTU without rt=2", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-RTU": "http://127.0.0.1:1/n"}}, 4000, 400},
		{"rt=5 (noResponse)", testcse.Req{Method: "DELETE", Path: cin + "?rt=5"}, 5001, 501},
		{"rt=1 with X-M2M-RTU", testcse.Req{Method: "DELETE", Path: cin + "?rt=1", Header: map[string]string{"X-M2M-RTU": "http://127.0.0.1:1/n"}}, 4000, 400},
		{"authorization signatures", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"X-M2M-AS": "i6watmQQQ1y3"}}, 5001, 501},
		{"tokens", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"Authorization": "eyJ0eXAiOiJK.eyJpc3MiOiJqb2UiLA0KIC.dBjftJeZ4CVP"}}, 5001, 501},
		{"unsupported filter condition", testcse.Req{Method: "DELETE", Path: cin + "?smf=a"}, 5001, 501},
		{"malformed labels query", testcse.Req{Method: "DELETE", Path: cin + "?lbq=a%20LT%20b"}, 4000, 400},
		{"content query without syntax", testcse.Req{Method: "DELETE", Path: cin + "?cfq=%24.a"}, 4000, 400},
		{"semantic query", testcse.Req{Method: "GET", Path: "/cse-in?fu=1&sqi=true"}, 5001, 501},
		{"ty on PUT", testcse.Req{Method: "PUT", Path: cin, Ty: 3, Body: `{"m2m:cnt":{"lbl":["x"]}}`}, 4000, 400},
		{"ty not a number", testcse.Req{Method: "POST", Path: cin, ContentType: "application/json;ty=cin", Body: `{"m2m:cin":{"con":"x"}}`}, 4000, 400},
		{"DELETE with a body", testcse.Req{Method: "DELETE", Path: cin, Body: `{"m2m:cnt":{}}`}, 4000, 400},
		{"RETRIEVE with content", testcse.Req{Method: "GET", Path: cin, Body: `{"m2m:cnt":{}}`}, 4000, 400},
		{"atrl on UPDATE", testcse.Req{Method: "PUT", Path: cin + "?atrl=lbl", Body: `{"m2m:cnt":{"lbl":["x"]}}`}, 4000, 400},
		{"encoded slash", testcse.Req{Method: "DELETE", Path: "/cse-in/ae1%2Fcnt1"}, 4000, 400},
		{"encoded fragment", testcse.Req{Method: "DELETE", Path: "/cse-in/ae1/cnt1%23lbl"}, 4000, 400},
		{"wrong CSE-ID", testcse.Req{Method: "DELETE", Path: "/~/id-other/cse-in/ae1/cnt1"}, 4004, 404},
		{"wrong SP-ID", testcse.Req{Method: "DELETE", Path: "/_/other.example/id-in/cse-in/ae1/cnt1"}, 4004, 404},
		{"wrong CSEBase name", testcse.Req{Method: "DELETE", Path: "/cse-other/ae1/cnt1"}, 4004, 404},
		{"wrong CSEBase name, SP-relative", testcse.Req{Method: "DELETE", Path: "/~/id-in/cse-other/ae1/cnt1"}, 4004, 404},
		{"POST without ty is a NOTIFY", testcse.Req{Method: "POST", Path: cin, Body: `{"m2m:cin":{"con":"x"}}`}, 4005, 405},
		{"two different originators", testcse.Req{Method: "DELETE", Path: cin, Header: map[string]string{"x-m2m-origin": "Cother"}}, 4000, 400},
	} {
		if tc.req.From == "" {
			tc.req.From = f.aei
		}
		r := f.c.Do(tc.req)
		checkAnswer(t, tc.name, r, tc.rsc, tc.status)
		if tc.rsc == 4005 && tc.req.Method != "POST" && r.Header.Get("Allow") != "GET, POST, PUT, DELETE" {
			t.Errorf("%s: Allow %q", tc.name, r.Header.Get("Allow"))
		}
		if !tc.req.NoRI && r.Header.Get("X-M2M-RI") == "" {
			t.Errorf("%s: X-M2M-RI not echoed", tc.name)
		}
		if after := f.snapshot(t); after != before {
			t.Fatalf("%s changed the resources:\nbefore %s\nafter  %s", tc.name, before, after)
		}
	}
}

// TestMaxBodyBoundary: a body of exactly --max-body bytes is served.
func TestMaxBodyBoundary(t *testing.T) {
	f := newFixture(t)
	pad := strings.Repeat("y", int(f.maxBod)-len(`{"m2m:cin":{"con":""}}`))
	body := `{"m2m:cin":{"con":"` + pad + `"}}`
	r := f.c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae1/cnt1", From: f.aei, Ty: 4, Body: body})
	checkAnswer(t, "body of max-body bytes", r, 2001, 201)
	if got := r.Res("m2m:cin")["cs"]; got != int64(len(pad)) {
		t.Errorf("cs = %v, want %d", got, len(pad))
	}
}

// rawExchange writes requests on one connection and reads each answer by its
// Content-Length: a missing Content-Length fails, and so does a wrong one (the
// next answer would not parse).
func rawExchange(t *testing.T, addr string, reqs []string) []rawResp {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var out []rawResp
	for _, req := range reqs {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		var head strings.Builder
		length := -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the answer to %q: %v (so far %q)", req, err, head.String())
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
			t.Fatalf("no Content-Length in the answer to %q:\n%s", req, head.String())
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatal(err)
		}
		out = append(out, rawResp{head: head.String(), body: body})
	}
	return out
}

type rawResp struct {
	head string
	body []byte
}

func (r rawResp) has(line string) bool { return strings.Contains(r.head, "\r\n"+line+"\r\n") }

// TestWire reads the raw bytes: header names spelled exactly as TS-0009 does
// (Go's client would canonicalise them to X-M2m-Rsc), Content-Length on every
// answer (with content, error, empty), lower-case request headers understood,
// and a request without X-M2M-RVI served as Release 1.
func TestWire(t *testing.T) {
	c := testcse.Start(t, nil)
	addr := strings.TrimPrefix(c.URL, "http://")
	ae := `{"m2m:ae":{"rn":"wire","api":"Nwire","rr":false,"srv":["3"]}}`
	cnt := `{"m2m:cnt":{"rn":"c"}}`
	resps := rawExchange(t, addr, []string{
		"POST /cse-in HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RI: raw-1\r\nX-M2M-RVI: 3\r\n" +
			"Content-Type: application/json;ty=2\r\nContent-Length: " + strconv.Itoa(len(ae)) + "\r\n\r\n" + ae,
		// No X-M2M-RVI: Release 1, served. Lower-case names: headers are case-insensitive.
		"GET /cse-in/wire HTTP/1.1\r\nhost: x\r\nx-m2m-origin: Cwire\r\nx-m2m-ri: raw-2\r\n\r\n",
		// rcn=0: an answer without content.
		"POST /cse-in/wire?rcn=0 HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RI: raw-3\r\nX-M2M-RVI: 3\r\n" +
			"Content-Type: application/json; ty=3\r\nContent-Length: " + strconv.Itoa(len(cnt)) + "\r\n\r\n" + cnt,
		"GET /cse-in/wire/nope HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RI: raw-4\r\nX-M2M-RVI: 3\r\n\r\n",
		"DELETE /cse-in/wire/c HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RI: raw-5\r\nX-M2M-RVI: 3\r\n\r\n",
		"PATCH /cse-in/wire HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RI: raw-6\r\nX-M2M-RVI: 3\r\nContent-Length: 0\r\n\r\n",
		"GET /cse-in/wire HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cwire\r\nX-M2M-RVI: 3\r\n\r\n",
	})
	for i, want := range []struct {
		status, rsc, ri string
		rvi             bool
		body            bool
	}{
		{"201 Created", "2001", "raw-1", true, true},
		{"200 OK", "2000", "raw-2", false, true},
		{"201 Created", "2001", "raw-3", true, false},
		{"404 Not Found", "4004", "raw-4", true, true},
		{"200 OK", "2002", "raw-5", true, false},
		{"405 Method Not Allowed", "4005", "raw-6", true, true},
		{"400 Bad Request", "4000", "", true, true},
	} {
		r := resps[i]
		if !strings.HasPrefix(r.head, "HTTP/1.1 "+want.status+"\r\n") {
			t.Errorf("answer %d: status line %q", i+1, strings.SplitN(r.head, "\r\n", 2)[0])
		}
		if !r.has("X-M2M-RSC: " + want.rsc) {
			t.Errorf("answer %d: no exact %q line:\n%s", i+1, "X-M2M-RSC: "+want.rsc, r.head)
		}
		if want.ri != "" && !r.has("X-M2M-RI: "+want.ri) {
			t.Errorf("answer %d: no exact X-M2M-RI line:\n%s", i+1, r.head)
		}
		if want.rvi != r.has("X-M2M-RVI: 3") {
			t.Errorf("answer %d: X-M2M-RVI present %v, want %v:\n%s", i+1, !want.rvi, want.rvi, r.head)
		}
		if want.body != (len(r.body) > 0) || !r.has("Content-Length: "+strconv.Itoa(len(r.body))) {
			t.Errorf("answer %d: %d body bytes:\n%s", i+1, len(r.body), r.head)
		}
		if len(r.body) > 0 && !r.has("Content-Type: application/json") {
			t.Errorf("answer %d: Content-Type:\n%s", i+1, r.head)
		}
		for _, canon := range []string{"X-M2m-", "x-m2m-"} {
			if strings.Contains(r.head, canon) {
				t.Errorf("answer %d has a header spelled %s…:\n%s", i+1, canon, r.head)
			}
		}
	}
	if !resps[2].has("Content-Location: /cse-in/wire/c") {
		t.Errorf("CREATE without content: no Content-Location:\n%s", resps[2].head)
	}
	if !resps[5].has("Allow: GET, POST, PUT, DELETE") {
		t.Errorf("4005 without Allow:\n%s", resps[5].head)
	}
}

// TestOversizedBodyClosesConnection: a body announced over the limit is
// refused without reading it, and the connection is closed after the answer.
func TestOversizedBodyClosesConnection(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.MaxBody = 4000 })
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "POST /cse-in HTTP/1.1\r\nHost: x\r\nX-M2M-RI: big\r\nX-M2M-RVI: 3\r\nContent-Type: application/json;ty=2\r\nContent-Length: 100000000\r\n\r\n{")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("X-M2M-RSC") != "4000" || !resp.Close {
		t.Errorf("HTTP %d RSC %q close %v: %s", resp.StatusCode, resp.Header.Get("X-M2M-RSC"), resp.Close, body)
	}
}

// TestContentTypeSpellings: every spelling of ty that clients send creates.
func TestContentTypeSpellings(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("spell")
	for i, ct := range []string{
		"application/json;ty=3",
		"application/json; ty=3",
		"application/json ;ty=3",
		"application/json;ty=3;",
		"Application/JSON; TY=3",
		"application/json; charset=utf-8; ty=3",
		"application/vnd.onem2m-res+json;ty=3",
		"application/vnd.onem2m-res+json; ty=3",
		"application/cbor;ty=3",
		"application/vnd.onem2m-res+cbor; ty=3",
	} {
		rn := fmt.Sprintf("c%d", i)
		var body any = `{"m2m:cnt":{"rn":"` + rn + `"}}`
		if strings.Contains(ct, "cbor") {
			body = cbor(t, map[string]any{"m2m:cnt": map[string]any{"rn": rn}})
		}
		r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/spell", From: aei, ContentType: ct, Body: body})
		checkAnswer(t, ct, r, 2001, 201)
		if got := r.Res("m2m:cnt")["rn"]; got != rn {
			t.Errorf("%s: created %v", ct, r.JSON)
		}
		if loc := r.Header.Get("Content-Location"); loc != "/cse-in/spell/"+rn {
			t.Errorf("%s: Content-Location %q", ct, loc)
		}
	}
}

// TestResponseContentType: Accept first, then the request's Content-Type,
// then JSON; oneM2M types are echoed.
func TestResponseContentType(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("neg")
	cntJSON := func(rn string) string { return `{"m2m:cnt":{"rn":"` + rn + `"}}` }
	cntCBOR := func(rn string) []byte { return cbor(t, map[string]any{"m2m:cnt": map[string]any{"rn": rn}}) }
	for i, tc := range []struct {
		ct, accept string
		want       string
	}{
		{"application/json", "", "application/json"},
		{"application/cbor", "", "application/cbor"},
		{"application/vnd.onem2m-res+json", "", "application/vnd.onem2m-res+json"},
		{"application/vnd.onem2m-res+cbor", "", "application/vnd.onem2m-res+cbor"},
		{"application/json", "application/cbor", "application/cbor"},
		{"application/cbor", "application/json", "application/json"},
		{"application/json", "application/vnd.onem2m-res+cbor", "application/vnd.onem2m-res+cbor"},
		{"application/json", "*/*", "application/json"},
		{"application/cbor", "*/*", "application/cbor"},
		{"application/json", "application/json;q=0.5, application/cbor;q=0.9", "application/cbor"},
		{"application/cbor", "text/html, application/json;q=0.1", "application/json"},
	} {
		rn := fmt.Sprintf("n%d", i)
		var body any = cntJSON(rn)
		if strings.Contains(tc.ct, "cbor") {
			body = cntCBOR(rn)
		}
		r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/neg", From: aei, ContentType: tc.ct + ";ty=3", Accept: tc.accept, Body: body})
		checkAnswer(t, tc.ct+" / "+tc.accept, r, 2001, 201)
		if got := r.Header.Get("Content-Type"); got != tc.want {
			t.Errorf("Content-Type %q, Accept %q: answered in %q, want %q", tc.ct, tc.accept, got, tc.want)
		}
		if r.Res("m2m:cnt")["rn"] != rn {
			t.Errorf("Content-Type %q, Accept %q: body does not decode as the announced type: %q", tc.ct, tc.accept, r.Body)
		}
	}
	// A GET without Content-Type nor Accept: JSON. Errors follow Accept too.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/neg", From: aei})
	if r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET: %q", r.Header.Get("Content-Type"))
	}
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/neg/none", From: aei, Accept: "application/cbor"})
	checkAnswer(t, "error in CBOR", r, 4004, 404)
	if r.Header.Get("Content-Type") != "application/cbor" {
		t.Errorf("error answer in %q, want CBOR", r.Header.Get("Content-Type"))
	}
}

// TestJSONAndCBORContent: content created in one serialisation reads back in
// the other with its values and their kinds (integer, float, text, nesting).
func TestJSONAndCBORContent(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("fmt")
	c.Create(aei, "/cse-in/fmt", 3, "m2m:cnt", map[string]any{"rn": "c"})
	conJSON := `{"int":21,"float":21.0,"frac":-0.5,"exp":1.5e300,"big":9007199254740993,"neg":-42,` +
		`"s":"Grüße, 世界 🌍 \"quoted\" \\ </tag>","t":true,"n":null,` +
		`"nested":{"list":[1,2.5,"x",false,null,{"k":"v"}],"empty":{},"none":[]}}`
	want, err := codec.Decode(codec.JSON, []byte(`{"con":`+conJSON+`}`))
	if err != nil {
		t.Fatal(err)
	}
	wantCon := want["con"]

	// Created with CBOR, read with JSON.
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/fmt/c", From: aei, Ty: 4, ContentType: "application/cbor",
		Body: cbor(t, map[string]any{"m2m:cin": map[string]any{"rn": "fromCBOR", "con": wantCon}})})
	checkAnswer(t, "CBOR create", r, 2001, 201)
	if got := r.Res("m2m:cin")["con"]; !reflect.DeepEqual(got, wantCon) {
		t.Errorf("CBOR create answered con %#v", got)
	}
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/fmt/c/fromCBOR", From: aei, Accept: "application/json"})
	checkAnswer(t, "JSON read", r, 2000, 200)
	if got := r.Res("m2m:cin")["con"]; !reflect.DeepEqual(got, wantCon) {
		t.Errorf("read as JSON: con %#v\nwant %#v", got, wantCon)
	}
	for _, frag := range []string{`"int":21,`, `"float":21.0,`, `"big":9007199254740993,`, `"exp":1.5e+300,`, `"s":"Grüße, 世界 🌍 \"quoted\" \\ </tag>"`} {
		if !bytes.Contains(r.Body, []byte(frag)) {
			t.Errorf("JSON text lacks %s: %s", frag, r.Body)
		}
	}
	if !json.Valid(r.Body) {
		t.Errorf("not JSON: %s", r.Body)
	}

	// Created with JSON, read with CBOR.
	r = c.Do(testcse.Req{Method: "POST", Path: "/cse-in/fmt/c", From: aei, Ty: 4, Body: `{"m2m:cin":{"rn":"fromJSON","con":` + conJSON + `}}`})
	checkAnswer(t, "JSON create", r, 2001, 201)
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/fmt/c/fromJSON", From: aei, Accept: "application/cbor"})
	checkAnswer(t, "CBOR read", r, 2000, 200)
	if r.Header.Get("Content-Type") != "application/cbor" {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if got := r.Res("m2m:cin")["con"]; !reflect.DeepEqual(got, wantCon) {
		t.Errorf("read as CBOR: con %#v\nwant %#v", got, wantCon)
	}
	// The CBOR itself: 21.0 is a float (major type 7), 21 an integer.
	if !bytes.Contains(r.Body, []byte("\x65float\xfb\x40\x35\x00\x00\x00\x00\x00\x00")) || !bytes.Contains(r.Body, []byte("\x63int\x15")) {
		t.Errorf("CBOR does not keep the number kinds: %x", r.Body)
	}
	// A string con stays a string, also numeric-looking.
	r = c.Do(testcse.Req{Method: "POST", Path: "/cse-in/fmt/c", From: aei, Ty: 4, Body: `{"m2m:cin":{"rn":"str","con":"21.0"}}`}).Must(t, 2001)
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/fmt/c/la", From: aei, Accept: "application/cbor"}).Must(t, 2000)
	if got := r.Res("m2m:cin")["con"]; got != "21.0" {
		t.Errorf("la con = %#v", got)
	}
}

// TestAddressForms reaches one container through every address form of
// TS-0009 6.2.2.1 and TS-0001 7.2.
func TestAddressForms(t *testing.T) {
	f := newFixture(t)
	c := f.c
	// A second instance makes la and ol differ.
	c.Create(f.aei, "/cse-in/ae1/cnt1", 4, "m2m:cin", map[string]any{"rn": "second", "con": "v2"})
	for _, tc := range []struct {
		path, key, rn string
	}{
		{"/cse-in/ae1/cnt1", "m2m:cnt", "cnt1"},
		{"/cse-in/ae1/cnt1/", "m2m:cnt", "cnt1"},
		{"/-/ae1/cnt1", "m2m:cnt", "cnt1"},
		{"/" + f.cntRI, "m2m:cnt", "cnt1"},
		{"/" + f.cntRI + "/la", "m2m:cin", "second"},
		{"/" + f.cntRI + "/ol", "m2m:cin", "first"},
		{"/" + f.cntRI + "/first", "m2m:cin", "first"},
		{"/cse-in/ae1/cnt1/la", "m2m:cin", "second"},
		{"/-/ae1/cnt1/ol", "m2m:cin", "first"},
		{"/~/id-in/cse-in/ae1/cnt1", "m2m:cnt", "cnt1"},
		{"/~/id-in/-/ae1/cnt1/la", "m2m:cin", "second"},
		{"/~/id-in/" + f.cntRI, "m2m:cnt", "cnt1"},
		{"/~/id-in/" + f.cntRI + "/la", "m2m:cin", "second"},
		{"/_/onecse.example/id-in/cse-in/ae1/cnt1", "m2m:cnt", "cnt1"},
		{"/_/onecse.example/id-in/" + f.cntRI, "m2m:cnt", "cnt1"},
		{"/cse-in/%61e1/cnt%31", "m2m:cnt", "cnt1"},
		{"/%7E/id-in/cse-in/ae1/cnt1", "m2m:cnt", "cnt1"},
		{"/cse-in/" + f.aei + "/cnt1", "m2m:cnt", "cnt1"}, // not a path: ae1's ri is not its rn
		{"/cse-in", "m2m:cb", "cse-in"},
		{"/-", "m2m:cb", "cse-in"},
		{"/id-in", "m2m:cb", "cse-in"},
		{"/~/id-in", "m2m:cb", "cse-in"},
		{"/~/id-in/cse-in", "m2m:cb", "cse-in"},
		{"/_/onecse.example/id-in", "m2m:cb", "cse-in"},
		{"/" + f.aei, "m2m:ae", "ae1"},
	} {
		r := c.Do(testcse.Req{Method: "GET", Path: tc.path, From: admin})
		if tc.path == "/cse-in/"+f.aei+"/cnt1" {
			checkAnswer(t, tc.path, r, 4004, 404)
			continue
		}
		checkAnswer(t, tc.path, r, 2000, 200)
		if got := r.Res(tc.key)["rn"]; got != tc.rn {
			t.Errorf("GET %s: %s rn %v, want %s: %s", tc.path, tc.key, got, tc.rn, r.Body)
		}
	}
	// CREATE through the SP-relative and absolute forms; Content-Location is
	// the structured path.
	for i, p := range []string{"/~/id-in/cse-in/ae1", "/_/onecse.example/id-in/" + f.aei, "/~/id-in/" + f.aei} {
		rn := fmt.Sprintf("via%d", i)
		r := c.Do(testcse.Req{Method: "POST", Path: p, From: f.aei, Ty: 3, Body: `{"m2m:cnt":{"rn":"` + rn + `"}}`})
		checkAnswer(t, "create via "+p, r, 2001, 201)
		loc := r.Header.Get("Content-Location")
		if loc != "/cse-in/ae1/"+rn {
			t.Errorf("create via %s: Content-Location %q", p, loc)
		}
		c.Do(testcse.Req{Method: "GET", Path: loc, From: f.aei}).Must(t, 2000)
	}
	// Partial retrieve: atrl in the query, or as content.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae1/cnt1?atrl=rn+lbl", From: admin}).Must(t, 2000)
	if got := r.Res("m2m:cnt"); len(got) != 2 || got["rn"] != "cnt1" || got["lbl"] == nil {
		t.Errorf("atrl=rn+lbl: %s", r.Body)
	}
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae1/cnt1", From: admin, Body: `{"m2m:atrl":["cni"]}`}).Must(t, 2000)
	if got := r.Res("m2m:cnt"); len(got) != 1 || got["cni"] != int64(2) {
		t.Errorf("m2m:atrl content: %s", r.Body)
	}
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae1/cnt1?atrl=nope", From: admin})
	checkAnswer(t, "atrl of an unknown attribute", r, 4000, 400)
}

// TestQueryParameters: result content, discovery and its filter criteria in
// the query string, with lists as repeated names and '+'.
func TestQueryParameters(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("q")
	c.Create(aei, "/cse-in/q", 3, "m2m:cnt", map[string]any{"rn": "room1", "lbl": []string{"room:1", "temp"}})
	c.Create(aei, "/cse-in/q", 3, "m2m:cnt", map[string]any{"rn": "room2", "lbl": []string{"room:2"}})
	mid := primitive.FormatTime(time.Now())
	time.Sleep(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		c.Create(aei, "/cse-in/q/room1", 4, "m2m:cin", map[string]any{"rn": fmt.Sprintf("i%d", i), "con": strings.Repeat("x", i+1), "cnf": "text/plain:0"})
	}
	c.Create(aei, "/cse-in/q/room2", 4, "m2m:cin", map[string]any{"rn": "j0", "con": "yy", "lbl": []string{"temp"}})
	uril := func(query string) []string {
		t.Helper()
		r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?" + query, From: aei})
		checkAnswer(t, query, r, 2000, 200)
		var out []string
		l, ok := r.JSON["m2m:uril"].([]any)
		if !ok {
			t.Fatalf("%s: no m2m:uril in %s", query, r.Body)
		}
		for _, e := range l {
			out = append(out, e.(string))
		}
		slices.Sort(out)
		return out
	}
	p := func(s ...string) []string {
		for i := range s {
			s[i] = "cse-in/q/" + s[i]
		}
		slices.Sort(s)
		return s
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"fu=1&ty=3", p("room1", "room2")},
		{"fu=1&ty=4", p("room1/i0", "room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&ty=3+4", p("room1", "room2", "room1/i0", "room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&ty=3&ty=4", p("room1", "room2", "room1/i0", "room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&lbl=temp", p("room1", "room2/j0")},
		{"fu=1&lbl=room%3A1+room%3A2", p("room1", "room2")},
		{"fu=1&lbl=room%3A1&lbl=room%3A2", p("room1", "room2")},
		{"fu=1&lbl=temp&ty=3", p("room1")},
		{"fu=1&lbl=temp&ty=3&fo=2", p("room1", "room2", "room2/j0")},
		{"fu=1&rn=room2", p("room2")},
		{"fu=1&rn=room%2A", p("room1", "room2")},
		{"fu=1&rn=i0&rn=j0", p("room1/i0", "room2/j0")},
		{"fu=1&ty=4&sza=2", p("room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&ty=4&szb=2", p("room1/i0")},
		{"fu=1&ty=4&cty=text%2Fplain", p("room1/i0", "room1/i1", "room1/i2")},
		{"fu=1&ty=4&cra=" + mid, p("room1/i0", "room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&ty=3&crb=" + mid, p("room1", "room2")},
		{"fu=1&ty=3&cra=" + mid, nil},
		{"fu=1&lvl=1", p("room1", "room2")},
		{"fu=1&ty=3&stb=3", p("room1")},
		{"fu=1&ty=3&sts=3", p("room2")},
		{"fu=1&ty=4&ms=" + mid, p("room1/i0", "room1/i1", "room1/i2", "room2/j0")},
		{"fu=1&ty=4&us=" + mid, nil},
		{"fu=1&ty=3&exb=20990101T000000", p("room1", "room2")},
		{"fu=1&ty=3&exa=20990101T000000", nil},
		{"fu=1&ty=4&lbl=nothing", nil},
	} {
		if got := uril(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	// Conditional retrieval of child references follows the same filter rules.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?rcn=6&ty=4&lbl=room%3A1&fo=2", From: aei}).Must(t, 2000)
	if rrf, _ := r.JSON["m2m:rrl"].(map[string]any)["rrf"].([]any); len(rrf) != 1 || rrf[0].(map[string]any)["nm"] != "room1" {
		t.Errorf("rcn=6 with fo=2: %s", r.Body)
	}
	// lim: a partial answer, flagged in X-M2M-CTS.
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&ty=4&lim=2", From: aei}).Must(t, 2000)
	if l, _ := r.JSON["m2m:uril"].([]any); len(l) != 2 || r.Header.Get("X-M2M-CTS") != "1" {
		t.Errorf("lim=2: %s, X-M2M-CTS %q", r.Body, r.Header.Get("X-M2M-CTS"))
	}
	// ofst: the first match skipped.
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&ty=3&ofst=2", From: aei}).Must(t, 2000)
	if l, _ := r.JSON["m2m:uril"].([]any); len(l) != 1 {
		t.Errorf("ofst=2: %s", r.Body)
	}
	// drt=2: unstructured IDs.
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&ty=3&drt=2", From: aei}).Must(t, 2000)
	for _, e := range r.JSON["m2m:uril"].([]any) {
		if strings.Contains(e.(string), "/") {
			t.Errorf("drt=2 gave %v", e)
		}
	}
	// rcn on CREATE: 0 nothing, 2 the address, 3 both.
	r = c.Do(testcse.Req{Method: "POST", Path: "/cse-in/q?rcn=0", From: aei, Ty: 3, Body: `{"m2m:cnt":{"rn":"r0"}}`})
	checkAnswer(t, "rcn=0", r, 2001, 201)
	if len(r.Body) != 0 || r.Header.Get("Content-Location") != "/cse-in/q/r0" {
		t.Errorf("rcn=0: body %q, Content-Location %q", r.Body, r.Header.Get("Content-Location"))
	}
	r = c.Do(testcse.Req{Method: "POST", Path: "/cse-in/q?rcn=2", From: aei, Ty: 3, Body: `{"m2m:cnt":{"rn":"r2"}}`}).Must(t, 2001)
	if r.JSON["m2m:uri"] != "cse-in/q/r2" {
		t.Errorf("rcn=2: %s", r.Body)
	}
	// rcn on RETRIEVE: child references.
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q/room1?rcn=6", From: aei}).Must(t, 2000)
	if rrl, _ := r.JSON["m2m:rrl"].(map[string]any); rrl == nil || len(rrl["rrf"].([]any)) != 3 {
		t.Errorf("rcn=6: %s", r.Body)
	}
	// rt=3 (blocking) and rt=4 (flex, answered blocking), rp, da and the
	// boolean parameters set to false are accepted.
	for _, q := range []string{"rt=3", "rt=4", "rp=PT10S", "da=false", "sqi=false&asi=0", "rids=r1+r2"} {
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?" + q, From: aei}).Must(t, 2000)
	}
}

// TestOptionalHeaders: the optional request headers are accepted with valid
// values (and their use does not break the request).
func TestOptionalHeaders(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("hdr")
	future := primitive.FormatTime(time.Now().Add(time.Hour))
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/hdr", From: aei, Ty: 3, Body: `{"m2m:cnt":{"rn":"c"}}`, Header: map[string]string{
		"X-M2M-OT": primitive.FormatTime(time.Now()), "X-M2M-RET": future, "X-M2M-RST": "60000", "X-M2M-OET": "1000",
		"X-M2M-EC": "2", "X-M2M-GID": "group-req-1", "X-M2M-VSI": "acme/1.0", "Authorization": "Basic dXNlcjpwdw==",
		"X-M2M-RI": "my-request-id",
	}})
	checkAnswer(t, "all optional headers", r, 2001, 201)
	if r.Header.Get("X-M2M-RI") != "my-request-id" || r.Header.Get("X-M2M-RVI") != "3" {
		t.Errorf("X-M2M-RI %q, X-M2M-RVI %q", r.Header.Get("X-M2M-RI"), r.Header.Get("X-M2M-RVI"))
	}
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/hdr/c", From: aei, Header: map[string]string{"X-M2M-RET": "200", "X-M2M-OET": "200"}})
	checkAnswer(t, "OET equal to RET", r, 2000, 200)
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/hdr/c", From: aei, Header: map[string]string{"X-M2M-RET": future, "X-M2M-OET": future}})
	checkAnswer(t, "OET an hour ahead (more than a blocking request is held)", r, 5001, 501)
	r = c.Do(testcse.Req{Method: "GET", Path: "/cse-in/hdr/c", From: aei, Header: map[string]string{"X-M2M-RET": "60000", "X-M2M-OET": "120000"}})
	checkAnswer(t, "OET after RET", r, 4000, 400)
}

// TestRegistrationWithoutOrigin: an AE CREATE may come without X-M2M-Origin.
func TestRegistrationWithoutOrigin(t *testing.T) {
	c := testcse.Start(t, nil)
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "-", Ty: 2, Body: `{"m2m:ae":{"rn":"anon","api":"Nanon","rr":false,"srv":["3"]}}`})
	checkAnswer(t, "registration without X-M2M-Origin", r, 2001, 201)
	aei, _ := r.Res("m2m:ae")["aei"].(string)
	if !strings.HasPrefix(aei, "C") || r.Header.Get("Content-Location") != "/cse-in/anon" {
		t.Errorf("aei %q, Content-Location %q", aei, r.Header.Get("Content-Location"))
	}
}
