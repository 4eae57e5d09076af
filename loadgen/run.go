package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onecse/onecse/security/tlspsk"
)

// Phase names, in the order they run.
const (
	OpCreate   = "create"
	OpRetrieve = "retrieve"
	OpLatest   = "la"
)

var allOps = []string{OpCreate, OpRetrieve, OpLatest}

// Config is the configuration of one load-generator run (the flags of Main).
type Config struct {
	Target      string        // CSEBase URL, e.g. http://127.0.0.1:8080/cse-in
	Connections int           // number of connections = number of closed-loop workers
	Duration    time.Duration // duration of each phase
	Origin      string        // originator used to register the AE ("" → "C")
	Ops         []string      // phases to run (subset of create, retrieve, la)
	Prefill     int           // contentInstances created before the phases
	Size        int           // bytes of each contentInstance's con
	Ceiling     bool          // also run the phases against the in-process ceiling server (see Slices)
	CeilingOnly bool          // run against the ceiling server only
	// CeilingURL, when set, is a ceiling server already running in a
	// process of its own (`onecse ceiling`), used instead of the one the
	// load generator starts in its own process: that way the ceiling runs
	// as the CSE does, across a process boundary.
	CeilingURL string
	// Slices > 1 (with a ceiling, against an http(s) target): each phase is
	// run as that many slices of Duration/Slices, the ceiling's and the
	// CSE's in turn, instead of all ceiling phases first. The machine's
	// speed drifts from minute to minute on shared hosts; in turns, both
	// sides of each ratio are measured under the same drift. 0 or 1: the
	// ceiling phases first, then the CSE's.
	Slices  int
	Timeout time.Duration // per-request timeout
	Keep    bool          // do not delete the AE at the end
	Log     io.Writer     // progress messages (nil: none)
	// Subs subscriptions to the container are created before the phases, so
	// that each CREATE causes Subs notifications (see notify.go).
	Subs int
	// NotifyURL is their target; "" runs a receiver in the load generator,
	// which also measures the latency of the notifications.
	NotifyURL string
	// SubsENC is their eventNotificationCriteria as JSON (default
	// {"net":[3],"chty":[4]}: every new contentInstance). Criteria that a
	// CREATE does not meet measure the cost of subscriptions that are
	// checked but not notified.
	SubsENC string
	// Rate paces the create phase at this many requests per second over all
	// connections (0: as fast as the connections go).
	Rate float64
	// PSKIdentity and PSKKey make https:// targets run over TLS-PSK
	// (security/tlspsk), as an AE with a PSK security association.
	PSKIdentity string
	PSKKey      []byte
	// Binding is http (the default), ws, mqtt or coap: the scheme of
	// Target says it (ws://host:port/<csebase>, mqtt://broker:port/<csebase>,
	// coap://host:port/<csebase>); set, it must agree.
	Binding string
	// CSEID is the CSE-ID of an mqtt:// target (its topics name it;
	// default /id-in).
	CSEID string
}

// Targets of a PhaseResult.
const (
	TargetCeiling = "ceiling"
	TargetCSE     = "cse"
)

// PhaseResult is the outcome of one phase against one target.
type PhaseResult struct {
	Target   string        `json:"target"` // TargetCeiling or TargetCSE
	Phase    string        `json:"phase"`
	Requests uint64        `json:"requests"` // requests completed (including errors)
	Elapsed  time.Duration `json:"-"`
	RPS      float64       `json:"rps"` // Requests / Elapsed
	P50      time.Duration `json:"-"`
	P90      time.Duration `json:"-"`
	P99      time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
	Mean     time.Duration `json:"-"`
	Errors   uint64        `json:"errors"`
	// Statuses counts the HTTP status codes of all answers.
	Statuses map[string]uint64 `json:"statuses,omitempty"`
	// RSC counts the X-M2M-RSC header values of all answers.
	RSC map[string]uint64 `json:"rsc,omitempty"`
	// ErrorKinds breaks Errors down: an unexpected HTTP status ("500"),
	// "timeout", "transport" (connection error) or "body" (read error).
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	// PctOfCeiling is RPS as a percentage of the ceiling's RPS in the same
	// phase (CSE phases of a run with the ceiling only).
	PctOfCeiling float64 `json:"pct_of_ceiling,omitempty"`
	Skipped      string  `json:"skipped,omitempty"` // why the phase did not run
}

