package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, &out, &out); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"-config", "-http", "-cse-id", "-cse-name", "-sp-id", "-cse-type", "-data", "-admin", "-sync", "-max-body",
		"-registrar-url", "-registrar-id", "-registrar-name", "-credential-id", "-liveness-interval", "-registree-timeout",
		"-deregister-on-shutdown", "-require-sa-for-cses", "-accept-declared-credentials",
		"-credentials", "-https-psk", "-require-sa-for-aes", "-registrar-psk-identity", "-registrar-psk-key-file",
		"-https-cert", "-tls-cert", "-tls-key", "-tls-client-ca", "-cse-domain", "-registrar-cert", "-registrar-key", "-registrar-ca"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s:\n%s", f, out.String())
		}
	}
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("htp: 127.0.0.1:1\n"), 0o600)
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"extra-arg"},
		{"--config", filepath.Join(dir, "missing.yaml")},
		{"--config", bad}, // unknown key: a typo must not silently keep a default
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"--cse-type", "XX", "--data", dir, "--http", "127.0.0.1:0"}, &out, &out); code != 1 {
		t.Errorf("bad cse-type: exit %d, want 1\n%s", code, out.String())
	}
}

// TestBinaryServesAndStopsOnSIGTERM builds the binary, starts it with a config
// file whose values a flag overrides, checks that it serves, and that SIGTERM
// stops it cleanly (exit 0) with its store closed.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	cfg := filepath.Join(dir, "onecse.yaml")
	os.WriteFile(cfg, []byte("cse-name: from-file\ncse-id: /id-file\nhttp: 127.0.0.1:1\n"), 0o600)
	cmd := exec.Command(bin, "--config", cfg, "--http", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--cse-id", "/id-flag")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := waitForAddr(t, stderr)
	req, _ := http.NewRequest("GET", "http://"+addr+"/from-file", nil)
	req.Header["X-M2M-Origin"] = []string{"CAdmin"}
	req.Header["X-M2M-RI"] = []string{"1"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"csi":"/id-flag"`) {
		t.Fatalf("CSEBase from the file's name with the flag's CSE-ID: %d %s", resp.StatusCode, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit 15 s after SIGTERM")
	}
}

var startedRE = regexp.MustCompile(`onecse started.*http=([0-9.:]+)`)

func waitForAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("onecse exited before it listened")
			}
			if m := startedRE.FindStringSubmatch(l); m != nil {
				go func() {
					for range lines {
					}
				}()
				return m[1]
			}
		case <-deadline:
			t.Fatal("onecse did not log its address")
		}
	}
}

// TestBinaryThreeCSEs runs IN, MN and ASN as three processes: the MN
// registers with the IN, the ASN with the MN, and the IN learns the ASN as
// a descendant of the MN; an AE of the ASN reaches the IN through the MN.
func TestBinaryThreeCSEs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	start := func(name string, args ...string) string {
		args = append([]string{"--http", "127.0.0.1:0", "--data", filepath.Join(dir, name), "--liveness-interval", "200ms"}, args...)
		cmd := exec.Command(bin, args...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("%s: exit after SIGTERM: %v", name, err)
			}
		})
		return "http://" + waitForAddr(t, stderr)
	}
	do := func(method, url, from string, ty int, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header["X-M2M-Origin"] = []string{from}
		req.Header["X-M2M-RI"] = []string{"r"}
		req.Header["X-M2M-RVI"] = []string{"3"}
		if ty != 0 {
			req.Header.Set("Content-Type", "application/json;ty="+strconv.Itoa(ty))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rsc, _ := strconv.Atoi(resp.Header.Get("X-M2M-RSC"))
		return rsc, string(b)
	}
	in := start("in", "--cse-type", "IN", "--cse-id", "/id-in", "--cse-name", "cse-in")
	mn := start("mn", "--cse-type", "MN", "--cse-id", "/id-mn", "--cse-name", "cse-mn",
		"--registrar-url", in, "--registrar-id", "/id-in", "--registrar-name", "cse-in")
	asn := start("asn", "--cse-type", "ASN", "--cse-id", "/id-asn", "--cse-name", "cse-asn",
		"--registrar-url", mn, "--registrar-id", "/id-mn", "--registrar-name", "cse-mn")
	deadline := time.Now().Add(15 * time.Second)
	for {
		rsc, body := do("GET", in+"/cse-in/id-mn", "CAdmin", 0, "")
		if rsc == 2000 && strings.Contains(body, `"dcse":["/id-asn"]`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the IN does not list the ASN under the MN: %d %s", rsc, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rsc, body := do("POST", asn+"/cse-asn", "Cbin", 2, `{"m2m:ae":{"rn":"a","api":"Nx","rr":false,"srv":["3"]}}`); rsc != 2001 {
		t.Fatalf("AE registration: %d %s", rsc, body)
	}
	// Reached the IN (which grants the AE nothing on its CSEBase).
	if rsc, body := do("GET", asn+"/~/id-in/cse-in", "Cbin", 0, ""); rsc != 4103 || !strings.Contains(body, "/id-asn/Cbin") {
		t.Fatalf("through the MN: %d %s", rsc, body)
	}
}

// TestVersion: the built binary prints the version and the commit it was
// built from; -ldflags -X overrides both.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	// The revision is recorded when Go stamps VCS information (a build in a
	// plain git checkout with -buildvcs not false; not in a git worktree).
	if !regexp.MustCompile(`^onecse \S+ \(commit ([0-9a-f]{40}(, modified)?, \d{4}-\d\d-\d\dT[^,]+|unknown), go[^)]+\)\n$`).Match(out) {
		t.Errorf("--version printed %q", out)
	}
	bin2 := filepath.Join(dir, "onecse2")
	ld := "-X github.com/onecse/onecse/internal/version.Version=v1.2.3 -X github.com/onecse/onecse/internal/version.Commit=abc1234"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin2, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err = exec.Command(bin2, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "onecse v1.2.3 (commit abc1234, ") {
		t.Errorf("--version with -ldflags: %v %q", err, out)
	}
}

// TestHealthcheck: "onecse healthcheck" exits 0 against a ready onecse and
// 1 once it is stopped.
func TestHealthcheck(t *testing.T) {
	c := testcse.Start(t, nil)
	var out bytes.Buffer
	if code := run([]string{"healthcheck", "--url", c.URL + "/readyz"}, &out, &out); code != 0 || out.String() != "ready\n" {
		t.Errorf("ready onecse: exit %d %q", code, out.String())
	}
	c.Stop()
	out.Reset()
	if code := run([]string{"healthcheck", "--url", c.URL + "/readyz", "--timeout", "2s"}, &out, &out); code != 1 {
		t.Errorf("stopped onecse: exit %d %q, want 1", code, out.String())
	}
}

// TestInstallable: "go install github.com/onecse/onecse/cmd/onecse@latest"
// needs the module path to match and no replace or exclude directives (go
// install refuses them). scripts/check-go-install.sh does the real install
// through a local module proxy.
func TestInstallable(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if lines[0] != "module github.com/onecse/onecse" {
		t.Errorf("go.mod starts with %q", lines[0])
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "replace" || f[0] == "exclude") {
			t.Errorf("go.mod has %q: go install ...@version would refuse the module", l)
		}
	}
}

// TestLogFormat: --log-format json writes one JSON object per line, text
// writes key=value lines; anything else is refused.
func TestLogFormat(t *testing.T) {
	for _, c := range []struct{ format, prefix string }{{"json", `{"time":`}, {"text", "time="}, {"JSON", `{"time":`}} {
		cfg := config.Default()
		cfg.LogFormat = c.format
		var out bytes.Buffer
		log, err := newLogger(cfg, &out)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello", "k", "v")
		if !strings.HasPrefix(out.String(), c.prefix) || !strings.Contains(out.String(), "hello") {
			t.Errorf("%s: %q", c.format, out.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"--log-format", "xml", "--data", t.TempDir(), "--http", "127.0.0.1:0"}, &out, &out); code == 0 {
		t.Errorf("--log-format xml accepted")
	}
}

func TestPprofServesHeapProfile(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	stop, err := startPprof(addr, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("GET /debug/pprof/heap: %s: %.200s", resp.Status, body)
	}
	if code := run([]string{"--pprof", "0.0.0.0:0", "--data", t.TempDir()}, io.Discard, io.Discard); code == 0 {
		t.Fatal("--pprof on a non-loopback address accepted")
	}
}

// The tests that run onecse as a process share one binary, built once.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// onecseBinary builds the onecse binary (once per test run) and returns its
// path.
func onecseBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "onecse-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "onecse")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return binPath
}

// writeFile writes content to dir/name, readable by its owner only, and
// returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
