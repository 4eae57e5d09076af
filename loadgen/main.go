// Package loadgen is onecse's load generator: it drives a oneM2M CSE over
// the oneM2M HTTP binding (TS-0009) with closed-loop workers (create
// contentInstances, retrieve them, retrieve the latest one) and measures
// requests per second and latency percentiles. It also provides the
// "ceiling" reference server (a net/http server answering a constant JSON
// body) against which a CSE's throughput is stated as a percentage.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/onecse/onecse/security/credentials"
)

// Main runs the load generator with command-line args (without the "bench"
// word); it writes its report to out and returns an exit code: 0 when every
// request succeeded, 1 when the run failed or some request failed, 2 for a
// usage error.
func Main(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("onecse bench", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg Config
	var ops string
	var asJSON bool
	fs.StringVar(&cfg.Target, "target", "", "CSEBase URL, e.g. http://127.0.0.1:8080/cse-in (required unless --ceiling-only)")
	fs.IntVar(&cfg.Connections, "c", 32, "connections (= closed-loop workers)")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "duration of each phase")
	fs.StringVar(&cfg.Origin, "origin", "", `originator to register the AE with (default "C": the CSE assigns the AE-ID)`)
	fs.StringVar(&ops, "ops", "create,retrieve,la", "phases to run, comma-separated: create, retrieve, la; or register alone (--count AEs, latency per --slice)")
	fs.IntVar(&cfg.Prefill, "prefill", 0, "create `N` contentInstances before the phases")
	fs.IntVar(&cfg.Size, "size", 32, "content size in `bytes` of each contentInstance")
	fs.BoolVar(&cfg.Ceiling, "ceiling", false, "also run the same load against the in-process ceiling server (in turns with the CSE, see --slices) and report the CSE as a % of it")
	fs.BoolVar(&cfg.CeilingOnly, "ceiling-only", false, "run against the ceiling server only")
	fs.StringVar(&cfg.CeilingURL, "ceiling-url", "", "use the ceiling server at this `URL` (one started with `onecse ceiling --http ADDR`, in a process of its own like the CSE) instead of one inside the load generator's process; implies --ceiling")
	fs.IntVar(&cfg.Slices, "slices", 5, "with a ceiling: run each phase in `N` slices, the ceiling's and the CSE's in turns, so that both sides of a ratio see the same machine (1: all ceiling phases first)")
	fs.BoolVar(&asJSON, "json", false, "also print the results as one JSON object at the end")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.BoolVar(&cfg.Keep, "keep", false, "do not delete the AE at the end")
	fs.IntVar(&cfg.Subs, "subs", 0, "subscribe `N` times to the container before the phases (each CREATE then causes N notifications)")
	fs.StringVar(&cfg.NotifyURL, "notify-url", "", "target of those subscriptions (default: a receiver run by the load generator, which measures the notification latency)")
	fs.StringVar(&cfg.SubsENC, "subs-enc", "", `their eventNotificationCriteria as JSON, where {i} stands for the subscription's number from 0 (default {"net":[3],"chty":[4]}: every new contentInstance)`)
	fs.Float64Var(&cfg.Rate, "rate", 0, "pace the create phase at `N` requests/s in all (default: as fast as the connections go)")
	fs.StringVar(&cfg.PSKIdentity, "psk-identity", "", "KpsaID for an https:// target over TLS-PSK (with --psk-key-file)")
	fs.StringVar(&cfg.Binding, "binding", "", "http, ws, mqtt or coap (default: the --target's scheme: ws://host:port/cse-in, mqtt://broker:1883/cse-in, coap://host:port/cse-in; ws, mqtt and coap run the create, retrieve and la phases only)")
	fs.StringVar(&cfg.CSEID, "cse-id", "", "CSE-ID of an mqtt:// target, whose topics name it (default /id-in)")
	pskKeyFile := fs.String("psk-key-file", "", "file with the hex PSK (mode 0600) for --psk-identity")
	count := fs.Int("count", 1000000, "--ops register: AEs to register")
	slice := fs.Int("slice", 100000, "--ops register: registrations per reported slice")
	pid := fs.Int("pid", 0, "--ops register, --soak: `PID` of the CSE, whose /proc/PID/status VmRSS and VmHWM are reported (default: process_resident_memory_bytes of <host>/metrics)")
	soak := fs.Duration("soak", 0, "run a paced mixed load (creates under a container with --mni, la, retrieves, discovery, a subscription with notifications, AE register/delete churn) for `DURATION`, sampling the CSE's memory every --sample")
	sample := fs.Duration("sample", time.Minute, "--soak: memory sampling interval")
	csvPath := fs.String("csv", "", "--soak: write the memory samples to this CSV file")
	mni := fs.Int("mni", 100, "--soak: maxNrOfInstances of the soak's container")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: onecse bench --target http://host:port/<csebase> [flags]\n       onecse bench --ceiling-only [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "bench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if (cfg.PSKIdentity == "") != (*pskKeyFile == "") {
		fmt.Fprintf(out, "bench: --psk-identity and --psk-key-file go together\n")
		return 2
	}
	if *pskKeyFile != "" {
		k, err := credentials.ReadKeyFile(*pskKeyFile)
		if err != nil {
			fmt.Fprintf(out, "bench: %v\n", err)
			return 2
		}
		cfg.PSKKey = k
	}
	if *soak > 0 || strings.TrimSpace(ops) == "register" {
		if cfg.Target == "" {
			fmt.Fprintf(out, "bench: --target is required\n")
			return 2
		}
		cfg.Target = strings.TrimRight(cfg.Target, "/")
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if *soak > 0 {
			rate := cfg.Rate
			if rate == 0 {
				rate = 200
			}
			rep, err := RunSoak(ctx, SoakConfig{Target: cfg.Target, Duration: *soak, Connections: cfg.Connections, Rate: rate,
				MNI: *mni, Sample: *sample, CSV: *csvPath, PID: *pid, Timeout: cfg.Timeout, Log: out})
			if err != nil {
				rep.Error = err.Error()
			}
			WriteSoakText(out, rep)
			return jsonOut(out, asJSON, rep, err != nil || rep.Errors > 0)
		}
		rep, err := RunRegister(ctx, RegisterConfig{Target: cfg.Target, Connections: cfg.Connections, Count: *count,
			Slice: *slice, PID: *pid, Timeout: cfg.Timeout, Log: out})
		if err != nil {
			rep.Error = err.Error()
		}
		WriteRegisterText(out, rep)
		return jsonOut(out, asJSON, rep, err != nil || rep.Errors > 0)
	}
	cfg.Ops = strings.Split(ops, ",")
	if err := cfg.normalize(); err != nil {
		fmt.Fprintf(out, "bench: %v\n", err)
		return 2
	}
	cfg.Log = out

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		rep.Error = err.Error()
	}
	WriteText(out, rep)
	if asJSON {
		b, jerr := json.Marshal(rep)
		if jerr != nil {
			fmt.Fprintf(out, "bench: %v\n", jerr)
			return 1
		}
		fmt.Fprintf(out, "%s\n", b)
	}
	if err != nil || rep.TotalErrors() > 0 {
		return 1
	}
	return 0
}

