package testcse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/security/tlspsk"
)

// Msg is a request in binding-neutral terms: the acceptance suite writes its
// cases once with Msg, and each Client carries them over its binding.
type Msg struct {
	Op   int    // 1 CREATE ... 5 NOTIFY
	To   string // the primitive's to: "cse-in/ae", "/id-in/cse-in/ae", "//sp/id-in/..."
	From string // "" sends none
	Ty   int
	PC   map[string]any
	// Params are the other primitive parameters with their JSON values,
	// by short name: {"rcn": 6, "fc": {"fu": 1, "ty": [3]}}. Each client
	// maps them to its binding (query items and headers over HTTP).
	Params map[string]any
}

// Result is an answer in binding-neutral terms.
type Result struct {
	RSC int
	RQI string
	PC  map[string]any
	Raw []byte
}

// Must fails the test unless the answer has rsc.
func (r *Result) Must(t testing.TB, rsc int) *Result {
	t.Helper()
	if r.RSC != rsc {
		t.Fatalf("want rsc %d, got %d: %s", rsc, r.RSC, r.Raw)
	}
	return r
}

// Res returns the object under key in the content ({"m2m:cnt": {...}} → {...}).
func (r *Result) Res(key string) map[string]any {
	m, _ := r.PC[key].(map[string]any)
	return m
}

// Client sends requests to a test CSE over one binding.
type Client interface {
	Name() string
	Send(t testing.TB, m Msg) *Result
}

var rqiSeq atomic.Int64

func nextRQI() string { return fmt.Sprintf("rqi-%d", rqiSeq.Add(1)) }

// document is the serialised request primitive of m: what MQTT and WebSocket
// carry. It is built by hand, not by the codec/wire encoder, so that the
// bindings are tested against what a client writes.
func document(m Msg, rqi string) map[string]any {
	d := map[string]any{"op": m.Op, "to": m.To, "rqi": rqi, "rvi": "3"}
	if m.From != "" {
		d["fr"] = m.From
	}
	if m.Ty != 0 {
		d["ty"] = m.Ty
	}
	if m.PC != nil {
		d["pc"] = m.PC
	}
	for k, v := range m.Params {
		d[k] = v
	}
	return d
}

// resultOf reads a serialised response primitive by hand.
func resultOf(t testing.TB, f codec.Format, data []byte) *Result {
	t.Helper()
	m, err := codec.Decode(f, data)
	if err != nil {
		t.Fatalf("response not decoded: %v: %q", err, data)
	}
	r := &Result{Raw: data}
	if n, ok := m["rsc"].(int64); ok {
		r.RSC = int(n)
	} else {
		t.Fatalf("response without an integer rsc: %q", data)
	}
	r.RQI, _ = m["rqi"].(string)
	r.PC, _ = m["pc"].(map[string]any)
	if f == codec.CBOR {
		if j, err := codec.Encode(codec.JSON, m); err == nil {
			r.Raw = j // readable in failure messages
		}
	}
	return r
}

// ---- HTTP ----

// HTTPClient carries Msg over the HTTP binding of c (TS-0009).
func (c *CSE) HTTPClient() Client { return httpClient{c} }

type httpClient struct{ c *CSE }

func (httpClient) Name() string { return "http" }

