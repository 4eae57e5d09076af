package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Register: --ops register --count N registers N AEs with distinct names as
// fast as -c connections go, and reports the registration latency per slice
// of --slice registrations (the first 100,000, the next, ...) with the
// server's memory at the end of each slice. Registration that slows down
// with the number of registered AEs shows as a rising p50 from slice to
// slice; memory that grows with them as a rising RSS.

// RegisterConfig configures RunRegister.
type RegisterConfig struct {
	Target      string
	Connections int
	Count       int // AEs to register
	Slice       int // registrations per reported slice
	PID         int // server process for /proc/<pid>/status (0 → /metrics only)
	Timeout     time.Duration
	Log         io.Writer
}

// RegisterSlice is the outcome of one slice.
type RegisterSlice struct {
	From, To   int           // registrations [From, To)
	Elapsed    time.Duration `json:"-"`
	RPS        float64       `json:"rps"`
	P50        time.Duration `json:"-"`
	P90        time.Duration `json:"-"`
	P99        time.Duration `json:"-"`
	Max        time.Duration `json:"-"`
	Errors     uint64        `json:"errors"`
	ErrorKinds map[string]uint64
	Mem        MemSample `json:"mem"` // when the slice was done
}

// RegisterReport is the outcome of RunRegister.
type RegisterReport struct {
	Prefix     string          `json:"prefix"` // resource names are <prefix><index>
	Registered uint64          `json:"registered"`
	Errors     uint64          `json:"errors"`
	Elapsed    time.Duration   `json:"-"`
	Before     MemSample       `json:"before"`
	Slices     []RegisterSlice `json:"slices"`
	Error      string          `json:"error,omitempty"`
}

type regSlice struct {
	mu       sync.Mutex
	hist     histogram
	errors   uint64
	errKinds map[string]uint64
	done     atomic.Int64
}

// RunRegister runs the registrations. The report is valid (maybe partial)
// when err is not nil.
func RunRegister(ctx context.Context, cfg RegisterConfig) (*RegisterReport, error) {
	rep := &RegisterReport{Prefix: fmt.Sprintf("r%06x-", rand.Uint32()&0xffffff)}
	if cfg.Connections < 1 || cfg.Count < 1 {
		return rep, fmt.Errorf("register: -c and --count must be positive")
	}
	if cfg.Slice < 1 {
		cfg.Slice = 100000
	}
	client, tr := newClient(cfg.Connections, cfg.Timeout)
	defer tr.CloseIdleConnections()
	probe := newMemProbe(cfg.PID, cfg.Target, cfg.Timeout)
	m, err := probe.sample(ctx)
	if err != nil {
		return rep, err
	}
	rep.Before = m
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	logf("register: %d AEs named %s<n> with %d connections; server RSS before: %s", cfg.Count, rep.Prefix, cfg.Connections, fmtBytes(m.RSS))

	nSlices := (cfg.Count + cfg.Slice - 1) / cfg.Slice
	slices := make([]*regSlice, nSlices)
	for i := range slices {
		slices[i] = &regSlice{errKinds: map[string]uint64{}}
	}
	rep.Slices = make([]RegisterSlice, 0, nSlices)
	var repMu sync.Mutex
	target, err := url.Parse(cfg.Target)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	sliceStart := make([]time.Time, nSlices)
	sliceStart[0] = start
	var next atomic.Int64
	var registered atomic.Uint64
	var wg sync.WaitGroup
	for w := range cfg.Connections {
		wg.Go(func() {
			var body []byte
			rqi := rep.Prefix + "w" + strconv.Itoa(w) + "-"
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.Count {
					return
				}
				body = body[:0]
				body = append(body, `{"m2m:ae":{"rn":"`...)
				body = append(body, rep.Prefix...)
				body = strconv.AppendInt(body, int64(i), 10)
				body = append(body, `","api":"Nbench","rr":false,"srv":["3"]}}`...)
				s := slices[i/cfg.Slice]
				t0 := time.Now()
				st, kind := registerOne(client, target, body, rqi+strconv.Itoa(i))
				d := time.Since(t0)
				s.mu.Lock()
				s.hist.Record(d)
				if kind != "" {
					s.errors++
					s.errKinds[kind]++
				}
				s.mu.Unlock()
				if st == http.StatusCreated {
					registered.Add(1)
				}
				k := i / cfg.Slice
				size := min(cfg.Slice, cfg.Count-k*cfg.Slice)
				if int(s.done.Add(1)) == size {
					// The last of the slice: report it.
					end := time.Now()
					m, err := probe.sample(ctx)
					if err != nil {
						logf("register: %v", err)
					}
					repMu.Lock()
					from := sliceStart[k]
					if k+1 < nSlices && sliceStart[k+1].IsZero() {
						sliceStart[k+1] = end
					}
					repMu.Unlock()
					s.mu.Lock()
					el := end.Sub(from)
					rs := RegisterSlice{From: k * cfg.Slice, To: k*cfg.Slice + size, Elapsed: el, RPS: rate(uint64(size), el),
						P50: s.hist.Percentile(50), P90: s.hist.Percentile(90), P99: s.hist.Percentile(99), Max: s.hist.Max(),
						Errors: s.errors, ErrorKinds: s.errKinds, Mem: m}
					s.mu.Unlock()
					repMu.Lock()
					rep.Slices = append(rep.Slices, rs)
					repMu.Unlock()
					logf("register %8d-%-8d %8.0f/s  p50 %-8s p90 %-8s p99 %-8s max %-8s errors %d%s  RSS %s (peak %s), heap in use %s",
						rs.From, rs.To, rs.RPS, fmtDur(rs.P50), fmtDur(rs.P90), fmtDur(rs.P99), fmtDur(rs.Max),
						rs.Errors, fmtKinds(rs.ErrorKinds), fmtBytes(m.RSS), fmtBytes(m.HWM), fmtBytes(m.HeapInuse))
				}
			}
		})
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.Registered = registered.Load()
	for _, s := range slices {
		rep.Errors += s.errors
	}
	// Slices finish nearly in order; sort them by From.
	for i := 1; i < len(rep.Slices); i++ {
		for j := i; j > 0 && rep.Slices[j].From < rep.Slices[j-1].From; j-- {
			rep.Slices[j], rep.Slices[j-1] = rep.Slices[j-1], rep.Slices[j]
		}
	}
	return rep, ctx.Err()
}

