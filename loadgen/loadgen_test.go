package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramExactSmallValues(t *testing.T) {
	var h histogram
	for v := 100; v >= 1; v-- {
		h.Record(time.Duration(v))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {1, 1}, {50, 50}, {90, 90}, {99, 99}, {100, 100}} {
		if got := h.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50 {
		t.Errorf("count/min/max/mean = %d/%v/%v/%v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func TestHistogramPercentiles(t *testing.T) {
	// 1µs .. 100ms in 1µs steps, recorded by two "workers" and merged.
	var a, b histogram
	const n = 100000
	for i := 1; i <= n; i++ {
		d := time.Duration(i) * time.Microsecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != n {
		t.Fatalf("count %d", a.Count())
	}
	for _, p := range []float64{50, 90, 99, 99.9} {
		want := time.Duration(p/100*n) * time.Microsecond
		got := a.Percentile(p)
		if got < want || float64(got-want) > float64(want)/histSub {
			t.Errorf("p%v = %v, want %v (+<%.2f%%)", p, got, want, 100.0/histSub)
		}
	}
	if a.Max() != n*time.Microsecond || a.Percentile(100) != n*time.Microsecond {
		t.Errorf("max %v p100 %v", a.Max(), a.Percentile(100))
	}
	// Huge values are clamped, not out of range.
	a.Record(time.Hour)
	if a.Max() != histMax {
		t.Errorf("max %v", a.Max())
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value lies inside its bucket, and buckets are contiguous.
	prevHi := uint64(0)
	for i := 1; i < histBuckets; i++ {
		lo, hi := histBounds(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d,%d], previous hi %d", i, lo, hi, prevHi)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d = [%d,%d] indexes %d,%d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		prevHi = hi
	}
	if prevHi != histMax {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, uint64(histMax))
	}
}

func TestCeilingBody(t *testing.T) {
	if len(ceilingBody) != 70 {
		t.Fatalf("ceiling body is %d bytes, want 70", len(ceilingBody))
	}
	if !json.Valid(ceilingBytes) {
		t.Fatal("ceiling body is not JSON")
	}
	url, stop, err := StartCeiling("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(m, url+"/", strings.NewReader("ignored"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 70 || resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != 70 {
			t.Errorf("%s: status %d, %d bytes, type %q, length %d", m, resp.StatusCode, len(b), resp.Header.Get("Content-Type"), resp.ContentLength)
		}
	}
}

func TestExtractRI(t *testing.T) {
	for in, want := range map[string]string{
		`{"m2m:cin":{"ri":"cin123","con":"x"}}`:            "cin123",
		`{"m2m:cin": {"pri":"no", "ri" : "abc", "x":1}}`:   "abc",
		`{"m2m:cin":{"con":"\"ri\":\"bad\"","ri":"a\/b"}}`: "a/b",
		`{}`: "",
		``:   "",
	} {
		if got := extractRI([]byte(in)); got != want {
			t.Errorf("extractRI(%s) = %q, want %q", in, got, want)
		}
	}
}

// fakeCSE is a minimal CSE implementing the five requests of the benchmark.
type fakeCSE struct {
	failCreates bool
	mu          sync.Mutex
	aeRN        string
	cins        map[string]string
	last        string
	seq         atomic.Int64
	deleted     atomic.Bool
	bad         atomic.Int64 // requests missing a mandatory header
}

const fakeAEI = "CAEbench1"

func (f *fakeCSE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-M2M-RI") == "" || r.Header.Get("X-M2M-RVI") != "3" ||
		r.Header.Get("Accept") != "application/json" || r.Header.Get("X-M2M-Origin") == "" {
		f.bad.Add(1)
		w.Header().Set("X-M2M-RSC", "4000")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	origin, ct := r.Header.Get("X-M2M-Origin"), r.Header.Get("Content-Type")
	body, _ := io.ReadAll(r.Body)
	answer := func(status int, rsc string, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-M2M-RSC", rsc)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func() { answer(http.StatusNotFound, "4004", map[string]string{"m2m:dbg": "not found"}) }
	f.mu.Lock()
	aePath := "/cse-in/" + f.aeRN
	f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/cse-in" && ct == "application/json;ty=2" && origin == "C":
		var req struct {
			AE struct {
				RN string `json:"rn"`
			} `json:"m2m:ae"`
		}
		if json.Unmarshal(body, &req) != nil || !strings.HasPrefix(req.AE.RN, "bench-") {
			answer(http.StatusBadRequest, "4000", nil)
			return
		}
		f.mu.Lock()
		f.aeRN = req.AE.RN
		f.mu.Unlock()
		answer(http.StatusCreated, "2001", map[string]any{"m2m:ae": map[string]any{"rn": req.AE.RN, "ri": fakeAEI, "aei": fakeAEI, "api": "Nbench"}})
	case origin != fakeAEI:
		answer(http.StatusForbidden, "4103", nil)
	case r.Method == http.MethodPost && r.URL.Path == aePath && ct == "application/json;ty=3" && string(body) == `{"m2m:cnt":{"rn":"data"}}`:
		answer(http.StatusCreated, "2001", map[string]any{"m2m:cnt": map[string]any{"rn": "data", "ri": "cnt1"}})
	case r.Method == http.MethodPost && r.URL.Path == aePath+"/data" && ct == "application/json;ty=4":
		if f.failCreates {
			answer(http.StatusInternalServerError, "5000", map[string]string{"m2m:dbg": "boom"})
			return
		}
		var req struct {
			Cin struct {
				Cnf string `json:"cnf"`
				Con string `json:"con"`
			} `json:"m2m:cin"`
		}
		if json.Unmarshal(body, &req) != nil || req.Cin.Cnf != "text/plain:0" || len(req.Cin.Con) != 32 {
			answer(http.StatusBadRequest, "4000", nil)
			return
		}
		ri := fmt.Sprintf("cin%d", f.seq.Add(1))
		f.mu.Lock()
		f.cins[ri] = req.Cin.Con
		f.last = ri
		f.mu.Unlock()
		answer(http.StatusCreated, "2001", map[string]any{"m2m:cin": map[string]any{"ri": ri, "pi": "cnt1", "cnf": "text/plain:0", "con": req.Cin.Con}})
	case r.Method == http.MethodGet && r.URL.Path == aePath+"/data/la":
		f.mu.Lock()
		ri := f.last
		f.mu.Unlock()
		if ri == "" {
			notFound()
			return
		}
		answer(http.StatusOK, "2000", map[string]any{"m2m:cin": map[string]any{"ri": ri}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/cin"):
		f.mu.Lock()
		con, ok := f.cins[r.URL.Path[1:]]
		f.mu.Unlock()
		if !ok {
			notFound()
			return
		}
		answer(http.StatusOK, "2000", map[string]any{"m2m:cin": map[string]any{"ri": r.URL.Path[1:], "con": con}})
	case r.Method == http.MethodDelete && r.URL.Path == aePath:
		f.deleted.Store(true)
		answer(http.StatusOK, "2002", nil)
	default:
		notFound()
	}
}

func runMain(t *testing.T, args ...string) (int, string, *Report) {
	t.Helper()
	var out bytes.Buffer
	code := Main(args, &out)
	text := out.String()
	t.Log("\n" + text)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var rep Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line is not the JSON report: %v", err)
	}
	return code, text, &rep
}

func TestMainEndToEnd(t *testing.T) {
	f := &fakeCSE{cins: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()

	code, text, rep := runMain(t, "--target", srv.URL+"/cse-in", "-d", "300ms", "-c", "4", "--ceiling", "--slices", "1", "--prefill", "20", "--json")
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
	if f.bad.Load() != 0 {
		t.Errorf("%d requests lacked mandatory headers", f.bad.Load())
	}
	if !f.deleted.Load() {
		t.Error("the AE was not deleted")
	}
	if rep.AEI != fakeAEI || !strings.HasPrefix(rep.AE, "bench-") {
		t.Errorf("AE %q aei %q", rep.AE, rep.AEI)
	}
	if rep.Prefill == nil || rep.Prefill.Created != 20 || rep.Prefill.Errors != 0 {
		t.Errorf("prefill %+v", rep.Prefill)
	}
	checkPhases(t, rep, text)
	if !strings.Contains(text, "%ceiling") {
		t.Error("text report lacks the ceiling column")
	}
}

// checkPhases checks a full run's report: the ceiling's three phases, then
// the CSE's, each with requests and no errors, the CSE's as a % of the
// ceiling, each a row of the text report.
func checkPhases(t *testing.T, rep *Report, text string) {
	t.Helper()
	if len(rep.Phases) != 6 {
		t.Fatalf("%d phases, want 6", len(rep.Phases))
	}
	for i, p := range rep.Phases {
		wantTarget := TargetCeiling
		if i >= 3 {
			wantTarget = TargetCSE
		}
		if p.Target != wantTarget || p.Phase != allOps[i%3] {
			t.Errorf("phase %d is %s/%s", i, p.Target, p.Phase)
		}
		if p.Requests == 0 || p.RPS <= 0 || p.Errors != 0 || p.Skipped != "" {
			t.Errorf("%s %s: %d requests, %.0f/s, %d errors %v %s", p.Target, p.Phase, p.Requests, p.RPS, p.Errors, p.ErrorKinds, p.Skipped)
		}
		if wantTarget == TargetCSE && p.PctOfCeiling <= 0 {
			t.Errorf("%s %s: no %% of ceiling", p.Target, p.Phase)
		}
		if !strings.Contains(text, fmt.Sprintf("%-8s %-8s %10d", p.Target, p.Phase, p.Requests)) {
			t.Errorf("text report lacks the %s %s row", p.Target, p.Phase)
		}
	}
}

func TestMainCountsErrors(t *testing.T) {
	f := &fakeCSE{cins: map[string]string{}, failCreates: true}
	srv := httptest.NewServer(f)
	defer srv.Close()

	code, text, rep := runMain(t, "--target", srv.URL+"/cse-in", "-d", "200ms", "-c", "2", "--ops", "create,retrieve", "--json")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if len(rep.Phases) != 2 {
		t.Fatalf("%d phases, want 2", len(rep.Phases))
	}
	p := rep.Phases[0]
	if p.Phase != OpCreate || p.Requests == 0 || p.Errors != p.Requests ||
		p.ErrorKinds["500"] != p.Requests || p.RSC["5000"] != p.Requests || p.Statuses["500"] != p.Requests {
		t.Errorf("create: %+v", p)
	}
	if rep.Phases[1].Skipped == "" {
		t.Errorf("retrieve was not skipped: %+v", rep.Phases[1])
	}
	if !strings.Contains(text, "500×") || !strings.Contains(text, "5000×") {
		t.Error("text report lacks the error breakdown")
	}
	if !f.deleted.Load() {
		t.Error("the AE was not deleted")
	}
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{
		{},                   // no target
		{"--target", "nope"}, // bad URL
		{"--ceiling-only", "--ops", "read"},
		{"--target", "http://x/cse-in", "--ops", "retrieve"}, // nothing to retrieve
		{"--ceiling-only", "--ceiling-url", "ftp://127.0.0.1:1"},
		{"--ceiling-only", "--ceiling-url", "http://127.0.0.1:1/cse-in"},
		{"--target", "http://x/cse-in", "--ceiling", "-d", "1s", "--slices", "-1"},
		{"--target", "http://x/cse-in", "--ceiling", "-d", "1s", "--slices", "50"}, // 20ms slices
	} {
		var out bytes.Buffer
		if code := Main(args, &out); code != 2 {
			t.Errorf("Main(%q) = %d, want 2\n%s", args, code, out.String())
		}
	}
}

// TestMainExternalCeiling runs the ceiling phases against a ceiling server that
// the load generator did not start (--ceiling-url): every ceiling request must
// reach that server, and the report must say where the ceiling ran.
func TestMainExternalCeiling(t *testing.T) {
	var hits atomic.Int64
	h := CeilingHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	code, text, rep := runMain(t, "--ceiling-only", "--ceiling-url", srv.URL+"/", "-d", "200ms", "-c", "2", "--ops", "create", "--json")
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, text)
	}
	if rep.CeilingURL != srv.URL || !rep.CeilingExternal {
		t.Errorf("ceiling %q external %v, want %q true", rep.CeilingURL, rep.CeilingExternal, srv.URL)
	}
	if len(rep.Phases) != 1 || rep.Phases[0].Requests == 0 || rep.Phases[0].Requests != uint64(hits.Load()) {
		t.Errorf("phases %+v, the server saw %d requests", rep.Phases, hits.Load())
	}
	if !strings.Contains(text, "separate process") {
		t.Error("the text report does not say the ceiling ran in a separate process")
	}
}

// TestMainSlices: with --slices, each phase runs in turns against the ceiling
// and the CSE, and the report lists the ceiling's phases first with the CSE's
// as a % of them. The order in which the two servers saw the requests shows
// the turns.
func TestMainSlices(t *testing.T) {
	var mu sync.Mutex
	var seen []byte // 'c' ceiling, 's' CSE, in the order the requests came
	note := func(b byte, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, b)
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	cse := httptest.NewServer(note('s', &fakeCSE{cins: map[string]string{}}))
	defer cse.Close()
	ceiling := httptest.NewServer(note('c', CeilingHandler()))
	defer ceiling.Close()
	const slices = 3
	code, text, rep := runMain(t, "--target", cse.URL+"/cse-in", "--ceiling-url", ceiling.URL, "-d", "300ms", "-c", "2",
		"--slices", strconv.Itoa(slices), "--json")
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, text)
	}
	if rep.Slices != slices || !strings.Contains(text, "3 slices") {
		t.Errorf("report slices %d; text:\n%s", rep.Slices, text)
	}
	checkPhases(t, rep, text)
	// The turns: ceiling, CSE, ceiling, ... slices times per phase (the
	// setup's requests go to the CSE before the first turn).
	mu.Lock()
	defer mu.Unlock()
	turns := 0
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1] {
			turns++
		}
	}
	if want := 2*slices*len(allOps) - 1; turns < want {
		t.Errorf("%d changes between ceiling and CSE, want at least %d", turns, want)
	}
}
