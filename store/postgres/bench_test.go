package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/postgres/pgtest"
)

// Benchmarks of the PostgreSQL store on the ONECSE_TEST_PG server:
//
//	go test -run '^$' -bench . -benchmem ./store/postgres/
//
// Figures and the machine they were measured on: docs/scale-out.md.

func benchRes(pi, parentPath string, i int64) *resource.Resource {
	rn := fmt.Sprintf("cin%09d", i)
	ri := fmt.Sprintf("%s-%09d", pi, i)
	return &resource.Resource{
		Ty: resource.TyCIN, RI: ri, PI: pi, RN: rn, Path: parentPath + "/" + rn, Creator: "Cbench", Owner: "Cbench",
		Attrs: map[string]any{
			"rn": rn, "ri": ri, "pi": pi, "ty": int64(4), "ct": "20260101T000000,000000", "lt": "20260101T000000,000000",
			"et": "20270101T000000,000000", "st": i, "cs": int64(21), "cnf": "text/plain:0", "con": `{"temperature":21.5}`,
		},
	}
}

func benchStore(b *testing.B) *Store {
	dsn := pgtest.DSN(b)
	s := open(b, dsn, pgtest.Schema(b, dsn))
	b.Cleanup(func() { s.Close() })
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Create(&resource.Resource{Ty: 5, RI: "base", Path: "cse-in", Attrs: map[string]any{"rn": "cse-in"}}); err != nil {
			return err
		}
		return tx.Create(&resource.Resource{Ty: 3, RI: "cnt", PI: "base", Path: "cse-in/cnt", Attrs: map[string]any{"rn": "cnt", "cni": int64(0)}})
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCreateCIN is the core's contentInstance CREATE as the store sees
// it: Get the container, Create the instance, Put the container with its
// counters, from 32 goroutines into one container (the load generator's case).
func BenchmarkCreateCIN(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS (2 here): 32 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := s.Update(context.Background(), func(tx store.Tx) error {
				c, err := tx.Get("cnt")
				if err != nil {
					return err
				}
				if err := tx.Create(benchRes("cnt", "cse-in/cnt", i)); err != nil {
					return err
				}
				cni, _ := c.Int("cni")
				c.Attrs["cni"] = cni + 1
				return tx.Put(c)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Transactions)/float64(max(1, st.Commits)), "tx/commit")
}

// BenchmarkGetCached and BenchmarkGetUncached read one instance by ID.
func BenchmarkGetCached(b *testing.B)   { benchGet(b, 0) }
func BenchmarkGetUncached(b *testing.B) { benchGet(b, -1) }

func benchGet(b *testing.B, cache int) {
	dsn := pgtest.DSN(b)
	s, err := Open(context.Background(), Options{DSN: dsn, Schema: pgtest.Schema(b, dsn), CacheSize: cache})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	err = s.Update(context.Background(), func(tx store.Tx) error {
		for i := range int64(1000) {
			if err := tx.Create(benchRes("cnt", "cse-in/cnt", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ri := fmt.Sprintf("cnt-%09d", n.Add(1)%1000)
			err := s.View(context.Background(), func(tx store.Tx) error {
				_, err := tx.Get(ri)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
