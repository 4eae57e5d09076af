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
