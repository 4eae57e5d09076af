package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Soak: a long, paced, mixed load whose data stays bounded (contentInstances
// under a container with mni, AEs registered and deregistered again), while
// the server's resident memory is sampled at a fixed interval into a CSV. A
// memory curve that keeps rising under such a load is a leak.

// SoakConfig configures RunSoak.
type SoakConfig struct {
	Target      string        // CSEBase URL
	Duration    time.Duration // length of the soak
	Connections int           // workers
	Rate        float64       // requests/s over all workers (open loop)
	MNI         int           // maxNrOfInstances of the container
	Sample      time.Duration // memory sampling interval
	CSV         string        // file the samples go to ("" → none)
	PID         int           // server process for /proc/<pid>/status (0 → /metrics only)
	Timeout     time.Duration
	Log         io.Writer
}

// Soak operations and their weights (out of 100).
var soakMix = []struct {
	op     string
	weight int
}{
	{"create", 45},       // POST contentInstance (the container keeps mni)
	{"la", 25},           // GET <cnt>/la
	{"retrieve-cnt", 12}, // GET <cnt>
	{"retrieve-ae", 8},   // GET <ae>
	{"discovery", 5},     // GET <ae>?fu=1&ty=4&lim=10
	{"ae-churn", 5},      // POST AE, then DELETE it
}

// SoakSample is one row of the CSV.
type SoakSample struct {
	At            time.Time     `json:"at"`
	Elapsed       time.Duration `json:"-"`
	Mem           MemSample     `json:"mem"`
	Requests      uint64        `json:"requests"`
	Errors        uint64        `json:"errors"`
	Notifications uint64        `json:"notifications"`
}

// SoakReport is the outcome of RunSoak.
type SoakReport struct {
	Samples       []SoakSample      `json:"samples"`
	Requests      uint64            `json:"requests"`
	Errors        uint64            `json:"errors"`
	ErrorKinds    map[string]uint64 `json:"error_kinds,omitempty"`
	Notifications uint64            `json:"notifications"`
	Creates       uint64            `json:"creates"`
	Churned       uint64            `json:"churned_aes"`
	Elapsed       time.Duration     `json:"-"`
	Error         string            `json:"error,omitempty"`
}

// soakCounter is a notification receiver that only counts.
type soakCounter struct {
	url string
	srv *http.Server
	n   atomic.Uint64
}

func startCounter() (*soakCounter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &soakCounter{url: "http://" + l.Addr().String() + "/notify"}
	c.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header()["X-M2M-RSC"] = okRSC
		w.Header()["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusOK)
		c.n.Add(1)
	})}
	go c.srv.Serve(l)
	return c, nil
}

