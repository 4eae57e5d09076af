package multinode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onecse/onecse/store/postgres/pgtest"
)

// TestLeaderKilledDuringDelivery runs two onecse processes on one database,
// kills the one that leads (SIGKILL) while the notifications of instances
// created through both nodes are due and their target is down, and checks
// that the other node takes the lead and delivers every one of them, once.
func TestLeaderKilledDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the onecse binary")
	}
	dsn := pgtest.DSN(t)
	pg := pgtest.WithSchema(dsn, pgtest.Schema(t, dsn))
	bin := build(t)
	flags := []string{"--postgres", pg, "--notify-retry", "50ms", "--notify-retry-max", "200ms", "--notify-attempts", "100000"}
	p1 := start(t, bin, flags...)
	p1.waitLog(t, "this node leads", 20*time.Second)
	p2 := start(t, bin, flags...)

	rcv := &receiver{addr: "127.0.0.1:0"}
	rcv.serve(t)
	ae := must(t, p2.url, "POST", "/cse-in", "Ckill", 2, map[string]any{"m2m:ae": map[string]any{"rn": "k", "api": "Nk", "rr": false, "srv": []string{"3"}}}, 2001)
	aei, _ := ae["m2m:ae"].(map[string]any)["aei"].(string)
	must(t, p2.url, "POST", "/cse-in/k", aei, 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, 2001)
	must(t, p2.url, "POST", "/cse-in/k/c", aei, 23, map[string]any{"m2m:sub": map[string]any{
		"nu": []string{"http://" + rcv.addr + "/n"}, "enc": map[string]any{"net": []int{3}}}}, 2001)
	rcv.close() // the target is down from now on

	const n = 60
	for i := range n {
		p := []*proc{p1, p2}[i%2]
		must(t, p.url, "POST", "/cse-in/k/c", aei, 4, map[string]any{"m2m:cin": map[string]any{"con": fmt.Sprintf("v%03d", i)}}, 2001)
	}
	p1.kill()
	p2.waitLog(t, "this node leads", 30*time.Second)
	rcv.serve(t) // the same port: the subscription's target
	must(t, p2.url, "POST", "/cse-in/k/c", aei, 4, map[string]any{"m2m:cin": map[string]any{"con": "last"}}, 2001)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := rcv.received()
		seen := map[string]int{}
		for _, c := range got {
			seen[c]++
		}
		missing := 0
		for i := range n {
			if seen[fmt.Sprintf("v%03d", i)] == 0 {
				missing++
			}
		}
		if missing == 0 && seen["last"] > 0 {
			for c, k := range seen {
				if k != 1 {
					t.Errorf("%s delivered %d times", c, k)
				}
			}
			if len(seen) != n+1 {
				t.Errorf("%d distinct notifications, want %d", len(seen), n+1)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notifications missing after the leader was killed; node 2 log:\n%s", missing, n, p2.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- the onecse processes ----

type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	mu   sync.Mutex
	logs []string
	cond *sync.Cond
}

var startedRE = regexp.MustCompile(`msg="onecse started".* http=(\S+)`)

func build(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build onecse with")
	}
	bin := filepath.Join(t.TempDir(), "onecse")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/onecse/onecse/cmd/onecse").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func start(t *testing.T, bin string, flags ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--http", "127.0.0.1:0", "--data", t.TempDir()}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(p.logs, line)
			p.cond.Broadcast()
			p.mu.Unlock()
			if m := startedRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(p.done)
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(p.kill)
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		t.Fatalf("onecse exited before serving:\n%s", p.log())
	case <-time.After(20 * time.Second):
		p.kill()
		t.Fatalf("onecse did not start within 20s:\n%s", p.log())
	}
	return p
}

// waitLog waits for a log line containing s.
func (p *proc) waitLog(t *testing.T, s string, d time.Duration) {
	t.Helper()
	timer := time.AfterFunc(d, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	start := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for _, l := range p.logs {
			if strings.Contains(l, s) {
				return
			}
		}
		if time.Since(start) >= d {
			t.Fatalf("no %q in the log within %v:\n%s", s, d, strings.Join(p.logs, "\n"))
		}
		p.cond.Wait()
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.logs
	if len(l) > 40 {
		l = l[len(l)-40:]
	}
	return strings.Join(l, "\n")
}

func must(t *testing.T, base, method, path, from string, ty int, body any, rsc int) map[string]any {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json;ty="+strconv.Itoa(ty))
	req.Header["X-M2M-Origin"] = []string{from}
	req.Header["X-M2M-RI"] = []string{"r"}
	req.Header["X-M2M-RVI"] = []string{"3"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("X-M2M-RSC"); got != strconv.Itoa(rsc) {
		t.Fatalf("%s %s: rsc %s, want %d: %s", method, path, got, rsc, out)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	return m
}

// receiver records the con of every notification of a new contentInstance.
type receiver struct {
	addr string
	mu   sync.Mutex
	got  []string
	srv  *http.Server
}

func (r *receiver) serve(t *testing.T) {
	t.Helper()
	var l net.Listener
	var err error
	for range 100 {
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Sgn struct {
				Nev struct {
					Rep struct {
						Cin struct {
							Con string `json:"con"`
						} `json:"m2m:cin"`
					} `json:"rep"`
				} `json:"nev"`
			} `json:"m2m:sgn"`
		}
		data, _ := io.ReadAll(req.Body)
		json.Unmarshal(data, &body)
		if con := body.Sgn.Nev.Rep.Cin.Con; con != "" {
			r.mu.Lock()
			r.got = append(r.got, con)
			r.mu.Unlock()
		}
		w.Header()["X-M2M-RSC"] = []string{"2000"}
	})}
	go r.srv.Serve(l)
	t.Cleanup(func() { r.srv.Close() })
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}