func (h httpClient) Send(t testing.TB, m Msg) *Result {
	t.Helper()
	r := Req{From: m.From, Header: map[string]string{}}
	if m.From == "" {
		r.From = "-"
	}
	switch m.Op {
	case 1:
		r.Method, r.Ty = "POST", m.Ty
	case 2:
		r.Method = "GET"
	case 3:
		r.Method = "PUT"
	case 4:
		r.Method = "DELETE"
	case 5:
		r.Method = "POST"
	}
	switch {
	case strings.HasPrefix(m.To, "//"):
		r.Path = "/_/" + m.To[2:]
	case strings.HasPrefix(m.To, "/"):
		r.Path = "/~" + m.To
	default:
		r.Path = "/" + m.To
	}
	var q []string
	// A space is %20: in the oneM2M query string '+' separates list items
	// (TS-0009 6.2.2.2), so it cannot also stand for a space.
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	add := func(name string, v any) {
		switch x := v.(type) {
		case []any:
			var items []string
			for _, e := range x {
				items = append(items, esc(fmt.Sprint(e)))
			}
			q = append(q, esc(name)+"="+strings.Join(items, "+"))
		default:
			q = append(q, esc(name)+"="+esc(fmt.Sprint(x)))
		}
	}
	headers := map[string]string{"rqet": "X-M2M-RET", "rset": "X-M2M-RST", "oet": "X-M2M-OET", "ot": "X-M2M-OT", "ec": "X-M2M-EC", "gid": "X-M2M-GID", "vsi": "X-M2M-VSI"}
	for k, v := range m.Params {
		switch {
		case headers[k] != "":
			r.Header[headers[k]] = fmt.Sprint(v)
		case k == "fc":
			for fk, fv := range v.(map[string]any) {
				if fk == "atr" {
					for _, a := range fv.([]any) {
						am := a.(map[string]any)
						add(am["nm"].(string), am["val"])
					}
					continue
				}
				add(fk, fv)
			}
		case k == "rt":
			add("rt", v.(map[string]any)["rtv"])
		default:
			add(k, v)
		}
	}
	if m.Op == 2 && m.PC != nil {
		if l, ok := m.PC["m2m:atrl"]; ok {
			add("atrl", l)
		}
	} else if m.PC != nil {
		r.Body = m.PC
	}
	sort.Strings(q)
	if len(q) > 0 {
		r.Path += "?" + strings.Join(q, "&")
	}
	resp := h.c.Do(r)
	return &Result{RSC: resp.RSC, RQI: resp.Header.Get("X-M2M-RI"), PC: resp.JSON, Raw: resp.Body}
}

// ---- WebSocket ----

