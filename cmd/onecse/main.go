// Command onecse is a oneM2M CSE. Without a subcommand it runs the CSE;
// "onecse bench" is the load generator and "onecse ceiling" serves the constant
// answer that performance figures are stated against.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/version"
	"github.com/onecse/onecse/loadgen"
	"github.com/onecse/onecse/server"
)

const usage = `onecse: a oneM2M CSE (IN-, MN- or ASN-CSE) over HTTP, JSON and CBOR.

Usage:
  onecse [flags]                 run the CSE
  onecse bench [flags]           load generator (onecse bench --help)
  onecse ceiling [--http ADDR]   constant-answer HTTP server, the reference for benchmark ratios
  onecse credentials CMD         manage the credential file: add-psk, list, revoke (onecse credentials --help)
  onecse healthcheck [--url URL] exit 0 when a onecse answers /readyz with 200 (for container health checks)
  onecse --version               print the version and commit
  onecse enrol CMD               pre-provision subscriptions, rules and credentials: check, apply (onecse enrol --help)
  onecse mef [flags]             the M2M Enrolment Function on its own, next to an IN-CSE (onecse mef --help)

Flags (each also settable in the --config file under the same name):
`

func main() {
	if os.Getenv("GOGC") == "" {
		// The store's resource cache keeps many small objects alive; collecting
		// at 4x the live heap instead of 2x cuts GC work on the request path by
		// more than half for a bounded amount of memory. GOGC overrides it.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "bench":
			return loadgen.Main(args[1:], stdout)
		case "ceiling":
			return ceiling(args[1:], stderr)
		case "credentials":
			return credentialsCmd(args[1:], stdout, stderr)
		case "healthcheck":
			return healthcheck(args[1:], stdout, stderr)
		case "enrol":
			return enrolCmd(args[1:], stdout, stderr)
		case "mef":
			return mefCmd(args[1:], stdout, stderr)
		}
	}
	cfg := config.Default()
	fs := flag.NewFlagSet("onecse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration file (flags override it)")
	showVersion := fs.Bool("version", false, "print the version and the commit onecse was built from, and exit")
	cfg.Flags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "onecse: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Get())
		return 0
	}
	if *configFile != "" {
		// The file sits under the flags: load it, then apply again the flags
		// that were given explicitly.
		fileCfg := config.Default()
		if err := fileCfg.LoadFile(*configFile); err != nil {
			fmt.Fprintf(stderr, "onecse: %v\n", err)
			return 2
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		cfg2 := fileCfg
		fs2 := flag.NewFlagSet("onecse", flag.ContinueOnError)
		fs2.SetOutput(io.Discard)
		fs2.String("config", "", "")
		cfg2.Flags(fs2)
		var again []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "config" {
				again = append(again, "-"+f.Name+"="+f.Value.String())
			}
		})
		// List flags (poa) are re-applied from the original arguments.
		if set["poa"] {
			cfg2.PoA = nil
		}
		if err := fs2.Parse(filterListFlags(again)); err != nil {
			fmt.Fprintf(stderr, "onecse: %v\n", err)
			return 2
		}
		if set["poa"] {
			cfg2.PoA = cfg.PoA
		}
		if set["allowed-ae-originators"] {
			cfg2.AllowedAEOriginators = cfg.AllowedAEOriginators
		}
		cfg = cfg2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "onecse: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	srv.Start()
	if cfg.Pprof != "" {
		stopPprof, err := startPprof(cfg.Pprof, log)
		if err != nil {
			log.Error("cannot start", "err", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		defer stopPprof()
	}
	// SIGHUP reloads the credential file (after onecse credentials add-psk
	// or revoke).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "signal", "received")
			break loop
		case <-hup:
			if err := srv.ReloadCredentials(); err != nil {
				log.Error("credentials not reloaded", "err", err)
			}
		case err := <-srv.Err():
			log.Error("serving failed", "err", err)
			code = 1
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		code = 1
	}
	return code
}

// filterListFlags drops the repeatable flags, whose String() form cannot be
// parsed back; they are copied over separately.
func filterListFlags(args []string) []string {
	out := args[:0]
	for _, a := range args {
		if strings.HasPrefix(a, "-poa=") || strings.HasPrefix(a, "-allowed-ae-originators=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log-level %q: %v", cfg.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func ceiling(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:8081", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	url, stopSrv, err := loadgen.StartCeiling(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "ceiling: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "ceiling server at %s (constant 70-byte JSON answer)\n", url)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stopSrv()
	return 0
}

// healthcheck asks a running onecse whether it is ready: for HEALTHCHECK in
// images without curl or wget (distroless).
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "readiness URL of the onecse to check")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of the check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(*url)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s: %s %s\n", *url, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}

// startPprof serves net/http/pprof on addr (a loopback address, checked by
// config.Validate) on a mux of its own, so that the profiles are never on the
// CSE's listener.
func startPprof(addr string, log *slog.Logger) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	log.Info("pprof", "url", "http://"+l.Addr().String()+"/debug/pprof/")
	return func() { _ = hs.Close() }, nil
}
