package primitive

import "context"

type hopKey struct{}

// WithHopToCSE marks a request sent with ctx as one to the point of access
// of a CSE (forwarding, registration, a notification on its way to an
// entity of that CSE): a binding then addresses the request by its To
// (TS-0009 6.2.2.1: the To becomes the request path), even a NOTIFY, which
// otherwise goes to its target URL as it is given.
func WithHopToCSE(ctx context.Context) context.Context {
	return context.WithValue(ctx, hopKey{}, true)
}

// IsHopToCSE reports whether ctx was marked by WithHopToCSE.
func IsHopToCSE(ctx context.Context) bool {
	v, _ := ctx.Value(hopKey{}).(bool)
	return v
}
