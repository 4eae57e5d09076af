package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onecse/onecse/codec"
)

// The WebSocket (TS-0020) and MQTT (TS-0010) bindings carry whole request
// and response primitives, correlated by rqi. The phases are those of HTTP;
// with WebSocket each worker has its connection (as over HTTP), with MQTT
// the workers share one client of the broker, as the requests of one AE do.

// primConn sends one request primitive and waits for its response.
type primConn interface {
	do(ctx context.Context, doc map[string]any) (map[string]any, error)
	close()
}

// pendingTable hands responses to the requests waiting for them.
type pendingTable struct {
	mu sync.Mutex
	m  map[string]chan map[string]any
}

func (p *pendingTable) add(rqi string) chan map[string]any {
	ch := make(chan map[string]any, 1)
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]chan map[string]any{}
	}
	p.m[rqi] = ch
	p.mu.Unlock()
	return ch
}

func (p *pendingTable) remove(rqi string) {
	p.mu.Lock()
	delete(p.m, rqi)
	p.mu.Unlock()
}

func (p *pendingTable) deliver(data []byte) {
	doc, err := codec.Decode(codec.JSON, data)
	if err != nil {
		return
	}
	rqi, _ := doc["rqi"].(string)
	p.mu.Lock()
	ch := p.m[rqi]
	delete(p.m, rqi)
	p.mu.Unlock()
	if ch != nil {
		ch <- doc
	}
}

func (p *pendingTable) wait(ctx context.Context, ch chan map[string]any, rqi string) (map[string]any, error) {
	select {
	case doc := <-ch:
		return doc, nil
	case <-ctx.Done():
		p.remove(rqi)
		return nil, ctx.Err()
	}
}

// wsConn is one WebSocket with the oneM2M.json subprotocol.
type wsConn struct {
	c       *websocket.Conn
	pending pendingTable
	mu      sync.Mutex // one writer at a time
	cancel  context.CancelFunc
}

func dialWS(ctx context.Context, u string) (*wsConn, error) {
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{"oneM2M.json"}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(c.Subprotocol(), "oneM2M.json") {
		c.CloseNow()
		return nil, fmt.Errorf("%s did not accept the subprotocol oneM2M.json", u)
	}
	c.SetReadLimit(16 << 20)
	rctx, cancel := context.WithCancel(context.Background())
	w := &wsConn{c: c, cancel: cancel}
	go func() {
		for {
			_, data, err := c.Read(rctx)
			if err != nil {
				return
			}
			w.pending.deliver(data)
		}
	}()
	return w, nil
}

func (w *wsConn) do(ctx context.Context, doc map[string]any) (map[string]any, error) {
	data, err := codec.Encode(codec.JSON, doc)
	if err != nil {
		return nil, err
	}
	rqi := doc["rqi"].(string)
	ch := w.pending.add(rqi)
	w.mu.Lock()
	err = w.c.Write(ctx, websocket.MessageText, data)
	w.mu.Unlock()
	if err != nil {
		w.pending.remove(rqi)
		return nil, err
	}
	return w.pending.wait(ctx, ch, rqi)
}

func (w *wsConn) close() {
	w.c.Close(websocket.StatusNormalClosure, "")
	w.cancel()
}

// mqttConn is one client of the broker: requests on
// /oneM2M/req/<fr>/<cse>/json (registration on reg_req), responses on the
// matching resp topics.
type mqttConn struct {
	c       paho.Client
	cse     string // the CSE-ID as a topic level
	cred    string // the credential level of the registration topics
	pending pendingTable
	mu      sync.Mutex
	subs    map[string]bool
}

func dialMQTT(broker, cseID string, timeout time.Duration) (*mqttConn, error) {
	id := fmt.Sprintf("bench-%08x", rand.Uint32())
	m := &mqttConn{cse: strings.TrimPrefix(cseID, "/"), cred: id, subs: map[string]bool{}}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("A::" + id).SetCleanSession(true).
		SetConnectTimeout(timeout).SetOrderMatters(false)
	m.c = paho.NewClient(o)
	if t := m.c.Connect(); !t.WaitTimeout(timeout) || t.Error() != nil {
		return nil, fmt.Errorf("connecting to %s: %v", broker, t.Error())
	}
	if err := m.subscribe("/oneM2M/reg_resp/" + id + "/" + m.cse + "/json"); err != nil {
		m.c.Disconnect(0)
		return nil, err
	}
	return m, nil
}