// WSClient carries Msg over a WebSocket connection to c (TS-0020), and
// answers the requests the CSE sends over it with OnRequest.
type WSClient struct {
	T      testing.TB
	Conn   *websocket.Conn
	Format codec.Format
	// OnRequest answers a request primitive the CSE sends (as a decoded
	// document); nil answers 2000 with no content. It runs on the reader.
	OnRequest func(req map[string]any) (rsc int, pc map[string]any)

	mu      sync.Mutex
	waiting map[string]chan *Result
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// DialWS opens a WebSocket to c with the given subprotocol (oneM2M.json or
// oneM2M.cbor); it is closed when the test ends.
func DialWS(t testing.TB, c *CSE, subprotocol string) *WSClient {
	t.Helper()
	return dialWS(t, "ws://"+c.Server.HTTPAddr()+"/", subprotocol, nil)
}

// DialWSPSK opens a WebSocket over TLS-PSK (wss) to c's HTTPS-PSK listener
// with this identity and key.
func DialWSPSK(t testing.TB, c *CSE, subprotocol, identity string, key []byte) *WSClient {
	t.Helper()
	return dialWS(t, "wss://"+c.Server.HTTPSPSKAddr()+"/", subprotocol, PSKClient(identity, key))
}

// DialWSURL opens a WebSocket to url (ws:// or wss://) with the HTTP
// client hc (nil: the default), e.g. one with a client certificate.
func DialWSURL(t testing.TB, url, subprotocol string, hc *http.Client) *WSClient {
	t.Helper()
	return dialWS(t, url, subprotocol, hc)
}

func dialWS(t testing.TB, url, subprotocol string, hc *http.Client) *WSClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}, HTTPClient: hc})
	if err != nil {
		cancel()
		t.Fatalf("websocket dial: %v", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	conn.SetReadLimit(16 << 20)
	f := codec.JSON
	if strings.HasSuffix(strings.ToLower(conn.Subprotocol()), "cbor") {
		f = codec.CBOR
	}
	w := &WSClient{T: t, Conn: conn, Format: f, waiting: map[string]chan *Result{}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go w.read()
	t.Cleanup(w.Close)
	return w
}

// Close closes the connection.
func (w *WSClient) Close() {
	w.Conn.Close(websocket.StatusNormalClosure, "")
	w.cancel()
	<-w.done
}

// Done is closed when the connection has ended (closed by either side).
func (w *WSClient) Done() <-chan struct{} { return w.done }

// Name implements Client.
func (w *WSClient) Name() string { return "ws-" + w.Format.String() }

func (w *WSClient) read() {
	defer close(w.done)
	for {
		_, data, err := w.Conn.Read(w.ctx)
		if err != nil {
			return
		}
		m, err := codec.Decode(w.Format, data)
		if err != nil {
			w.T.Errorf("websocket client: undecodable message %q: %v", data, err)
			continue
		}
		if _, isReq := m["op"]; isReq {
			rsc, pc := 2000, map[string]any(nil)
			if w.OnRequest != nil {
				rsc, pc = w.OnRequest(m)
			}
			resp := map[string]any{"rsc": rsc, "rqi": m["rqi"], "rvi": "3"}
			if pc != nil {
				resp["pc"] = pc
			}
			b, _ := codec.Encode(w.Format, resp)
			w.Conn.Write(w.ctx, w.msgType(), b)
			continue
		}
		r := resultOf(w.T, w.Format, data)
		w.mu.Lock()
		ch := w.waiting[r.RQI]
		delete(w.waiting, r.RQI)
		w.mu.Unlock()
		if ch == nil {
			w.T.Errorf("websocket client: a response to no request: %s", r.Raw)
			continue
		}
		ch <- r
	}
}

func (w *WSClient) msgType() websocket.MessageType {
	if w.Format == codec.CBOR {
		return websocket.MessageBinary
	}
	return websocket.MessageText
}

// Send implements Client.
func (w *WSClient) Send(t testing.TB, m Msg) *Result {
	t.Helper()
	return w.SendRaw(t, document(m, ""))
}

// SendRaw sends a document as it is (an rqi is added when it has none) and
// waits for the response with its rqi.
func (w *WSClient) SendRaw(t testing.TB, doc map[string]any) *Result {
	t.Helper()
	rqi, _ := doc["rqi"].(string)
	if rqi == "" {
		rqi = nextRQI()
		doc["rqi"] = rqi
	}
	data, err := codec.Encode(w.Format, doc)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	ch := make(chan *Result, 1)
	w.mu.Lock()
	w.waiting[rqi] = ch
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	if err := w.Conn.Write(ctx, w.msgType(), data); err != nil {
		t.Fatalf("websocket write: %v", err)
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		t.Fatalf("no response to %s", rqi)
		return nil
	}
}

// ---- MQTT ----

// MQTTBroker returns the broker the MQTT tests use: ONECSE_MQTT_BROKER, else
// the Mosquitto on tcp://127.0.0.1:1883 that .ci/run starts. A broker that
// cannot be reached fails the test: MQTT is part of what the suite proves.
func MQTTBroker(t testing.TB) string {
	t.Helper()
	b := os.Getenv("ONECSE_MQTT_BROKER")
	if b == "" {
		b = "tcp://127.0.0.1:1883"
	}
	u, err := url.Parse(b)
	if err != nil {
		t.Fatalf("ONECSE_MQTT_BROKER %q: %v", b, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("no MQTT broker at %s (start mosquitto, or run .ci/run): %v", b, err)
	}
	conn.Close()
	return b
}

// UniqueCSEID returns a CSE-ID no other test uses, so that tests sharing one
// broker do not see each other's topics or client IDs.
func UniqueCSEID() string {
	var b [6]byte
	rand.Read(b[:])
	return "/id-t" + hex.EncodeToString(b[:])
}

// StartMQTT starts a CSE connected to the test broker, with a CSE-ID of its
// own; mod may change the configuration further.
func StartMQTT(t testing.TB, mod func(*config.Config)) *CSE {
	t.Helper()
	broker := MQTTBroker(t)
	return Start(t, func(cfg *config.Config) {
		cfg.MQTTBroker = broker
		cfg.CSEID = UniqueCSEID()
		if mod != nil {
			mod(cfg)
		}
	})
}

// clearMQTTSession removes the broker's session of the CSE's client ID
// (TS-0010 6.3.3: connect with clean session, disconnect), so that tests do
// not leave persistent sessions behind on a shared broker.
func clearMQTTSession(cfg config.Config) {
	o := paho.NewClientOptions().AddBroker(cfg.MQTTBroker).SetClientID("C::" + strings.TrimPrefix(cfg.CSEID, "/")).
		SetCleanSession(true).SetConnectTimeout(3 * time.Second)
	c := paho.NewClient(o)
	if t := c.Connect(); t.WaitTimeout(3*time.Second) && t.Error() == nil {
		c.Disconnect(0)
	}
}

// MQTTClient carries Msg over the MQTT binding of c through the broker
// (TS-0010), as an AE would: registrations without an AE-ID on
// /oneM2M/reg_req/<credential>/<cse>/<type>, everything else on
// /oneM2M/req/<From>/<cse>/<type>.
type MQTTClient struct {
	T      testing.TB
	Client paho.Client
	Format codec.Format
	CSE    string // the CSE-ID as a topic level
	Prefix string
	// SPRelative writes the originator level in TS-0010 6.4.2's form
	// (id-in:Cae) instead of the bare AE-ID-Stem.
	SPRelative bool
	// OnRequest answers requests the CSE publishes to this client's AEs.
	OnRequest func(req map[string]any) (rsc int, pc map[string]any)

	mu      sync.Mutex
	waiting map[string]chan *Result
	aes     map[string]bool // the AE-IDs this client registered
}

var mqttClientSeq atomic.Int64

// DialMQTT connects a client for c (started with StartMQTT, or with an
// embedded broker) with the payload type "json" or "cbor".
func DialMQTT(t testing.TB, c *CSE, typ string) *MQTTClient {
	t.Helper()
	return DialMQTTAt(t, c, c.Server.MQTTBroker(), typ)
}

// DialMQTTAt is DialMQTT through another listener of c's broker (a plain
// one, when c itself connects over TLS).
func DialMQTTAt(t testing.TB, c *CSE, broker, typ string) *MQTTClient {
	t.Helper()
	return dialMQTT(t, c, broker, typ, nil)
}

// DialMQTTPSK is DialMQTTAt over TLS-PSK with this identity and key (a
// Mosquitto listener with psk_hint; broker is host:port or a URL).
func DialMQTTPSK(t testing.TB, c *CSE, broker, typ, identity string, key []byte) *MQTTClient {
	t.Helper()
	cfg := &tlspsk.Config{Identity: identity, Key: key, HandshakeTimeout: 10 * time.Second}
	return dialMQTT(t, c, broker, typ, func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return tlspsk.DialContext(ctx, "tcp", u.Host, cfg)
	})
}

func dialMQTT(t testing.TB, c *CSE, broker, typ string, open paho.OpenConnectionFunc) *MQTTClient {
	t.Helper()
	f := codec.JSON
	if typ == "cbor" {
		f = codec.CBOR
	}
	m := &MQTTClient{T: t, Format: f, CSE: strings.TrimPrefix(c.Config.CSEID, "/"), Prefix: strings.Trim(c.Config.MQTTTopicPrefix, "/"), waiting: map[string]chan *Result{}}
	id := fmt.Sprintf("A::test-%s-%d", m.CSE, mqttClientSeq.Add(1))
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetConnectTimeout(5 * time.Second).SetOrderMatters(false)
	if open != nil {
		o.SetCustomOpenConnectionFn(open)
	}
	m.Client = paho.NewClient(o)
	if tok := m.Client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	filters := map[string]byte{
		m.topic("/oneM2M/resp/+/" + m.CSE + "/#"):     1,
		m.topic("/oneM2M/reg_resp/+/" + m.CSE + "/#"): 1,
		m.topic("/oneM2M/req/" + m.CSE + "/+/#"):      1,
	}
	if tok := m.Client.SubscribeMultiple(filters, m.onMessage); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { m.Client.Disconnect(100) })
	return m
}

func (m *MQTTClient) topic(t string) string {
	if m.Prefix == "" {
		return t
	}
	return m.Prefix + t
}

// Serve makes the client answer the requests the CSE sends to aei (an AE
// registered otherwise than through this client); those it registered
// itself it answers already.
func (m *MQTTClient) Serve(aei string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.aes == nil {
		m.aes = map[string]bool{}
	}
	m.aes[aei] = true
}

// Name implements Client.
func (m *MQTTClient) Name() string { return "mqtt-" + m.Format.String() }

func (m *MQTTClient) onMessage(_ paho.Client, msg paho.Message) {
	t := strings.TrimPrefix(msg.Topic(), m.Prefix)
	parts := strings.Split(t, "/") // "", oneM2M, req|resp|reg_resp, <orig>, <recv>, <type>
	if len(parts) == 6 && parts[5] != m.Format.String() {
		return // another client's traffic on the shared topics
	}
	if strings.HasPrefix(t, "/oneM2M/req/") {
		recv := parts[4]
		if i := strings.LastIndexByte(recv, ':'); i >= 0 {
			recv = recv[i+1:]
		}
		m.mu.Lock()
		mine := m.aes[recv]
		m.mu.Unlock()
		if !mine {
			return // a request to another entity (another CSE, another client's AE)
		}
		doc, err := codec.Decode(m.Format, msg.Payload())
		if err != nil {
			m.T.Errorf("mqtt client: undecodable request %q", msg.Payload())
			return
		}
		rsc, pc := 2000, map[string]any(nil)
		if m.OnRequest != nil {
			rsc, pc = m.OnRequest(doc)
		}
		resp := map[string]any{"rsc": rsc, "rqi": doc["rqi"], "rvi": "3"}
		if pc != nil {
			resp["pc"] = pc
		}
		b, _ := codec.Encode(m.Format, resp)
		m.Client.Publish(m.topic("/oneM2M/resp/"+parts[3]+"/"+parts[4]+"/"+parts[5]), 1, false, b)
		return
	}
	doc, err := codec.Decode(m.Format, msg.Payload())
	if err != nil {
		return // not one of this client's responses
	}
	m.mu.Lock()
	_, waits := m.waiting[fmt.Sprint(doc["rqi"])]
	m.mu.Unlock()
	if !waits {
		return
	}
	r := resultOf(m.T, m.Format, msg.Payload())
	m.mu.Lock()
	ch := m.waiting[r.RQI]
	delete(m.waiting, r.RQI)
	m.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// Send implements Client.
func (m *MQTTClient) Send(t testing.TB, msg Msg) *Result {
	t.Helper()
	doc := document(msg, nextRQI())
	var topic string
	if msg.Op == 1 && msg.Ty == 2 && (msg.From == "" || msg.From == "C" || msg.From == "S") {
		topic = "/oneM2M/reg_req/cred-" + strconv.FormatInt(mqttClientSeq.Add(1), 10) + "/" + m.CSE + "/" + m.Format.String()
	} else {
		orig := msg.From
		if orig == "" {
			orig = "Cnoid" // the topic needs an originator level even when the primitive has no fr
		}
		if m.SPRelative && !strings.HasPrefix(orig, "/") {
			orig = m.CSE + ":" + orig
		}
		topic = "/oneM2M/req/" + strings.ReplaceAll(strings.TrimPrefix(orig, "/"), "/", ":") + "/" + m.CSE + "/" + m.Format.String()
	}
	r := m.Publish(t, topic, doc)
	if msg.Op == 1 && msg.Ty == 2 && r.RSC == 2001 {
		if aei, _ := r.Res("m2m:ae")["aei"].(string); aei != "" {
			m.Serve(aei)
		}
	}
	return r
}

// Publish sends doc on topic (the prefix is added) and waits for the
// response with its rqi.
func (m *MQTTClient) Publish(t testing.TB, topic string, doc map[string]any) *Result {
	t.Helper()
	rqi, _ := doc["rqi"].(string)
	data, err := codec.Encode(m.Format, doc)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return m.PublishRaw(t, topic, rqi, data)
}

// PublishRaw sends data on topic and waits for the response with rqi.
func (m *MQTTClient) PublishRaw(t testing.TB, topic, rqi string, data []byte) *Result {
	t.Helper()
	ch := make(chan *Result, 1)
	m.mu.Lock()
	m.waiting[rqi] = ch
	m.mu.Unlock()
	if tok := m.Client.Publish(m.topic(topic), 1, false, data); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt publish: %v", tok.Error())
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("no response to %s on %s", rqi, topic)
		return nil
	}
}
