package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onecse/onecse/store"
)

// fromDB reads the outbox with a query, past the tail.
func fromDB(t *testing.T, s *Store, after int64, limit int) []store.OutboxEntry {
	t.Helper()
	var out []store.OutboxEntry
	err := s.View(context.Background(), func(v store.Tx) error {
		x := v.(*tx)
		x.tail = nil
		var err error
		out, err = x.Outbox(after, limit)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fromTail(t *testing.T, s *Store, after int64, limit int) []store.OutboxEntry {
	t.Helper()
	var out []store.OutboxEntry
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.Outbox(after, limit)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameEntries(a, b []store.OutboxEntry) bool {
	return slices.EqualFunc(a, b, func(x, y store.OutboxEntry) bool { return x.Seq == y.Seq && string(x.Data) == string(y.Data) })
}

// The in-memory tail answers exactly what the database holds, through
// appends, deletions, failed callers of a group, a tail that overflows, and a
// reopen with entries left.
func TestOutboxTailMatchesDatabase(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	s.tail.max, s.tail.maxBytes = 8, 40 // overflow often, by count and by size
	rng := rand.New(rand.NewPCG(1, 2))
	var live []int64
	check := func(step int) {
		t.Helper()
		var seqs []int64
		for _, e := range fromDB(t, s, 0, 0) {
			seqs = append(seqs, e.Seq)
		}
		afters := append([]int64{0, -1}, seqs...)
		if len(seqs) > 0 {
			afters = append(afters, seqs[len(seqs)-1]+5)
		}
		for _, after := range afters {
			for _, limit := range []int{0, 1, 3, 256} {
				want, got := fromDB(t, s, after, limit), fromTail(t, s, after, limit)
				if !sameEntries(want, got) {
					t.Fatalf("step %d: Outbox(%d, %d) from the tail %v, the database %v", step, after, limit, got, want)
				}
			}
		}
	}
	for step := range 200 {
		switch k := rng.IntN(10); {
		case k < 5: // append one to three entries in one transaction
			n := 1 + rng.IntN(3)
			err := s.Update(context.Background(), func(tx store.Tx) error {
				for i := range n {
					data := fmt.Appendf(nil, "e%d-%d", step, i)
					if step%7 == 0 {
						data = append(data, make([]byte, 100)...) // alone above maxBytes
					}
					seq, err := tx.AppendOutbox(data)
					if err != nil {
						return err
					}
					live = append(live, seq)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		case k < 7: // a caller that appends and then fails, grouped with one that succeeds
			var kept []int64
			errs := group(t, s, []func(store.Tx) error{
				func(tx store.Tx) error {
					seq, err := tx.AppendOutbox([]byte("kept"))
					kept = append(kept[:0], seq)
					return err
				},
				func(tx store.Tx) error {
					if _, err := tx.AppendOutbox([]byte("lost")); err != nil {
						return err
					}
					return errors.New("refused")
				},
			})
			if errs[0] != nil || errs[1] == nil {
				t.Fatalf("group: %v", errs)
			}
			live = append(live, kept...)
		case len(live) > 0: // delete some, and one that does not exist
			var del []int64
			for _, seq := range live {
				if rng.IntN(2) == 0 {
					del = append(del, seq)
				}
			}
			del = append(del, 1<<40)
			if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteOutbox(del) }); err != nil {
				t.Fatal(err)
			}
			live = slices.DeleteFunc(live, func(seq int64) bool { return slices.Contains(del, seq) })
		}
		check(step)
	}
	if len(live) == 0 {
		t.Fatal("the test deleted everything; it checks nothing about a reopen")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	defer s.Close()
	if got := fromTail(t, s, 0, 0); len(got) != len(live) {
		t.Fatalf("after reopening: %d entries, want %d", len(got), len(live))
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.AppendOutbox([]byte("after reopen"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check(-1)
}
