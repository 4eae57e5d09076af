package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/postgres/pgtest"
)

// Two stores on one schema are what two onecse nodes are. Their writers
// commit independently, so what one process's single writer guarantees by
// itself must here come from PostgreSQL: row locks for read-modify-write, and
// the outbox's advisory lock for the Seq order.

func twoNodes(t *testing.T) (*Store, *Store) {
	dsn := pgtest.DSN(t)
	sc := pgtest.Schema(t, dsn)
	a, b := open(t, dsn, sc), open(t, dsn, sc)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestTwoNodesCounter(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	cnt := &resource.Resource{Ty: 3, RI: "cnt", Path: "cse-in/cnt", Attrs: map[string]any{"cni": int64(0)}}
	if err := a.Update(ctx, func(tx store.Tx) error { return tx.Create(cnt) }); err != nil {
		t.Fatal(err)
	}
	const each = 150
	var wg sync.WaitGroup
	for g := range 8 {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Update(ctx, func(tx store.Tx) error {
					c, err := tx.Get("cnt")
					if err != nil {
						return err
					}
					n, _ := c.Int("cni")
					c.Attrs["cni"] = n + 1
					if err := tx.Put(c); err != nil {
						return err
					}
					return tx.Create(&resource.Resource{Ty: 4, RI: fmt.Sprintf("i%d-%d", g, i), PI: "cnt", Path: fmt.Sprintf("cse-in/cnt/i%d-%d", g, i), Attrs: map[string]any{}})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	err := b.View(ctx, func(tx store.Tx) error {
		c, err := tx.Get("cnt")
		if err != nil {
			return err
		}
		kids, err := tx.Children("cnt", store.ChildQuery{})
		if err != nil {
			return err
		}
		if n, _ := c.Int("cni"); n != 8*each || len(kids) != 8*each {
			t.Errorf("cni = %d, %d children; want %d of each", n, len(kids), 8*each)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node a %+v, node b %+v", a.Stats(), b.Stats())
}

// TestTwoNodesOutboxOrder: both nodes append while a reader follows the
// outbox through a third connection; it must see every committed entry once,
// never one below a Seq it has already seen.
func TestTwoNodesOutboxOrder(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	const n = 600
	done := make(chan error, 1)
	go func() {
		var after int64
		seen := map[string]bool{}
		for len(seen) < n {
			var es []store.OutboxEntry
			err := a.View(ctx, func(tx store.Tx) error {
				var err error
				es, err = tx.Outbox(after, 5)
				return err
			})
			if err != nil {
				done <- err
				return
			}
			for _, e := range es {
				if e.Seq <= after || seen[string(e.Data)] {
					done <- fmt.Errorf("entry %d (%s) after %d", e.Seq, e.Data, after)
					return
				}
				after = e.Seq
				seen[string(e.Data)] = true
			}
		}
		done <- nil
	}()
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, func(tx store.Tx) error {
				// Other writes first, so that the transactions overlap.
				if err := tx.Create(&resource.Resource{Ty: 3, RI: fmt.Sprint("r", i), Path: fmt.Sprint("p/", i), Attrs: map[string]any{}}); err != nil {
					return err
				}
				_, err := tx.AppendOutbox([]byte(fmt.Sprint("e", i)))
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTwoNodesCache: what a node has cached is dropped when another node
// replaces or deletes it (through the commit's notification); without a
// cache, every read sees every commit at once.
func TestTwoNodesCache(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprint("cache", size), func(t *testing.T) {
			sc := pgtest.Schema(t, dsn)
			a, err := Open(ctx, Options{DSN: dsn, Schema: sc, CacheSize: size})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := Open(ctx, Options{DSN: dsn, Schema: sc, CacheSize: size})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			mk := func(ri, path string) *resource.Resource {
				return &resource.Resource{Ty: 3, RI: ri, Path: path, Attrs: map[string]any{"n": int64(0)}}
			}
			if err := a.Update(ctx, func(tx store.Tx) error {
				for _, r := range []*resource.Resource{mk("p", "cb/p"), mk("q", "cb/p/q"), mk("x", "cb/x")} {
					if err := tx.Create(r); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			read := func(s *Store, ri string) (int64, error) {
				var n int64
				err := s.View(ctx, func(tx store.Tx) error {
					r, err := tx.Get(ri)
					if err == nil {
						n, _ = r.Int("n")
					}
					return err
				})
				return n, err
			}
			// eventually waits for a to see what b did: at once without a
			// cache, within the notification's way with one.
			eventually := func(what string, ok func() bool) {
				t.Helper()
				for start := time.Now(); !ok(); time.Sleep(time.Millisecond) {
					if size < 0 || time.Since(start) > 10*time.Second {
						t.Fatalf("%s: node a does not see node b's commit", what)
					}
				}
			}
			for _, ri := range []string{"p", "q", "x"} {
				read(a, ri) // cached now, if a caches
			}
			for i := int64(1); i <= 20; i++ {
				if err := b.Update(ctx, func(tx store.Tx) error {
					r, err := tx.Get("x")
					if err != nil {
						return err
					}
					r.Attrs["n"] = i
					return tx.Put(r)
				}); err != nil {
					t.Fatal(err)
				}
				eventually("Put", func() bool { n, _ := read(a, "x"); return n == i })
			}
			if err := b.Update(ctx, func(tx store.Tx) error {
				r, err := tx.Get("p")
				if err != nil {
					return err
				}
				_, err = tx.DeleteTree(r)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			eventually("DeleteTree", func() bool {
				_, err1 := read(a, "p")
				_, err2 := read(a, "q")
				return errors.Is(err1, store.ErrNotFound) && errors.Is(err2, store.ErrNotFound)
			})
		})
	}
}

// TestTwoNodesWriterCache: node a's writer reads a resource from its cache
// right after node b changed it, before (or while) b's invalidation arrives:
// the check at commit must catch the stale read, so that no increment is
// lost; and a's newest child of a parent (la) must follow b's creates.
func TestTwoNodesWriterCache(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	cnt := &resource.Resource{Ty: 3, RI: "cnt", Path: "cse-in/cnt", Attrs: map[string]any{"cni": int64(0)}}
	if err := a.Update(ctx, func(tx store.Tx) error { return tx.Create(cnt) }); err != nil {
		t.Fatal(err)
	}
	incr := func(s *Store, i int) {
		t.Helper()
		err := s.Update(ctx, func(tx store.Tx) error {
			c, err := tx.Get("cnt")
			if err != nil {
				return err
			}
			n, _ := c.Int("cni")
			c.Attrs["cni"] = n + 1
			if err := tx.Put(c); err != nil {
				return err
			}
			return tx.Create(&resource.Resource{Ty: 4, RI: fmt.Sprintf("i%d", i), PI: "cnt", Path: fmt.Sprintf("cse-in/cnt/i%d", i), Attrs: map[string]any{}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	newest := func(s *Store) string {
		var ri string
		err := s.View(ctx, func(tx store.Tx) error {
			kids, err := tx.Children("cnt", store.ChildQuery{Types: []int{4}, Newest: true, Limit: 1})
			if len(kids) == 1 {
				ri = kids[0].RI
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ri
	}
	const n = 40
	for i := range n {
		// Alternate nodes without waiting for notifications: every Update of
		// a starts from a cache that b has just made stale.
		s := a
		if i%2 == 1 {
			s = b
		}
		incr(s, i)
		// The node that created knows its newest child at once; the other
		// within the notification's way.
		if got := newest(s); got != fmt.Sprintf("i%d", i) {
			t.Fatalf("after create %d the creating node's newest child is %q", i, got)
		}
		other := b
		if s == b {
			other = a
		}
		for start := time.Now(); newest(other) != fmt.Sprintf("i%d", i); time.Sleep(time.Millisecond) {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("after create %d the other node's newest child stays %q", i, newest(other))
			}
		}
	}
	err := b.View(ctx, func(tx store.Tx) error {
		c, err := tx.Get("cnt")
		if err != nil {
			return err
		}
		if got, _ := c.Int("cni"); got != n {
			t.Errorf("cni = %d, want %d (an increment from a stale read was kept)", got, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats().Retries+b.Stats().Retries == 0 {
		t.Log("no stale read was caught this time (the notifications were faster)")
	}
	t.Logf("node a %+v, node b %+v", a.Stats(), b.Stats())
}
