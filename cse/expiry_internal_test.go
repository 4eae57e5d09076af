package cse

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

type countingPolicy struct {
	AllowList
	gone atomic.Int32
}

func (p *countingPolicy) Deregistered(context.Context, string) { p.gone.Add(1) }

// TestExpireNowRenewed: a resource found expired but renewed before its
// deletion runs is kept, not counted, and not reported as deregistered.
func TestExpireNowRenewed(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &countingPolicy{AllowList: AllowList{"C*"}}
	c, err := New(context.Background(), Config{AEPolicy: p}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := primitive.NewRequest()
	req.Op, req.To, req.From, req.Ty, req.RQI, req.RVI = primitive.OpCreate, "cse-in", "Cren", 2, "1", "3"
	req.Content = map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": false, "srv": []any{"3"}, "et": primitive.FormatTime(time.Now().Add(time.Hour))}}
	if r := c.Handle(context.Background(), req); r.RSC != primitive.RSCCreated {
		t.Fatalf("register: %d %v", r.RSC, r.PC)
	}
	// The first reading of the clock (the query for expired resources) is two
	// hours ahead; the later ones (inside the deletion) are now again, as if
	// the AE had been renewed in between.
	var calls atomic.Int32
	c.now = func() time.Time {
		if calls.Add(1) == 1 {
			return time.Now().Add(2 * time.Hour)
		}
		return time.Now()
	}
	n, err := c.ExpireNow(context.Background())
	if err != nil || n != 0 || p.gone.Load() != 0 {
		t.Fatalf("ExpireNow = %d, %v; deregistered %d times", n, err, p.gone.Load())
	}
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if n, err := c.ExpireNow(context.Background()); err != nil || n != 1 || p.gone.Load() != 1 {
		t.Fatalf("ExpireNow = %d, %v; deregistered %d times", n, err, p.gone.Load())
	}
}
