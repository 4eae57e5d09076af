package sqlite

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Benchmarks of the embedded store. Run with
//
//	go test -run '^$' -bench . -benchmem ./store/sqlite/
//
// The last figures measured, and on what, are in BENCHMARKS.md.

// benchRes is a contentInstance-sized resource.
func benchRes(pi, parentPath string, i int) *resource.Resource {
	rn := fmt.Sprintf("cin%07d", i)
	ri := fmt.Sprintf("%s-%07d", pi, i)
	return &resource.Resource{
		Ty: resource.TyCIN, RI: ri, PI: pi, RN: rn, Path: parentPath + "/" + rn, Creator: "Cbench", Owner: "Cbench",
		Attrs: map[string]any{
			"rn": rn, "ri": ri, "pi": pi, "ty": int64(4), "ct": "20260101T000000,000000", "lt": "20260101T000000,000000",
			"et": "20270101T000000,000000", "st": int64(i), "cs": int64(21), "cnf": "text/plain:0", "con": `{"temperature":21.5}`,
		},
	}
}

// fill creates a CSEBase, a container "cnt" and n instances under it, in
// large transactions.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Create(&resource.Resource{Ty: 5, RI: "base", Path: "cse-in", Attrs: map[string]any{"rn": "cse-in"}}); err != nil {
			return err
		}
		return tx.Create(&resource.Resource{Ty: 3, RI: "cnt", PI: "base", Path: "cse-in/cnt", Attrs: map[string]any{"rn": "cnt"}})
	})
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += 10000 {
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := lo; i < min(lo+10000, n); i++ {
				if err := tx.Create(benchRes("cnt", "cse-in/cnt", i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func openBench(b *testing.B, sync string) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) {
	const n = 10000
	s := openBench(b, "normal")
	fill(b, s, n)
	ctx := context.Background()
	b.Run("ri", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ri := fmt.Sprintf("cnt-%07d", i%n)
			i++
			err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get(ri); return err })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("path", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := fmt.Sprintf("cse-in/cnt/cin%07d", i%n)
			i++
			err := s.View(ctx, func(tx store.Tx) error { _, err := tx.GetByPath(p); return err })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ri-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ri := fmt.Sprintf("cnt-%07d", next.Add(1)%n)
				err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get(ri); return err })
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkCreate creates one contentInstance per Update. "serial" waits for
// each commit before the next: one fsync per create. "parallel-N" keeps N
// callers waiting, which the writer commits in groups: tx/commit shows how
// many creates one commit (one fsync) carried.
func BenchmarkCreate(b *testing.B) {
	for _, sync := range []string{"full", "normal"} {
		for _, par := range []int{1, 16, 64} {
			name := fmt.Sprintf("%s/serial", sync)
			if par > 1 {
				name = fmt.Sprintf("%s/parallel-%d", sync, par)
			}
			b.Run(name, func(b *testing.B) {
				s := openBench(b, sync)
				fill(b, s, 0)
				ctx := context.Background()
				var next atomic.Int64
				create := func() error {
					r := benchRes("cnt", "cse-in/cnt", int(next.Add(1)))
					return s.Update(ctx, func(tx store.Tx) error { return tx.Create(r) })
				}
				c0 := s.commits.Load()
				b.ReportAllocs()
				b.ResetTimer()
				if par == 1 {
					for b.Loop() {
						if err := create(); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					// RunParallel starts parallelism*GOMAXPROCS goroutines.
					b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := create(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				if c := s.commits.Load() - c0; c > 0 {
					b.ReportMetric(float64(next.Load())/float64(c), "tx/commit")
				}
			})
		}
	}
}

// BenchmarkChildren reads one child of a container with 1,000 and 100,000
// instances: the newest of a type (the `la` virtual resource), the oldest
// (`ol`), and the newest of any type. Each must cost the same whatever the
// number of children.
func BenchmarkChildren(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		s := openBench(b, "normal")
		fill(b, s, n)
		ctx := context.Background()
		for _, q := range []struct {
			name string
			q    store.ChildQuery
		}{
			{"la", store.ChildQuery{Types: []int{resource.TyCIN}, Newest: true, Limit: 1}},
			{"ol", store.ChildQuery{Types: []int{resource.TyCIN}, Limit: 1}},
			{"newest-any-type", store.ChildQuery{Newest: true, Limit: 1}},
		} {
			b.Run(fmt.Sprintf("%s/children=%d", q.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					err := s.View(ctx, func(tx store.Tx) error {
						kids, err := tx.Children("cnt", q.q)
						if err == nil && len(kids) != 1 {
							err = fmt.Errorf("%d children", len(kids))
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