func (m *mqttConn) subscribe(topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs[topic] {
		return nil
	}
	t := m.c.Subscribe(topic, 1, func(_ paho.Client, msg paho.Message) { m.pending.deliver(msg.Payload()) })
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return fmt.Errorf("subscribing to %s: %v", topic, t.Error())
	}
	m.subs[topic] = true
	return nil
}

func (m *mqttConn) do(ctx context.Context, doc map[string]any) (map[string]any, error) {
	fr, _ := doc["fr"].(string)
	var topic string
	if fr == "" || fr == "C" || fr == "S" {
		topic = "/oneM2M/reg_req/" + m.cred + "/" + m.cse + "/json"
	} else {
		level := strings.ReplaceAll(strings.TrimPrefix(fr, "/"), "/", ":")
		if err := m.subscribe("/oneM2M/resp/" + level + "/" + m.cse + "/json"); err != nil {
			return nil, err
		}
		topic = "/oneM2M/req/" + level + "/" + m.cse + "/json"
	}
	data, err := codec.Encode(codec.JSON, doc)
	if err != nil {
		return nil, err
	}
	rqi := doc["rqi"].(string)
	ch := m.pending.add(rqi)
	if t := m.c.Publish(topic, 1, false, data); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		m.pending.remove(rqi)
		return nil, fmt.Errorf("publishing: %v", t.Error())
	}
	return m.pending.wait(ctx, ch, rqi)
}

func (m *mqttConn) close() { m.c.Disconnect(100) }

