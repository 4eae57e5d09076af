package client

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	httpb "github.com/onecse/onecse/binding/http"
)

// FuzzReceiver sends arbitrary bodies to the notification receiver as a CSE
// would (POST without ty): it must answer every one with a oneM2M status
// and never pass a handler anything but a notification of its
// subscription.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte(`{"m2m:sgn":{"sur":"/id-in/sub1","nev":{"net":3,"rep":{"m2m:cin":{"con":"1"}}}}}`), "application/json")
	f.Add([]byte(`{"m2m:sgn":{"sur":"/id-in/sub1","vrq":true}}`), "application/json")
	f.Add([]byte(`{"m2m:sgn":{"sur":"/id-in/sub1","sud":true}}`), "application/json")
	f.Add([]byte(`{"m2m:sgn":{"sur":7,"nev":{"net":"x","rep":[]}}}`), "application/json")
	f.Add([]byte{0xa1, 0x67, 'm', '2', 'm', ':', 's', 'g', 'n', 0xa0}, "application/cbor")
	f.Add([]byte(`{"m2m:cin":{}}`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		r := &receiver{log: slog.New(slog.DiscardHandler), handlers: map[string]Handler{}}
		called := 0
		r.set("/id-in/sub1", func(n Notification) {
			called++
			if n.Subscription != "/id-in/sub1" || n.Raw == nil {
				t.Fatalf("handler got %+v", n)
			}
		})
		h := httpb.New(r, httpb.Options{})
		req := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header["X-M2M-Origin"] = []string{"/id-in"}
		req.Header["X-M2M-RI"] = []string{"n1"}
		req.Header["X-M2M-RVI"] = []string{"3"}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if len(w.Header()["X-M2M-RSC"]) == 0 {
			t.Fatalf("no X-M2M-RSC in the answer (HTTP %d)", w.Code)
		}
		if called > 1 {
			t.Fatalf("handler called %d times", called)
		}
	})
}
