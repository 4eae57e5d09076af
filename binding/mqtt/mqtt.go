// Package mqtt is the oneM2M MQTT binding (TS-0010): onecse is a client of an
// MQTT broker, subscribed to the request topics of its CSE-ID, answering on
// the response topics, and sending requests of its own (notifications)
// through Send.
//
// Topics (TS-0010 6.4.2 to 6.4.4, 6.5.4), with <cse> the CSE-ID without its
// leading '/' (id-in):
//
//	/oneM2M/req/<originator>/<cse>/<json|cbor>       requests to onecse
//	/oneM2M/resp/<originator>/<cse>/<json|cbor>      onecse's answers
//	/oneM2M/reg_req/<credential-ID>/<cse>/<type>     registrations of entities without an ID
//	/oneM2M/reg_resp/<credential-ID>/<cse>/<type>    their answers
//	/oneM2M/req/<cse>/<target>/json                  onecse's own requests (Send)
//	/oneM2M/resp/<cse>/<target>/<type>               their answers
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onecse/onecse/binding/internal/pending"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/codec/wire"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/tlspsk"
)

// Handler is what the binding needs from the core.
type Handler interface {
	Handle(ctx context.Context, req *primitive.Request) *primitive.Response
}

// Options configure the binding.
type Options struct {
	// Broker is the broker's URL: tcp://host:1883 (mqtt://host:1883 is read
	// as tcp://), ssl://host:8883 (mqtts:// is read as ssl://) or ws:// as
	// paho understands them. Without a port, 1883 or 8883.
	Broker string
	// TLS configures an ssl:// connection with certificates: the CAs that
	// may sign the broker's certificate (RootCAs) and this CSE's client
	// certificate (Certificates). Nil: the system's CAs, no client
	// certificate.
	TLS *tls.Config
	// PSK makes an ssl:// connection TLS 1.2 with a pre-shared key
	// (TS-0003 8.2.1: onecse is the TLS client, its Identity and Key the
	// credential the broker knows), instead of certificates.
	PSK *tlspsk.Config
	// CSEID is the SP-relative CSE-ID of this CSE (/id-in); SPID its
	// M2M-SP-ID (//onecse.example).
	CSEID, SPID string
	// TopicPrefix is put before every topic (TS-0010 6.6: the path of an
	// mqtt:// point of access), e.g. "site1" gives site1/oneM2M/req/...
	TopicPrefix string
	// Username and Password for the broker, when it asks for them.
	Username, Password string
	// ClientID overrides the client identifier C::<CSE-ID without '/'>
	// (TS-0010 6.3.3).
	ClientID string
	// ConnectTimeout bounds the first connection (default 10 s): a broker
	// that cannot be reached at start is a configuration error.
	ConnectTimeout time.Duration
	// MaxInFlight bounds the requests handled at once (default 256).
	MaxInFlight int
	Log         *slog.Logger
	// Now is the clock (for relative timestamps); nil means time.Now.
	Now func() time.Time
}

// Binding is a connected MQTT binding.
type Binding struct {
	core   Handler
	opt    Options
	client paho.Client
	self   string // the CSE-ID as a topic level: id-in
	sem    chan struct{}

	pending pending.Table

	// subscribed is closed once the first subscription is in place: New
	// returns only then, so that no request published after it is missed.
	subscribed     chan struct{}
	subscribedOnce sync.Once

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	routes map[string]route // originator → how it was last seen
	ctx    context.Context
	cancel context.CancelFunc
}

// route is how an entity talks to onecse: the originator level of its
// topics and its serialisation; Send uses both to reach it.
type route struct {
	topicID string
	format  codec.Format
}

// QoS of every publication and subscription: TS-0010 5.1 uses QoS 1 (QoS 2
// would add nothing, oneM2M requests being idempotent, 6.4.1.1).
const qos = 1