// MarshalJSON adds the durations, in milliseconds.
func (p PhaseResult) MarshalJSON() ([]byte, error) {
	type plain PhaseResult
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.Marshal(struct {
		plain
		Seconds float64 `json:"seconds"`
		P50     float64 `json:"p50_ms"`
		P90     float64 `json:"p90_ms"`
		P99     float64 `json:"p99_ms"`
		Max     float64 `json:"max_ms"`
		Mean    float64 `json:"mean_ms"`
	}{plain(p), p.Elapsed.Seconds(), ms(p.P50), ms(p.P90), ms(p.P99), ms(p.Max), ms(p.Mean)})
}

// PrefillResult describes the --prefill step.
type PrefillResult struct {
	Requested int           `json:"requested"`
	Created   int           `json:"created"`
	Errors    uint64        `json:"errors"`
	Elapsed   time.Duration `json:"-"`
	Seconds   float64       `json:"seconds"`
	RPS       float64       `json:"rps"`
	// ErrorKinds as in PhaseResult.
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
}

// Report is the result of a run.
type Report struct {
	Target     string `json:"target,omitempty"`
	CeilingURL string `json:"ceiling_url,omitempty"`
	// CeilingExternal: the ceiling ran in a process of its own (--ceiling-url).
	CeilingExternal bool `json:"ceiling_external,omitempty"`
	// Slices: the ceiling's and the CSE's phases ran in turns, in this many
	// slices each (Config.Slices).
	Slices      int            `json:"slices,omitempty"`
	Connections int            `json:"connections"`
	Duration    string         `json:"duration"`
	Size        int            `json:"size"`
	Ops         []string       `json:"ops"`
	AE          string         `json:"ae,omitempty"`  // resource name of the AE
	AEI         string         `json:"aei,omitempty"` // AE-ID used as originator
	Prefill     *PrefillResult `json:"prefill,omitempty"`
	Phases      []PhaseResult  `json:"phases"`
	Notify      *NotifyResult  `json:"notify,omitempty"`
	Warnings    []string       `json:"warnings,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// TotalErrors is the number of failed requests over all phases and prefill.
func (r *Report) TotalErrors() uint64 {
	var n uint64
	for _, p := range r.Phases {
		n += p.Errors
	}
	if r.Prefill != nil {
		n += r.Prefill.Errors
	}
	return n
}

// defaultSubsENC are the criteria of Config.Subs: every new contentInstance.
const defaultSubsENC = `{"net":[3],"chty":[4]}`

// Shared, read-only header values.
var (
	hvRVI    = []string{"3"}
	hvAccept = []string{"application/json"}
	hvCTAE   = []string{"application/json;ty=2"}
	hvCTCnt  = []string{"application/json;ty=3"}
	hvCTCin  = []string{"application/json;ty=4"}
)

// Header names as the oneM2M HTTP binding spells them; Go's server
// canonicalises them anyway.
const (
	hOrigin = "X-M2M-Origin"
	hRI     = "X-M2M-RI"
	hRVI    = "X-M2M-RVI"
	hRSC    = "X-M2m-Rsc" // canonical form, for reading response headers
)

func (c *Config) normalize() error {
	if c.Connections < 1 {
		return fmt.Errorf("-c must be at least 1")
	}
	if c.Duration <= 0 {
		return fmt.Errorf("-d must be positive")
	}
	if c.Size < 0 {
		return fmt.Errorf("--size must not be negative")
	}
	if c.Slices < 0 {
		return fmt.Errorf("--slices must not be negative")
	}
	if c.Slices > 1 && (c.Ceiling || c.CeilingURL != "") && !c.CeilingOnly && c.Duration/time.Duration(c.Slices) < 50*time.Millisecond {
		return fmt.Errorf("--slices %d: slices of %v are too short to measure (-d / --slices must be at least 50ms)", c.Slices, c.Duration/time.Duration(c.Slices))
	}
	if c.Prefill < 0 {
		return fmt.Errorf("--prefill must not be negative")
	}
	if c.Subs < 0 || c.Rate < 0 {
		return fmt.Errorf("--subs and --rate must not be negative")
	}
	if c.SubsENC == "" {
		c.SubsENC = defaultSubsENC
	}
	if !json.Valid([]byte(subsENC(c.SubsENC, 0))) {
		return fmt.Errorf("--subs-enc %q is not JSON", c.SubsENC)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	if len(c.Ops) == 0 {
		c.Ops = allOps
	}
	want := map[string]bool{}
	for _, op := range c.Ops {
		op = strings.TrimSpace(op)
		switch op {
		case OpCreate, OpRetrieve, OpLatest:
			want[op] = true
		case "":
		default:
			return fmt.Errorf("unknown op %q (want create, retrieve, la)", op)
		}
	}
	c.Ops = c.Ops[:0:0]
	for _, op := range allOps {
		if want[op] {
			c.Ops = append(c.Ops, op)
		}
	}
	if len(c.Ops) == 0 {
		return fmt.Errorf("--ops selects no phase")
	}
	if c.CeilingURL != "" {
		u, err := url.Parse(c.CeilingURL)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("--ceiling-url %q: want http://host:port of a running `onecse ceiling`", c.CeilingURL)
		}
		c.CeilingURL = strings.TrimSuffix(c.CeilingURL, "/")
		if !c.CeilingOnly {
			c.Ceiling = true
		}
	}
	if c.CeilingOnly {
		return nil
	}
	if c.Target == "" {
		return fmt.Errorf("--target is required (or --ceiling-only)")
	}
	u, err := url.Parse(c.Target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--target %q: want http://host:port/<csebase>", c.Target)
	}
	binding := map[string]string{"http": "http", "https": "http", "ws": "ws", "mqtt": "mqtt", "coap": "coap"}[u.Scheme]
	if binding == "" {
		return fmt.Errorf("--target %q: want http://host:port/<csebase>, ws://host:port/<csebase>, mqtt://broker:port/<csebase> or coap://host:port/<csebase>", c.Target)
	}
	if c.Binding != "" && c.Binding != binding {
		return fmt.Errorf("--binding %s but --target %q is %s", c.Binding, c.Target, binding)
	}
	c.Binding = binding
	if binding != "http" {
		if strings.Trim(u.Path, "/") == "" {
			return fmt.Errorf("--target %q: the path names the CSEBase, e.g. %s://%s/cse-in", c.Target, u.Scheme, u.Host)
		}
		if c.Ceiling || c.Subs > 0 || c.PSKIdentity != "" || c.Rate > 0 {
			return fmt.Errorf("--ceiling, --subs, --rate and --psk-* are for http(s) targets only")
		}
		if c.CSEID == "" && binding != "coap" {
			c.CSEID = "/id-in"
		}
	}
	c.Target = strings.TrimRight(c.Target, "/")
	if want[OpRetrieve] && !want[OpCreate] && c.Prefill == 0 {
		return fmt.Errorf("the retrieve phase needs the create phase or --prefill")
	}
	return nil
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// newClient returns the one client used for everything: keep-alive on, at
// most n connections per host, no proxy, no transparent compression, no
// redirects.
func newClient(n int, timeout time.Duration) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          0, // no global limit
		MaxIdleConnsPerHost:   n,
		MaxConnsPerHost:       n,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     false,
	}
	cl := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return cl, tr
}

// Run executes a run: the ceiling phases first (if asked), then the AE
// registration, container creation, prefill and phases against the CSE, then
// the AE deletion. The returned report is valid (maybe partial) even when
// err is not nil.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	rep := &Report{
		Connections: cfg.Connections,
		Duration:    cfg.Duration.String(),
		Size:        cfg.Size,
		Ops:         cfg.Ops,
	}
	if !cfg.CeilingOnly {
		rep.Target = cfg.Target
	}
	if cfg.Binding == "coap" && !cfg.CeilingOnly {
		return runCoAP(ctx, cfg, rep)
	}
	if cfg.Binding == "ws" || cfg.Binding == "mqtt" {
		return runPrim(ctx, cfg, rep)
	}
	client, tr := newClient(cfg.Connections, cfg.Timeout)
	if cfg.PSKIdentity != "" {
		pcfg := &tlspsk.Config{Identity: cfg.PSKIdentity, Key: cfg.PSKKey, HandshakeTimeout: cfg.Timeout}
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := tlspsk.DialContext(ctx, network, addr, pcfg)
			if err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	defer tr.CloseIdleConnections()
	runID := fmt.Sprintf("%08x", rand.Uint32())
	cinBody := cinBody(cfg.Size)

	// ceilingSpec is the ceiling's request for a phase: the same method,
	// body and headers as the CSE's.
	var ceilingSpec func(op string) *opSpec
	interleave := false
	if cfg.Ceiling || cfg.CeilingOnly {
		curl, stop := cfg.CeilingURL, func() {}
		if curl == "" {
			var err error
			if curl, stop, err = StartCeiling("127.0.0.1:0"); err != nil {
				return rep, fmt.Errorf("starting the ceiling server: %w", err)
			}
		}
		defer stop()
		rep.CeilingURL, rep.CeilingExternal = curl, cfg.CeilingURL != ""
		base, _ := url.Parse(curl + "/")
		ceilingSpec = func(op string) *opSpec {
			spec := &opSpec{method: http.MethodGet, url: base, expect: http.StatusOK, origin: []string{"Cceiling"}}
			switch op {
			case OpCreate:
				spec.method, spec.body, spec.ctype, spec.collect = http.MethodPost, cinBody, hvCTCin, true
			case OpRetrieve:
				spec.pool = []string{""} // same code path as against the CSE, path "/"
			}
			return spec
		}
		interleave = cfg.Slices > 1 && !cfg.CeilingOnly
		if interleave {
			rep.Slices = cfg.Slices
		}
		for _, op := range cfg.Ops {
			if ctx.Err() != nil || interleave {
				break
			}
			cfg.logf("ceiling %s: %d connections for %v ...", op, cfg.Connections, cfg.Duration)
			st, el := runPhase(ctx, client, ceilingSpec(op), cfg.Connections, cfg.Duration, 0, runID+"-ceiling-"+op)
			rep.Phases = append(rep.Phases, st.result(TargetCeiling, op, el))
		}
		tr.CloseIdleConnections()
		if cfg.CeilingOnly {
			return rep, ctx.Err()
		}
	}

	// Setup: AE and container.
	origin := cfg.Origin
	if origin == "" {
		origin = "C"
	}
	rn := "bench-" + runID
	body := fmt.Sprintf(`{"m2m:ae":{"rn":%q,"api":"Nbench","rr":false,"srv":["3"]}}`, rn)
	status, rsc, resp, err := simple(client, http.MethodPost, cfg.Target, origin, hvCTAE, []byte(body))
	if err != nil {
		return rep, fmt.Errorf("registering the AE: %w", err)
	}
	if status != http.StatusCreated {
		return rep, fmt.Errorf("registering the AE: status %d, X-M2M-RSC %q: %s", status, rsc, snippet(resp))
	}
	var ae struct {
		AE struct {
			RN  string `json:"rn"`
			AEI string `json:"aei"`
		} `json:"m2m:ae"`
	}
	if err := json.Unmarshal(resp, &ae); err != nil {
		return rep, fmt.Errorf("registering the AE: bad answer: %v: %s", err, snippet(resp))
	}
	if ae.AE.RN != "" {
		rn = ae.AE.RN
	}
	aei := ae.AE.AEI
	if aei == "" {
		aei = origin
		rep.Warnings = append(rep.Warnings, "the AE registration answer has no aei; using the originator "+origin)
	}
	rep.AE, rep.AEI = rn, aei
	aeURL := cfg.Target + "/" + rn
	cfg.logf("registered AE %s (aei %s)", aeURL, aei)
	if !cfg.Keep {
		defer func() {
			st, rsc, resp, err := simple(client, http.MethodDelete, aeURL, aei, nil, nil)
			switch {
			case err != nil:
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("deleting the AE %s: %v", aeURL, err))
			case st != http.StatusOK && st != http.StatusNoContent:
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("deleting the AE %s: status %d, X-M2M-RSC %q: %s", aeURL, st, rsc, snippet(resp)))
			default:
				cfg.logf("deleted AE %s", aeURL)
			}
		}()
	}
	status, rsc, resp, err = simple(client, http.MethodPost, aeURL, aei, hvCTCnt, []byte(`{"m2m:cnt":{"rn":"data"}}`))
	if err != nil {
		return rep, fmt.Errorf("creating the container: %w", err)
	}
	if status != http.StatusCreated {
		return rep, fmt.Errorf("creating the container: status %d, X-M2M-RSC %q: %s", status, rsc, snippet(resp))
	}

	cntURL, err := url.Parse(aeURL + "/data")
	if err != nil {
		return rep, err
	}
	var rcv *receiver
	if cfg.Subs > 0 {
		target := cfg.NotifyURL
		if target == "" {
			if rcv, err = startReceiver(); err != nil {
				return rep, fmt.Errorf("starting the notification receiver: %w", err)
			}
			defer rcv.close()
			target = rcv.url
		}
		cfg.logf("subscribing %d times to %s, notifying %s ...", cfg.Subs, cntURL, target)
		if err := subscribe(client, cntURL.String(), aei, target, cfg.SubsENC, cfg.Subs); err != nil {
			return rep, fmt.Errorf("subscribing: %w", err)
		}
		rep.Notify = &NotifyResult{Subscriptions: cfg.Subs, Target: target}
	}
	laURL, err := url.Parse(aeURL + "/data/la")
	if err != nil {
		return rep, err
	}
	tu, _ := url.Parse(cfg.Target)
	hostURL := &url.URL{Scheme: tu.Scheme, Host: tu.Host, Path: "/"}
	originV := []string{aei}
	createSpec := func() *opSpec {
		return &opSpec{method: http.MethodPost, url: cntURL, body: cinBody, ctype: hvCTCin,
			origin: originV, expect: http.StatusCreated, collect: true}
	}

	var pool []string
	if cfg.Prefill > 0 && ctx.Err() == nil {
		cfg.logf("prefill: creating %d contentInstances with %d connections ...", cfg.Prefill, cfg.Connections)
		st, el := runPhase(ctx, client, createSpec(), cfg.Connections, 0, int64(cfg.Prefill), runID+"-prefill")
		pool = st.ris
		rep.Prefill = &PrefillResult{
			Requested: cfg.Prefill, Created: len(st.ris), Errors: st.errors,
			Elapsed: el, Seconds: el.Seconds(), RPS: rate(st.requests, el),
			ErrorKinds: strKeys(st.errKinds),
		}
	}

	var ceilings []PhaseResult // the ceiling's phases when run in turns with the CSE's
	for _, op := range cfg.Ops {
		if ctx.Err() != nil {
			break
		}
		var spec *opSpec
		switch op {
		case OpCreate:
			spec = createSpec()
		case OpRetrieve:
			if len(pool) == 0 {
				rep.Phases = append(rep.Phases, PhaseResult{Target: TargetCSE, Phase: op,
					Skipped: "no contentInstance was created"})
				continue
			}
			spec = &opSpec{method: http.MethodGet, url: hostURL, pool: pool, origin: originV, expect: http.StatusOK}
		case OpLatest:
			spec = &opSpec{method: http.MethodGet, url: laURL, origin: originV, expect: http.StatusOK}
		}
		if op == OpCreate {
			spec.rate = cfg.Rate
			spec.acks = rcv != nil
		}
		var st *stats
		var el time.Duration
		if interleave {
			cfg.logf("ceiling and cse %s in turns: %d connections, %d slices of %v each ...", op, cfg.Connections, cfg.Slices, cfg.Duration/time.Duration(cfg.Slices))
			var cst *stats
			var cel time.Duration
			st, el, cst, cel = runSlices(ctx, client, ceilingSpec(op), spec, cfg, runID+"-"+op)
			ceilings = append(ceilings, cst.result(TargetCeiling, op, cel))
		} else {
			cfg.logf("cse %s: %d connections for %v ...", op, cfg.Connections, cfg.Duration)
			st, el = runPhase(ctx, client, spec, cfg.Connections, cfg.Duration, 0, runID+"-"+op)
		}
		if op == OpCreate {
			pool = append(pool, st.ris...)
			if rcv != nil {
				end := time.Now()
				var want uint64
				if cfg.SubsENC == defaultSubsENC {
					want = uint64(len(st.acks)) * uint64(cfg.Subs)
				}
				cfg.logf("waiting for the notifications ...")
				rcv.settle(want, 3*time.Second, 5*time.Minute)
				rep.Notify = rcv.result(st.acks, cfg.Subs, want > 0, end)
			}
		}
		rep.Phases = append(rep.Phases, st.result(TargetCSE, op, el))
	}

	// The ceiling's phases are listed first either way.
	rep.Phases = append(ceilings, rep.Phases...)
	// Ratios to the ceiling.
	ceil := map[string]float64{}
	for _, p := range rep.Phases {
		if p.Target == TargetCeiling {
			ceil[p.Phase] = p.RPS
		}
	}
	for i := range rep.Phases {
		p := &rep.Phases[i]
		if p.Target == TargetCSE && ceil[p.Phase] > 0 && p.Skipped == "" {
			p.PctOfCeiling = 100 * p.RPS / ceil[p.Phase]
		}
	}
	return rep, ctx.Err()
}

// runSlices runs a phase in cfg.Slices slices, each first against the
// ceiling (cspec) and then against the CSE (spec), and returns the merged
// stats and time of each.
func runSlices(ctx context.Context, client *http.Client, cspec, spec *opSpec, cfg Config, id string) (cse *stats, cseEl time.Duration, ceiling *stats, ceilingEl time.Duration) {
	slice := cfg.Duration / time.Duration(cfg.Slices)
	cse, ceiling = newStats(), newStats()
	for k := 0; k < cfg.Slices && ctx.Err() == nil; k++ {
		st, el := runPhase(ctx, client, cspec, cfg.Connections, slice, 0, fmt.Sprintf("%s-ceiling-%d", id, k))
		ceiling.merge(st)
		ceilingEl += el
		st, el = runPhase(ctx, client, spec, cfg.Connections, slice, 0, fmt.Sprintf("%s-%d", id, k))
		cse.merge(st)
		cseEl += el
	}
	return cse, cseEl, ceiling, ceilingEl
}

// cinBody returns the contentInstance creation body with a con of size bytes.
func cinBody(size int) []byte {
	const prefix = `{"m2m:cin":{"cnf":"text/plain:0","con":"`
	const suffix = `"}}`
	b := make([]byte, 0, len(prefix)+size+len(suffix))
	b = append(b, prefix...)
	for i := 0; i < size; i++ {
		b = append(b, 'a'+byte(i%26))
	}
	return append(b, suffix...)
}

// simple sends one setup request and returns the status, the X-M2M-RSC and
// the body of the answer.
func simple(client *http.Client, method, target, origin string, ctype []string, body []byte) (int, string, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header[hOrigin] = []string{origin}
	req.Header[hRI] = []string{fmt.Sprintf("setup-%08x", rand.Uint32())}
	req.Header[hRVI] = hvRVI
	req.Header["Accept"] = hvAccept
	if ctype != nil {
		req.Header["Content-Type"] = ctype
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(hRSC), b, err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func strKeys[K comparable](m map[K]uint64) map[string]uint64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[fmt.Sprint(k)] = v
	}
	return out
}

// opSpec describes the request a phase's workers send in a loop.
type opSpec struct {
	method  string
	url     *url.URL
	pool    []string // if not nil: URL path is "/" + a random element
	body    []byte   // nil: no body
	ctype   []string
	origin  []string
	expect  int  // expected HTTP status
	collect bool // collect the "ri" of the answers
	acks    bool // and when each was answered
	rate    float64
}

// stats are one worker's (and after merging, one phase's) counters.
type stats struct {
	hist     histogram
	requests uint64
	errors   uint64
	statuses map[int]uint64
	rsc      map[string]uint64
	errKinds map[string]uint64
	ris      []string
	acks     map[string]time.Time
}

func newStats() *stats {
	return &stats{statuses: map[int]uint64{}, rsc: map[string]uint64{}, errKinds: map[string]uint64{}, acks: map[string]time.Time{}}
}

func (s *stats) merge(o *stats) {
	s.hist.Merge(&o.hist)
	s.requests += o.requests
	s.errors += o.errors
	for k, v := range o.statuses {
		s.statuses[k] += v
	}
	for k, v := range o.rsc {
		s.rsc[k] += v
	}
	for k, v := range o.errKinds {
		s.errKinds[k] += v
	}
	s.ris = append(s.ris, o.ris...)
	for k, v := range o.acks {
		s.acks[k] = v
	}
}

func (s *stats) result(target, phase string, el time.Duration) PhaseResult {
	return PhaseResult{
		Target: target, Phase: phase,
		Requests: s.requests, Elapsed: el, RPS: rate(s.requests, el),
		P50: s.hist.Percentile(50), P90: s.hist.Percentile(90), P99: s.hist.Percentile(99),
		Max: s.hist.Max(), Mean: s.hist.Mean(),
		Errors: s.errors, Statuses: strKeys(s.statuses), RSC: strKeys(s.rsc), ErrorKinds: strKeys(s.errKinds),
	}
}

// runPhase runs n closed-loop workers sending spec's request, for d (if
// limit is 0) or until limit requests have been sent. Requests started
// before the deadline are waited for and counted; the elapsed time runs
// until the last one finished.
func runPhase(ctx context.Context, client *http.Client, spec *opSpec, n int, d time.Duration, limit int64, riPrefix string) (*stats, time.Duration) {
	var stop atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			stop.Store(true)
		case <-done:
		}
	}()
	var remaining atomic.Int64
	remaining.Store(limit)
	var issued atomic.Int64 // for spec.rate
	all := make([]*stats, n)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range n {
		st := newStats()
		all[i] = st
		w := &worker{client: client, spec: spec, st: st,
			rng:      rand.New(rand.NewPCG(rand.Uint64(), uint64(i))),
			riPrefix: riPrefix + "-" + strconv.Itoa(i) + "-"}
		wg.Go(func() {
			for !stop.Load() {
				if limit > 0 {
					if remaining.Add(-1) < 0 {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				if spec.rate > 0 {
					// Open loop: request k is due at start + k/rate.
					at := start.Add(time.Duration(float64(issued.Add(1)-1) / spec.rate * float64(time.Second)))
					if !at.Before(deadline) && limit == 0 {
						return
					}
					time.Sleep(time.Until(at))
				}
				w.do()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := newStats()
	for _, st := range all {
		total.merge(st)
	}
	return total, elapsed
}

type worker struct {
	client   *http.Client
	spec     *opSpec
	st       *stats
	rng      *rand.Rand
	riPrefix string
	seq      uint64
	buf      bytes.Buffer
}

// do sends one request and records its outcome.
func (w *worker) do() {
	spec, st := w.spec, w.st
	u := spec.url
	if spec.pool != nil {
		cp := *u
		cp.Path = "/" + strings.TrimPrefix(spec.pool[w.rng.IntN(len(spec.pool))], "/")
		u = &cp
	}
	w.seq++
	h := http.Header{
		hOrigin:  spec.origin,
		hRI:      {w.riPrefix + strconv.FormatUint(w.seq, 36)},
		hRVI:     hvRVI,
		"Accept": hvAccept,
	}
	req := &http.Request{Method: spec.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: u.Host}
	if spec.body != nil {
		h["Content-Type"] = spec.ctype
		req.Body = io.NopCloser(bytes.NewReader(spec.body))
		req.ContentLength = int64(len(spec.body))
	}
	start := time.Now()
	resp, err := w.client.Do(req)
	st.requests++
	if err != nil {
		st.errors++
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			st.errKinds["timeout"]++
		} else {
			st.errKinds["transport"]++
		}
		return
	}
	w.buf.Reset()
	_, rerr := w.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	st.hist.Record(time.Since(start))
	st.statuses[resp.StatusCode]++
	if v := resp.Header[hRSC]; len(v) > 0 {
		st.rsc[v[0]]++
	}
	switch {
	case rerr != nil:
		st.errors++
		var ne net.Error
		if errors.As(rerr, &ne) && ne.Timeout() {
			st.errKinds["timeout"]++
		} else {
			st.errKinds["body"]++
		}
	case resp.StatusCode != spec.expect:
		st.errors++
		st.errKinds[strconv.Itoa(resp.StatusCode)]++
	case spec.collect:
		if ri := extractRI(w.buf.Bytes()); ri != "" {
			st.ris = append(st.ris, ri)
			if spec.acks {
				st.acks[ri] = time.Now()
			}
		}
	}
}

var riKey = []byte(`"ri"`)

// extractRI returns the value of the first "ri" member of a JSON answer
// (m2m:cin.ri for a contentInstance). A quick scan is enough for the
// escape-free identifiers CSEs assign; anything else goes through
// encoding/json.
func extractRI(b []byte) string {
	if i := bytes.Index(b, riKey); i >= 0 {
		j := skipSpace(b, i+len(riKey))
		if j < len(b) && b[j] == ':' {
			j = skipSpace(b, j+1)
			if j < len(b) && b[j] == '"' {
				if k := bytes.IndexByte(b[j+1:], '"'); k >= 0 {
					v := b[j+1 : j+1+k]
					if bytes.IndexByte(v, '\\') < 0 {
						return string(v)
					}
				}
			}
		}
	}
	var cin struct {
		Cin struct {
			RI string `json:"ri"`
		} `json:"m2m:cin"`
	}
	if json.Unmarshal(b, &cin) == nil {
		return cin.Cin.RI
	}
	return ""
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
