package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/store"
)

// The outbox and the marks: the notification service's durable queue and its
// delivery progress. What the core appends in a transaction is kept or
// dropped with that transaction; entries are read in Seq order and a Seq is
// never handed out twice.

var outboxTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"OutboxAppendRead", testOutboxAppendRead},
	{"OutboxWithTransaction", testOutboxWithTransaction},
	{"OutboxConcurrentOrder", testOutboxConcurrentOrder},
	{"OutboxReadOnly", testOutboxReadOnly},
	{"Marks", testMarks},
}

var outboxPersistentTests = []struct {
	name string
	fn   func(t *testing.T, reopen func(t *testing.T) store.Store)
}{
	{"OutboxAndMarksSurviveReopen", testOutboxReopen},
}

func init() {
	tests = append(tests, outboxTests...)
	persistentTests = append(persistentTests, outboxPersistentTests...)
}

func appendOutbox(t *testing.T, s store.Store, data ...string) []int64 {
	t.Helper()
	var seqs []int64
	mustUpdate(t, s, func(tx store.Tx) error {
		seqs = seqs[:0]
		for _, d := range data {
			seq, err := tx.AppendOutbox([]byte(d))
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	return seqs
}

func readOutbox(t *testing.T, s store.Store, after int64, limit int) []store.OutboxEntry {
	t.Helper()
	var out []store.OutboxEntry
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.Outbox(after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("Outbox(%d, %d): %v", after, limit, err)
	}
	return out
}

func outboxData(es []store.OutboxEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e.Data)
	}
	return out
}

func testOutboxAppendRead(t *testing.T, s store.Store) {
	if got := readOutbox(t, s, 0, 10); len(got) != 0 {
		t.Fatalf("empty outbox holds %v", outboxData(got))
	}
	seqs := appendOutbox(t, s, "a", "b", "c")
	seqs = append(seqs, appendOutbox(t, s, "d", "e")...)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("Seqs not increasing: %v", seqs)
		}
	}
	all := readOutbox(t, s, 0, 0)
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(outboxData(all), want) {
		t.Fatalf("outbox = %v, want %v", outboxData(all), want)
	}
	for i, e := range all {
		if e.Seq != seqs[i] {
			t.Errorf("entry %d has Seq %d, AppendOutbox said %d", i, e.Seq, seqs[i])
		}
	}
	if got := readOutbox(t, s, seqs[1], 2); !slices.Equal(outboxData(got), []string{"c", "d"}) {
		t.Errorf("after %d limit 2 = %v, want [c d]", seqs[1], outboxData(got))
	}
	if got := readOutbox(t, s, seqs[4], 10); len(got) != 0 {
		t.Errorf("after the last = %v", outboxData(got))
	}
	// Binary data round-trips.
	bin := []byte{0, 0xff, 0xfe, 'x', 0}
	var seq int64
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		seq, err = tx.AppendOutbox(bin)
		return err
	})
	if got := readOutbox(t, s, seq-1, 1); len(got) != 1 || !bytes.Equal(got[0].Data, bin) {
		t.Errorf("binary entry = %v", got)
	}
	// Deleting some, and unknown Seqs, leaves the rest in order.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteOutbox([]int64{seqs[0], seqs[2], 999999, seq}) })
	if got := readOutbox(t, s, 0, 0); !slices.Equal(outboxData(got), []string{"b", "d", "e"}) {
		t.Errorf("after deleting a, c = %v", outboxData(got))
	}
	// Many at once (a backend may delete in bulk), unknown ones among them.
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("m%03d", i))
	}
	mseqs := appendOutbox(t, s, many...)
	var del []int64
	var keep []string
	for i, sq := range mseqs {
		if i%7 == 3 {
			keep = append(keep, many[i])
			continue
		}
		del = append(del, sq, sq+100000)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteOutbox(del) })
	if got := readOutbox(t, s, mseqs[0]-1, 0); !slices.Equal(outboxData(got), keep) {
		t.Errorf("after a bulk delete %d left, want %d", len(got), len(keep))
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteOutbox(mseqs) })
	// A Seq is not handed out again after the newest was deleted.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteOutbox(seqs) })
	next := appendOutbox(t, s, "f")
	if next[0] <= seq {
		t.Errorf("Seq %d after deleting everything, want above %d", next[0], seq)
	}
}