// New connects to the broker and subscribes. It fails when the broker cannot
// be reached within Options.ConnectTimeout; later losses of the connection
// are repaired in the background.
func New(core Handler, opt Options) (*Binding, error) {
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 10 * time.Second
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 256
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.TopicPrefix = strings.Trim(opt.TopicPrefix, "/")
	self := strings.TrimPrefix(opt.CSEID, "/")
	if self == "" || strings.ContainsAny(self, "/+#") {
		return nil, fmt.Errorf("mqtt: CSE-ID %q cannot be a topic level", opt.CSEID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Binding{core: core, opt: opt, self: self, sem: make(chan struct{}, opt.MaxInFlight),
		routes: map[string]route{}, ctx: ctx, cancel: cancel, subscribed: make(chan struct{})}
	clientID := opt.ClientID
	if clientID == "" {
		clientID = "C::" + self // TS-0010 6.3.3
	}
	broker, err := brokerURL(opt.Broker)
	if err != nil {
		cancel()
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		// TS-0010 6.3.3: clean session false, so that the broker keeps the
		// subscriptions and the QoS 1 requests that arrive while onecse is
		// away; no Will.
		SetCleanSession(false).
		SetUsername(opt.Username).
		SetPassword(opt.Password).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(opt.ConnectTimeout).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(30 * time.Second).
		// Each message on its own goroutine: a slow request must not hold
		// up the others, nor the responses to onecse's own requests.
		SetOrderMatters(false).
		// A message is acknowledged once it is handled, so that one
		// received during shutdown is delivered again after a restart.
		SetAutoAckDisabled(true).
		SetOnConnectHandler(b.subscribe).
		// A broker keeping our session delivers what it queued right after
		// CONNACK, before the subscribe in the connect handler has put its
		// message handler in place; paho leaves such a message without a
		// handler unacknowledged until the next reconnection. The same
		// handler as the default takes it at once.
		SetDefaultPublishHandler(b.onMessage).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			opt.Log.Warn("mqtt connection lost", "broker", opt.Broker, "err", err)
		})
	if strings.HasPrefix(broker, "ssl://") {
		switch {
		case opt.PSK != nil:
			o.SetCustomOpenConnectionFn(pskDialer(opt.PSK, opt.ConnectTimeout, opt.Log))
		case opt.TLS != nil:
			o.SetTLSConfig(opt.TLS)
		}
	} else if opt.PSK != nil || opt.TLS != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: TLS settings are given, but the broker URL %s is not mqtts:// or ssl://", opt.Broker)
	}
	b.client = paho.NewClient(o)
	t := b.client.Connect()
	if !t.WaitTimeout(opt.ConnectTimeout) {
		b.client.Disconnect(0)
		cancel()
		return nil, fmt.Errorf("mqtt: connecting to %s: timed out", opt.Broker)
	}
	if err := t.Error(); err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: connecting to %s: %w", opt.Broker, err)
	}
	select {
	case <-b.subscribed:
	case <-time.After(opt.ConnectTimeout):
		b.client.Disconnect(0)
		cancel()
		return nil, fmt.Errorf("mqtt: subscribing at %s: timed out", opt.Broker)
	}
	return b, nil
}

// brokerURL turns a broker URL into paho's form: mqtt:// is tcp://,
// mqtts:// is ssl://, and a missing port is the scheme's default (1883,
// 8883; TS-0010 6.6).
func brokerURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("mqtt: the broker %q is not a URL such as mqtt://host:1883", s)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "tcp"
	case "mqtts", "ssl", "tls", "tcps":
		u.Scheme = "ssl"
	case "ws", "wss":
		return s, nil
	default:
		return "", fmt.Errorf("mqtt: the broker URL %q has an unknown scheme: use mqtt:// or mqtts://", s)
	}
	if u.Port() == "" {
		port := "1883"
		if u.Scheme == "ssl" {
			port = "8883"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u.Scheme + "://" + u.Host, nil
}

// pskDialer opens paho's connections over TLS-PSK.
func pskDialer(cfg *tlspsk.Config, timeout time.Duration, log *slog.Logger) paho.OpenConnectionFunc {
	return func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := tlspsk.DialContext(ctx, "tcp", u.Host, cfg)
		if err != nil {
			// The identity is no secret; the key never appears here.
			return nil, fmt.Errorf("TLS-PSK handshake with the broker %s as %q failed (wrong key, or an identity the broker does not know?): %w", u.Host, cfg.Identity, err)
		}
		st := c.ConnectionState()
		log.Debug("mqtt TLS-PSK association", "broker", u.Host, "identity", st.Identity, "suite", tlspsk.CipherSuiteName(st.CipherSuite), "ems", st.ExtendedMasterSecret)
		return c, nil
	}
}

// topic joins the prefix and a oneM2M topic ("/oneM2M/...").
func (b *Binding) topic(t string) string {
	if b.opt.TopicPrefix == "" {
		return t
	}
	return b.opt.TopicPrefix + t
}

