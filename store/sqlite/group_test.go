package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

func cin(i int) *resource.Resource {
	ri := fmt.Sprintf("cin%03d", i)
	return &resource.Resource{Ty: 4, RI: ri, PI: "cnt", Path: "cse-in/cnt/" + ri, Attrs: map[string]any{"rn": ri}}
}

// group runs fns as one group commit: it holds the writer in a first
// transaction until every fn is queued, so all of them are committed
// together. It returns each Update's result.
func group(t *testing.T, s *Store, fns []func(store.Tx) error) []error {
	t.Helper()
	release, running := make(chan struct{}), make(chan struct{})
	blocked := make(chan error, 1)
	go func() {
		blocked <- s.Update(context.Background(), func(store.Tx) error { close(running); <-release; return nil })
	}()
	<-running
	errs := make([]error, len(fns))
	done := make(chan int, len(fns))
	for i, fn := range fns {
		go func() {
			errs[i] = s.Update(context.Background(), fn)
			done <- i
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.ops) < len(fns) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d transactions queued", len(s.ops), len(fns))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatalf("blocker: %v", err)
	}
	for range fns {
		<-done
	}
	return errs
}

// TestGroupCommitOneFails: in one commit group, the callers that fail (error,
// panic) leave nothing and the others are all kept.
func TestGroupCommitOneFails(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: "normal"})
	defer s.Close()
	errFail := errors.New("fail")
	var fns []func(store.Tx) error
	for i := range 20 {
		fns = append(fns, func(tx store.Tx) error {
			if err := tx.Create(cin(i)); err != nil {
				return err
			}
			switch i % 5 {
			case 1:
				return errFail
			case 3:
				panic("on purpose")
			}
			return nil
		})
	}
	errs := group(t, s, fns)
	for i, err := range errs {
		_, gerr := getRI(s, cin(i).RI)
		switch i % 5 {
		case 1:
			if !errors.Is(err, errFail) || !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("%d: Update %v, Get %v; want errFail and not found", i, err, gerr)
			}
		case 3:
			if err == nil || !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("%d: Update %v, Get %v; want an error and not found", i, err, gerr)
			}
		default:
			if err != nil || gerr != nil {
				t.Errorf("%d: Update %v, Get %v; want both nil", i, err, gerr)
			}
		}
	}
}

// TestGroupCommitAutoRollback: when SQLite ends the transaction by itself in
// the middle of a group (it does on SQLITE_INTERRUPT, _FULL, _IOERR, _NOMEM,
// always with that error from the statement that failed; simulated here with a
// ROLLBACK from inside a caller and the error it would have met, which the
// caller even swallows), no caller of the group may be told it committed, and
// none may have its writes kept: the callers after the broken one must not run
// outside the transaction, committed one by one.
func TestGroupCommitAutoRollback(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: "normal"})
	defer s.Close()
	const breaker = 5
	var fns []func(store.Tx) error
	for i := range 12 {
		fns = append(fns, func(t store.Tx) error {
			if err := t.Create(cin(i)); err != nil {
				return err
			}
			if i == breaker {
				if _, err := t.(*tx).st.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
					return err
				}
				t.(*tx).sqlErr(errors.New("disk I/O error")) // what the failed statement reports
			}
			return nil
		})
	}
	errs := group(t, s, fns)
	for i, err := range errs {
		_, gerr := getRI(s, cin(i).RI)
		if err == nil || gerr == nil {
			t.Errorf("%d: Update %v, Get %v; want an error and nothing kept", i, err, gerr)
		}
	}
	// The writer is fine afterwards.
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Create(cin(99)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := getRI(s, cin(99).RI); err != nil {
		t.Fatal(err)
	}
}

func getRI(s *Store, ri string) (*resource.Resource, error) {
	var r *resource.Resource
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.Get(ri)
		return err
	})
	return r, err
}

// TestLingerGathersThePreviousGroup: with sync=full, callers that come back
// one after another within the wait the last fsync allows are committed in
// one group of the previous group's size, not one by one; and a group that
// waited in vain lowers the size, so that the next lone caller does not wait.
func TestLingerGathersThePreviousGroup(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: "full", MaxLinger: 2 * time.Second})
	defer s.Close()
	ctx := context.Background()
	create := func(i int) error { return s.Update(ctx, func(tx store.Tx) error { return tx.Create(cin(i)) }) }
	// A group of 7 (the blocker commits alone before it).
	var fns []func(store.Tx) error
	for i := range 7 {
		fns = append(fns, func(tx store.Tx) error { return tx.Create(cin(i)) })
	}
	if errs := group(t, s, fns); errors.Join(errs...) != nil {
		t.Fatalf("first group: %v", errs)
	}
	// A disk whose fsync takes a minute: the wait is bounded by MaxLinger.
	s.lastSync.Store(int64(time.Minute))
	before := s.Stats().Commits
	start := time.Now()
	errs := make(chan error, 7)
	for i := range 7 {
		go func() { errs <- create(100 + i) }()
		time.Sleep(20 * time.Millisecond)
	}
	for range 7 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Commits - before; n != 1 {
		t.Errorf("7 callers 20ms apart took %d commits, want 1", n)
	}
	if d := time.Since(start); d >= 2*time.Second {
		t.Errorf("the group waited %v: it should have committed when the 7th caller came", d)
	}
	// A lone caller now waits for the 6 others in vain, up to MaxLinger...
	s.lastSync.Store(int64(time.Minute))
	start = time.Now()
	if err := create(200); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("a group smaller than the previous one committed after %v, before MaxLinger", d)
	}
	// ...and the next lone caller does not wait at all.
	s.lastSync.Store(int64(time.Minute))
	start = time.Now()
	if err := create(201); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= time.Second {
		t.Errorf("a lone caller after a lone group waited %v", d)
	}
}