func testOutboxWithTransaction(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	create(t, s, base)
	// A failing transaction leaves no entry, and neither does a panicking one.
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendOutbox([]byte("doomed")); err != nil {
			return err
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("failing Update = %v", err)
	}
	s.Update(ctx, func(tx store.Tx) error {
		tx.AppendOutbox([]byte("panic"))
		panic("on purpose")
	})
	// One that succeeds keeps both its resource and its entry.
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(newRes(3, "cnt", "base", "cse-in/cnt")); err != nil {
			return err
		}
		_, err := tx.AppendOutbox([]byte("kept"))
		return err
	})
	mustGet(t, s, "cnt")
	if got := readOutbox(t, s, 0, 0); !slices.Equal(outboxData(got), []string{"kept"}) {
		t.Fatalf("outbox = %v, want [kept]", outboxData(got))
	}
	// Inside a transaction, its own entries are readable; a deletion takes
	// effect with the commit.
	mustUpdate(t, s, func(tx store.Tx) error {
		if _, err := tx.AppendOutbox([]byte("mine")); err != nil {
			return err
		}
		es, err := tx.Outbox(0, 0)
		if err != nil {
			return err
		}
		if !slices.Equal(outboxData(es), []string{"kept", "mine"}) {
			t.Errorf("outbox inside the Update = %v", outboxData(es))
		}
		return tx.DeleteOutbox([]int64{es[0].Seq})
	})
	if got := readOutbox(t, s, 0, 0); !slices.Equal(outboxData(got), []string{"mine"}) {
		t.Fatalf("outbox = %v, want [mine]", outboxData(got))
	}
}

// testOutboxConcurrentOrder appends from many writers at once, half of which
// fail: only the successful ones' entries are there, and a reader that
// follows the outbox while they write sees every committed entry exactly once
// and in Seq order, never one below what it has seen.
func testOutboxConcurrentOrder(t *testing.T, s store.Store) {
	const n = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	var seen []store.OutboxEntry
	var readErr error
	go func() {
		defer close(done)
		var after int64
		for {
			var es []store.OutboxEntry
			readErr = s.View(ctx, func(tx store.Tx) error {
				var err error
				es, err = tx.Outbox(after, 7)
				return err
			})
			if readErr != nil {
				return
			}
			for _, e := range es {
				if e.Seq <= after {
					readErr = fmt.Errorf("entry %d after %d", e.Seq, after)
					return
				}
				after = e.Seq
				seen = append(seen, e)
			}
			if len(seen) == n/2 {
				return
			}
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Update(ctx, func(tx store.Tx) error {
				if _, err := tx.AppendOutbox([]byte(fmt.Sprintf("e%03d", i))); err != nil {
					return err
				}
				if i%2 == 1 {
					return errFail
				}
				return nil
			})
		}()
	}
	wg.Wait()
	within(t, 30*time.Second, "the reader to see every entry", func() { <-done })
	if readErr != nil {
		t.Fatal(readErr)
	}
	got := map[string]bool{}
	for _, e := range seen {
		var i int
		fmt.Sscanf(string(e.Data), "e%03d", &i)
		if i%2 == 1 || got[string(e.Data)] {
			t.Errorf("unexpected or repeated entry %q", e.Data)
		}
		got[string(e.Data)] = true
	}
	if len(got) != n/2 {
		t.Errorf("%d distinct entries, want %d", len(got), n/2)
	}
}

