package notify

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// fakeSender answers verification requests at once and holds every other
// notification until release is closed (or the context ends); it records
// the cons of the instances it delivered.
type fakeSender struct {
	release chan struct{}
	mu      sync.Mutex
	cons    []string
	waiting int
}

func (f *fakeSender) Send(ctx context.Context, _ string, _ codec.Format, req *primitive.Request) (*primitive.Response, error) {
	sgn, _ := req.Content["m2m:sgn"].(map[string]any)
	if sgn["vrq"] == true {
		return &primitive.Response{RSC: primitive.RSCOK}, nil
	}
	f.mu.Lock()
	f.waiting++
	f.mu.Unlock()
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	nev, _ := sgn["nev"].(map[string]any)
	rep, _ := nev["rep"].(map[string]any)
	cin, _ := rep["m2m:cin"].(map[string]any)
	f.mu.Lock()
	f.cons = append(f.cons, fmt.Sprint(cin["con"]))
	f.mu.Unlock()
	return &primitive.Response{RSC: primitive.RSCOK}, nil
}

func request(c *cse.CSE, op primitive.Operation, from, to string, ty int, pc map[string]any) *primitive.Response {
	req := primitive.NewRequest()
	req.Op, req.From, req.To, req.Ty, req.Content, req.RVI, req.RQI = op, from, to, ty, pc, "3", "t"
	return c.Handle(context.Background(), req)
}

// TestBackPressureAndShutdown: a target that takes its time fills its queue;
// the service then reads no further in the outbox (nothing is dropped), and
// still stops at once when asked. What it had not delivered is delivered by
// the next run, in order.
func TestBackPressureAndShutdown(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	core, err := cse.New(context.Background(), cse.Config{}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := &fakeSender{release: make(chan struct{})}
	opt := Options{QueueLimit: 2, MaxPending: 3, RetryInitial: 10 * time.Millisecond, FlushInterval: 5 * time.Millisecond}
	s := New(core, cse.Senders{"http": slow}, opt)
	core.SetNotifier(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	if r := request(core, primitive.OpCreate, "Cbp", "cse-in", 2, map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": false, "srv": []any{"3"}}}); r.RSC != primitive.RSCCreated {
		t.Fatalf("AE: %d %v", r.RSC, r.PC)
	}
	request(core, primitive.OpCreate, "Cbp", "cse-in/Cbp", 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}})
	if r := request(core, primitive.OpCreate, "Cbp", "cse-in/Cbp/c", 23, map[string]any{"m2m:sub": map[string]any{
		"nu": []any{"http://slow.example/"}, "enc": map[string]any{"net": []any{int64(3)}}}}); r.RSC != primitive.RSCCreated {
		t.Fatalf("subscription: %d %v", r.RSC, r.PC)
	}
	const n = 20
	for i := range n {
		if r := request(core, primitive.OpCreate, "Cbp", "cse-in/Cbp/c", 4, map[string]any{"m2m:cin": map[string]any{"con": fmt.Sprint(i)}}); r.RSC != primitive.RSCCreated {
			t.Fatalf("cin: %d %v", r.RSC, r.PC)
		}
	}
	// The queue holds its limit (and the one being sent), the rest waits in
	// the outbox.
	held := opt.QueueLimit + 1
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		pending := s.pending
		s.mu.Unlock()
		if pending == held {
			break
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			for k, q := range s.queues {
				t.Logf("queue %s: %d items, running %v, troubled %v", k, len(q.items), q.running, q.troubled)
			}
			t.Logf("entries %d", len(s.entries))
			s.mu.Unlock()
			buf := make([]byte, 1<<20)
			t.Logf("%s", buf[:runtime.Stack(buf, true)])
			t.Fatalf("%d pending, want %d", pending, held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	pending := s.pending
	s.mu.Unlock()
	if pending != held {
		t.Errorf("%d pending, want %d: more read than the queue takes", pending, held)
	}
	var left int
	st.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.Outbox(0, 0)
		left = len(es)
		return err
	})
	if left < n-held {
		t.Errorf("%d entries in the outbox, want at least %d", left, n-held)
	}
	// Stop while the dispatcher waits for room.
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	// The next run delivers everything, in order.
	fast := &fakeSender{release: make(chan struct{})}
	close(fast.release)
	s2 := New(core, cse.Senders{"http": fast}, opt)
	core.SetNotifier(s2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- s2.Run(ctx2) }()
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		fast.mu.Lock()
		got := slices.Clone(fast.cons)
		fast.mu.Unlock()
		if len(got) >= n {
			if !slices.Equal(got, want) {
				t.Errorf("delivered %v, want %v", got, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %v after the restart", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel2()
	<-done2
	// Everything delivered is gone from the outbox, and so are the cursors.
	st.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.Outbox(0, 0)
		if len(es) != 0 {
			t.Errorf("%d entries left in the outbox", len(es))
		}
		m, _ := tx.Marks("")
		if len(m) != 0 {
			t.Errorf("marks left: %v", m)
		}
		return err
	})
}