// subscribe subscribes to the topics of TS-0010 6.4.3, 6.4.4 and 6.5.4 on
// every (re)connection.
func (b *Binding) subscribe(c paho.Client) {
	filters := map[string]byte{
		b.topic("/oneM2M/req/+/" + b.self + "/#"):     qos,
		b.topic("/oneM2M/reg_req/+/" + b.self + "/#"): qos,
		b.topic("/oneM2M/resp/" + b.self + "/+/#"):    qos,
	}
	t := c.SubscribeMultiple(filters, b.onMessage)
	if !t.WaitTimeout(b.opt.ConnectTimeout) || t.Error() != nil {
		b.opt.Log.Error("mqtt subscribe failed", "err", t.Error())
		return
	}
	b.subscribedOnce.Do(func() { close(b.subscribed) })
	b.opt.Log.Info("mqtt connected", "broker", b.opt.Broker, "cse", b.self)
}

// Close waits for the requests under way, then disconnects. Messages that
// arrive meanwhile are left unacknowledged, so that the broker delivers
// them again to the next session (clean session false). When ctx ends first,
// the requests under way are cancelled.
func (b *Binding) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.cancel()
		<-done
	}
	b.cancel()
	b.client.Disconnect(250)
	return nil
}

// topicParts reads an incoming topic: kind (req, reg_req, resp), originator,
// receiver and type ("" when the topic has no type level, as the figures of
// TS-0010 draw it).
func (b *Binding) topicParts(t string) (kind, orig, recv, typ string, ok bool) {
	if b.opt.TopicPrefix != "" {
		var has bool
		if t, has = strings.CutPrefix(t, b.opt.TopicPrefix); !has {
			return "", "", "", "", false
		}
	}
	parts := strings.Split(t, "/")
	if len(parts) < 5 || len(parts) > 6 || parts[0] != "" || parts[1] != "oneM2M" {
		return "", "", "", "", false
	}
	if len(parts) == 6 {
		typ = parts[5]
	}
	return parts[2], parts[3], parts[4], typ, parts[3] != "" && parts[4] != ""
}

func formatOf(typ string) (codec.Format, bool) {
	switch typ {
	case "json", "":
		return codec.JSON, true
	case "cbor":
		return codec.CBOR, true
	}
	return codec.FormatNone, false
}

func (b *Binding) onMessage(_ paho.Client, m paho.Message) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return // not acknowledged: the broker delivers it again
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	select {
	case b.sem <- struct{}{}:
	case <-b.ctx.Done():
		return
	}
	defer func() { <-b.sem }()
	defer m.Ack()

	log := b.opt.Log
	kind, orig, recv, typ, ok := b.topicParts(m.Topic())
	if !ok {
		log.Debug("mqtt message on a topic that is not oneM2M's", "topic", m.Topic())
		return
	}
	switch kind {
	case "resp":
		f, ok := formatOf(typ)
		if !ok {
			log.Debug("mqtt response of an unsupported type", "topic", m.Topic())
			return
		}
		resp, err := wire.DecodeResponse(f, m.Payload(), b.opt.Now())
		if err != nil {
			log.Debug("mqtt response not decoded", "topic", m.Topic(), "err", err)
			return
		}
		if !b.pending.Deliver(resp) {
			log.Debug("mqtt response matches no request", "topic", m.Topic(), "rqi", resp.RQI)
		}
	case "req", "reg_req":
		if recv != b.self {
			return
		}
		b.serve(kind, orig, typ, m.Payload())
	}
}

// serve answers one request that arrived on /oneM2M/<kind>/<orig>/<cse>/<typ>.
func (b *Binding) serve(kind, orig, typ string, payload []byte) {
	respKind := "resp"
	if kind == "reg_req" {
		respKind = "reg_resp"
	}
	respTyp := typ
	f, ok := formatOf(typ)
	var req *primitive.Request
	var err error
	if !ok {
		// An XML (or unknown) payload: answered in JSON on the json topic,
		// the only serialisation both sides can be sure of.
		f, respTyp = codec.JSON, "json"
		err = primitive.Errorf(primitive.RSCUnsupportedMediaType, "payload type %q is not supported: use json or cbor", typ)
	} else {
		req, err = wire.DecodeRequest(f, payload, b.opt.Now())
	}
	if err == nil {
		err = b.check(kind, orig, req)
	}
	var resp *primitive.Response
	if err != nil {
		resp = primitive.ErrorResponse(req, err)
		b.opt.Log.Debug("mqtt request refused", "originator", orig, "rqi", resp.RQI, "rsc", int(resp.RSC), "err", err)
	} else {
		req.Peer = primitive.Peer{Binding: "mqtt"}
		resp = b.core.Handle(b.ctx, req)
		b.learnRoute(kind, orig, f, req, resp)
	}
	data, err := wire.EncodeResponse(f, resp)
	if err != nil {
		b.opt.Log.Error("encoding a response", "rqi", resp.RQI, "err", err)
		data, _ = wire.EncodeResponse(f, &primitive.Response{RSC: primitive.RSCInternalServerError, RQI: resp.RQI, RVI: resp.RVI,
			PC: map[string]any{"m2m:dbg": "the response could not be encoded"}})
	}
	t := "/oneM2M/" + respKind + "/" + orig + "/" + b.self
	if respTyp != "" {
		t += "/" + respTyp
	}
	b.publish(b.topic(t), data)
}