func testOutboxReadOnly(t *testing.T, s store.Store) {
	appendOutbox(t, s, "x")
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetMark("k", 1) })
	err := s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendOutbox([]byte("y")); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("AppendOutbox in View = %v, want ErrReadOnly", err)
		}
		if err := tx.DeleteOutbox([]int64{1}); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("DeleteOutbox in View = %v, want ErrReadOnly", err)
		}
		if err := tx.SetMark("k", 2); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("SetMark in View = %v, want ErrReadOnly", err)
		}
		if err := tx.DeleteMarks("k"); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("DeleteMarks in View = %v, want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readOutbox(t, s, 0, 0); !slices.Equal(outboxData(got), []string{"x"}) {
		t.Errorf("outbox = %v", outboxData(got))
	}
}

func marks(t *testing.T, s store.Store, prefix string) map[string]int64 {
	t.Helper()
	var m map[string]int64
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.Marks(prefix)
		return err
	})
	if err != nil {
		t.Fatalf("Marks(%q): %v", prefix, err)
	}
	return m
}

func testMarks(t *testing.T, s store.Store) {
	if m := marks(t, s, ""); len(m) != 0 {
		t.Fatalf("new store has marks %v", m)
	}
	keys := map[string]int64{
		"n/sub1/http://a:1/x?y=1&ct=json": 5,
		"n/sub1/Cae":                      7,
		"n/sub10/Cae":                     -3,
		"n/sub2/ünï 漢 %*[]":               1 << 40,
		"n/sub1":                          0,
		"other":                           9,
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		for k, v := range keys {
			if err := tx.SetMark(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if m := marks(t, s, ""); len(m) != len(keys) {
		t.Errorf("all marks = %v", m)
	}
	want := func(ks ...string) map[string]int64 {
		m := map[string]int64{}
		for _, k := range ks {
			m[k] = keys[k]
		}
		return m
	}
	cases := []struct {
		prefix string
		want   map[string]int64
	}{
		{"n/sub1/", want("n/sub1/http://a:1/x?y=1&ct=json", "n/sub1/Cae")},
		{"n/sub1", want("n/sub1/http://a:1/x?y=1&ct=json", "n/sub1/Cae", "n/sub10/Cae", "n/sub1")},
		{"n/sub2/", want("n/sub2/ünï 漢 %*[]")},
		{"n/sub3/", want()},
		{"other", want("other")},
	}
	for _, tc := range cases {
		if got := marks(t, s, tc.prefix); !mapsEqual(got, tc.want) {
			t.Errorf("Marks(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	// Overwrite, and a failed transaction changes nothing.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetMark("n/sub1/Cae", 8) })
	s.Update(ctx, func(tx store.Tx) error {
		tx.SetMark("n/sub1/Cae", 100)
		tx.DeleteMarks("n/")
		return errFail
	})
	if got := marks(t, s, "n/sub1/Cae"); got["n/sub1/Cae"] != 8 {
		t.Errorf("after overwrite and a failed Update: %v", got)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteMarks("n/sub1/") })
	if got := marks(t, s, "n/"); !mapsEqual(got, want("n/sub10/Cae", "n/sub2/ünï 漢 %*[]", "n/sub1")) {
		t.Errorf("after DeleteMarks(n/sub1/): %v", got)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteMarks("") })
	if got := marks(t, s, ""); len(got) != 0 {
		t.Errorf("after DeleteMarks(\"\"): %v", got)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testOutboxReopen(t *testing.T, reopen func(t *testing.T) store.Store) {
	s := reopen(t)
	seqs := appendOutbox(t, s, "a", "b", "c")
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.SetMark("n/x", seqs[1]); err != nil {
			return err
		}
		return tx.DeleteOutbox(seqs[2:]) // the newest goes: its Seq must not come back
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t)
	if got := readOutbox(t, s, 0, 0); !slices.Equal(outboxData(got), []string{"a", "b"}) {
		t.Errorf("outbox after reopen = %v", outboxData(got))
	}
	if got := marks(t, s, "n/"); got["n/x"] != seqs[1] || len(got) != 1 {
		t.Errorf("marks after reopen = %v", got)
	}
	next := appendOutbox(t, s, "d")
	if next[0] <= seqs[2] {
		t.Errorf("Seq after reopen %d, want above %d", next[0], seqs[2])
	}
}
