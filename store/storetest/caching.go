package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// These cases guard backends that keep resources in memory (store/sqlite's
// cache): what a caller gets is its own copy, and what is read after a commit
// is the committed state, never an older or a rolled-back one.

var cachingTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CallerCopiesAreIsolated", testCallerCopies},
	{"RolledBackPutNotVisible", testRolledBackPut},
	{"DeleteTreeAfterCreateInOneUpdate", testDeleteTreeAfterCreate},
	{"ReadersDuringWritesSeeLatest", testReadersDuringWrites},
	{"NewestChildFollowsWrites", testNewestChildFollowsWrites},
}

func init() { tests = append(tests, cachingTests...) }

func testCallerCopies(t *testing.T, s store.Store) {
	r := newRes(3, "c1", "root", "cb/c1")
	r.Attrs["lbl"] = []any{"a"}
	create(t, s, r)
	r.Attrs["mutated"] = true // after Create: must not reach the store
	got := mustGet(t, s, "c1")
	if _, ok := got.Attrs["mutated"]; ok {
		t.Fatal("a change to the resource passed to Create reached the store")
	}
	got.Attrs["x"] = int64(1) // a reader's change must not reach the store
	if _, ok := mustGet(t, s, "c1").Attrs["x"]; ok {
		t.Fatal("a change to a resource returned by Get reached the store")
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		cur, err := tx.Get("c1")
		if err != nil {
			return err
		}
		cur.Attrs["v"] = int64(2)
		if err := tx.Put(cur); err != nil {
			return err
		}
		cur.Attrs["v"] = int64(3) // after Put
		return nil
	})
	if v := mustGet(t, s, "c1").Attrs["v"]; v != int64(2) {
		t.Fatalf("v = %v, want 2", v)
	}
}

func testRolledBackPut(t *testing.T, s store.Store) {
	create(t, s, newRes(3, "c1", "root", "cb/c1"))
	mustGet(t, s, "c1") // warm any cache
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.Get("c1")
		if err != nil {
			return err
		}
		cur.Attrs["v"] = int64(9)
		if err := tx.Put(cur); err != nil {
			return err
		}
		if err := tx.Create(newRes(4, "i1", "c1", "cb/c1/i1")); err != nil {
			return err
		}
		// Inside the transaction the writes are visible...
		if got, err := tx.Get("c1"); err != nil || got.Attrs["v"] != int64(9) {
			return fmt.Errorf("own write not visible: %v %v", got, err)
		}
		if _, err := tx.GetByPath("cb/c1/i1"); err != nil {
			return fmt.Errorf("own create not visible by path: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if _, ok := mustGet(t, s, "c1").Attrs["v"]; ok {
		t.Fatal("a rolled-back Put is visible")
	}
	mustBeGone(t, s, "i1")
}

func testDeleteTreeAfterCreate(t *testing.T, s store.Store) {
	create(t, s, newRes(2, "p", "root", "cb/p"), newRes(3, "old", "p", "cb/p/old"))
	mustGet(t, s, "old") // warm any cache
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(newRes(3, "new", "p", "cb/p/new")); err != nil {
			return err
		}
		p, err := tx.Get("p")
		if err != nil {
			return err
		}
		if n, err := tx.DeleteTree(p); err != nil || n != 3 {
			return fmt.Errorf("DeleteTree = %d, %v; want 3", n, err)
		}
		for _, ri := range []string{"p", "old", "new"} {
			if _, err := tx.Get(ri); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s still visible in the transaction: %v", ri, err)
			}
		}
		// Re-create the parent in the same transaction: the new one is visible,
		// its old children are not.
		if err := tx.Create(newRes(2, "p", "root", "cb/p")); err != nil {
			return err
		}
		if _, err := tx.GetByPath("cb/p/old"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("old child visible under the re-created parent: %v", err)
		}
		return nil
	})
	mustGet(t, s, "p")
	mustBeGone(t, s, "old", "new")
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.GetByPath("cb/p/old"); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetByPath of a deleted child = %v", err)
	}
}

// testReadersDuringWrites runs readers against a resource that a writer keeps
// changing; once the writer is done, every read must see its last value. A
// cache that let a slow reader store what it read before a commit would
// answer an older value here.
func testReadersDuringWrites(t *testing.T, s store.Store) {
	create(t, s, newRes(3, "c1", "root", "cb/c1"))
	const writes = 200
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.View(ctx, func(tx store.Tx) error {
					_, err := tx.Get("c1")
					tx.GetByPath("cb/c1")
					return err
				})
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		mustUpdate(t, s, func(tx store.Tx) error {
			cur, err := tx.Get("c1")
			if err != nil {
				return err
			}
			cur.Attrs["n"] = int64(i)
			return tx.Put(cur)
		})
	}
	close(stop)
	wg.Wait()
	if n := mustGet(t, s, "c1").Attrs["n"]; n != int64(writes) {
		t.Fatalf("after the writes Get sees n = %v, want %d", n, writes)
	}
	var byPath any
	s.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetByPath("cb/c1")
		if err == nil {
			byPath = r.Attrs["n"]
		}
		return err
	})
	if byPath != int64(writes) {
		t.Fatalf("after the writes GetByPath sees n = %v, want %d", byPath, writes)
	}
}

// testNewestChildFollowsWrites reads the newest child (a container's la)
// between writes of every kind; a backend that remembers it must keep up.
func testNewestChildFollowsWrites(t *testing.T, s store.Store) {
	newest := func() string {
		t.Helper()
		var got []*resource.Resource
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.Children("p", store.ChildQuery{Types: []int{4}, Limit: 1, Newest: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			return ""
		}
		return got[0].RI
	}
	want := func(ri string) {
		t.Helper()
		for i := 0; i < 2; i++ { // the second read may come from a cache
			if got := newest(); got != ri {
				t.Fatalf("newest child = %q, want %q", got, ri)
			}
		}
	}
	create(t, s, newRes(3, "p", "root", "cb/p"))
	want("")
	create(t, s, newRes(4, "i1", "p", "cb/p/i1"), newRes(4, "i2", "p", "cb/p/i2"))
	want("i2")
	create(t, s, newRes(3, "sub", "p", "cb/p/sub")) // another type does not count
	want("i2")
	create(t, s, newRes(4, "i3", "p", "cb/p/i3"))
	want("i3")
	mustUpdate(t, s, func(tx store.Tx) error { // replacing an older one changes nothing
		r, err := tx.Get("i1")
		if err != nil {
			return err
		}
		r.Attrs["x"] = int64(1)
		return tx.Put(r)
	})
	want("i3")
	del := func(ri string) {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error {
			r, err := tx.Get(ri)
			if err != nil {
				return err
			}
			_, err = tx.DeleteTree(r)
			return err
		})
	}
	del("i3")
	want("i2")
	del("i1")
	want("i2")
	del("p")
	want("")
	create(t, s, newRes(3, "p", "root", "cb/p"), newRes(4, "j1", "p", "cb/p/j1"))
	want("j1")
}
