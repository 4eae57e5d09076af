package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
	"github.com/onecse/onecse/security/mef"
	"github.com/onecse/onecse/security/tlspsk"
)

const mefUsage = `onecse mef: run the M2M Enrolment Function on its own, next to an IN-CSE on the same host.

Usage:
  onecse mef --listen ADDR --enrolment FILE --credentials FILE --pid PID
             --registrar-url https://HOST:PORT [--registrar-id /id-in] [--registrar-name cse-in]
             [--sp-id //onecse.example] [--fqdn mef.onecse.example] [--lifetime 2160h]

It enrols the enrolees of the enrolment file (TLS-PSK with their bootstrap keys) and hands each
credential to the IN-CSE by writing the IN-CSE's credential file and sending it SIGHUP (--pid).
Inside the IN-CSE the same runs with --mef ADDR. See docs/security/enrolment.md.
`

func mefCmd(args []string, stdout, stderr io.Writer) int {
	def := config.Default()
	fs := flag.NewFlagSet("onecse mef", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, mefUsage); fs.PrintDefaults() }
	listen := fs.String("listen", "127.0.0.1:8444", "listen address of the MEF (TLS-PSK)")
	file := fs.String("enrolment", "", "enrolment file with the enrolees")
	credFile := fs.String("credentials", "", "the IN-CSE's credential file, where enrolled nodes' credentials go")
	pid := fs.Int("pid", 0, "process ID of the IN-CSE, sent SIGHUP after each enrolment")
	regURL := fs.String("registrar-url", "", "https:// address of the IN-CSE's HTTPS-PSK listener, where enrolled nodes register")
	regID := fs.String("registrar-id", def.CSEID, "the IN-CSE's CSE-ID")
	regName := fs.String("registrar-name", def.CSEName, "resource name of the IN-CSE's CSEBase")
	spID := fs.String("sp-id", def.SPID, "M2M Service Provider ID")
	fqdn := fs.String("fqdn", "", "FQDN of the MEF (default mef.<SP domain>)")
	lifetime := fs.Duration("lifetime", def.MEFLifetime, "longest enrolment when neither the enrolee nor its subscription ends")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *file == "" || *credFile == "" || *pid <= 0 || !strings.HasPrefix(*regURL, "https://") || *lifetime <= 0 {
		fmt.Fprintln(stderr, "onecse mef: --enrolment, --credentials, --pid and an https:// --registrar-url are needed")
		return 2
	}
	log, err := newLogger(def, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "onecse mef: %v\n", err)
		return 2
	}
	data, err := credentials.ReadSecretFile(*file)
	if err != nil {
		fmt.Fprintf(stderr, "onecse mef: %v\n", err)
		return 1
	}
	f, err := enrol.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "onecse mef: %s: %v\n", *file, err)
		return 1
	}
	enrolees, err := mef.Enrolees(f)
	if err != nil {
		fmt.Fprintf(stderr, "onecse mef: %s: %v\n", *file, err)
		return 1
	}
	if *fqdn == "" {
		*fqdn = "mef." + strings.Trim(*spID, "/")
	}
	var mu sync.Mutex
	srv := &mef.Server{
		FQDN:      *fqdn,
		Registrar: mef.Registrar{CSEID: *regID, CSEBase: *regName, PoA: *regURL},
		TargetID:  mef.TargetID(*regID, *spID),
		Lifetime:  *lifetime,
		Lookup: func(id string) (mef.Enrolee, bool) {
			e, ok := enrolees[id]
			return e, ok
		},
		Provision: func(ctx context.Context, g mef.Grant) error {
			mu.Lock()
			defer mu.Unlock()
			if err := mef.WriteGrant(*credFile, *fqdn, g); err != nil {
				return err
			}
			if err := syscall.Kill(*pid, syscall.SIGHUP); err != nil {
				return fmt.Errorf("SIGHUP to the IN-CSE (%d): %w", *pid, err)
			}
			// The IN-CSE rereads the file at once; the node's handshake
			// follows the answer.
			time.Sleep(300 * time.Millisecond)
			return nil
		},
		Log: log,
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "onecse mef: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: srv, ConnContext: tlspsk.ConnContext, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tlspsk.NewListener(l, srv.TLSConfig())) }()
	log.Info("MEF started", "mef", l.Addr().String(), "fqdn", *fqdn, "enrolees", len(enrolees), "registrar", *regID, "registrar-url", *regURL)
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("MEF stopped", "err", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	log.Info("MEF stopped")
	return 0
}
