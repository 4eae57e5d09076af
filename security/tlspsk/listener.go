package tlspsk

import (
	"context"
	"net"
)

type listener struct {
	net.Listener
	config *Config
}

// Accept returns a server-side *Conn; its handshake runs on first use (or
// call Handshake), so a slow client does not hold up Accept.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// NewListener wraps inner so that every accepted connection is a
// server-side *Conn.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{Listener: inner, config: config}
}

// Listen listens on the network address and wraps the listener with
// NewListener. The Config is checked first.
func Listen(network, addr string, config *Config) (net.Listener, error) {
	if err := config.checkServer(); err != nil {
		return nil, err
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return NewListener(l, config), nil
}

// Dial connects to addr and runs the handshake.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return DialContext(context.Background(), network, addr, config)
}

// DialContext connects to addr and runs the handshake, both bounded by ctx
// (and the handshake by Config.HandshakeTimeout). Without a
// Config.ServerName, a host name in addr is sent as SNI (TS-0003 10.2 wants
// SNI); an IP address is not (RFC 6066 3). It fits http.Transport's
// DialTLSContext:
//
//	DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
//		return tlspsk.DialContext(ctx, network, addr, cfg)
//	}
func DialContext(ctx context.Context, network, addr string, config *Config) (*Conn, error) {
	if err := config.checkClient(); err != nil {
		return nil, err
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if config.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" && net.ParseIP(host) == nil {
			cfg := *config
			cfg.ServerName = host
			config = &cfg
		}
	}
	c := Client(raw, config)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}