func (c *SoakConfig) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// RunSoak runs the soak. The report is valid (maybe partial) when err is not nil.
func RunSoak(ctx context.Context, cfg SoakConfig) (*SoakReport, error) {
	rep := &SoakReport{ErrorKinds: map[string]uint64{}}
	if cfg.Connections < 1 || cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.Sample <= 0 || cfg.MNI < 1 {
		return rep, fmt.Errorf("soak: -c, --rate, --soak, --sample and --mni must be positive")
	}
	client, tr := newClient(cfg.Connections+2, cfg.Timeout)
	defer tr.CloseIdleConnections()
	probe := newMemProbe(cfg.PID, cfg.Target, cfg.Timeout)
	if _, err := probe.sample(ctx); err != nil {
		return rep, err
	}
	var csv *os.File
	if cfg.CSV != "" {
		f, err := os.Create(cfg.CSV)
		if err != nil {
			return rep, err
		}
		defer f.Close()
		csv = f
		fmt.Fprintln(csv, "time_utc,elapsed_s,rss_bytes,hwm_bytes,heap_inuse_bytes,goroutines,requests,errors,notifications")
	}

	runID := fmt.Sprintf("%08x", rand.Uint32())
	rn := "soak-" + runID
	status, rsc, resp, err := simple(client, http.MethodPost, cfg.Target, "C", hvCTAE,
		[]byte(fmt.Sprintf(`{"m2m:ae":{"rn":%q,"api":"Nsoak","rr":false,"srv":["3"]}}`, rn)))
	if err != nil || status != http.StatusCreated {
		return rep, fmt.Errorf("registering the AE: status %d, X-M2M-RSC %q, %v: %s", status, rsc, err, snippet(resp))
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
	aeURL := cfg.Target + "/" + rn
	defer func() {
		if st, rsc, resp, err := simple(client, http.MethodDelete, aeURL, aei, nil, nil); err != nil || st != http.StatusOK {
			cfg.logf("deleting the AE %s: status %d, X-M2M-RSC %q, %v: %s", aeURL, st, rsc, err, snippet(resp))
		}
	}()
	cntURL := aeURL + "/data"
	status, rsc, resp, err = simple(client, http.MethodPost, aeURL, aei, hvCTCnt,
		[]byte(fmt.Sprintf(`{"m2m:cnt":{"rn":"data","mni":%d}}`, cfg.MNI)))
	if err != nil || status != http.StatusCreated {
		return rep, fmt.Errorf("creating the container: status %d, X-M2M-RSC %q, %v: %s", status, rsc, err, snippet(resp))
	}
	// One instance first, so that la never finds the container empty.
	status, rsc, resp, err = simple(client, http.MethodPost, cntURL, aei, hvCTCin, cinBody(32))
	if err != nil || status != http.StatusCreated {
		return rep, fmt.Errorf("creating a contentInstance: status %d, X-M2M-RSC %q, %v: %s", status, rsc, err, snippet(resp))
	}
	rcv, err := startCounter()
	if err != nil {
		return rep, err
	}
	defer rcv.srv.Close()
	if err := subscribe(client, cntURL, aei, rcv.url, defaultSubsENC, 1); err != nil {
		return rep, fmt.Errorf("subscribing: %w", err)
	}
	cfg.logf("soak: AE %s (aei %s), container data mni=%d, 1 subscription → %s; %.0f req/s over %d connections for %v, memory every %v",
		aeURL, aei, cfg.MNI, rcv.url, cfg.Rate, cfg.Connections, cfg.Duration, cfg.Sample)

	var requests, errs atomic.Uint64
	var creates, churned atomic.Uint64
	var kmu sync.Mutex
	fail := func(kind string) {
		errs.Add(1)
		kmu.Lock()
		rep.ErrorKinds[kind]++
		kmu.Unlock()
	}
	u := func(s string) *url.URL { p, _ := url.Parse(s); return p }
	cntU, laU, aeU := u(cntURL), u(cntURL+"/la"), u(aeURL)
	discU := u(aeURL + "?fu=1&ty=4&lim=10")
	cinB := cinBody(32)
	originV := []string{aei}

	start := time.Now()
	deadline := start.Add(cfg.Duration)
	sampleAt := func() {
		m, err := probe.sample(ctx)
		if err != nil {
			cfg.logf("soak: %v", err)
		}
		s := SoakSample{At: time.Now().UTC(), Elapsed: time.Since(start), Mem: m,
			Requests: requests.Load(), Errors: errs.Load(), Notifications: rcv.n.Load()}
		rep.Samples = append(rep.Samples, s)
		if csv != nil {
			fmt.Fprintf(csv, "%s,%.0f,%d,%d,%d,%d,%d,%d,%d\n", s.At.Format(time.RFC3339), s.Elapsed.Seconds(),
				m.RSS, m.HWM, m.HeapInuse, m.Goroutines, s.Requests, s.Errors, s.Notifications)
			_ = csv.Sync()
		}
		cfg.logf("soak %6.0fs: RSS %s, heap in use %s, %d goroutines; %d requests, %d errors, %d notifications",
			s.Elapsed.Seconds(), fmtBytes(m.RSS), fmtBytes(m.HeapInuse), m.Goroutines, s.Requests, s.Errors, s.Notifications)
	}
	sampleAt()

	var issued atomic.Int64
	var wg sync.WaitGroup
	for i := range cfg.Connections {
		rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))
		w := &worker{client: client, st: newStats(), rng: rng, riPrefix: runID + "-soak-" + strconv.Itoa(i) + "-"}
		wg.Go(func() {
			seq := 0
			for ctx.Err() == nil {
				at := start.Add(time.Duration(float64(issued.Add(1)-1) / cfg.Rate * float64(time.Second)))
				if !at.Before(deadline) {
					return
				}
				if d := time.Until(at); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
				pick := rng.IntN(100)
				op := ""
				for _, m := range soakMix {
					if pick < m.weight {
						op = m.op
						break
					}
					pick -= m.weight
				}
				var spec *opSpec
				switch op {
				case "create":
					spec = &opSpec{method: http.MethodPost, url: cntU, body: cinB, ctype: hvCTCin, origin: originV, expect: http.StatusCreated}
					creates.Add(1)
				case "la":
					spec = &opSpec{method: http.MethodGet, url: laU, origin: originV, expect: http.StatusOK}
				case "retrieve-cnt":
					spec = &opSpec{method: http.MethodGet, url: cntU, origin: originV, expect: http.StatusOK}
				case "retrieve-ae":
					spec = &opSpec{method: http.MethodGet, url: aeU, origin: originV, expect: http.StatusOK}
				case "discovery":
					spec = &opSpec{method: http.MethodGet, url: discU, origin: originV, expect: http.StatusOK}
				case "ae-churn":
					seq++
					name := fmt.Sprintf("churn-%s-%d-%d", runID, i, seq)
					requests.Add(2)
					st, _, resp, err := simple(client, http.MethodPost, cfg.Target, "C", hvCTAE,
						[]byte(fmt.Sprintf(`{"m2m:ae":{"rn":%q,"api":"Nsoak","rr":false,"srv":["3"]}}`, name)))
					if err != nil || st != http.StatusCreated {
						fail("ae-register:" + errKind(st, err))
						continue
					}
					var a struct {
						AE struct {
							AEI string `json:"aei"`
						} `json:"m2m:ae"`
					}
					_ = json.Unmarshal(resp, &a)
					st, _, _, err = simple(client, http.MethodDelete, cfg.Target+"/"+name, a.AE.AEI, nil, nil)
					if err != nil || st != http.StatusOK {
						fail("ae-delete:" + errKind(st, err))
						continue
					}
					churned.Add(1)
					continue
				}
				w.spec = spec
				before := w.st.errors
				w.do()
				requests.Add(1)
				if w.st.errors != before {
					fail(op)
				}
			}
		})
	}

	tick := time.NewTicker(cfg.Sample)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-tick.C:
			sampleAt()
		case <-done:
			break loop
		}
	}
	tick.Stop()
	sampleAt()
	rep.Elapsed = time.Since(start)
	rep.Requests, rep.Errors = requests.Load(), errs.Load()
	rep.Notifications, rep.Creates, rep.Churned = rcv.n.Load(), creates.Load(), churned.Load()
	return rep, ctx.Err()
}

