package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/primitive"
)

// Notification is one notification of a subscription (TS-0004 7.5.1.2.2,
// m2m:sgn).
type Notification struct {
	// Subscription is the subscription reference (sur), the SP-relative
	// ID of the <subscription>.
	Subscription string
	// Event is the notificationEventType (net: 1 update, 2 delete, 3
	// create of a child, 4 delete of a child); 0 when absent.
	Event int
	// Resource is the representation (nev.rep) as sent, e.g.
	// {"m2m:cin": {...}}; nil when there is none.
	Resource map[string]any
	// Deleted is set on the last notification of a subscription that was
	// deleted (sud).
	Deleted bool
	// From is the originator of the NOTIFY (the registrar).
	From string
	// Raw is the whole m2m:sgn.
	Raw map[string]any
}

// Handler receives notifications, one at a time per subscription, from the
// receiver's HTTP goroutines; it should return quickly.
type Handler func(Notification)

// receiver is the AE's notification target: an HTTP server that answers
// NOTIFY requests through binding/http and passes each m2m:sgn to the
// handler of its subscription.
type receiver struct {
	url string
	srv *httpb.Server
	l   net.Listener
	log *slog.Logger

	mu       sync.Mutex
	handlers map[string]Handler // by sur
	done     chan struct{}
}

func startReceiver(addr, advertised string, log *slog.Logger) (*receiver, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: notification receiver: %w", err)
	}
	r := &receiver{l: l, log: log, handlers: map[string]Handler{}, done: make(chan struct{})}
	r.url = advertised
	if r.url == "" {
		r.url = "http://" + l.Addr().String() + "/notify"
	}
	r.srv = httpb.NewServerFor(httpb.New(r, httpb.Options{Log: log}), log)
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("notification receiver stopped", "err", err)
		}
	}()
	return r, nil
}

func (r *receiver) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	<-r.done
	return err
}

func (r *receiver) set(sur string, h Handler) {
	r.mu.Lock()
	r.handlers[sur] = h
	r.mu.Unlock()
}

func (r *receiver) remove(sur string) {
	r.mu.Lock()
	delete(r.handlers, sur)
	r.mu.Unlock()
}

// Handle answers one request that reached the receiver: NOTIFY only.
// A verification request (vrq) is accepted when its subscription is one
// this client is making or has made; a notification of an unknown
// subscription is refused with 4004 so the CSE stops sending it.
func (r *receiver) Handle(_ context.Context, req *primitive.Request) *primitive.Response {
	resp := &primitive.Response{RQI: req.RQI, RVI: req.RVI}
	if req.Op != primitive.OpNotify {
		resp.RSC = primitive.RSCOperationNotAllowed
		resp.PC = map[string]any{"m2m:dbg": "this AE's receiver accepts notifications only"}
		return resp
	}
	sgn, _ := req.Content["m2m:sgn"].(map[string]any)
	if sgn == nil {
		resp.RSC = primitive.RSCBadRequest
		resp.PC = map[string]any{"m2m:dbg": "the content is not a notification (m2m:sgn)"}
		return resp
	}
	n := Notification{From: req.From, Raw: sgn}
	n.Subscription, _ = sgn["sur"].(string)
	n.Deleted, _ = sgn["sud"].(bool)
	if nev, ok := sgn["nev"].(map[string]any); ok {
		n.Event = intOf(nev["net"])
		n.Resource, _ = nev["rep"].(map[string]any)
	}
	r.mu.Lock()
	h, ok := r.handlers[n.Subscription]
	if !ok {
		// A verification may come before the CREATE's answer tells the
		// subscription's ID: accept one for a subscription being made.
		if vrq, _ := sgn["vrq"].(bool); vrq && r.handlers[pendingKey] != nil {
			ok = true
		}
	}
	r.mu.Unlock()
	if !ok && !n.Deleted {
		// (The deletion notice of a subscription already forgotten is
		// acknowledged: nothing more will come of it.)
		resp.RSC = primitive.RSCNotFound
		resp.PC = map[string]any{"m2m:dbg": fmt.Sprintf("no subscription %q here", n.Subscription)}
		return resp
	}
	resp.RSC = primitive.RSCOK
	if vrq, _ := sgn["vrq"].(bool); vrq {
		return resp
	}
	if h != nil {
		h(n)
	}
	if n.Deleted {
		r.remove(n.Subscription)
	}
	return resp
}

// pendingKey marks a subscription being created (its verification may
// arrive before its ID is known).
const pendingKey = "\x00pending"

func intOf(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case uint64:
		return int(x)
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}

// SubscribeOptions are optional attributes of a <subscription>.
type SubscribeOptions struct {
	// Name is its resource name ("" lets the CSE choose).
	Name string
	// Events (enc.net) are the notification event types (default: update
	// of the resource, 1, and creation of a child, 3).
	Events []int
	// Content is the nct (notificationContentType; default 1, all
	// attributes).
	Content int
}

// Subscribe creates a <subscription> under target whose notifications go
// to this AE (nu = its AE-ID, reached at the receiver's URL in its poa)
// and are passed to h. It needs a Client with a notification receiver,
// registered. It returns the subscription's SP-relative ID, which
// Unsubscribe takes.
func (c *Client) Subscribe(ctx context.Context, target string, o SubscribeOptions, h Handler) (string, error) {
	if c.recv == nil {
		return "", errors.New("client: no notification receiver (Config.Notify)")
	}
	aei := c.AEID()
	if aei == "" {
		return "", errors.New("client: not registered")
	}
	sub := map[string]any{"nu": []any{aei}}
	if o.Name != "" {
		sub["rn"] = o.Name
	}
	events := o.Events
	if len(events) == 0 {
		events = []int{1, 3}
	}
	net := make([]any, len(events))
	for i, e := range events {
		net[i] = int64(e)
	}
	sub["enc"] = map[string]any{"net": net}
	if o.Content != 0 {
		sub["nct"] = int64(o.Content)
	}
	c.subMu.Lock() // one subscription at a time is pending
	defer c.subMu.Unlock()
	c.recv.set(pendingKey, func(Notification) {})
	defer c.recv.remove(pendingKey)
	pc, err := c.Create(ctx, target, map[string]any{"m2m:sub": sub})
	if err != nil {
		return "", err
	}
	got, _ := pc["m2m:sub"].(map[string]any)
	ri, _ := got["ri"].(string)
	if ri == "" {
		return "", fmt.Errorf("subscribing to %s: the answer has no resource ID", target)
	}
	sur := ri
	if !strings.HasPrefix(ri, "/") {
		sur = c.cfg.CSEID + "/" + ri
	}
	c.recv.set(sur, h)
	return sur, nil
}

// Unsubscribe deletes a subscription made with Subscribe; its handler is
// called no more.
func (c *Client) Unsubscribe(ctx context.Context, sur string) error {
	err := c.Delete(ctx, sur)
	if c.recv != nil {
		c.recv.remove(sur)
	}
	return err
}