// jsonOut prints v as JSON when asked and returns the exit code.
func jsonOut(out io.Writer, asJSON bool, v any, failed bool) int {
	if asJSON {
		b, err := json.Marshal(v)
		if err != nil {
			fmt.Fprintf(out, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(out, "%s\n", b)
	}
	if failed {
		return 1
	}
	return 0
}

// WriteText writes the human-readable report.
func WriteText(out io.Writer, r *Report) {
	fmt.Fprintf(out, "\nonecse bench: %d connections, %s per phase, con %d bytes\n", r.Connections, r.Duration, r.Size)
	if r.CeilingURL != "" {
		where := "in-process"
		if r.CeilingExternal {
			where = "separate process"
		}
		fmt.Fprintf(out, "  ceiling: %s (%s net/http, constant %d-byte JSON answer)\n", r.CeilingURL, where, len(ceilingBody))
		if r.Slices > 1 {
			fmt.Fprintf(out, "  each phase in %d slices, the ceiling's and the CSE's in turns\n", r.Slices)
		}
	}
	if r.Target != "" {
		fmt.Fprintf(out, "  cse:     %s", r.Target)
		if r.AE != "" {
			fmt.Fprintf(out, "  (AE %s, aei %s, container data)", r.AE, r.AEI)
		}
		fmt.Fprintln(out)
	}
	if p := r.Prefill; p != nil {
		fmt.Fprintf(out, "  prefill: %d/%d contentInstances created in %s (%.0f req/s), %d errors%s\n",
			p.Created, p.Requested, fmtDur(p.Elapsed), p.RPS, p.Errors, fmtKinds(p.ErrorKinds))
	}
	if len(r.Phases) > 0 {
		fmt.Fprintf(out, "\n%-8s %-8s %10s %10s %9s %9s %9s %9s %8s %9s\n",
			"target", "phase", "requests", "req/s", "p50", "p90", "p99", "max", "errors", "%ceiling")
		for _, p := range r.Phases {
			if p.Skipped != "" {
				fmt.Fprintf(out, "%-8s %-8s skipped: %s\n", p.Target, p.Phase, p.Skipped)
				continue
			}
			pct := "-"
			if p.PctOfCeiling > 0 {
				pct = fmt.Sprintf("%.1f%%", p.PctOfCeiling)
			}
			fmt.Fprintf(out, "%-8s %-8s %10d %10.1f %9s %9s %9s %9s %8d %9s\n",
				p.Target, p.Phase, p.Requests, p.RPS, fmtDur(p.P50), fmtDur(p.P90), fmtDur(p.P99), fmtDur(p.Max), p.Errors, pct)
		}
		for _, p := range r.Phases {
			if p.Errors == 0 {
				continue
			}
			fmt.Fprintf(out, "  %s %s errors:%s", p.Target, p.Phase, fmtKinds(p.ErrorKinds))
			if len(p.RSC) > 0 {
				fmt.Fprintf(out, "; statuses:%s; X-M2M-RSC:%s", fmtKinds(p.Statuses), fmtKinds(p.RSC))
			} else {
				fmt.Fprintf(out, "; statuses:%s", fmtKinds(p.Statuses))
			}
			fmt.Fprintln(out)
		}
	}
	if n := r.Notify; n != nil {
		fmt.Fprintf(out, "\nnotifications: %d subscriptions to the container, target %s\n", n.Subscriptions, n.Target)
		switch {
		case n.Expected > 0:
			fmt.Fprintf(out, "  received %d of %d (%.1f%%), the last %s after the create phase\n",
				n.Received, n.Expected, 100*float64(n.Received)/float64(n.Expected), fmtDur(n.Drained))
		case strings.HasPrefix(n.Target, "built-in"):
			fmt.Fprintf(out, "  received %d\n", n.Received)
		}
		if n.Received > 0 {
			fmt.Fprintf(out, "  latency from the CREATE's answer: p50 %s, p90 %s, p99 %s, max %s (%d before the answer)\n",
				fmtDur(n.P50), fmtDur(n.P90), fmtDur(n.P99), fmtDur(n.Max), n.Early)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	if r.Error != "" {
		fmt.Fprintf(out, "error: %s\n", r.Error)
	}
}

// fmtKinds formats a counter map as " k×n, k×n" sorted by key.
func fmtKinds(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s×%d", k, m[k])
	}
	return b.String()
}

// fmtDur formats a duration with 3 significant digits.
func fmtDur(d time.Duration) string {
	f := float64(d)
	unit, div := "ns", 1.0
	switch {
	case d >= time.Second:
		unit, div = "s", 1e9
	case d >= time.Millisecond:
		unit, div = "ms", 1e6
	case d >= time.Microsecond:
		unit, div = "µs", 1e3
	}
	v := f / div
	switch {
	case div == 1 || v >= 100:
		return fmt.Sprintf("%.0f%s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f%s", v, unit)
	default:
		return fmt.Sprintf("%.2f%s", v, unit)
	}
}