// runPrim is Run for ws:// and mqtt:// targets.
func runPrim(ctx context.Context, cfg Config, rep *Report) (*Report, error) {
	u, _ := url.Parse(cfg.Target)
	base := strings.Trim(u.Path, "/")
	var conns []primConn
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	switch u.Scheme {
	case "ws":
		for range cfg.Connections {
			dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			c, err := dialWS(dctx, "ws://"+u.Host+"/")
			cancel()
			if err != nil {
				return rep, fmt.Errorf("opening the WebSocket: %w", err)
			}
			conns = append(conns, c)
		}
	case "mqtt":
		c, err := dialMQTT("tcp://"+u.Host, cfg.CSEID, cfg.Timeout)
		if err != nil {
			return rep, err
		}
		conns = append(conns, c)
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	var seq atomic.Uint64
	req := func(op int, to, fr string, ty int, pc map[string]any) map[string]any {
		d := map[string]any{"op": op, "to": to, "fr": fr, "rqi": runID + "-" + strconv.FormatUint(seq.Add(1), 36), "rvi": "3"}
		if ty != 0 {
			d["ty"] = ty
		}
		if pc != nil {
			d["pc"] = pc
		}
		return d
	}
	call := func(doc map[string]any, want int64) (map[string]any, error) {
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		resp, err := conns[0].do(ctx, doc)
		if err != nil {
			return nil, err
		}
		if resp["rsc"] != want {
			return nil, fmt.Errorf("rsc %v: %v", resp["rsc"], resp["pc"])
		}
		return resp, nil
	}
	origin := cfg.Origin
	if origin == "" {
		origin = "C"
	}
	rn := "bench-" + runID
	resp, err := call(req(1, base, origin, 2, map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nbench", "rr": false, "srv": []any{"3"}}}), 2001)
	if err != nil {
		return rep, fmt.Errorf("registering the AE: %w", err)
	}
	ae, _ := resp["pc"].(map[string]any)["m2m:ae"].(map[string]any)
	aei, _ := ae["aei"].(string)
	if aei == "" {
		return rep, fmt.Errorf("registering the AE: no aei in %v", resp)
	}
	rep.AE, rep.AEI = rn, aei
	cfg.logf("registered AE %s/%s (aei %s) over %s", base, rn, aei, u.Scheme)
	aePath := base + "/" + rn
	if !cfg.Keep {
		defer func() {
			if _, err := call(req(4, aePath, aei, 0, nil), 2002); err != nil {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("deleting the AE %s: %v", aePath, err))
			}
		}()
	}
	if _, err := call(req(1, aePath, aei, 3, map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}), 2001); err != nil {
		return rep, fmt.Errorf("creating the container: %w", err)
	}
	con := string(cinBody(cfg.Size))
	con = con[strings.Index(con, `"con":"`)+7 : len(con)-3]
	cin := map[string]any{"m2m:cin": map[string]any{"cnf": "text/plain:0", "con": con}}
	var pool []string
	phase := func(op string, limit int64) (*stats, time.Duration) {
		return primPhase(ctx, cfg, conns, op, limit, func(rng *rand.Rand) (map[string]any, int64) {
			switch op {
			case OpCreate:
				return req(1, aePath+"/data", aei, 4, cin), 2001
			case OpRetrieve:
				return req(2, pool[rng.IntN(len(pool))], aei, 0, nil), 2000
			default:
				return req(2, aePath+"/data/la", aei, 0, nil), 2000
			}
		})
	}
	if cfg.Prefill > 0 && ctx.Err() == nil {
		cfg.logf("prefill: creating %d contentInstances ...", cfg.Prefill)
		st, el := phase(OpCreate, int64(cfg.Prefill))
		pool = st.ris
		rep.Prefill = &PrefillResult{Requested: cfg.Prefill, Created: len(st.ris), Errors: st.errors,
			Elapsed: el, Seconds: el.Seconds(), RPS: rate(st.requests, el), ErrorKinds: strKeys(st.errKinds)}
	}
	for _, op := range cfg.Ops {
		if ctx.Err() != nil {
			break
		}
		if op == OpRetrieve && len(pool) == 0 {
			rep.Phases = append(rep.Phases, PhaseResult{Target: TargetCSE, Phase: op, Skipped: "no contentInstance was created"})
			continue
		}
		cfg.logf("cse %s over %s: %d workers for %v ...", op, u.Scheme, cfg.Connections, cfg.Duration)
		st, el := phase(op, 0)
		if op == OpCreate {
			pool = append(pool, st.ris...)
		}
		rep.Phases = append(rep.Phases, st.result(TargetCSE, op, el))
	}
	return rep, ctx.Err()
}

// primPhase is runPhase for primitive connections: cfg.Connections
// closed-loop workers, worker i on connection i mod len(conns).
func primPhase(ctx context.Context, cfg Config, conns []primConn, op string, limit int64, next func(*rand.Rand) (map[string]any, int64)) (*stats, time.Duration) {
	var remaining atomic.Int64
	remaining.Store(limit)
	all := make([]*stats, cfg.Connections)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	for i := range cfg.Connections {
		st := newStats()
		all[i] = st
		conn := conns[i%len(conns)]
		rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))
		wg.Go(func() {
			for ctx.Err() == nil {
				if limit > 0 {
					if remaining.Add(-1) < 0 {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				doc, want := next(rng)
				rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				t0 := time.Now()
				resp, err := conn.do(rctx, doc)
				cancel()
				st.requests++
				if err != nil {
					st.errors++
					if errors.Is(err, context.DeadlineExceeded) {
						st.errKinds["timeout"]++
					} else {
						st.errKinds["transport"]++
					}
					continue
				}
				st.hist.Record(time.Since(t0))
				rsc := fmt.Sprint(resp["rsc"])
				st.rsc[rsc]++
				if resp["rsc"] != want {
					st.errors++
					st.errKinds["rsc "+rsc]++
					continue
				}
				if op == OpCreate {
					if c, ok := resp["pc"].(map[string]any)["m2m:cin"].(map[string]any); ok {
						if ri, _ := c["ri"].(string); ri != "" {
							st.ris = append(st.ris, ri)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	total := newStats()
	for _, st := range all {
		total.merge(st)
	}
	return total, el
}
