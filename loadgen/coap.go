package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapudp "github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// The CoAP driver (--binding coap): the same phases over the oneM2M CoAP
// binding (TS-0008), each worker with its own UDP socket and confirmable
// requests. The options are written out here as a client writes them:
// 267 oneM2M-TY, 271 RVI, 279 FR, 283 RQI, 307 RSC.

const (
	coapTY  = 267
	coapRVI = 271
	coapFR  = 279
	coapRQI = 283
	coapRSC = 307
)

// coapStatus renders a CoAP code as a number like the HTTP statuses of the
// report: 2.01 → 201.
func coapStatus(c codes.Code) int { return int(c>>5)*100 + int(c&31) }

type coapReq struct {
	code codes.Code
	path []string
	ty   int
	from string
	body []byte
}

func coapUint(n int) []byte {
	var b []byte
	for v := uint32(n); v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return b
}

// coapDo sends one request and returns the CoAP code, the oneM2M-RSC and
// the payload.
func coapDo(ctx context.Context, cc *udpClient.Conn, r coapReq, rqi string) (codes.Code, int, []byte, error) {
	m := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(m)
	tok, err := message.GetToken()
	if err != nil {
		return 0, 0, nil, err
	}
	m.SetCode(r.code)
	m.SetToken(tok)
	opts := message.Options{}
	for _, s := range r.path {
		opts = append(opts, message.Option{ID: message.URIPath, Value: []byte(s)})
	}
	if r.body != nil {
		opts = append(opts, message.Option{ID: message.ContentFormat, Value: coapUint(50)})
	}
	if r.ty != 0 {
		opts = append(opts, message.Option{ID: coapTY, Value: coapUint(r.ty)})
	}
	opts = append(opts,
		message.Option{ID: coapRVI, Value: []byte("3")},
		message.Option{ID: coapFR, Value: []byte(r.from)},
		message.Option{ID: coapRQI, Value: []byte(rqi)})
	m.ResetOptionsTo(opts)
	if r.body != nil {
		m.SetBody(bytes.NewReader(r.body))
	}
	resp, err := cc.Do(m)
	if err != nil {
		return 0, 0, nil, err
	}
	defer cc.ReleaseMessage(resp)
	rsc := 0
	if v, err := resp.Options().GetUint32(coapRSC); err == nil {
		rsc = int(v)
	}
	var body []byte
	if b := resp.Body(); b != nil {
		body, _ = io.ReadAll(b)
	}
	return resp.Code(), rsc, body, nil
}

