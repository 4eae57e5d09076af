package perf

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/loadgen"
)

// BenchmarkNotifyCreate runs the create phase with subscriptions on the
// container: NOTIFY_SUBS of them (default 0, 1, 1000), whose criteria
// (NOTIFY_ENC, default every new instance) every CREATE meets, so that each
// CREATE causes that many notifications to a receiver of the load
// generator. For a CPU profile:
//
//	NOTIFY_SUBS=1000 go test -run '^$' -bench BenchmarkNotifyCreate -benchtime 1x -cpuprofile cpu.out ./test/perf/
//
// The figures to quote are in the README (Performance): onecse bench against
// a separate onecse process, with --subs.
func BenchmarkNotifyCreate(b *testing.B) {
	subs := []int{0, 1, 1000}
	if v := os.Getenv("NOTIFY_SUBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		subs = []int{n}
	}
	d := 5 * time.Second
	if v := os.Getenv("NOTIFY_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range subs {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			c := testcse.Start(b, func(cfg *config.Config) { cfg.Sync = "full" })
			for i := 0; i < b.N; i++ {
				rep, err := loadgen.Run(context.Background(), loadgen.Config{
					Target: c.URL + "/cse-in", Connections: 32, Duration: d, Size: 32, Timeout: 30 * time.Second,
					Ops: []string{loadgen.OpCreate}, Subs: n, SubsENC: os.Getenv("NOTIFY_ENC"),
				})
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range rep.Phases {
					b.ReportMetric(p.RPS, "create/s")
				}
				if nr := rep.Notify; nr != nil && nr.Expected > 0 {
					b.ReportMetric(float64(nr.Received)/float64(nr.Expected)*100, "%notified")
					b.ReportMetric(float64(nr.P99)/1e6, "p99-ms")
				}
			}
		})
	}
}