func (b *Binding) publish(topic string, data []byte) error {
	t := b.client.Publish(topic, qos, false, data)
	if !t.WaitTimeout(b.opt.ConnectTimeout) {
		b.opt.Log.Warn("mqtt publish timed out", "topic", topic)
		return errors.New("publish timed out")
	}
	if err := t.Error(); err != nil {
		b.opt.Log.Warn("mqtt publish failed", "topic", topic, "err", err)
		return err
	}
	return nil
}

// check applies the topic rules to a decoded request:
//
//   - reg_req carries only registrations, CREATE <AE> or <remoteCSE>
//     (TS-0010 6.4.4): anything else is a 4000.
//   - On req, a From that names another entity than the topic's originator
//     level is a 4103 ORIGINATOR_HAS_NO_PRIVILEGE. TS-0010 7.2 makes the
//     topic the identity the receiver trusts (the broker authorises who may
//     publish on it); an fr that disagrees claims an identity the broker did
//     not vouch for. The request itself is well-formed, so it is not a 4000,
//     and the originator is known, so it is not a 4106: it is refused the
//     right to act as fr, which is what 4103 says (TS-0004 Table 6.6.3.3-1).
//     An AE registration asking for a new AE-ID (fr absent, empty, "C" or
//     "S") is exempt: its originator has no ID to compare yet. So is a
//     request whose topic originator is a CSE: the originator level is the
//     previous hop (TS-0010 6.4.2), and a CSE forwards the requests of the
//     entities below it and of other CSEs, whose fr names them; the core
//     checks those originators as it does over HTTP.
func (b *Binding) check(kind, orig string, req *primitive.Request) error {
	isReg := req.Op == primitive.OpCreate && (req.Ty == 2 || req.Ty == 16)
	if kind == "reg_req" {
		if !isReg {
			return primitive.Errorf(primitive.RSCBadRequest, "the reg_req topics carry only the registration of an AE or a CSE (CREATE with ty 2 or 16)")
		}
		return nil
	}
	if req.Op == primitive.OpCreate && req.Ty == 2 {
		switch req.From {
		case "", "C", "S":
			return nil
		}
	}
	if req.From == "" {
		return nil // the core answers 4000: From is missing
	}
	if !b.sameEntity(req.From, orig) && !isCSELevel(orig) {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "the originator %q does not match the topic's originator %q (TS-0010 7.2)", req.From, orig)
	}
	return nil
}

// norm brings an entity ID to one form for comparison: SP-relative IDs of
// this SP, AE-IDs of this CSE as their stem, and one-level SP-relative IDs
// (/id-mn, /Sabc) without their '/'.
func (b *Binding) norm(id string) string {
	if b.opt.SPID != "" {
		if rest, ok := strings.CutPrefix(id, b.opt.SPID+"/"); ok {
			id = rest
		}
	}
	if rest, ok := strings.CutPrefix(id, b.opt.CSEID+"/"); ok {
		return rest
	}
	if strings.HasPrefix(id, "/") && !strings.HasPrefix(id, "//") && strings.Count(id, "/") == 1 {
		return id[1:]
	}
	return id
}

// fromTopicID reverses the ID transformation of TS-0010 6.4.2: id-in:Cae is
// /id-in/Cae, :sp:id-in is //sp/id-in; a level without ':' is the ID
// itself (a CSE-ID or S-AE-ID without its '/', or the bare AE-ID-Stem that
// TS-0010's own examples and most clients use).
func fromTopicID(t string) string {
	if rest, ok := strings.CutPrefix(t, ":"); ok {
		return "//" + strings.ReplaceAll(rest, ":", "/")
	}
	if strings.Contains(t, ":") {
		return "/" + strings.ReplaceAll(t, ":", "/")
	}
	return t
}

// isCSELevel reports whether a topic's originator level names a CSE: an
// AE is named by its AE-ID-Stem (C..., S...), alone or after its CSE-ID
// (id-in:Cae).
func isCSELevel(orig string) bool {
	if i := strings.LastIndexByte(orig, ':'); i >= 0 {
		orig = orig[i+1:]
	}
	return !primitive.IsAEStem(orig)
}

