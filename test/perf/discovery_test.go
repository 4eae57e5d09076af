package perf

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// BenchmarkDiscoveryLabel is the discovery target of the notifications issue:
// discovery over 100,000 resources (DISCOVERY_N) with a label filter and
// lim=100, over HTTP, on the embedded store with durable writes. The
// contentInstances of one container carry the label "hot" (every 100th,
// 1,000 in all), "rare" (every 10,000th, 10 in all) or "cold" (the rest).
// lbl=hot&lim=100 stops at the 100th of 1,000 matches; lbl=rare must find 10
// resources spread over the whole subtree; lbl=none finds nothing (the worst
// case for a CSE that reads the subtree); the last case combines the label
// with other conditions. Run with
//
//	go test -run '^$' -bench BenchmarkDiscoveryLabel -benchtime 50x ./test/perf/
func BenchmarkDiscoveryLabel(b *testing.B) {
	n := 100000
	if v := os.Getenv("DISCOVERY_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	c := testcse.Start(b, func(cfg *config.Config) { cfg.Sync = "full" })
	h := c.HTTPClient()
	ae := h.Send(b, testcse.Msg{Op: 1, To: "cse-in", From: "Cdisc", Ty: 2,
		PC: map[string]any{"m2m:ae": map[string]any{"rn": "disc", "api": "Ndisc", "rr": false, "srv": []any{"3"}}}}).Must(b, 2001)
	aei, _ := ae.Res("m2m:ae")["aei"].(string)
	h.Send(b, testcse.Msg{Op: 1, To: "cse-in/disc", From: aei, Ty: 3,
		PC: map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}}).Must(b, 2001)

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < 32; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				lbl := "cold"
				switch {
				case i%10000 == 5000:
					lbl = "rare"
				case i%100 == 0:
					lbl = "hot"
				}
				r := h.Send(b, testcse.Msg{Op: 1, To: "cse-in/disc/data", From: aei, Ty: 4,
					PC: map[string]any{"m2m:cin": map[string]any{"cnf": "text/plain:0", "con": fmt.Sprint(i), "lbl": []any{lbl}}}})
				if r.RSC != 2001 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d creates failed", failed.Load())
	}
	b.Logf("created %d labelled contentInstances in %v", n, time.Since(start).Round(time.Millisecond))

	for _, tc := range []struct {
		name string
		fc   map[string]any
		want int
	}{
		{"lbl=hot,lim=100", map[string]any{"fu": 1, "lbl": []any{"hot"}, "lim": 100}, 100},
		{"lbl=rare,lim=100", map[string]any{"fu": 1, "lbl": []any{"rare"}, "lim": 100}, n / 10000},
		{"lbl=none,lim=100", map[string]any{"fu": 1, "lbl": []any{"none"}, "lim": 100}, 0},
		{"lbl=hot,ty=4,cty,lim=100", map[string]any{"fu": 1, "lbl": []any{"hot"}, "ty": []any{4}, "cty": []any{"text/plain"}, "lim": 100}, 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var worst time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				r := h.Send(b, testcse.Msg{Op: 2, To: "cse-in/disc", From: aei, Params: map[string]any{"fc": tc.fc}}).Must(b, 2000)
				if d := time.Since(t0); d > worst {
					worst = d
				}
				if got, _ := r.PC["m2m:uril"].([]any); len(got) != tc.want {
					b.Fatalf("%d resources found, want %d", len(got), tc.want)
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
		})
	}
}
