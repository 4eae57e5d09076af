package mqtt

import (
	"context"
	"fmt"
	"log/slog"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an MQTT broker embedded in onecse (mochi-mqtt), so that the MQTT
// binding works where no broker is installed. It accepts every client and
// every topic: it is for a single host or a trusted network; a deployment
// with other parties runs a broker that authenticates and authorises them
// (TS-0010 7).
type Broker struct {
	srv  *mochi.Server
	addr string
}

// StartBroker listens on addr (host:port; port 0 picks one) and serves in
// the background.
func StartBroker(addr string, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The broker's per-client chatter belongs at debug level.
	srv := mochi.New(&mochi.Options{Logger: slog.New(levelShift{log.Handler()})})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return nil, err
	}
	l := listeners.NewTCP(listeners.Config{Type: "tcp", ID: "onecse", Address: addr})
	if err := srv.AddListener(l); err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("embedded mqtt broker: %w", err)
	}
	return &Broker{srv: srv, addr: l.Address()}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker.
func (b *Broker) Close() error { return b.srv.Close() }

// allowAll lets every client connect and use every topic (mochi refuses
// everything without an authentication hook).
type allowAll struct{ mochi.HookBase }

func (*allowAll) ID() string { return "onecse-allow-all" }

func (*allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// levelShift logs the broker's info messages at debug level.
type levelShift struct{ slog.Handler }

func (h levelShift) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelShift) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (h levelShift) WithAttrs(a []slog.Attr) slog.Handler { return levelShift{h.Handler.WithAttrs(a)} }

func (h levelShift) WithGroup(n string) slog.Handler { return levelShift{h.Handler.WithGroup(n)} }
