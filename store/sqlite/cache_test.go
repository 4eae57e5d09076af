package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// TestCacheNoStaleFill races readers that miss the cache (it holds two
// entries for three hot resources, so they miss all the time) against a writer.
// A reader that read a row before a commit must not put it into the cache
// after the commit was applied: once the writer is done, every read must see
// the last value.
func TestCacheNoStaleFill(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{Sync: "normal", CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ris := []string{"a", "b", "c"}
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, ri := range ris {
			if err := tx.Create(&resource.Resource{Ty: 3, RI: ri, PI: "root", RN: ri, Path: "cb/" + ri, Attrs: map[string]any{"n": int64(0)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const writes = 300
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
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
					for _, ri := range ris {
						tx.Get(ri)
					}
					return nil
				})
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		err := s.Update(ctx, func(tx store.Tx) error {
			for _, ri := range ris {
				cur, err := tx.Get(ri)
				if err != nil {
					return err
				}
				cur.Attrs["n"] = int64(i)
				if err := tx.Put(cur); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	for _, ri := range ris {
		s.View(ctx, func(tx store.Tx) error {
			r, err := tx.Get(ri)
			if err != nil {
				t.Fatal(err)
			}
			if r.Attrs["n"] != int64(writes) {
				t.Errorf("%s: n = %v after the writes, want %d (a stale row was cached)", ri, r.Attrs["n"], writes)
			}
			return nil
		})
	}
}

// withContainer opens a store holding one container, cnt1, with cni 0.
func withContainer(t *testing.T) *Store {
	t.Helper()
	st := open(t, t.TempDir(), Options{})
	t.Cleanup(func() { st.Close() })
	r := &resource.Resource{Ty: 3, RI: "cnt1", PI: "base", RN: "c", Path: "cse-in/c", Attrs: map[string]any{"ri": "cnt1", "cni": int64(0)}}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Create(r) }); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestPeekSharesNoChange: Peek lends the cached resource itself, and a Get
// afterwards (a copy) or a Put through another transaction leaves the lent
// one as it was.
func TestPeekSharesNoChange(t *testing.T) {
	st := withContainer(t)
	ctx := context.Background()
	var lent *resource.Resource
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		lent, err = store.Peek(tx, "cnt1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		c, err := tx.Get("cnt1")
		if err != nil {
			return err
		}
		c.Attrs["cni"] = int64(1)
		if p, err := store.Peek(tx, "cnt1"); err != nil || p.Attrs["cni"] != int64(0) {
			t.Errorf("peek in the writer before Put: %v %v", p, err)
		}
		if err := tx.Put(c); err != nil {
			return err
		}
		c.Attrs["cni"] = int64(99) // after Put: the store's copy must not see it
		if p, err := store.Peek(tx, "cnt1"); err != nil || p.Attrs["cni"] != int64(1) {
			t.Errorf("peek in the writer after Put: %v %v", p, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if lent.Attrs["cni"] != int64(0) {
		t.Fatalf("the lent resource changed: %v", lent.Attrs)
	}
	if err := st.View(ctx, func(tx store.Tx) error {
		p, err := store.Peek(tx, "cnt1")
		if err == nil && p.Attrs["cni"] != int64(1) {
			t.Errorf("after commit: %v", p.Attrs)
		}
		if _, err := store.Peek(tx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing: %v", err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPutOwned: PutOwned stores the caller's resource as Put does (seen in the
// transaction and after the commit, refused in a View and for a missing one).
func TestPutOwned(t *testing.T) {
	st := withContainer(t)
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error {
		c, err := tx.Get("cnt1")
		if err != nil {
			return err
		}
		c.Attrs["cni"] = int64(5)
		if err := store.PutOwned(tx, c); err != nil {
			return err
		}
		if g, err := tx.Get("cnt1"); err != nil || g.Attrs["cni"] != int64(5) || g == c {
			t.Errorf("read after PutOwned: %v %v (same object: %v)", g, err, g == c)
		}
		missing := &resource.Resource{Ty: 3, RI: "nope", Path: "cse-in/nope", Attrs: map[string]any{}}
		if err := store.PutOwned(tx, missing); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(tx store.Tx) error {
		g, err := tx.Get("cnt1")
		if err == nil && g.Attrs["cni"] != int64(5) {
			t.Errorf("after commit: %v", g.Attrs)
		}
		if err := store.PutOwned(tx, g); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("in a View: %v", err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Read from the database, not the cache, too.
	st.cache.clear()
	if err := st.View(ctx, func(tx store.Tx) error {
		g, err := tx.Get("cnt1")
		if err == nil && g.Attrs["cni"] != int64(5) {
			t.Errorf("from the database: %v", g.Attrs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
