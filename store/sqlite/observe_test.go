package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

type countingObserver struct {
	mu                         sync.Mutex
	commits, commitTxs, syncs  int
	updates, failedUpdates     int
	failedCommits, failedSyncs int
}

func (o *countingObserver) Commit(txs int, d time.Duration, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
	o.commitTxs += txs
	if !ok {
		o.failedCommits++
	}
}

func (o *countingObserver) Sync(d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs++
	if err != nil {
		o.failedSyncs++
	}
}

func (o *countingObserver) Update(d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.updates++
	if err != nil {
		o.failedUpdates++
	}
}

// TestObserverAndCounts: the observer hears of every Update, commit and
// fsync; CountChildren and OutboxLen count what is stored; Ping and the
// counts fail once the store is closed.
func TestObserverAndCounts(t *testing.T) {
	obs := &countingObserver{}
	s := open(t, t.TempDir(), Options{Sync: "full", Observer: obs})
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mk := func(ty int, ri, pi string) error {
		r := &resource.Resource{Ty: ty, RI: ri, PI: pi, Path: "cse-in/" + ri, Attrs: map[string]any{"rn": ri}}
		return s.Update(ctx, func(tx store.Tx) error { return tx.Create(r) })
	}
	for _, c := range []struct {
		ty     int
		ri, pi string
	}{{2, "ae1", "base"}, {2, "ae2", "base"}, {16, "csr1", "base"}, {3, "cnt1", "base"}, {2, "ae3", "other"}} {
		if err := mk(c.ty, c.ri, c.pi); err != nil {
			t.Fatalf("create %s: %v", c.ri, err)
		}
	}
	// A failed Update is observed as failed.
	boom := errors.New("boom")
	if err := s.Update(ctx, func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update: %v, want boom", err)
	}
	for _, o := range []string{"a", "b"} {
		if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.AppendOutbox([]byte(o)); return err }); err != nil {
			t.Fatalf("AppendOutbox: %v", err)
		}
	}
	for _, c := range []struct{ ty, want int }{{2, 2}, {16, 1}, {3, 1}, {4, 0}} {
		n, err := s.CountChildren(ctx, "base", c.ty)
		if err != nil || n != c.want {
			t.Errorf("CountChildren(base, %d) = %d, %v; want %d", c.ty, n, err, c.want)
		}
	}
	if n, err := s.OutboxLen(ctx); err != nil || n != 2 {
		t.Errorf("OutboxLen = %d, %v; want 2", n, err)
	}
	obs.mu.Lock()
	if obs.updates != 8 || obs.failedUpdates != 1 {
		t.Errorf("observed %d updates (%d failed), want 8 (1 failed)", obs.updates, obs.failedUpdates)
	}
	if obs.commitTxs != 8 || obs.commits < 1 || obs.failedCommits != 0 {
		t.Errorf("observed %d commits carrying %d transactions (%d failed), want 8 transactions, none failed", obs.commits, obs.commitTxs, obs.failedCommits)
	}
	if obs.syncs < 1 || obs.failedSyncs != 0 {
		t.Errorf("observed %d fsyncs (%d failed), want at least 1, none failed", obs.syncs, obs.failedSyncs)
	}
	obs.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
	if _, err := s.CountChildren(ctx, "base", 2); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CountChildren after Close: %v, want ErrClosed", err)
	}
}
