// Package docs runs the commands of docs/getting-started.md exactly as they
// are written against a freshly built onecse, and checks that they print
// what the page shows, so that the page cannot fall behind the program.
//
// The page's conventions (also stated in a comment at its top): each ```sh
// block is run with bash in one working directory, in order; a ```text block
// right after it is what the block must print on its standard output, with
// "..." matching any text within a line. An HTML comment on the line before
// a block marks it: "<!-- test: skip -->" is not run; "<!-- test:
// background NAME -->" is started in the background (a second terminal) and
// stopped at the end; "<!-- test: retry -->" is run again while it fails
// (exit status not 0: it waits for a background block to be up); "<!-- test: output
// NAME -->" before a ```text block is the output background block NAME
// prints, waited for.
//
// The page uses fixed ports (8080, 9000), as a reader would: the test runs
// in a network namespace of its own (unshare --net), where they are free
// and nothing else can reach them.
package docs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type step struct {
	line       int // of the block in the page
	kind       string
	name       string // background and output steps
	retry      bool
	script     string
	want       string
	checkWants bool
}

var markerRE = regexp.MustCompile(`^<!-- test: (.+) -->$`)

// parse reads the steps of a page.
func parse(page string) ([]step, error) {
	lines := strings.Split(page, "\n")
	var steps []step
	marker := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := markerRE.FindStringSubmatch(l); m != nil {
			marker = m[1]
			continue
		}
		if l != "```sh" && l != "```text" {
			if strings.TrimSpace(l) != "" {
				marker = ""
			}
			continue
		}
		lang, start := strings.TrimPrefix(l, "```"), i+1
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: block not closed", start)
		}
		text := strings.Join(body, "\n")
		f := strings.Fields(marker)
		marker = ""
		if lang == "text" {
			switch {
			case len(f) == 2 && f[0] == "output":
				steps = append(steps, step{line: start, kind: "output", name: f[1], want: text, checkWants: true})
			case len(steps) > 0 && steps[len(steps)-1].kind == "run" && !steps[len(steps)-1].checkWants && steps[len(steps)-1].line == lastBlockEnd(lines, start):
				steps[len(steps)-1].want, steps[len(steps)-1].checkWants = text, true
			default:
				return nil, fmt.Errorf("line %d: a ```text block that follows no ```sh block", start)
			}
			continue
		}
		s := step{line: start, kind: "run", script: text}
		switch {
		case len(f) == 0:
		case len(f) == 1 && f[0] == "skip":
			continue
		case len(f) == 1 && f[0] == "retry":
			s.retry = true
		case len(f) == 2 && f[0] == "background":
			s.kind, s.name = "background", f[1]
		default:
			return nil, fmt.Errorf("line %d: unknown marker %q", start, strings.Join(f, " "))
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// lastBlockEnd returns the first line of the ```sh block that the ```text
// block starting at line start follows directly (only blank lines between),
// or -1.
func lastBlockEnd(lines []string, start int) int {
	j := start - 2 // the line before "```text"
	for j >= 0 && strings.TrimSpace(lines[j]) == "" {
		j--
	}
	if j < 0 || lines[j] != "```" {
		return -1
	}
	for j--; j >= 0 && lines[j] != "```sh" && lines[j] != "```text"; j-- {
	}
	if j < 0 || lines[j] != "```sh" {
		return -1
	}
	return j + 1
}

// matches tells whether got is want, line by line, "..." matching any text
// within a line.
func matches(got, want string) bool {
	g := strings.Split(strings.TrimRight(got, "\n"), "\n")
	w := strings.Split(strings.TrimRight(want, "\n"), "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range w {
		parts := strings.Split(w[i], "...")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		if !regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(g[i]) {
			return false
		}
	}
	return true
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		got, want string
		ok        bool
	}{
		{"ready\n", "ready", true},
		{"ready\nmore\n", "ready", false},
		{`{"a":"x1","b":2}`, `{"a":"...","b":2}`, true},
		{`{"a":"x1","b":3}`, `{"a":"...","b":2}`, false},
		{"a.b", "a...", true},
		{"axb", "a.b", false},
	} {
		if got := matches(c.got, c.want); got != c.ok {
			t.Errorf("matches(%q, %q) = %v", c.got, c.want, got)
		}
	}
}