func runCoAP(ctx context.Context, cfg Config, rep *Report) (*Report, error) {
	u, _ := url.Parse(cfg.Target)
	cseBase := strings.Split(strings.Trim(u.Path, "/"), "/")
	dial := func() (*udpClient.Conn, error) { return coapudp.Dial(u.Host) }
	setup, err := dial()
	if err != nil {
		return rep, err
	}
	defer setup.Close()
	call := func(r coapReq) (codes.Code, int, []byte, error) {
		c, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		return coapDo(c, setup, r, "bench-setup-"+strconv.Itoa(rand.IntN(1<<30)))
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	origin := cfg.Origin
	if origin == "" {
		origin = "C"
	}
	rn := "bench-" + runID
	code, rsc, resp, err := call(coapReq{code: codes.POST, path: cseBase, ty: 2, from: origin,
		body: fmt.Appendf(nil, `{"m2m:ae":{"rn":%q,"api":"Nbench","rr":false,"srv":["3"]}}`, rn)})
	if err != nil {
		return rep, fmt.Errorf("registering the AE: %w", err)
	}
	if code != codes.Created {
		return rep, fmt.Errorf("registering the AE: CoAP %d, RSC %d: %s", coapStatus(code), rsc, snippet(resp))
	}
	var ae struct {
		AE struct {
			AEI string `json:"aei"`
		} `json:"m2m:ae"`
	}
	if err := json.Unmarshal(resp, &ae); err != nil || ae.AE.AEI == "" {
		return rep, fmt.Errorf("registering the AE: no aei in %s", snippet(resp))
	}
	aei := ae.AE.AEI
	rep.AE, rep.AEI = rn, aei
	aePath := append(append([]string(nil), cseBase...), rn)
	if !cfg.Keep {
		defer func() {
			if code, rsc, resp, err := call(coapReq{code: codes.DELETE, path: aePath, from: aei}); err != nil || code != codes.Deleted {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("deleting the AE: %v CoAP %d RSC %d %s", err, coapStatus(code), rsc, snippet(resp)))
			}
		}()
	}
	cntPath := append(append([]string(nil), aePath...), "data")
	if code, rsc, resp, err := call(coapReq{code: codes.POST, path: cntPath[:len(cntPath)-1], ty: 3, from: aei, body: []byte(`{"m2m:cnt":{"rn":"data"}}`)}); err != nil || code != codes.Created {
		return rep, fmt.Errorf("creating the container: %v CoAP %d RSC %d %s", err, coapStatus(code), rsc, snippet(resp))
	}
	body := cinBody(cfg.Size)
	var pool []string
	run := func(op string, limit int64, mk func(rng *rand.Rand) (coapReq, codes.Code)) (*stats, time.Duration, error) {
		conns := make([]*udpClient.Conn, cfg.Connections)
		for i := range conns {
			if conns[i], err = dial(); err != nil {
				return nil, 0, err
			}
			defer conns[i].Close()
		}
		var remaining atomic.Int64
		remaining.Store(limit)
		all := make([]*stats, len(conns))
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(cfg.Duration)
		for i, cc := range conns {
			st := newStats()
			all[i] = st
			rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))
			prefix := runID + "-" + op + "-" + strconv.Itoa(i) + "-"
			wg.Go(func() {
				for seq := 0; ctx.Err() == nil; seq++ {
					if limit > 0 {
						if remaining.Add(-1) < 0 {
							return
						}
					} else if !time.Now().Before(deadline) {
						return
					}
					r, want := mk(rng)
					c, cancel := context.WithTimeout(ctx, cfg.Timeout)
					t0 := time.Now()
					code, rsc, resp, err := coapDo(c, cc, r, prefix+strconv.Itoa(seq))
					cancel()
					st.requests++
					if err != nil {
						st.errors++
						if c.Err() != nil {
							st.errKinds["timeout"]++
						} else {
							st.errKinds["transport"]++
						}
						continue
					}
					st.hist.Record(time.Since(t0))
					st.statuses[coapStatus(code)]++
					st.rsc[strconv.Itoa(rsc)]++
					if code != want {
						st.errors++
						st.errKinds[strconv.Itoa(coapStatus(code))]++
					} else if r.code == codes.POST {
						if ri := extractRI(resp); ri != "" {
							st.ris = append(st.ris, ri)
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
		return total, el, nil
	}
	create := func(*rand.Rand) (coapReq, codes.Code) {
		return coapReq{code: codes.POST, path: cntPath, ty: 4, from: aei, body: body}, codes.Created
	}
	if cfg.Prefill > 0 {
		st, el, err := run("prefill", int64(cfg.Prefill), create)
		if err != nil {
			return rep, err
		}
		pool = st.ris
		rep.Prefill = &PrefillResult{Requested: cfg.Prefill, Created: len(st.ris), Errors: st.errors,
			Elapsed: el, Seconds: el.Seconds(), RPS: rate(st.requests, el), ErrorKinds: strKeys(st.errKinds)}
	}
	for _, op := range cfg.Ops {
		if ctx.Err() != nil {
			break
		}
		var mk func(*rand.Rand) (coapReq, codes.Code)
		switch op {
		case OpCreate:
			mk = create
		case OpRetrieve:
			if len(pool) == 0 {
				rep.Phases = append(rep.Phases, PhaseResult{Target: TargetCSE, Phase: op, Skipped: "no contentInstance was created"})
				continue
			}
			p := pool
			mk = func(rng *rand.Rand) (coapReq, codes.Code) {
				return coapReq{code: codes.GET, path: []string{p[rng.IntN(len(p))]}, from: aei}, codes.Content
			}
		case OpLatest:
			la := append(append([]string(nil), cntPath...), "la")
			mk = func(*rand.Rand) (coapReq, codes.Code) {
				return coapReq{code: codes.GET, path: la, from: aei}, codes.Content
			}
		}
		cfg.logf("cse %s over CoAP: %d connections for %v ...", op, cfg.Connections, cfg.Duration)
		st, el, err := run(op, 0, mk)
		if err != nil {
			return rep, err
		}
		if op == OpCreate {
			pool = append(pool, st.ris...)
		}
		rep.Phases = append(rep.Phases, st.result(TargetCSE, op, el))
	}
	return rep, ctx.Err()
}