// sameEntity reports whether fr and the topic level orig name one entity.
// Both forms of an AE of this CSE match: the bare stem (Cae) and the
// SP-relative form of TS-0010 6.4.2 (id-in:Cae).
func (b *Binding) sameEntity(fr, orig string) bool {
	return b.norm(fr) == b.norm(fromTopicID(orig))
}

// topicID is the default originator/receiver level for an entity onecse has
// not heard from on MQTT: the normalised ID with '/' as ':' (an AE of this
// CSE by its bare stem, as TS-0010 6.6 and 7.4 write it).
func (b *Binding) topicID(id string) string {
	n := b.norm(id)
	if rest, ok := strings.CutPrefix(n, "//"); ok {
		return ":" + strings.ReplaceAll(rest, "/", ":")
	}
	return strings.ReplaceAll(strings.TrimPrefix(n, "/"), "/", ":")
}

// learnRoute remembers how an originator talks to onecse, so that Send
// reaches it on the topic level and serialisation it uses.
func (b *Binding) learnRoute(kind, orig string, f codec.Format, req *primitive.Request, resp *primitive.Response) {
	switch resp.RSC {
	case primitive.RSCOriginatorNotAuthenticated, primitive.RSCSecurityAssociationRequired, primitive.RSCBadRequest, primitive.RSCOriginatorHasNoPrivilege:
		return
	}
	if kind != "req" || req.From == "" || req.From == "C" || req.From == "S" {
		return
	}
	b.mu.Lock()
	b.routes[b.norm(req.From)] = route{topicID: orig, format: f}
	b.mu.Unlock()
}

// Send publishes req to the AE or CSE to (an AE-ID or CSE-ID) on
// /oneM2M/req/<cse>/<to>/<type> and waits for the response with req's rqi on
// /oneM2M/resp/<cse>/<to>/<type> until ctx ends (TS-0010 6.4.2, 6.4.3). The
// topic level and serialisation are those the target used in its own
// requests; for a target not heard from, its ID with '/' as ':' and JSON.
func (b *Binding) Send(ctx context.Context, to string, req *primitive.Request) (*primitive.Response, error) {
	return b.SendAs(ctx, to, codec.FormatNone, req)
}

// SendAs is Send with f as the serialisation for a target that has not
// used MQTT with onecse yet (FormatNone: JSON).
func (b *Binding) SendAs(ctx context.Context, to string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	if req.RQI == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a request sent over MQTT needs an rqi")
	}
	b.mu.Lock()
	r, ok := b.routes[b.norm(to)]
	b.mu.Unlock()
	if !ok {
		if f == codec.FormatNone {
			f = codec.JSON
		}
		r = route{topicID: b.topicID(to), format: f}
	}
	if r.topicID == "" || strings.ContainsAny(r.topicID, "/+#") {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%q cannot be an MQTT topic level", to)
	}
	data, err := wire.EncodeRequest(r.format, req)
	if err != nil {
		return nil, err
	}
	ch, done, ok := b.pending.Add(req.RQI)
	if !ok {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a request with rqi %q is already waiting", req.RQI)
	}
	defer done()
	if err := b.publish(b.topic("/oneM2M/req/"+b.self+"/"+r.topicID+"/"+r.format.String()), data); err != nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "publishing to %s: %v", to, err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, primitive.Errorf(primitive.RSCRequestTimeout, "no response from %s: %v", to, ctx.Err())
	case <-b.ctx.Done():
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "the MQTT binding closed")
	}
}

// PublishRequest publishes req on topic as it is (the prefix is not added)
// and waits for nothing: a notification URL mqtt://broker/<topic> names the
// topic itself, not an entity that answers (TS-0010 6.6).
func (b *Binding) PublishRequest(ctx context.Context, topic string, f codec.Format, req *primitive.Request) error {
	if topic == "" || strings.ContainsAny(topic, "+#") {
		return primitive.Errorf(primitive.RSCTargetNotReachable, "%q cannot be an MQTT topic to publish to", topic)
	}
	if f == codec.FormatNone {
		f = codec.JSON
	}
	data, err := wire.EncodeRequest(f, req)
	if err != nil {
		return err
	}
	if err := b.publish(topic, data); err != nil {
		return primitive.Errorf(primitive.RSCTargetNotReachable, "publishing on %s: %v", topic, err)
	}
	return ctx.Err()
}
