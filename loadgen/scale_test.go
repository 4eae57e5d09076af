package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// TestRegisterMode registers 250 AEs in slices of 100 against a real onecse:
// three slices, every AE there under its name, the memory read from /proc
// and from /metrics.
func TestRegisterMode(t *testing.T) {
	c := testcse.Start(t, nil)
	rep, err := RunRegister(context.Background(), RegisterConfig{Target: c.URL + "/cse-in", Connections: 4, Count: 250, Slice: 100,
		PID: os.Getpid(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Registered != 250 || rep.Errors != 0 || len(rep.Slices) != 3 {
		t.Fatalf("registered %d, errors %d, %d slices", rep.Registered, rep.Errors, len(rep.Slices))
	}
	for i, s := range rep.Slices {
		want := [][2]int{{0, 100}, {100, 200}, {200, 250}}[i]
		if s.From != want[0] || s.To != want[1] || s.P50 <= 0 || s.Mem.RSS == 0 || s.Mem.HWM < s.Mem.RSS || s.Mem.HeapInuse == 0 {
			t.Errorf("slice %d: %+v", i, s)
		}
	}
	for _, i := range []int{0, 137, 249} {
		if r := c.Do(testcse.Req{Method: "GET", Path: fmt.Sprintf("/cse-in/%s%d", rep.Prefix, i), From: "CAdmin"}); r.Status != 200 {
			t.Errorf("AE %s%d: status %d", rep.Prefix, i, r.Status)
		}
	}
	// A second run registers other names: no conflict.
	rep2, err := RunRegister(context.Background(), RegisterConfig{Target: c.URL + "/cse-in", Connections: 2, Count: 10, Slice: 100, Timeout: 10 * time.Second})
	if err != nil || rep2.Registered != 10 || rep2.Prefix == rep.Prefix {
		t.Fatalf("second run: %v, %+v", err, rep2)
	}
	var out bytes.Buffer
	WriteRegisterText(&out, rep)
	if !strings.Contains(out.String(), "200-250") || !strings.Contains(out.String(), "last slice vs first") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestSoakMode runs a short soak against a real onecse: every kind of
// request succeeds, notifications arrive, AEs come and go, the samples go to
// the CSV, and the soak's AE is deleted at the end.
func TestSoakMode(t *testing.T) {
	c := testcse.Start(t, nil)
	csv := filepath.Join(t.TempDir(), "soak.csv")
	rep, err := RunSoak(context.Background(), SoakConfig{Target: c.URL + "/cse-in", Duration: 2 * time.Second, Connections: 4, Rate: 300,
		MNI: 5, Sample: 500 * time.Millisecond, CSV: csv, PID: os.Getpid(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.Creates == 0 || rep.Churned == 0 || rep.Notifications == 0 || rep.Requests < rep.Creates+2*rep.Churned {
		t.Fatalf("%+v", rep)
	}
	b, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(rep.Samples)+1 || len(lines) < 3 || !strings.HasPrefix(lines[0], "time_utc,elapsed_s,rss_bytes,") {
		t.Fatalf("csv with %d samples:\n%s", len(rep.Samples), b)
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, ","); len(f) != 9 || f[2] == "0" {
			t.Errorf("csv row %q", l)
		}
	}
	// The container kept at most mni instances; the soak's AE is gone.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in?fu=1&ty=2", From: "CAdmin"})
	if bytes.Contains(r.Body, []byte("soak-")) || bytes.Contains(r.Body, []byte("churn-")) {
		t.Errorf("AEs left behind: %s", r.Body)
	}
	var out bytes.Buffer
	WriteSoakText(&out, rep)
	if !strings.Contains(out.String(), "mean RSS: first") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestParseProcStatus(t *testing.T) {
	rss, hwm, err := parseProcStatus([]byte("Name:\tonecse\nVmHWM:\t  152192 kB\nVmRSS:\t  145212 kB\nThreads:\t9\n"))
	if err != nil || rss != 145212*1024 || hwm != 152192*1024 {
		t.Fatalf("%d %d %v", rss, hwm, err)
	}
	for _, bad := range []string{"", "VmHWM:\t1 kB\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n", "VmRSS:\t-1 kB\n"} {
		if _, _, err := parseProcStatus([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader("# HELP x\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4.2e+07\n"+
		"go_goroutines 12\ngo_memstats_heap_inuse_bytes{x=\"y\"} 5\nother 1\n"), "process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_inuse_bytes")
	if err != nil || m["process_resident_memory_bytes"] != 42e6 || m["go_goroutines"] != 12 || len(m) != 2 {
		t.Fatalf("%v %v", m, err)
	}
}

func FuzzParseProcStatus(f *testing.F) {
	f.Add([]byte("VmHWM:\t  152192 kB\nVmRSS:\t  145212 kB\n"))
	f.Add([]byte("VmRSS: 1 kB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rss, hwm, err := parseProcStatus(b)
		if err == nil && (rss == 0 || rss%1024 != 0 || hwm%1024 != 0) {
			t.Fatalf("%q: rss %d hwm %d", b, rss, hwm)
		}
	})
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("process_resident_memory_bytes 4.2e+07\ngo_goroutines 12\n")
	f.Add("# x\n\n a b\nprocess_resident_memory_bytes NaN\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, _ := parseMetrics(strings.NewReader(s), "process_resident_memory_bytes", "go_goroutines")
		for k := range m {
			if k != "process_resident_memory_bytes" && k != "go_goroutines" {
				t.Fatalf("%q: unexpected %q", s, k)
			}
		}
	})
}
