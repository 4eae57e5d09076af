package cse_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// countingStore counts the resources the core reads through a store: every
// resource returned by Get, GetByPath, Children, Walk and Expired. A request
// whose count grows with the number of stored resources scans something.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, n: &s.reads}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, n: &s.reads}) })
}

type countingTx struct {
	store.Tx
	n *atomic.Int64
}

func (t *countingTx) Get(ri string) (*resource.Resource, error) {
	t.n.Add(1)
	return t.Tx.Get(ri)
}

func (t *countingTx) GetByPath(p string) (*resource.Resource, error) {
	t.n.Add(1)
	return t.Tx.GetByPath(p)
}

func (t *countingTx) Children(pi string, q store.ChildQuery) ([]*resource.Resource, error) {
	rs, err := t.Tx.Children(pi, q)
	t.n.Add(int64(len(rs)))
	return rs, err
}

// Walk counts every resource below p, of any type: a store finds those of the
// types asked for by going through the path range (store/sqlite filters the
// rows of a path range by type; no index has the type first).
func (t *countingTx) Walk(p string, types []int, fn func(*resource.Resource) bool) error {
	return t.Tx.Walk(p, nil, func(r *resource.Resource) bool {
		t.n.Add(1)
		if len(types) > 0 && !slices.Contains(types, r.Ty) {
			return true
		}
		return fn(r)
	})
}

func registerAE(t testing.TB, c *cse.CSE, rn string) {
	t.Helper()
	req := primitive.NewRequest()
	req.Op, req.To, req.RQI, req.RVI, req.Ty, req.From = primitive.OpCreate, "cse-in", "r-"+rn, "3", 2, "C"
	req.Content = map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nscale", "rr": false, "srv": []any{"3"}}}
	if resp := c.Handle(context.Background(), req); resp.RSC != primitive.RSCCreated {
		t.Fatalf("register %s: %v %v", rn, resp.RSC, resp.PC)
	}
}

// TestAERegistrationCostFlat: registering an AE reads as many resources with
// 500 AEs registered as with 5. (The application-rule check once walked the
// whole resource tree at every registration: registration time grew with the
// number of AEs, 27 registrations/s at 6,000 AEs.)
func TestAERegistrationCostFlat(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	c, err := cse.New(context.Background(), cse.Config{}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	cost := func(rn string) int64 {
		before := cs.reads.Load()
		registerAE(t, c, rn)
		return cs.reads.Load() - before
	}
	for i := range 5 {
		registerAE(t, c, fmt.Sprintf("early%d", i))
	}
	first := cost("first")
	for i := range 500 {
		registerAE(t, c, fmt.Sprintf("ae%d", i))
	}
	last := cost("last")
	if last > first {
		t.Fatalf("registering an AE read %d resources with 6 AEs registered and %d with 506: something scans the AEs", first, last)
	}
	t.Logf("resources read per registration: %d (6 AEs), %d (506 AEs)", first, last)
}

// BenchmarkCoreRegisterAE registers b.N AEs through the core on the embedded
// store (durable commits), 32 at a time. ns/op that rises with b.N (compare
// -benchtime=2000x with -benchtime=50000x) means registration slows down
// with the number of AEs registered.
func BenchmarkCoreRegisterAE(b *testing.B) {
	st, err := sqlite.Open(b.TempDir(), sqlite.Options{Sync: "full"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, err := cse.New(context.Background(), cse.Config{}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			registerAE(b, c, fmt.Sprintf("ae%d", n.Add(1)))
		}
	})
}
