// Package crash checks what a 2xxx answer promises: the resource is committed.
// It runs the real onecse binary, kills it with SIGKILL in the middle of
// concurrent writes, restarts it on the same data directory and checks that
// every acknowledged contentInstance is there with its content, that nothing
// half-written is, and that each container's counters agree with its children.
package crash

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ---- the onecse process ----

type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited
	mu   sync.Mutex
	logs []string // the last lines of its log, for failure messages
}

var startedRE = regexp.MustCompile(`msg="onecse started".* http=(\S+)`)

// buildOnecse builds cmd/onecse (the build cache makes it quick after the
// first time).
func buildOnecse(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build onecse with")
	}
	bin := filepath.Join(t.TempDir(), "onecse")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/onecse/onecse/cmd/onecse")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs onecse on dir with durable commits and waits until it serves.
func start(t *testing.T, bin, dir string, flags ...string) *proc {
	t.Helper()
	// Port 0: the address it bound is in its "onecse started" log line.
	cmd := exec.Command(bin, append([]string{"--http", "127.0.0.1:0", "--data", dir, "--sync", "full"}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		// Read the log to its end, or the process blocks once the pipe is full.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(p.logs, line)
			if len(p.logs) > 40 {
				p.logs = p.logs[1:]
			}
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
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		t.Fatalf("onecse exited before serving:\n%s", p.log())
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatalf("onecse did not start within 15s:\n%s", p.log())
	}
	return p
}

// kill sends SIGKILL (to this process only, by its pid) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks for a clean shutdown.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Errorf("onecse did not stop within 15s on SIGTERM")
		p.kill()
	}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// ---- a small oneM2M client ----

var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true},
}

var rqi atomic.Int64

type answer struct {
	rsc  int
	cts  string // X-M2M-CTS: set when an answer is partial
	body map[string]any
	raw  []byte
}

// do sends one request; err is a transport error (the process is gone).
func do(base, method, path, from string, ty int, body any) (*answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header["X-M2M-Origin"] = []string{from}
	req.Header["X-M2M-RI"] = []string{"crash-" + strconv.FormatInt(rqi.Add(1), 10)}
	req.Header["X-M2M-RVI"] = []string{"3"}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json;ty="+strconv.Itoa(ty))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	a := &answer{raw: raw, cts: resp.Header.Get("X-M2M-CTS")}
	a.rsc, _ = strconv.Atoi(resp.Header.Get("X-M2M-RSC"))
	if len(raw) > 0 {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&a.body); err != nil {
			return nil, fmt.Errorf("undecodable answer %q: %w", raw, err)
		}
	}
	return a, nil
}

// must sends a request that must succeed with rsc.
func must(t *testing.T, p *proc, method, path, from string, ty int, body any, rsc int) map[string]any {
	t.Helper()
	a, err := do(p.url, method, path, from, ty, body)
	if err != nil {
		t.Fatalf("%s %s: %v\nlog:\n%s", method, path, err, p.log())
	}
	if a.rsc != rsc {
		t.Fatalf("%s %s: rsc %d, want %d: %s", method, path, a.rsc, rsc, a.raw)
	}
	return a.body
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func num(v any) int64 {
	n, _ := v.(json.Number)
	i, err := n.Int64()
	if err != nil {
		return -1
	}
	return i
}

// ---- the model of what must be there ----

type cin struct {
	ri, rn, con string
	cs, st      int64
}

// container is what the test knows about one container.
type container struct {
	name string
	mni  int64 // 0: none
	// known: acknowledged, or seen after a restart (so committed).
	known map[string]cin // by con
	// maybe: sent but not acknowledged (in flight at a kill): may exist.
	maybe map[string]bool
}

type round struct {
	cnt       *container
	killAfter int // acknowledgements before the kill
}

const originAE = "Ccrash"

// TestCrashSafety kills onecse with SIGKILL during concurrent writes, several
// times, and checks after each restart that every acknowledged
// contentInstance is there, and that the containers' cni/cbs/st agree with
// their children.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the onecse binary")
	}
	t0 := time.Now()
	bin := buildOnecse(t)
	dir := t.TempDir()
	p := start(t, bin, dir)
	t.Logf("built and started in %v", time.Since(t0).Round(time.Millisecond))

	ae := must(t, p, "POST", "/cse-in", originAE, 2, map[string]any{"m2m:ae": map[string]any{
		"rn": "crash", "api": "Ncrash", "rr": false, "srv": []string{"3"}}}, 2001)
	aei, _ := obj(ae, "m2m:ae")["aei"].(string)
	if aei == "" {
		t.Fatalf("no aei: %v", ae)
	}
	data := &container{name: "data", known: map[string]cin{}, maybe: map[string]bool{}}
	capped := &container{name: "capped", mni: 10, known: map[string]cin{}, maybe: map[string]bool{}}
	must(t, p, "POST", "/cse-in/crash", aei, 3, map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}, 2001)
	must(t, p, "POST", "/cse-in/crash", aei, 3, map[string]any{"m2m:cnt": map[string]any{"rn": "capped", "mni": capped.mni}}, 2001)

	// Kill early, late, in between, and once while the capped container
	// deletes its oldest instance in every create.
	rounds := []round{{data, 25}, {capped, 120}, {data, 200}, {data, 60}}
	for i, r := range rounds {
		acked := write(t, p, aei, r.cnt, r.killAfter)
		t.Logf("round %d (%s): killed after %d acknowledged creates (%v)", i+1, r.cnt.name, acked, time.Since(t0).Round(time.Millisecond))
		p = start(t, bin, dir)
		for _, c := range []*container{data, capped} {
			check(t, p, aei, c)
		}
		if t.Failed() {
			t.Fatalf("after round %d; onecse log:\n%s", i+1, p.log())
		}
	}
	// A clean stop and start keeps everything too.
	p.stop()
	p = start(t, bin, dir)
	for _, c := range []*container{data, capped} {
		check(t, p, aei, c)
	}
	p.stop()
	t.Logf("%d instances known in data, %d in capped; %v", len(data.known), len(capped.known), time.Since(t0).Round(time.Millisecond))
}