var hvFromC = []string{"C"}

// registerOne sends one AE registration and returns the HTTP status and,
// when it failed, the kind of failure.
func registerOne(client *http.Client, target *url.URL, body []byte, rqi string) (int, string) {
	req := &http.Request{Method: http.MethodPost, URL: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{hOrigin: hvFromC, hRI: {rqi}, hRVI: hvRVI, "Accept": hvAccept, "Content-Type": hvCTAE},
		Host:   target.Host, ContentLength: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body))}
	resp, err := client.Do(req)
	if err != nil {
		return 0, errKind(0, err)
	}
	_, rerr := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return resp.StatusCode, "body"
	}
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, strconv.Itoa(resp.StatusCode) + "/" + resp.Header.Get(hRSC)
	}
	return resp.StatusCode, ""
}

// WriteRegisterText writes the summary table of a registration run.
func WriteRegisterText(out io.Writer, r *RegisterReport) {
	fmt.Fprintf(out, "\nonecse bench --ops register: %d AEs registered in %s (%.0f/s), %d errors; server RSS before %s\n",
		r.Registered, fmtDur(r.Elapsed), rate(r.Registered, r.Elapsed), r.Errors, fmtBytes(r.Before.RSS))
	fmt.Fprintf(out, "%-19s %9s %9s %9s %9s %9s %7s %10s %10s %10s\n", "registrations", "req/s", "p50", "p90", "p99", "max", "errors", "RSS", "peak RSS", "heap")
	for _, s := range r.Slices {
		fmt.Fprintf(out, "%-19s %9.0f %9s %9s %9s %9s %7d %10s %10s %10s\n", fmt.Sprintf("%d-%d", s.From, s.To),
			s.RPS, fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P99), fmtDur(s.Max), s.Errors,
			fmtBytes(s.Mem.RSS), fmtBytes(s.Mem.HWM), fmtBytes(s.Mem.HeapInuse))
	}
	if n := len(r.Slices); n >= 2 && r.Slices[0].P50 > 0 {
		f, l := r.Slices[0], r.Slices[n-1]
		fmt.Fprintf(out, "  last slice vs first: p50 ×%.2f, p99 ×%.2f, req/s ×%.2f\n",
			float64(l.P50)/float64(f.P50), float64(l.P99)/float64(f.P99), l.RPS/f.RPS)
	}
	if r.Error != "" {
		fmt.Fprintf(out, "error: %s\n", r.Error)
	}
}