func TestParse(t *testing.T) {
	page := "<!-- test: skip -->\n```sh\ngo install x\n```\n\n```sh\necho a\n```\n```text\na\n```\n" +
		"<!-- test: background srv -->\n```sh\nserve\n```\n<!-- test: retry -->\n```sh\nping\n```\n\n```text\npong\n```\n" +
		"<!-- test: output srv -->\n```text\nhello\n```\n"
	steps, err := parse(page)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", steps)
	want := "[{line:6 kind:run name: retry:false script:echo a want:a checkWants:true} {line:13 kind:background name:srv retry:false script:serve want: checkWants:false} {line:17 kind:run name: retry:true script:ping want:pong checkWants:true} {line:25 kind:output name:srv retry:false script: want:hello checkWants:true}]"
	if got != want {
		t.Errorf("parse:\n%s\nwant\n%s", got, want)
	}
	if _, err := parse("text\n```text\norphan\n```\n"); err == nil {
		t.Error("an output block after no command was accepted")
	}
	if _, err := parse("<!-- test: sometimes -->\n```sh\nx\n```\n"); err == nil {
		t.Error("an unknown marker was accepted")
	}
}

const innerEnv = "ONECSE_DOCTEST_INNER"

// TestGettingStarted builds onecse and runs the page in a network
// namespace of its own (this test binary again, inside unshare).
func TestGettingStarted(t *testing.T) {
	if os.Getenv(innerEnv) != "" {
		runPage(t, os.Getenv(innerEnv), filepath.Join("..", "..", "docs", "getting-started.md"))
		return
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"unshare", "ip", "curl", "python3", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (apt-get install util-linux iproute2 curl python3): %v", tool, err)
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "onecse"), "../../cmd/onecse")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = []string{"--user", "--map-root-user", "--net"}
	}
	args = append(args, "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0], "-test.run=^TestGettingStarted$", "-test.count=1")
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), innerEnv+"="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the getting-started page in a network namespace: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// patience bounds the waits for background blocks (a safety net: the steps
// wait for conditions, not for time).
const patience = 60 * time.Second

func runPage(t *testing.T, bin, page string) {
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parse(string(data))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	dir := t.TempDir()
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	type bg struct {
		cmd    *exec.Cmd
		stdout *syncBuffer
		stderr *syncBuffer
	}
	bgs := map[string]*bg{}
	defer func() {
		for name, b := range bgs {
			// Stop it like Ctrl-C in its terminal, and wait.
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- b.cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
				<-done
				t.Errorf("background block %s did not stop on SIGINT", name)
			}
			if t.Failed() {
				t.Logf("background %s stderr:\n%s", name, b.stderr.String())
			}
		}
	}()
	run := func(s step) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", s.script)
		cmd.Dir, cmd.Env = dir, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	for _, s := range steps {
		switch s.kind {
		case "run":
			deadline := time.Now().Add(patience)
			for {
				out, errOut, err := run(s)
				if err == nil && (!s.checkWants || matches(out, s.want)) {
					break
				}
				if err == nil || !s.retry || time.Now().After(deadline) {
					t.Fatalf("docs line %d:\n%s\nexit: %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", s.line, s.script, err, out, s.want, errOut)
				}
				time.Sleep(100 * time.Millisecond)
			}
		case "background":
			cmd := exec.Command("bash", "-c", s.script)
			cmd.Dir, cmd.Env = dir, env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			b := &bg{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
			cmd.Stdout, cmd.Stderr = b.stdout, b.stderr
			if err := cmd.Start(); err != nil {
				t.Fatalf("docs line %d: %v", s.line, err)
			}
			bgs[s.name] = b
		case "output":
			b := bgs[s.name]
			if b == nil {
				t.Fatalf("docs line %d: no background block %s", s.line, s.name)
			}
			deadline := time.Now().Add(patience)
			for !matches(b.stdout.String(), s.want) {
				if time.Now().After(deadline) {
					t.Fatalf("docs line %d: %s printed\n%s\nwant:\n%s", s.line, s.name, b.stdout.String(), s.want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}
