package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// TestEnrolCommand: apply to a running CSE over HTTP creates, the second
// apply changes nothing; check finds errors.
func TestEnrolCommand(t *testing.T) {
	dir := t.TempDir()
	credFile := filepath.Join(dir, "creds.yaml")
	if err := os.WriteFile(credFile, []byte("psk: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := testcse.Start(t, func(c *config.Config) { c.Credentials = credFile })
	file := filepath.Join(dir, "enrol.yaml")
	content := `subscriptions:
  - name: sub
    expires: 2030-01-01T00:00:00Z
    nodes:
      - name: n1
        node-id: urn:dev:ops:n1
        cse-id: /id-in
        app-rules: [r1]
app-rules:
  - name: r1
    credentials: [ae1@sp.example]
    app-ids: [Nx]
    ae-ids: [Cae1]
credentials:
  - kpsa-id: ae1@sp.example
    key-out: ` + filepath.Join(dir, "ae1.key") + `
    ae-ids: [Cae1]
    subscription: sub
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enrol := func(want int, args ...string) string {
		t.Helper()
		out.Reset()
		if code := run(append([]string{"enrol"}, args...), &out, &out); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, out.String())
		}
		return out.String()
	}
	if got := enrol(0, "check", "--file", file); !strings.Contains(got, "1 subscriptions, 1 app-rules, 1 credentials") {
		t.Fatalf("check: %s", got)
	}
	got := enrol(0, "apply", "--file", file, "--url", in.URL, "--credentials", credFile)
	if !strings.Contains(got, "4 created, 0 updated, 0 unchanged") || !strings.Contains(got, "SIGHUP") {
		t.Fatalf("first apply: %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "ae1.key")); err != nil {
		t.Fatalf("generated key: %v", err)
	}
	if got := enrol(0, "apply", "--file", file, "--url", in.URL, "--credentials", credFile); !strings.Contains(got, "0 created, 0 updated, 4 unchanged") {
		t.Fatalf("second apply: %s", got)
	}
	if in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sub/n1", From: "CAdmin"}).Must(t, 2000).Res("m2m:svsn")["csi"] != "/id-in" {
		t.Fatal("svsn not there")
	}
	// An expiry beyond the CSE's max-expiration is reported.
	os.WriteFile(file, []byte(strings.Replace(content, "2030-01-01", "2099-01-01", 1)), 0o600)
	if got := enrol(1, "apply", "--file", file, "--url", in.URL, "--credentials", credFile); !strings.Contains(got, "max-expiration") {
		t.Fatalf("apply beyond max-expiration: %s", got)
	}
	// A file others may read is refused; so is a broken one.
	os.Chmod(file, 0o644)
	enrol(1, "check", "--file", file)
	os.Chmod(file, 0o600)
	os.WriteFile(file, []byte("app-rules:\n  - name: r\n    app-ids: [Nx]\n    ae-ids: [C*]\n"), 0o600)
	if got := enrol(1, "check", "--file", file); !strings.Contains(got, "no-credential") {
		t.Fatalf("check of a broken file: %s", got)
	}
}

// proc is a onecse process of a test, with its log lines.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(bin, args...), lines: make(chan string, 1000)}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for it any more
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *proc) wait(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("onecse exited while waiting for %s", re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no log line %s", re)
		}
	}
}

// TestBinaryEnrolment: separate processes. An IN-CSE started with an
// enrolment file; an MN-CSE holding only the key the file generated
// registers and gets the pre-assigned CSE-ID; AEs register with the MN as
// the IN-CSE's rules for the MN's node say; the file applied again to the
// running IN-CSE changes nothing.
func TestBinaryEnrolment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	file, credFile, keyFile := filepath.Join(dir, "enrolment.yaml"), filepath.Join(dir, "in-credentials.yaml"), filepath.Join(dir, "mn1.key")
	content := `subscriptions:
  - name: acme
    expires: 2029-12-31T00:00:00Z
    nodes:
      - name: gw1
        node-id: urn:dev:ops:acme-gw-1
        cse-id: /id-mn1
        app-rules: [sensors]
app-rules:
  - name: sensors
    no-credential: true
    app-ids: ["Nsensor*"]
    ae-ids: ["C*"]
credentials:
  - kpsa-id: mn1@in.onecse.example
    key-out: ` + keyFile + `
    cse-id: /id-mn1
    subscription: acme
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startProc(t, bin, "--cse-id", "/id-in", "--data", filepath.Join(dir, "in"), "--http", "127.0.0.1:0", "--https-psk", "127.0.0.1:0",
		"--credentials", credFile, "--enrolment", file, "--require-sa-for-cses")
	in.wait(regexp.MustCompile(`enrolment applied.*3 created, 0 updated, 0 unchanged`))
	m := in.wait(regexp.MustCompile(`onecse started.* http=([0-9.:]+) https-psk=([0-9.:]+)`))
	inHTTP, inPSK := m[1], m[2]

	mn := startProc(t, bin, "--cse-type", "MN", "--cse-id=", "--cse-name", "cse-mn", "--data", filepath.Join(dir, "mn"), "--http", "127.0.0.1:0",
		"--registrar-url", "https://"+inPSK, "--registrar-id", "/id-in", "--registrar-name", "cse-in",
		"--registrar-psk-identity", "mn1@in.onecse.example", "--registrar-psk-key-file", keyFile, "--liveness-interval", "200ms")
	mn.wait(regexp.MustCompile(`CSE-ID assigned by the registrar.*cse-id=/id-mn1`))
	mnHTTP := mn.wait(regexp.MustCompile(`onecse started.* http=([0-9.:]+)`))[1]
	mn.wait(regexp.MustCompile(`registered with the registrar`))

	register := func(rn, api string) int {
		t.Helper()
		body := `{"m2m:ae":{"rn":"` + rn + `","api":"` + api + `","rr":false,"srv":["3"]}}`
		req, _ := http.NewRequest("POST", "http://"+mnHTTP+"/cse-mn", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json;ty=2")
		req.Header["X-M2M-Origin"] = []string{"C"}
		req.Header["X-M2M-RI"] = []string{rn}
		req.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		rsc, _ := strconv.Atoi(resp.Header.Get("X-M2M-RSC"))
		return rsc
	}
	if rsc := register("temp1", "Nsensor-temp"); rsc != 2001 {
		t.Fatalf("allowed App-ID: %d", rsc)
	}
	if rsc := register("cam1", "Ncamera"); rsc != 4126 {
		t.Fatalf("refused App-ID: %d", rsc)
	}
	var out bytes.Buffer
	if code := run([]string{"enrol", "apply", "--file", file, "--url", "http://" + inHTTP, "--credentials", credFile}, &out, &out); code != 0 ||
		!strings.Contains(out.String(), "0 created, 0 updated, 4 unchanged") {
		t.Fatalf("second apply (exit %d): %s", code, out.String())
	}
}
