package tlspsk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/security/tlspsk"
)

// HTTP over TLS-PSK with nothing but the standard library's net/http: the
// server runs on NewListener and gets each request's PSK identity through
// ConnContext / FromContext; the client dials with DialContext.
func TestHTTPOverTLSPSK(t *testing.T) {
	keys := map[string][]byte{
		"ae-1@onecse.example": bytes.Repeat([]byte{1}, 16),
		"ae-2@onecse.example": bytes.Repeat([]byte{2}, 32),
	}
	var handshakes atomic.Int32
	scfg := &tlspsk.Config{
		GetKey: func(id string) ([]byte, error) {
			handshakes.Add(1)
			return keys[id], nil
		},
	}
	mux := http.NewServeMux()
	identity := func(r *http.Request) string {
		c, ok := tlspsk.FromContext(r.Context())
		if !ok {
			return "(no tlspsk connection)"
		}
		st := c.ConnectionState()
		return fmt.Sprintf("%s %s", st.Identity, tlspsk.CipherSuiteName(st.CipherSuite))
	}
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, identity(r))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Identity", identity(r))
		io.Copy(w, r.Body)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ConnContext: tlspsk.ConnContext}
	go srv.Serve(tlspsk.NewListener(l, scfg))
	defer srv.Close()
	base := "https://" + l.Addr().String()

	client := func(id string, key []byte, suites ...uint16) *http.Client {
		cfg := &tlspsk.Config{Identity: id, Key: key, CipherSuites: suites}
		return &http.Client{Transport: &http.Transport{
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return tlspsk.DialContext(ctx, network, addr, cfg)
			},
		}}
	}
	c1 := client("ae-1@onecse.example", keys["ae-1@onecse.example"])
	c2 := client("ae-2@onecse.example", keys["ae-2@onecse.example"], tlspsk.TLS_PSK_WITH_AES_128_CBC_SHA256)

	for _, tc := range []struct {
		c    *http.Client
		want string
	}{
		{c1, "ae-1@onecse.example TLS_PSK_WITH_AES_128_GCM_SHA256"},
		{c2, "ae-2@onecse.example TLS_PSK_WITH_AES_128_CBC_SHA256"},
		{c1, "ae-1@onecse.example TLS_PSK_WITH_AES_128_GCM_SHA256"},
	} {
		resp, err := tc.c.Get(base + "/whoami")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tc.want {
			t.Fatalf("GET /whoami: %d %q, want %q", resp.StatusCode, body, tc.want)
		}
		if resp.TLS != nil {
			t.Fatal("resp.TLS is set; only crypto/tls connections fill it")
		}
	}

	// POST, including a body spanning many records.
	for _, size := range []int{0, 5, 1 << 20} {
		payload := bytes.Repeat([]byte("oneM2M"), size/6+1)[:size]
		resp, err := c2.Post(base+"/echo", "application/octet-stream", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, payload) || resp.Header.Get("X-Identity") != "ae-2@onecse.example TLS_PSK_WITH_AES_128_CBC_SHA256" {
			t.Fatalf("POST of %d bytes: got %d bytes back, identity %q", size, len(body), resp.Header.Get("X-Identity"))
		}
	}
	// Keep-alive: two clients, one handshake each.
	if n := handshakes.Load(); n != 2 {
		t.Errorf("%d handshakes for two keep-alive clients", n)
	}

	// An unknown identity fails the request with the alert in the chain.
	_, err = client("nobody", []byte("0123456789abcdef")).Get(base + "/whoami")
	var ae *tlspsk.AlertError
	if !errors.As(err, &ae) || ae.Alert != tlspsk.AlertUnknownPSKIdentity || !ae.Received {
		t.Fatalf("unknown identity: %v", err)
	}
	// So does a wrong key.
	_, err = client("ae-1@onecse.example", bytes.Repeat([]byte{9}, 16)).Get(base + "/whoami")
	if !errors.As(err, &ae) || ae.Alert != tlspsk.AlertBadRecordMAC {
		t.Fatalf("wrong key: %v", err)
	}
	// A plain-HTTP client gets no answer it can use.
	if resp, err := http.Get("http://" + l.Addr().String() + "/whoami"); err == nil {
		resp.Body.Close()
		t.Fatalf("plain HTTP answered %d", resp.StatusCode)
	} else if !strings.Contains(err.Error(), "malformed HTTP") && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Logf("plain HTTP: %v", err)
	}
}
