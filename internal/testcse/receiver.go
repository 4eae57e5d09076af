package testcse

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
)

// Receiver is a notification target for tests: an HTTP server on 127.0.0.1
// that records every request and answers X-M2M-RSC 2000 (or what the test
// sets). It can be stopped (its port refuses connections) and started again
// on the same port. It stops when the test ends.
type Receiver struct {
	t    testing.TB
	Addr string // host:port
	URL  string // http://host:port/notify

	mu      sync.Mutex
	cond    *sync.Cond
	got     []*Received
	rsc     int
	status  int
	delay   time.Duration
	hold    chan struct{} // while not nil, requests wait until it is closed
	held    int           // requests waiting on hold now
	srv     *http.Server
	running bool
}

// Received is one request a Receiver got.
type Received struct {
	At          time.Time
	Method      string
	Path        string
	Header      http.Header
	ContentType string
	Body        []byte
	// JSON is the decoded body (JSON or CBOR, by its Content-Type).
	JSON map[string]any
}

// NewReceiver starts a receiver.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	r := &Receiver{t: t, Addr: l.Addr().String(), rsc: 2000, status: 200}
	r.URL = "http://" + r.Addr + "/notify"
	r.cond = sync.NewCond(&r.mu)
	r.serve(l)
	t.Cleanup(r.Stop)
	return r
}

func (r *Receiver) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle)}
	r.mu.Lock()
	r.srv, r.running = srv, true
	r.mu.Unlock()
	go srv.Serve(l)
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := &Received{At: time.Now(), Method: req.Method, Path: req.URL.RequestURI(), Header: req.Header.Clone(), ContentType: req.Header.Get("Content-Type"), Body: body}
	if mi, err := codec.ParseMediaType(rec.ContentType); err == nil {
		rec.JSON, _ = codec.Decode(mi.Format, body)
	}
	r.mu.Lock()
	delay, rsc, status, hold := r.delay, r.rsc, r.status, r.hold
	if hold != nil {
		r.held++
		r.cond.Broadcast()
	}
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
		}
		r.mu.Lock()
		r.held--
		r.mu.Unlock()
		if req.Context().Err() != nil {
			return
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	// Recorded once answered: what the CSE was told it delivered.
	r.mu.Lock()
	r.got = append(r.got, rec)
	r.cond.Broadcast()
	r.mu.Unlock()
	if rsc != 0 {
		w.Header()["X-M2M-RSC"] = []string{strconv.Itoa(rsc)}
	}
	if ri := req.Header.Get("X-M2M-RI"); ri != "" {
		w.Header()["X-M2M-RI"] = []string{ri}
	}
	w.Header()["Content-Length"] = []string{"0"}
	w.WriteHeader(status)
}

// Answer sets what the receiver answers: the X-M2M-RSC (0: none) and the
// HTTP status.
func (r *Receiver) Answer(rsc, status int) {
	r.mu.Lock()
	r.rsc, r.status = rsc, status
	r.mu.Unlock()
}

// Delay makes every answer wait d.
func (r *Receiver) Delay(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

// Hold makes every request wait, unanswered, until Release: a receiver as
// slow as the test wants, without a guess at how slow is slow enough.
func (r *Receiver) Hold() {
	r.mu.Lock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
	r.mu.Unlock()
}

// Release answers the requests waiting on Hold, and the next ones at once.
func (r *Receiver) Release() {
	r.mu.Lock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
	r.mu.Unlock()
}

// Held returns how many requests wait on Hold now.
func (r *Receiver) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// WaitHeld waits until at least n requests wait on Hold; it fails the test
// after timeout.
func (r *Receiver) WaitHeld(n int, timeout time.Duration) {
	r.t.Helper()
	held := func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.held >= n
	}
	if err := r.waitFor(held, timeout); err != nil {
		r.t.Fatalf("receiver: fewer than %d requests held after %s", n, timeout)
	}
}

// Stop closes the receiver: connections to its port are refused. Requests
// under way are answered first (or cut after a second), so that what the
// receiver recorded is what the CSE was told it delivered.
func (r *Receiver) Stop() {
	r.mu.Lock()
	srv, running := r.srv, r.running
	r.running = false
	r.mu.Unlock()
	if running {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}

// Start serves again on the same port.
func (r *Receiver) Start() {
	r.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", r.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver restart on %s: %v", r.Addr, err)
	}
	r.serve(l)
}

// All returns everything received so far.
func (r *Receiver) All() []*Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Received(nil), r.got...)
}

// Notifications returns what was received apart from verification requests.
func (r *Receiver) Notifications() []*Received {
	var out []*Received
	for _, g := range r.All() {
		if !g.IsVerification() {
			out = append(out, g)
		}
	}
	return out
}

// Wait waits until n notifications (verification requests not counted) have
// arrived, and returns them; it fails the test after timeout.
func (r *Receiver) Wait(n int, timeout time.Duration) []*Received {
	r.t.Helper()
	if err := r.waitFor(func() bool { return len(r.Notifications()) >= n }, timeout); err != nil {
		got := r.Notifications()
		r.t.Fatalf("receiver: %d notifications after %s, want %d: %s", len(got), timeout, n, bodies(got))
	}
	return r.Notifications()
}

// Quiet fails the test if more than n notifications arrive within d.
func (r *Receiver) Quiet(n int, d time.Duration) {
	r.t.Helper()
	if err := r.waitFor(func() bool { return len(r.Notifications()) > n }, d); err == nil {
		got := r.Notifications()
		r.t.Fatalf("receiver: %d notifications, want %d: %s", len(got), n, bodies(got))
	}
}

func (r *Receiver) waitFor(cond func() bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	for !cond() {
		r.mu.Lock()
		if ctx.Err() != nil {
			r.mu.Unlock()
			return errors.New("timeout")
		}
		r.cond.Wait()
		r.mu.Unlock()
	}
	return nil
}

func bodies(rs []*Received) string {
	s := ""
	for _, r := range rs {
		s += "\n  " + string(r.Body)
	}
	return s
}

// Sgn returns the m2m:sgn of the request (nil when it holds none).
func (g *Received) Sgn() map[string]any {
	m, _ := g.JSON["m2m:sgn"].(map[string]any)
	return m
}

// IsVerification reports whether the request is a verification request.
func (g *Received) IsVerification() bool { return g.Sgn()["vrq"] == true }

// Rep returns nev/rep of the notification.
func (g *Received) Rep() map[string]any {
	nev, _ := g.Sgn()["nev"].(map[string]any)
	rep, _ := nev["rep"].(map[string]any)
	return rep
}

// Net returns nev/net of the notification (0 when absent).
func (g *Received) Net() int64 {
	nev, _ := g.Sgn()["nev"].(map[string]any)
	n, _ := nev["net"].(int64)
	return n
}

// Batch returns the notifications of an m2m:agn (nil when it is not one).
func (g *Received) Batch() []map[string]any {
	agn, _ := g.JSON["m2m:agn"].(map[string]any)
	l, _ := agn["m2m:sgn"].([]any)
	var out []map[string]any
	for _, e := range l {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}