func errKind(status int, err error) string {
	if err != nil {
		return "transport"
	}
	return strconv.Itoa(status)
}

// Window compares the mean RSS of the first and the last window w of the
// soak, over the same number of samples each (at least one; the first
// sample, taken before any load, is left out).
func (r *SoakReport) Window(w time.Duration) (first, last uint64, n int) {
	if len(r.Samples) < 3 {
		return 0, 0, 0
	}
	ss := r.Samples[1:]
	for _, s := range ss {
		if s.Elapsed <= w+w/10 {
			n++
		}
	}
	n = max(1, min(n, len(ss)/2))
	var s1, s2 uint64
	for i := range n {
		s1 += ss[i].Mem.RSS
		s2 += ss[len(ss)-n+i].Mem.RSS
	}
	return s1 / uint64(n), s2 / uint64(n), n
}

// WriteSoakText writes the summary of a soak.
func WriteSoakText(out io.Writer, r *SoakReport) {
	fmt.Fprintf(out, "\nonecse bench --soak: %s, %d requests (%d contentInstances created, %d AEs registered and deleted), %d errors%s, %d notifications\n",
		fmtDur(r.Elapsed), r.Requests, r.Creates, r.Churned, r.Errors, fmtKinds(r.ErrorKinds), r.Notifications)
	w := 10 * time.Minute
	if r.Elapsed < 40*time.Minute {
		w = r.Elapsed / 4
	}
	if first, last, n := r.Window(w); n > 0 {
		fmt.Fprintf(out, "  mean RSS: first %s %s, last %s %s (%d samples each): %+.1f%%\n",
			fmtDur(w), fmtBytes(first), fmtDur(w), fmtBytes(last), n, 100*(float64(last)-float64(first))/float64(first))
	}
	if r.Error != "" {
		fmt.Fprintf(out, "error: %s\n", r.Error)
	}
}
