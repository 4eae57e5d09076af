package console

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSink feeds the sink any id, media type and body: it answers 2000 to a
// valid id and 404 to any other, never panics, and what it keeps renders as
// JSON for the event stream and gives the body back (as text, or base64).
func FuzzSink(f *testing.F) {
	f.Add("s1", "application/json", []byte(`{"m2m:sgn":{"vrq":true}}`))
	f.Add("s-2_x", "application/cbor", []byte("\xa1\x61\x61\x01"))
	f.Add("s3", "application/cbor", []byte("\xff\x00"))
	f.Add("s4", "text/plain", []byte("\xff\xfe binary"))
	f.Add("bad id", "", []byte("x"))
	f.Add("", "application/json;ty=4", []byte(nil))
	f.Fuzz(func(t *testing.T, id, ctype string, body []byte) {
		c := New(Options{MaxBody: 1 << 16, Sinks: 2, Backlog: 2})
		req := httptest.NewRequest("POST", "/console/sink/x", strings.NewReader(string(body)))
		req.URL.Path = Prefix + "sink/" + id
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if !validSinkID(id) {
			if w.Code != 404 {
				t.Fatalf("id %q: %d", id, w.Code)
			}
			return
		}
		if w.Code != 200 || w.Header()["X-M2M-RSC"][0] != "2000" {
			t.Fatalf("id %q: %d %v", id, w.Code, w.Header())
		}
		_, past := c.sinks.watch(id, 0)
		if len(past) != 1 {
			t.Fatalf("kept %d events", len(past))
		}
		e := past[0]
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("event does not encode: %v", err)
		}
		if e.Size != len(body) {
			t.Fatalf("size %d of %d bytes", e.Size, len(body))
		}
		switch e.Format {
		case "":
			if len(body) != 0 {
				t.Fatalf("no format for %d bytes", len(body))
			}
		case "json", "text":
			if e.Body != string(body) {
				t.Fatalf("%s body changed", e.Format)
			}
		case "base64":
			if b, err := base64.StdEncoding.DecodeString(e.Body); err != nil || string(b) != string(body) {
				t.Fatalf("base64 body does not give the bytes back")
			}
		case "cbor":
			if !json.Valid([]byte(e.Body)) {
				t.Fatalf("cbor shown as invalid JSON %q", e.Body)
			}
		default:
			t.Fatalf("format %q", e.Format)
		}
	})
}
