// Package testcse starts a onecse in-process on 127.0.0.1:0 for black-box tests
// and gives them a small oneM2M HTTP client.
package testcse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/security/tlspsk"
	"github.com/onecse/onecse/server"
	"github.com/onecse/onecse/store/postgres/pgtest"
)

// CSE is a running test CSE.
type CSE struct {
	T      testing.TB
	Server *server.Server
	Config config.Config
	URL    string // http://127.0.0.1:port
	Client *http.Client
	rqi    atomic.Int64
	stop   sync.Once
}

// Start starts a CSE with the defaults, changed by mod (may be nil), on a
// fresh data directory. It is stopped when the test ends.
func Start(t testing.TB, mod func(*config.Config)) *CSE {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Sync = "normal" // tests need crash safety of the process only, and speed
	if os.Getenv("ONECSE_TESTCSE_STORE") == "postgres" {
		// The black-box suites against the PostgreSQL store: each CSE in a
		// schema of its own on the ONECSE_TEST_PG server.
		dsn := pgtest.DSN(t)
		cfg.Postgres = pgtest.WithSchema(dsn, pgtest.Schema(t, dsn))
	}
	if mod != nil {
		mod(&cfg)
	}
	return StartConfig(t, cfg)
}

// StartConfig starts a CSE with exactly cfg.
func StartConfig(t testing.TB, cfg config.Config) *CSE {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("starting onecse: %v", err)
	}
	srv.Start()
	c := &CSE{T: t, Server: srv, Config: cfg, URL: "http://" + srv.HTTPAddr(), Client: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(c.Stop)
	return c
}

// Stop shuts the CSE down (once; it is also done when the test ends). The
// data directory stays: StartConfig(t, c.Config) starts it again, and with
// c.Config.HTTP set to c.Addr() on the same port.
func (c *CSE) Stop() {
	c.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Server.Shutdown(ctx); err != nil {
			c.T.Errorf("shutdown: %v", err)
		}
		if c.Config.MQTTBroker != "" {
			clearMQTTSession(c.Config)
		}
	})
}

// Addr is the address the CSE listens on.
func (c *CSE) Addr() string { return c.Server.HTTPAddr() }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Resp is an answer.
type Resp struct {
	Status int
	RSC    int
	Header http.Header
	Body   []byte
	// JSON is the decoded body (nil when empty or not JSON/CBOR).
	JSON map[string]any
}

// Req is a request to send.
type Req struct {
	Method string
	Path   string // e.g. "/cse-in/ae1" or "/~/id-in/cse-in"
	From   string // X-M2M-Origin; "-" sends none
	Ty     int    // adds ;ty= to the Content-Type
	Body   any    // marshalled as JSON unless []byte or string
	// ContentType defaults to application/json when there is a body.
	ContentType string
	Accept      string
	Header      map[string]string // extra headers, set with exact case
	NoRI, NoRVI bool
}

// Do sends r and decodes the answer. It fails the test on transport errors only.
func (c *CSE) Do(r Req) *Resp {
	c.T.Helper()
	var body io.Reader
	ct := r.ContentType
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.T.Fatalf("marshal: %v", err)
		}
		body = bytes.NewReader(data)
	}
	if body != nil && ct == "" {
		ct = "application/json"
	}
	if r.Ty != 0 {
		ct += ";ty=" + strconv.Itoa(r.Ty)
	}
	req, err := http.NewRequest(r.Method, c.URL+r.Path, body)
	if err != nil {
		c.T.Fatalf("request: %v", err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	if r.From != "-" {
		req.Header["X-M2M-Origin"] = []string{r.From}
	}
	if !r.NoRI {
		req.Header["X-M2M-RI"] = []string{fmt.Sprintf("rqi-%d", c.rqi.Add(1))}
	}
	if !r.NoRVI {
		req.Header["X-M2M-RVI"] = []string{"3"}
	}
	for k, v := range r.Header {
		req.Header[k] = []string{v}
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatalf("read: %v", err)
	}
	out := &Resp{Status: resp.StatusCode, Header: resp.Header, Body: data}
	out.RSC, _ = strconv.Atoi(resp.Header.Get("X-M2M-RSC"))
	if len(data) > 0 {
		if mi, err := codec.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
			out.JSON, _ = codec.Decode(mi.Format, data)
		}
	}
	return out
}

// Must fails the test unless the answer has rsc.
func (r *Resp) Must(t testing.TB, rsc int) *Resp {
	t.Helper()
	if r.RSC != rsc {
		t.Fatalf("want rsc %d, got %d (HTTP %d): %s", rsc, r.RSC, r.Status, r.Body)
	}
	return r
}

// Res returns the resource object in the body ({"m2m:cnt": {...}} → {...}).
func (r *Resp) Res(key string) map[string]any {
	m, _ := r.JSON[key].(map[string]any)
	return m
}

// RegisterAE registers an AE named rn with From "C" and returns its AE-ID.
func (c *CSE) RegisterAE(rn string) string {
	c.T.Helper()
	r := c.Do(Req{Method: "POST", Path: "/" + c.Config.CSEName, From: "C", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Ntest", "rr": true, "srv": []string{"3"}}}}).Must(c.T, 2001)
	aei, _ := r.Res("m2m:ae")["aei"].(string)
	if aei == "" {
		c.T.Fatalf("no aei in %s", r.Body)
	}
	return aei
}

// Create creates a resource of type ty under path and returns its attributes.
func (c *CSE) Create(from, path string, ty int, key string, attrs map[string]any) map[string]any {
	c.T.Helper()
	r := c.Do(Req{Method: "POST", Path: path, From: from, Ty: ty, Body: map[string]any{key: attrs}}).Must(c.T, 2001)
	return r.Res(key)
}

// PSK returns a client view of c that talks to its HTTPS-PSK listener over
// TLS-PSK with this identity (KpsaID) and key. It shares c's server; stop
// c, not the view.
func (c *CSE) PSK(identity string, key []byte) *CSE {
	c.T.Helper()
	addr := c.Server.HTTPSPSKAddr()
	if addr == "" {
		c.T.Fatal("the CSE has no HTTPS-PSK listener")
	}
	return &CSE{T: c.T, Server: c.Server, Config: c.Config, URL: "https://" + addr, Client: PSKClient(identity, key)}
}

// PSKClient is an HTTP client that dials every https:// address over
// TLS-PSK with this identity and key.
func PSKClient(identity string, key []byte) *http.Client {
	cfg := &tlspsk.Config{Identity: identity, Key: key, HandshakeTimeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			tc, err := tlspsk.DialContext(ctx, network, addr, cfg)
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
	}}
}
