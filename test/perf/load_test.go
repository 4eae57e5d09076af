// Package perf drives a whole in-process onecse with the load generator, so
// that a CPU profile of a realistic load can be taken with
//
//	go test -run '^$' -bench BenchmarkHTTPLoad -benchtime 1x -cpuprofile cpu.out ./test/perf/
//
// The figures to quote are those of `onecse bench --ceiling` against a
// separate onecse process (README, Performance); this benchmark is for
// profiling and for catching regressions in one command.
package perf

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/loadgen"
)

func BenchmarkHTTPLoad(b *testing.B) {
	c := testcse.Start(b, func(cfg *config.Config) { cfg.Sync = "full" })
	for i := 0; i < b.N; i++ {
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Target: c.URL + "/cse-in", Connections: 32, Duration: 3 * time.Second, Size: 32, Timeout: 5 * time.Second,
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range rep.Phases {
			b.ReportMetric(p.RPS, p.Phase+"-req/s")
			if p.Errors > 0 {
				b.Errorf("%s: %d errors %v", p.Phase, p.Errors, p.ErrorKinds)
			}
		}
	}
}

// BenchmarkHTTPCreate runs the create phase alone (for a CPU profile of the
// write path).
func BenchmarkHTTPCreate(b *testing.B) {
	c := testcse.Start(b, func(cfg *config.Config) { cfg.Sync = "full" })
	for i := 0; i < b.N; i++ {
		cpu0 := cpuTime()
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Target: c.URL + "/cse-in", Connections: 32, Duration: 5 * time.Second, Size: 32, Timeout: 5 * time.Second,
			Ops: []string{loadgen.OpCreate},
		})
		if err != nil {
			b.Fatal(err)
		}
		cpu := cpuTime() - cpu0
		for _, p := range rep.Phases {
			b.ReportMetric(p.RPS, p.Phase+"-req/s")
			// CPU time of the whole process (CSE and load generator) per
			// request: unlike req/s it hardly moves when other processes share
			// the machine, so it tells whether a change made the path cheaper.
			b.ReportMetric(float64(cpu.Microseconds())/float64(p.Requests), "cpu-µs/req")
		}
		st := c.Server.StoreStats()
		b.ReportMetric(float64(st.Transactions)/float64(st.Commits), "tx/commit")
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCeilingCPU measures the load generator against the constant-answer
// ceiling server in this process: its cpu-µs/req is the part of
// BenchmarkHTTPCreate's that is not the CSE's.
func BenchmarkCeilingCPU(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cpu0 := cpuTime()
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Connections: 32, Duration: 5 * time.Second, Size: 32, Timeout: 5 * time.Second,
			Ops: []string{loadgen.OpCreate}, CeilingOnly: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		cpu := cpuTime() - cpu0
		for _, p := range rep.Phases {
			b.ReportMetric(p.RPS, p.Phase+"-req/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(p.Requests), "cpu-µs/req")
		}
	}
}
