package http

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

func TestToFromPath(t *testing.T) {
	for _, tc := range []struct {
		path string // escaped, as on the wire
		want string
	}{
		{"/cse-in", "cse-in"},
		{"/cse-in/ae1/cnt1", "cse-in/ae1/cnt1"},
		{"/-/ae1/cnt1", "-/ae1/cnt1"},
		{"/cnt123", "cnt123"},
		{"/cnt123/la", "cnt123/la"},
		{"/~/id-in/cse-in/ae1", "/id-in/cse-in/ae1"},
		{"/~/id-in/cnt123", "/id-in/cnt123"},
		{"/~/id-in", "/id-in"},
		{"/_/onecse.example/id-in/cse-in/ae1", "//onecse.example/id-in/cse-in/ae1"},
		{"/_/onecse.example/id-in/cnt123", "//onecse.example/id-in/cnt123"},
		{"/cse-in/%61e1", "cse-in/ae1"},
		{"/%7E/id-in/cse-in", "/id-in/cse-in"},
		{"/%5F/onecse.example/id-in", "//onecse.example/id-in"},
		{"/cse-in/a%20b", "cse-in/a b"},
		{"/cse-in/", "cse-in/"},
	} {
		u := &url.URL{}
		var err error
		if u.Path, err = url.PathUnescape(tc.path); err != nil {
			t.Fatal(err)
		}
		u.RawPath = tc.path
		got, err := toFromPath(u)
		if err != nil || got != tc.want {
			t.Errorf("toFromPath(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, p := range []string{"", "*", "/", "/~", "/_", "/~/", "/_/", "/cse-in/a%2Fb", "/cse-in/a%2fb", "/cse-in/ae%23rr", "/%7E"} {
		u, err := url.Parse("http://h" + p)
		if err != nil {
			u = &url.URL{Path: p}
		}
		if p == "*" {
			u = &url.URL{Path: "*"}
		}
		if got, err := toFromPath(u); primitive.ErrorRSC(err) != primitive.RSCBadRequest {
			t.Errorf("toFromPath(%q) = %q, %v; want 4000", p, got, err)
		}
	}
}

// newReq builds a request as Go's server hands it to the binding.
func newReq(method, target string, hdr map[string]string, body string) *http.Request {
	var r *http.Request
	if body == "" {
		r, _ = http.NewRequest(method, "http://127.0.0.1"+target, nil)
	} else {
		r, _ = http.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
	}
	for k, v := range hdr {
		r.Header.Add(k, v)
	}
	r.RemoteAddr = "127.0.0.1:5555"
	return r
}

func TestDecodeMapsEveryHeader(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b := New(nil, Options{Now: func() time.Time { return now }})
	r := newReq("GET", "/~/id-in/cse-in/ae1?rt=2&rcn=1", map[string]string{
		"X-M2M-Origin": "Cae1", "X-M2M-RI": "req-7", "X-M2M-RVI": "3", "X-M2M-OT": "20250601T115959",
		"X-M2M-RET": "20250601T120100", "X-M2M-RST": "5000", "X-M2M-OET": "20250601T120001,5",
		"X-M2M-RTU": "http://a.example/n&Cae2", "X-M2M-EC": "3", "X-M2M-GID": "g-1", "X-M2M-VSI": "vendor x",
		"X-M2M-RSC": "2000", "X-M2M-CTS": "1", "X-Other": "ignored",
	}, "")
	d, err := b.decode(r)
	if err != nil {
		t.Fatal(err)
	}
	q := d.req
	want := primitive.Request{
		Op: primitive.OpRetrieve, To: "/id-in/cse-in/ae1", From: "Cae1", FromPresent: true, RQI: "req-7", RVI: "3",
		OT: "20250601T115959", RQET: now.Add(time.Minute), RSET: now.Add(5 * time.Second), OET: now.Add(1500 * time.Millisecond),
		RT: &primitive.ResponseType{RTV: 2, NU: []string{"http://a.example/n", "Cae2"}}, EC: 3, GID: "g-1", VSI: "vendor x", RCN: 1,
	}
	if q.Op != want.Op || q.To != want.To || q.From != want.From || !q.FromPresent || q.RQI != want.RQI || q.RVI != want.RVI ||
		q.OT != want.OT || !q.RQET.Equal(want.RQET) || !q.RSET.Equal(want.RSET) || !q.OET.Equal(want.OET) ||
		q.RT == nil || q.RT.RTV != 2 || strings.Join(q.RT.NU, " ") != strings.Join(want.RT.NU, " ") ||
		q.EC != 3 || q.GID != "g-1" || q.VSI != "vendor x" || q.RCN != 1 || q.Peer.Binding != "http" || q.Peer.Addr.String() != "127.0.0.1" {
		t.Errorf("decoded %+v (rt %+v)\nwant %+v", *q, q.RT, want)
	}
	// Methods and ty.
	for _, tc := range []struct {
		method, ct string
		op         primitive.Operation
		ty         int
	}{
		{"POST", "application/json;ty=3", primitive.OpCreate, 3},
		{"POST", "application/json", primitive.OpNotify, 0},
		{"POST", "application/vnd.onem2m-ntfy+json", primitive.OpNotify, 0},
		{"GET", "", primitive.OpRetrieve, 0},
		{"PUT", "application/json", primitive.OpUpdate, 0},
		{"DELETE", "", primitive.OpDelete, 0},
	} {
		body := ""
		if tc.method == "POST" || tc.method == "PUT" {
			body = `{"m2m:cnt":{}}`
		}
		hdr := map[string]string{"X-M2M-Origin": "C1", "X-M2M-RI": "1"}
		if tc.ct != "" {
			hdr["Content-Type"] = tc.ct
		}
		d, err := b.decode(newReq(tc.method, "/cse-in", hdr, body))
		if err != nil || d.req.Op != tc.op || d.req.Ty != tc.ty {
			t.Errorf("%s %s: op %v ty %d, %v", tc.method, tc.ct, d.req.Op, d.req.Ty, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	b := New(nil, Options{MaxBody: 100})
	base := func() map[string]string {
		return map[string]string{"X-M2M-Origin": "C1", "X-M2M-RI": "1", "X-M2M-RVI": "3"}
	}
	with := func(k, v string) map[string]string { h := base(); h[k] = v; return h }
	for _, tc := range []struct {
		name, method, target string
		hdr                  map[string]string
		body                 string
		rsc                  primitive.RSC
	}{
		{"bad method", "PATCH", "/cse-in", base(), "", primitive.RSCOperationNotAllowed},
		{"ty on PUT", "PUT", "/cse-in", with("Content-Type", "application/json;ty=3"), `{}`, primitive.RSCBadRequest},
		{"bad ty", "POST", "/cse-in", with("Content-Type", "application/json;ty=x"), `{}`, primitive.RSCBadRequest},
		{"xml body", "POST", "/cse-in", with("Content-Type", "application/xml;ty=3"), `<x/>`, primitive.RSCUnsupportedMediaType},
		{"xml POST without body", "POST", "/cse-in", with("Content-Type", "application/xml;ty=3"), ``, primitive.RSCUnsupportedMediaType},
		{"body without type", "PUT", "/cse-in", base(), `{}`, primitive.RSCUnsupportedMediaType},
		{"whole primitive", "POST", "/cse-in", with("Content-Type", "application/vnd.onem2m-preq+json"), `{}`, primitive.RSCUnsupportedMediaType},
		{"xml accept", "GET", "/cse-in", with("Accept", "application/xml"), ``, primitive.RSCNotAcceptable},
		{"body too large", "PUT", "/cse-in", with("Content-Type", "application/json"), `{"a":"` + strings.Repeat("x", 100) + `"}`, primitive.RSCBadRequest},
		{"DELETE with body", "DELETE", "/cse-in", with("Content-Type", "application/json"), `{}`, primitive.RSCBadRequest},
		{"RETRIEVE content not atrl", "GET", "/cse-in", with("Content-Type", "application/json"), `{"m2m:cnt":{}}`, primitive.RSCBadRequest},
		{"atrl not strings", "GET", "/cse-in", with("Content-Type", "application/json"), `{"m2m:atrl":[1]}`, primitive.RSCBadRequest},
		{"atrl on PUT", "PUT", "/cse-in?atrl=rn", with("Content-Type", "application/json"), `{}`, primitive.RSCBadRequest},
		{"bad OT", "GET", "/cse-in", with("X-M2M-OT", "yesterday"), ``, primitive.RSCBadRequest},
		{"bad RET", "GET", "/cse-in", with("X-M2M-RET", "soon"), ``, primitive.RSCBadRequest},
		{"bad EC", "GET", "/cse-in", with("X-M2M-EC", "1"), ``, primitive.RSCBadRequest},
		{"RTU without rt=2", "GET", "/cse-in", with("X-M2M-RTU", "Cae"), ``, primitive.RSCBadRequest},
		{"RTU empty target", "GET", "/cse-in?rt=2", with("X-M2M-RTU", "a&&b"), ``, primitive.RSCBadRequest},
		{"signatures", "GET", "/cse-in", with("X-M2M-AS", "abc"), ``, primitive.RSCNotImplemented},
		{"tokens", "GET", "/cse-in", with("Authorization", "eyJ0eXAiOiJK.eyJpc3MiOiJqb2UiLA0KIC.dBjftJeZ4CVP"), ``, primitive.RSCNotImplemented},
		{"bad query", "GET", "/cse-in?rcn=%zz", base(), ``, primitive.RSCBadRequest},
		{"encoded slash", "GET", "/cse-in/a%2Fb", base(), ``, primitive.RSCBadRequest},
		{"no path", "GET", "/", base(), ``, primitive.RSCBadRequest},
	} {
		d, err := b.decode(newReq(tc.method, tc.target, tc.hdr, tc.body))
		if primitive.ErrorRSC(err) != tc.rsc || err == nil {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.rsc)
		}
		if d.req == nil { // (decode returns its result by value)
			t.Errorf("%s: no partial request to answer with", tc.name)
		}
	}
	// Repeated headers: the same value twice is harmless, two values are not.
	r := newReq("GET", "/cse-in", base(), "")
	r.Header.Add("X-M2M-Origin", "C1")
	if _, err := b.decode(r); err != nil {
		t.Errorf("a repeated identical X-M2M-Origin: %v", err)
	}
	r.Header.Add("X-M2M-Origin", "C2")
	if _, err := b.decode(r); primitive.ErrorRSC(err) != primitive.RSCBadRequest {
		t.Errorf("two different X-M2M-Origin: %v, want 4000", err)
	}
	// Basic and Bearer credentials belong to the HTTP hop and are not tokens.
	for _, auth := range []string{"Basic dXNlcjpwYXNz", "Bearer abc.def"} {
		if _, err := b.decode(newReq("GET", "/cse-in", with("Authorization", auth), "")); err != nil {
			t.Errorf("Authorization %q: %v", auth, err)
		}
	}
}

// TestDecodeAnswerFormat: the error of a request is answered in the format it
// asked for, even when decoding failed.
func TestDecodeAnswerFormat(t *testing.T) {
	b := New(nil, Options{})
	for _, tc := range []struct {
		ct, accept string
		want       codec.MediaInfo
	}{
		{"", "", codec.MediaInfo{Format: codec.JSON}},
		{"application/cbor;ty=3", "", codec.MediaInfo{Format: codec.CBOR}},
		{"application/vnd.onem2m-res+cbor;ty=3", "", codec.MediaInfo{Format: codec.CBOR, OneM2M: true, Kind: "res"}},
		{"application/json;ty=3", "application/cbor", codec.MediaInfo{Format: codec.CBOR}},
		{"application/xml;ty=3", "application/cbor", codec.MediaInfo{Format: codec.CBOR}},
		{"application/cbor;ty=3", "application/xml", codec.MediaInfo{Format: codec.CBOR}},
	} {
		hdr := map[string]string{"X-M2M-RI": "1"}
		if tc.ct != "" {
			hdr["Content-Type"] = tc.ct
		}
		if tc.accept != "" {
			hdr["Accept"] = tc.accept
		}
		d, _ := b.decode(newReq("POST", "/cse-in", hdr, "\xff"))
		if d.resp != tc.want {
			t.Errorf("Content-Type %q, Accept %q: answer in %+v, want %+v", tc.ct, tc.accept, d.resp, tc.want)
		}
	}
}

// FuzzDecodeRequest builds a request from fuzzed method, target, headers and
// body: the decoder never panics, and returns either a request or a
// *primitive.Error with a 4xxx or 5xxx code.
func FuzzDecodeRequest(f *testing.F) {
	type seed struct{ method, target, headers, body string }
	for _, s := range []seed{
		{"POST", "/cse-in", "X-M2M-Origin: C\nX-M2M-RI: 1\nX-M2M-RVI: 3\nContent-Type: application/json;ty=2", `{"m2m:ae":{"rn":"a","api":"Na","rr":true,"srv":["3"]}}`},
		{"POST", "/cse-in/a", "X-M2M-Origin: Ca\nX-M2M-RI: 2\nContent-Type: application/vnd.onem2m-res+json; ty=3", `{"m2m:cnt":{"rn":"c","mni":10}}`},
		{"POST", "/-/a/c", "X-M2M-Origin: Ca\nX-M2M-RI: 3\nContent-Type: application/cbor;ty=4", "\xa1\x67m2m:cin\xa1\x63con\x62hi"},
		{"GET", "/~/id-in/cse-in/a/c/la?rcn=1", "X-M2M-Origin: Ca\nX-M2M-RI: 4\nAccept: application/cbor", ""},
		{"GET", "/_/onecse.example/id-in/cse-in?fu=1&ty=3+4&lbl=x&lim=10&drt=2", "X-M2M-Origin: CAdmin\nX-M2M-RI: 5", ""},
		{"GET", "/cnt123?atrl=rn+lbl", "X-M2M-Origin: Ca\nX-M2M-RI: 6\nX-M2M-RET: 1000\nX-M2M-OT: 20250101T000000", ""},
		{"GET", "/cse-in/a", "X-M2M-Origin: Ca\nX-M2M-RI: 7\nContent-Type: application/json", `{"m2m:atrl":["rn"]}`},
		{"PUT", "/cse-in/a/c", "X-M2M-Origin: Ca\nX-M2M-RI: 8\nContent-Type: application/json\nX-M2M-EC: 2", `{"m2m:cnt":{"lbl":["x"]}}`},
		{"DELETE", "/cse-in/a?rcn=1", "X-M2M-Origin: Ca\nX-M2M-RI: 9\nX-M2M-RVI: 9", ""},
		{"PATCH", "/cse-in", "X-M2M-RI: 10", ""},
		{"GET", "/cse-in?rt=2", "X-M2M-RI: 11\nX-M2M-RTU: http://x/n&Cb\nAuthorization: Bearer t", ""},
		{"POST", "/cse-in/a%2Fb", "Content-Type: application/xml;ty=3\nAccept: application/xml", "<x/>"},
	} {
		f.Add(s.method, s.target, s.headers, []byte(s.body))
	}
	b := New(nil, Options{MaxBody: 1 << 12})
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		if !validMethod(method) {
			return // net/http refuses such a request line before the binding sees it
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u, Header: http.Header{}, RemoteAddr: "[::1]:4000",
			Body: http.NoBody, ContentLength: int64(len(body))}
		if len(body) > 0 {
			r.Body = readCloser{bytes.NewReader(body)}
		}
		for _, line := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok {
				r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		d, err := b.decode(r)
		if d.req == nil { // (decode returns its result by value)
			t.Fatalf("no decoded request for %s %s", method, target)
		}
		if d.resp.Format != codec.JSON && d.resp.Format != codec.CBOR {
			t.Fatalf("answer format %+v", d.resp)
		}
		if err != nil {
			e, ok := err.(*primitive.Error)
			if !ok {
				t.Fatalf("%s %s: error %T %v is not a *primitive.Error", method, target, err, err)
			}
			if e.RSC < 4000 || e.RSC >= 6000 {
				t.Fatalf("%s %s: code %d", method, target, e.RSC)
			}
			// Rendering the error must work too.
			primitive.ErrorResponse(d.req, err)
			return
		}
		q := d.req
		if q.Op < primitive.OpCreate || q.Op > primitive.OpNotify || q.To == "" {
			t.Fatalf("%s %s: decoded op %v to %q", method, target, q.Op, q.To)
		}
		if (q.Ty != 0) != (q.Op == primitive.OpCreate) {
			t.Fatalf("%s %s: op %v with ty %d", method, target, q.Op, q.Ty)
		}
		if q.Op == primitive.OpRetrieve && q.Content != nil || q.Op == primitive.OpDelete && q.Content != nil {
			t.Fatalf("%s %s: content %v", method, target, q.Content)
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// validMethod is net/http's rule for a method: a token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
