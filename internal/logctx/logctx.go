// Package logctx carries log attributes in a context.Context: a request's
// identifier and originator, put there once where a request enters the core,
// appear on every line logged with that context (slog's ...Context methods
// and Log), whichever package logs it.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns ctx carrying the attributes args (key-value pairs or
// slog.Attr, as slog.Logger.With takes them) after those ctx already carries.
func With(ctx context.Context, args ...any) context.Context {
	old, _ := ctx.Value(key{}).([]slog.Attr)
	attrs := make([]slog.Attr, len(old), len(old)+len(args)/2)
	copy(attrs, old)
	r := slog.Record{}
	r.Add(args...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, key{}, attrs)
}

// WithAttrs is With for attributes already made (slog.String, ...): it spares
// the conversion of each value to an interface, which allocates.
func WithAttrs(ctx context.Context, add ...slog.Attr) context.Context {
	old, _ := ctx.Value(key{}).([]slog.Attr)
	attrs := make([]slog.Attr, 0, len(old)+len(add))
	attrs = append(attrs, old...)
	attrs = append(attrs, add...)
	return context.WithValue(ctx, key{}, attrs)
}

// Attrs returns the attributes ctx carries.
func Attrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(key{}).([]slog.Attr)
	return a
}

// Handler adds the attributes of the record's context to each record that
// does not already have an attribute of the same key.
type Handler struct{ next slog.Handler }

// NewHandler wraps next. Wrapping a Handler again returns it unchanged.
func NewHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(Handler); ok {
		return h
	}
	return Handler{next: next}
}

// Enabled implements slog.Handler.
func (h Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	attrs := Attrs(ctx)
	if len(attrs) == 0 {
		return h.next.Handle(ctx, r)
	}
	has := make(map[string]bool, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		has[a.Key] = true
		return true
	})
	r = r.Clone()
	for _, a := range attrs {
		if !has[a.Key] {
			r.AddAttrs(a)
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{next: h.next.WithGroup(name)}
}