// write runs concurrent writers on c until killAfter creates were
// acknowledged, then kills the process while they go on. It returns how many
// were acknowledged.
func write(t *testing.T, p *proc, aei string, c *container, killAfter int) int {
	t.Helper()
	const writers = 8
	var (
		mu     sync.Mutex
		acks   atomic.Int64
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	path := "/cse-in/crash/" + c.name
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !killed.Load(); i++ {
				// Distinct content of varying length, so that cbs is a
				// real sum and a mixed-up instance shows.
				con := fmt.Sprintf("%s-%d-w%d-%d-", c.name, time.Now().UnixNano(), w, i) + strings.Repeat("x", (i*7+w*3)%41)
				mu.Lock()
				c.maybe[con] = true
				mu.Unlock()
				a, err := do(p.url, "POST", path, aei, 4, map[string]any{"m2m:cin": map[string]any{"con": con, "cnf": "text/plain:0"}})
				if err != nil {
					if !killed.Load() {
						t.Errorf("writer %d: %v before the kill", w, err)
					}
					return // the process is gone: this one stays a maybe
				}
				if a.rsc != 2001 {
					t.Errorf("writer %d: rsc %d: %s", w, a.rsc, a.raw)
					return
				}
				r := obj(a.body, "m2m:cin")
				got := cin{con: con, cs: num(r["cs"]), st: num(r["st"])}
				got.ri, _ = r["ri"].(string)
				got.rn, _ = r["rn"].(string)
				if r["con"] != con || got.ri == "" || got.rn == "" || got.cs != int64(len(con)) {
					t.Errorf("writer %d: the 2001 answer is not the instance sent: %s", w, a.raw)
					return
				}
				mu.Lock()
				delete(c.maybe, con)
				c.known[con] = got
				mu.Unlock()
				acks.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for acks.Load() < int64(killAfter) && !t.Failed() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
	}
	killed.Store(true)
	p.kill()
	wg.Wait()
	if acks.Load() < int64(killAfter) {
		t.Fatalf("only %d of %d creates acknowledged", acks.Load(), killAfter)
	}
	return int(acks.Load())
}

// check compares what the restarted onecse holds for c with the model, then
// updates the model: what is seen now is committed for good, what was maybe
// and is not seen is lost for good.
func check(t *testing.T, p *proc, aei string, c *container) {
	t.Helper()
	path := "/cse-in/crash/" + c.name
	cnt := obj(must(t, p, "GET", path, aei, 0, nil, 2000), "m2m:cnt")
	cni, cbs, st := num(cnt["cni"]), num(cnt["cbs"]), num(cnt["st"])

	// The children with their attributes (Children in the store) ...
	a, err := do(p.url, "GET", path+"?rcn=4&ty=4", aei, 0, nil)
	if err != nil {
		t.Fatalf("GET %s?rcn=4&ty=4: %v", path, err)
	}
	if a.rsc != 2000 {
		t.Fatalf("GET %s?rcn=4&ty=4: rsc %d: %s", path, a.rsc, a.raw)
	}
	if a.cts != "" {
		t.Fatalf("the child list is partial (X-M2M-CTS %s): keep the test under the listing limit", a.cts)
	}
	var kids []cin
	raw, _ := obj(a.body, "m2m:cnt")["m2m:cin"].([]any)
	for _, k := range raw {
		m, _ := k.(map[string]any)
		var ci cin
		ci.ri, _ = m["ri"].(string)
		ci.rn, _ = m["rn"].(string)
		ci.con, _ = m["con"].(string)
		ci.cs, ci.st = num(m["cs"]), num(m["st"])
		kids = append(kids, ci)
	}
	// ... and discovery (Walk in the store) must agree.
	disc := must(t, p, "GET", path+"?fu=1&ty=4", aei, 0, nil, 2000)
	uril, _ := disc["m2m:uril"].([]any)
	var found, listed []string
	for _, u := range uril {
		s, _ := u.(string)
		found = append(found, strings.TrimPrefix(s, "/"))
	}
	for _, k := range kids {
		listed = append(listed, "cse-in/crash/"+c.name+"/"+k.rn)
	}
	slices.Sort(found)
	slices.Sort(listed)
	if !slices.Equal(found, listed) {
		t.Errorf("%s: discovery finds %d instances, the child list has %d", c.name, len(found), len(listed))
	}

	// The counters agree with the children.
	var sum, maxSt int64
	minSt := int64(-1)
	byCon := map[string]cin{}
	for _, k := range kids {
		sum += k.cs
		maxSt = max(maxSt, k.st)
		if minSt < 0 || k.st < minSt {
			minSt = k.st
		}
		if _, dup := byCon[k.con]; dup {
			t.Errorf("%s: two instances with content %q", c.name, k.con)
		}
		byCon[k.con] = k
		// Complete: the right size, and retrievable by ID and by path with
		// the same attributes.
		if k.ri == "" || k.rn == "" || k.cs != int64(len(k.con)) || k.st <= 0 {
			t.Errorf("%s: incomplete instance %+v", c.name, k)
			continue
		}
		for _, at := range []string{"/" + k.ri, path + "/" + k.rn} {
			r := obj(must(t, p, "GET", at, aei, 0, nil, 2000), "m2m:cin")
			if r["ri"] != k.ri || r["con"] != k.con || num(r["cs"]) != k.cs || num(r["st"]) != k.st {
				t.Errorf("%s: GET %s = %v, listed as %+v", c.name, at, r, k)
			}
		}
	}
	if cni != int64(len(kids)) || cbs != sum {
		t.Errorf("%s: cni/cbs = %d/%d, but %d children of %d bytes", c.name, cni, cbs, len(kids), sum)
	}
	if len(kids) > 0 && st != maxSt {
		t.Errorf("%s: st = %d, newest child has st %d", c.name, st, maxSt)
	}
	if c.mni > 0 && cni > c.mni {
		t.Errorf("%s: cni %d above mni %d", c.name, cni, c.mni)
	}
	if len(kids) > 0 {
		la := obj(must(t, p, "GET", path+"/la", aei, 0, nil, 2000), "m2m:cin")
		ol := obj(must(t, p, "GET", path+"/ol", aei, 0, nil, 2000), "m2m:cin")
		if num(la["st"]) != maxSt || num(ol["st"]) != minSt {
			t.Errorf("%s: la/ol st = %v/%v, want %d/%d", c.name, la["st"], ol["st"], maxSt, minSt)
		}
	}

	// Every instance known to be committed is there, unchanged; in a
	// container with mni it may have made room for mni newer ones.
	lost := 0
	for con, want := range c.known {
		got, ok := byCon[con]
		if !ok {
			if c.mni > 0 && int64(len(kids)) == c.mni && want.st < minSt {
				delete(c.known, con) // deleted as the oldest, as it should be
				continue
			}
			lost++
			if lost <= 5 {
				t.Errorf("%s: acknowledged instance %+v is missing", c.name, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: instance %+v came back as %+v", c.name, want, got)
		}
	}
	if lost > 0 {
		t.Errorf("%s: %d acknowledged instances missing", c.name, lost)
	}
	// Nothing is there that was never sent. What was in flight and made it
	// is committed from now on; what did not is gone for good.
	inFlight, made := len(c.maybe), 0
	for con, k := range byCon {
		if _, ok := c.known[con]; ok {
			continue
		}
		if !c.maybe[con] {
			t.Errorf("%s: instance %+v was never sent", c.name, k)
			continue
		}
		c.known[con] = k
		made++
	}
	clear(c.maybe)
	if inFlight > 0 {
		t.Logf("%s: %d children, %d bytes; of %d creates in flight at the kill, %d were committed", c.name, cni, cbs, inFlight, made)
	}
}
