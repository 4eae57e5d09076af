package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	mqttb "github.com/onecse/onecse/binding/mqtt"
	"github.com/onecse/onecse/binding/ws"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

// The core's requests to mqtt://, mqtts://, ws:// and wss:// points of
// access (notifications, forwarding, registration), by the receiver the
// core names in the context (cse.WithReceiver).

// mqttSecurity reads the TLS settings of the broker connection: a
// certificate configuration or a PSK one (nil, nil without either).
func mqttSecurity(cfg config.Config) (*tls.Config, *tlspsk.Config, error) {
	if cfg.MQTTPSKIdentity != "" {
		key, err := credentials.ReadKeyFile(cfg.MQTTPSKKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt-psk-key-file: %w", err)
		}
		return nil, &tlspsk.Config{Identity: cfg.MQTTPSKIdentity, Key: key, HandshakeTimeout: 10 * time.Second}, nil
	}
	if cfg.MQTTCA == "" && cfg.MQTTCert == "" {
		return nil, nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.MQTTCA != "" {
		pem, err := os.ReadFile(cfg.MQTTCA)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("mqtt-ca %s: no PEM certificate in it", cfg.MQTTCA)
		}
	}
	if cfg.MQTTCert != "" {
		certPEM, err := os.ReadFile(cfg.MQTTCert)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt-cert: %w", err)
		}
		keyPEM, err := credentials.ReadSecretFile(cfg.MQTTKey)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt-key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt-cert/mqtt-key: not a matching PEM certificate and key")
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil, nil
}

// mqttSender sends to mqtt:// and mqtts:// addresses. The broker and topic
// prefix of the configured binding use its connection; another broker (or
// another prefix, the path of a point of access, TS-0010 6.6) gets a
// connection of its own on first use, kept until shutdown.
type mqttSender struct {
	core *cse.CSE
	base mqttb.Options // the configured binding's options
	tls  *tls.Config
	psk  *tlspsk.Config

	mu     sync.Mutex
	main   *mqttb.Binding
	mainK  string
	pool   map[string]*mqttb.Binding
	closed bool
}

// brokerKey names a broker and prefix: "mqtt://host:port/prefix".
func brokerKey(raw string) (key, scheme, host, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", "", "", fmt.Errorf("%q is not an MQTT URL", raw)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		scheme = "mqtt"
	case "mqtts", "ssl", "tls":
		scheme = "mqtts"
	default:
		return "", "", "", "", fmt.Errorf("%q: scheme %s is not mqtt or mqtts", raw, u.Scheme)
	}
	port := u.Port()
	if port == "" {
		port = "1883"
		if scheme == "mqtts" {
			port = "8883"
		}
	}
	h := u.Hostname()
	if h == "localhost" {
		h = "127.0.0.1"
	}
	host = net.JoinHostPort(h, port)
	path = strings.Trim(u.Path, "/")
	return scheme + "://" + host + "/" + path, scheme, host, path, nil
}

// setMain records the configured binding.
func (m *mqttSender) setMain(b *mqttb.Binding, broker, prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.main = b
	m.mainK, _, _, _, _ = brokerKey(strings.TrimSuffix(broker, "/") + "/" + strings.Trim(prefix, "/"))
}

// binding returns the binding for a broker and prefix, connecting on first
// use.
func (m *mqttSender) binding(key, scheme, host, prefix string) (*mqttb.Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "shutting down")
	}
	if m.main != nil && key == m.mainK {
		return m.main, nil
	}
	if b := m.pool[key]; b != nil {
		return b, nil
	}
	o := m.base
	o.Broker = scheme + "://" + host
	o.TopicPrefix = prefix
	o.TLS, o.PSK = nil, nil
	if scheme == "mqtts" {
		o.TLS, o.PSK = m.tls, m.psk
	}
	// One client ID per connection: a second connection with the CSE's
	// own ID would take the first one's place at the same broker.
	self := strings.TrimPrefix(o.CSEID, "/")
	o.ClientID = "C::" + self + ":" + strings.ReplaceAll(host+"/"+prefix, "/", ":")
	o.ConnectTimeout = 5 * time.Second
	b, err := mqttb.New(m.core, o)
	if err != nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%v", err)
	}
	if m.pool == nil {
		m.pool = map[string]*mqttb.Binding{}
	}
	m.pool[key] = b
	return b, nil
}

// Send implements cse.Sender. With a receiver in ctx the request goes to it
// on /oneM2M/req/<this CSE>/<receiver>/<type> and the answer is awaited;
// without one, addr is a notification URL whose path is the topic to
// publish on, and nothing answers (the publication is the delivery).
func (m *mqttSender) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	key, scheme, host, path, err := brokerKey(addr)
	if err != nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%v", err)
	}
	to := cse.ReceiverOf(ctx)
	if to == "" {
		if path == "" {
			return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "the MQTT notification target %s has no path: it names the topic to publish on", addr)
		}
		u, _ := url.Parse(addr)
		b, err := m.binding(strings.TrimSuffix(key, path), scheme, host, "")
		if err != nil {
			return nil, err
		}
		if err := b.PublishRequest(ctx, strings.TrimPrefix(u.Path, "/"), f, req); err != nil {
			return nil, err
		}
		return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI, RVI: req.RVI}, nil
	}
	b, err := m.binding(key, scheme, host, path)
	if err != nil {
		return nil, err
	}
	return b.SendAs(ctx, to, f, req)
}

// close disconnects the connections made for sending.
func (m *mqttSender) close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	pool := m.pool
	m.pool = nil
	m.mu.Unlock()
	for _, b := range pool {
		b.Close(ctx)
	}
}

// wsSender sends to ws:// and wss:// addresses over the connection the
// receiver opened to this CSE: TS-0020 5.2 makes the registree the
// WebSocket client, so onecse dials no one but its own registrar, the
// first time a request goes to it (and again after the connection closed).
type wsSender struct {
	b         *ws.Binding
	registrar string // the registrar's CSE-ID
}

// Send implements cse.Sender.
func (w *wsSender) Send(ctx context.Context, addr string, _ codec.Format, req *primitive.Request) (*primitive.Response, error) {
	to := cse.ReceiverOf(ctx)
	if w.b == nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%s: the WebSocket binding is off", addr)
	}
	if to != "" && to == w.registrar && !w.b.Connected(to) {
		if err := w.b.Dial(ctx, addr, to); err != nil {
			return nil, err
		}
	}
	if to == "" || !w.b.Connected(to) {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable,
			"%s: no WebSocket connection from %q is open (the registree opens the connection, TS-0020 5.2)", addr, to)
	}
	return w.b.Send(ctx, to, req)
}
