package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"syscall"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
)

const enrolUsage = `onecse enrol: pre-provision service subscriptions, nodes, application rules and credentials.

Usage:
  onecse enrol check --file FILE
      check an enrolment file (mode 0600: it may hold keys)
  onecse enrol apply --file FILE --url URL [--cse-name NAME] [--admin ID] [--credentials FILE] [--pid PID]
      apply it to the running IN-CSE at URL (e.g. http://127.0.0.1:8080) as its administrator, idempotently:
      what exists and equals the file is left alone, what differs is updated, nothing is deleted.
      Credentials are written to the CSE's credential file first; with --pid the CSE is sent SIGHUP so
      that it reads them before the rules that name them exist (otherwise: kill -HUP PID yourself).

The same file can be given to the IN-CSE itself (--enrolment FILE or enrolment: in its configuration);
it is then applied at every start.
`

func enrolCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, enrolUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet("onecse enrol "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "enrolment file")
	url := fs.String("url", "", "point of access of the running IN-CSE (http://host:port)")
	cseName := fs.String("cse-name", "cse-in", "resource name of the IN-CSE's CSEBase")
	admin := fs.String("admin", "CAdmin", "the IN-CSE's administrator originator")
	credFile := fs.String("credentials", "", "the IN-CSE's credential file (needed when the enrolment file has credentials)")
	pid := fs.Int("pid", 0, "process ID of the IN-CSE, sent SIGHUP after the credentials are written")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "onecse enrol: --file is needed")
		return 2
	}
	data, err := credentials.ReadSecretFile(*file)
	if err != nil {
		fmt.Fprintf(stderr, "onecse enrol: %v\n", err)
		return 1
	}
	f, err := enrol.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "onecse enrol: %s: %v\n", *file, err)
		return 1
	}
	switch args[0] {
	case "check":
		fmt.Fprintf(stdout, "%s: %d subscriptions, %d app-rules, %d credentials, %d enrolees\n", *file, len(f.Subscriptions), len(f.AppRules), len(f.Credentials), len(f.Enrolees))
		return 0
	case "apply":
	default:
		fmt.Fprintf(stderr, "onecse enrol: unknown command %q\n", args[0])
		return 2
	}
	if *url == "" {
		fmt.Fprintln(stderr, "onecse enrol apply: --url is needed")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rep enrol.Report
	if err := enrol.ApplyCredentials(f, *credFile, &rep); err != nil {
		fmt.Fprintf(stderr, "onecse enrol: %v\n", err)
		return 1
	}
	if len(rep.Created)+len(rep.Updated) > 0 && *pid > 0 {
		if err := syscall.Kill(*pid, syscall.SIGHUP); err != nil {
			fmt.Fprintf(stderr, "onecse enrol: SIGHUP to %d: %v\n", *pid, err)
			return 1
		}
		time.Sleep(500 * time.Millisecond) // the reload is quick; the rules follow
	} else if len(rep.Created)+len(rep.Updated) > 0 {
		fmt.Fprintf(stderr, "onecse enrol: credentials written to %s: send the CSE SIGHUP (kill -HUP PID) to use them\n", *credFile)
	}
	t := enrol.Target{CSE: enrol.Remote{Sender: httpb.NewClient(httpb.ClientOptions{}), URL: *url}, CSEName: *cseName, Admin: *admin}
	if err := enrol.ApplyResources(ctx, f, t, &rep); err != nil {
		fmt.Fprintf(stderr, "onecse enrol: %v\n", err)
		return 1
	}
	for _, w := range rep.Created {
		fmt.Fprintf(stdout, "created   %s\n", w)
	}
	for _, w := range rep.Updated {
		fmt.Fprintf(stdout, "updated   %s\n", w)
	}
	fmt.Fprintf(stdout, "%s\n", rep.String())
	return 0
}
