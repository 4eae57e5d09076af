package cse

import (
	"context"
	"fmt"
	"strings"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Sender delivers a request the core originates (notifications now;
// registration and forwarding to other CSEs later) to a point of access and
// returns the answer. Each binding implements it for its URL schemes; the core
// never imports a binding.
type Sender interface {
	// Send delivers req to addr, a URL of a scheme the Sender handles,
	// serialised as f (FormatNone: the binding's default). An error means no
	// answer was received; an answer with an error status is a Response.
	Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error)
}

// Senders routes by the URL scheme of the address ("http", "https", "mqtt",
// "coap" ...), so a binding added later plugs in by its scheme.
type Senders map[string]Sender

// Send implements Sender.
func (s Senders) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	scheme, _, ok := strings.Cut(addr, "://")
	if !ok {
		return nil, fmt.Errorf("%q is not a URL", addr)
	}
	snd, ok := s[strings.ToLower(scheme)]
	if !ok {
		return nil, fmt.Errorf("no binding for %s:// addresses", scheme)
	}
	return snd.Send(ctx, addr, f, req)
}

// Connections are the connections registrees opened to this CSE and keep
// open (WebSocket, TS-0020 5.2 and 6.4): requests to a registree go over
// its connection, before any point of access it has (an ADN-AE or an ASN-CSE
// connected over WebSocket needs none).
type Connections interface {
	// Connected reports whether a connection carries the AE or CSE id.
	Connected(id string) bool
	// Send sends req over the connection of id and waits for the answer.
	Send(ctx context.Context, id string, req *primitive.Request) (*primitive.Response, error)
}

type receiverKey struct{}

// WithReceiver tells the Sender which entity (AE-ID or CSE-ID, SP-relative
// or a stem) a request sent with ctx is for at the address it is given:
// bindings that address entities rather than hosts need it (MQTT topics
// name the receiver, TS-0010 6.4.2).
func WithReceiver(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, receiverKey{}, id)
}

// ReceiverOf returns the receiver WithReceiver put in ctx ("" when none:
// the address is the whole destination, such as a notification URL).
func ReceiverOf(ctx context.Context) string {
	id, _ := ctx.Value(receiverKey{}).(string)
	return id
}

// SetConnections connects the bindings whose registrees keep a connection
// open (nil: none). Call it before Run.
func (c *CSE) SetConnections(conns Connections) { c.conns = conns }

// Connections returns what SetConnections set (nil: none).
func (c *CSE) Connections() Connections { return c.conns }
