package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// MemSample is the server's memory at one moment. Fields that could not be
// read are 0.
type MemSample struct {
	RSS        uint64 `json:"rss_bytes"`        // VmRSS, or process_resident_memory_bytes
	HWM        uint64 `json:"hwm_bytes"`        // VmHWM (peak RSS; /proc only)
	HeapInuse  uint64 `json:"heap_inuse_bytes"` // go_memstats_heap_inuse_bytes (metrics only)
	Goroutines uint64 `json:"goroutines"`       // go_goroutines (metrics only)
}

// memProbe reads the memory of the CSE under test: from /proc/<pid>/status
// when pid is set, and from the CSE's Prometheus endpoint (<host>/metrics)
// when it answers.
type memProbe struct {
	pid     int
	metrics string // "" when not to be asked
	client  *http.Client
}

func newMemProbe(pid int, target string, timeout time.Duration) *memProbe {
	p := &memProbe{pid: pid, client: &http.Client{Timeout: timeout}}
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		p.metrics = u.Scheme + "://" + u.Host + "/metrics"
	}
	return p
}

// sample reads what it can; the error is set only when nothing could be read.
func (p *memProbe) sample(ctx context.Context) (MemSample, error) {
	var s MemSample
	var errs []string
	if p.pid > 0 {
		rss, hwm, err := procMem(p.pid)
		if err != nil {
			errs = append(errs, err.Error())
		}
		s.RSS, s.HWM = rss, hwm
	}
	if p.metrics != "" {
		m, err := p.scrape(ctx)
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			if s.RSS == 0 {
				s.RSS = uint64(m["process_resident_memory_bytes"])
			}
			s.HeapInuse = uint64(m["go_memstats_heap_inuse_bytes"])
			s.Goroutines = uint64(m["go_goroutines"])
		}
	}
	if s.RSS == 0 && len(errs) > 0 {
		return s, fmt.Errorf("reading the server's memory: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

func (p *memProbe) scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("%s: status %d", p.metrics, resp.StatusCode)
	}
	return parseMetrics(resp.Body, "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines")
}

// parseMetrics returns the values of the named label-less samples of a
// Prometheus text exposition.
func parseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || !want[string(line[:sp])] {
			continue
		}
		f := strings.Fields(string(line[sp+1:]))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[string(line[:sp])] = v
	}
	return out, sc.Err()
}

// procMem reads VmRSS and VmHWM of a process, in bytes.
func procMem(pid int) (rss, hwm uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	return parseProcStatus(b)
}

func parseProcStatus(b []byte) (rss, hwm uint64, err error) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc status: bad %s line %q", k, line)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status: bad %s line %q", k, line)
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc status: no VmRSS")
	}
	return rss, hwm, nil
}

// fmtBytes formats a byte count in MiB.
func fmtBytes(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
