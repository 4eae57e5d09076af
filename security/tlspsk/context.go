package tlspsk

import (
	"context"
	"net"
)

type contextKey struct{}

// NewContext returns a context that carries c.
func NewContext(ctx context.Context, c *Conn) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the *Conn stored by NewContext or ConnContext.
func FromContext(ctx context.Context) (*Conn, bool) {
	c, ok := ctx.Value(contextKey{}).(*Conn)
	return c, ok
}

// ConnContext stores c in the context when it is a *Conn. It has the shape
// of http.Server.ConnContext, so an HTTP server on a tlspsk listener gives
// every handler its connection:
//
//	srv := &http.Server{Handler: h, ConnContext: tlspsk.ConnContext}
//	go srv.Serve(tlspsk.NewListener(l, cfg))
//	// in a handler (the handshake is complete once a request was read):
//	if c, ok := tlspsk.FromContext(r.Context()); ok {
//		identity := c.ConnectionState().Identity
//	}
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*Conn); ok {
		return NewContext(ctx, tc)
	}
	return ctx
}
