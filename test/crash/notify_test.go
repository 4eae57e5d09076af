package crash

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
	for i := 0; i < 100; i++ { // the port of a stopped receiver may take a moment
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

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// TestCrashNotifications: notifications that were due when onecse was killed
// (SIGKILL, its target down) are delivered after the restart: every
// acknowledged CREATE is notified, each writer's in the order of its
// CREATEs, and nothing that was never created.
func TestCrashNotifications(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the onecse binary")
	}
	bin := buildOnecse(t)
	dir := t.TempDir()
	fast := []string{"--notify-retry", "50ms", "--notify-retry-max", "200ms", "--notify-attempts", "100000"}
	p := start(t, bin, dir, fast...)
	rcv := &receiver{addr: "127.0.0.1:0"}
	rcv.serve(t)
	ae := must(t, p, "POST", "/cse-in", "Cnotify", 2, map[string]any{"m2m:ae": map[string]any{
		"rn": "n", "api": "Nn", "rr": false, "srv": []string{"3"}}}, 2001)
	aei, _ := obj(ae, "m2m:ae")["aei"].(string)
	must(t, p, "POST", "/cse-in/n", aei, 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, 2001)
	must(t, p, "POST", "/cse-in/n/c", aei, 23, map[string]any{"m2m:sub": map[string]any{
		"nu": []string{"http://" + rcv.addr + "/n"}, "enc": map[string]any{"net": []int{3}}}}, 2001)
	rcv.srv.Close() // the target is down from now on

	const writers = 4
	var (
		acked  sync.Map // con → true
		sent   sync.Map
		acks   atomic.Int64
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !killed.Load(); i++ {
				con := fmt.Sprintf("w%d-%06d", w, i)
				sent.Store(con, true)
				a, err := do(p.url, "POST", "/cse-in/n/c", aei, 4, map[string]any{"m2m:cin": map[string]any{"con": con}})
				if err != nil {
					return // killed
				}
				if a.rsc != 2001 {
					t.Errorf("rsc %d: %s", a.rsc, a.raw)
					return
				}
				acked.Store(con, true)
				acks.Add(1)
			}
		}()
	}
	for acks.Load() < 150 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	killed.Store(true)
	p.kill()
	wg.Wait()

	p = start(t, bin, dir, fast...)
	rcv.serve(t) // the same port: the subscription's target
	var want []string
	acked.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]bool{}
		for _, con := range rcv.received() {
			got[con] = true
		}
		missing := 0
		for _, con := range want {
			if !got[con] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged instances never notified\nlog:\n%s", missing, len(want), p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	// In each writer's order; nothing never sent; duplicates are allowed
	// (at least once) but not out of order.
	last := map[string]int{}
	dups := 0
	for _, con := range rcv.received() {
		if _, ok := sent.Load(con); !ok {
			t.Errorf("notified %q, which was never created", con)
			continue
		}
		w, n, _ := strings.Cut(con, "-")
		i, _ := strconv.Atoi(n)
		if prev, ok := last[w]; ok && i <= prev {
			if i == prev {
				dups++
				continue
			}
			t.Errorf("writer %s: %d notified after %d", w, i, prev)
		}
		last[w] = i
	}
	t.Logf("%d acknowledged creates notified after the kill and restart (%d received, %d repeated)", len(want), len(rcv.received()), dups)
	p.stop()
}
