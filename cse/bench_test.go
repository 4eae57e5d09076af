package cse_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

// benchCSE is a core on a fresh embedded store with one AE and one container.
func benchCSE(b *testing.B, sync string) (*cse.CSE, string) {
	b.Helper()
	st, err := sqlite.Open(b.TempDir(), sqlite.Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, err := cse.New(context.Background(), cse.Config{}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := primitive.NewRequest()
	req.Op, req.To, req.RQI, req.RVI, req.Ty, req.From = primitive.OpCreate, "cse-in", "1", "3", 2, "C"
	req.Content = map[string]any{"m2m:ae": map[string]any{"rn": "bench", "api": "Nbench", "rr": false, "srv": []any{"3"}}}
	resp := c.Handle(ctx, req)
	if resp.RSC != primitive.RSCCreated {
		b.Fatalf("register: %v %v", resp.RSC, resp.PC)
	}
	aei := resp.PC["m2m:ae"].(map[string]any)["aei"].(string)
	req = primitive.NewRequest()
	req.Op, req.To, req.RQI, req.RVI, req.Ty, req.From = primitive.OpCreate, "cse-in/bench", "2", "3", 3, aei
	req.Content = map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}
	if resp := c.Handle(ctx, req); resp.RSC != primitive.RSCCreated {
		b.Fatalf("container: %v %v", resp.RSC, resp.PC)
	}
	return c, aei
}

func createCIN(c *cse.CSE, aei string, i int64) *primitive.Response {
	req := primitive.NewRequest()
	req.Op, req.To, req.RQI, req.RVI, req.Ty, req.From = primitive.OpCreate, "cse-in/bench/data", fmt.Sprint(i), "3", 4, aei
	req.Content = map[string]any{"m2m:cin": map[string]any{"cnf": "text/plain:0", "con": "0123456789abcdef0123456789abcdef"}}
	return c.Handle(context.Background(), req)
}

// BenchmarkCoreCreateCIN measures CREATE contentInstance through the core and
// the embedded store (durable commits), with parallel originators so that group
// commit works as under load.
func BenchmarkCoreCreateCIN(b *testing.B) {
	c, aei := benchCSE(b, "full")
	var n atomic.Int64
	b.SetParallelism(16) // 32 concurrent originators on 2 cores, as the load generator
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := createCIN(c, aei, n.Add(1)); r.RSC != primitive.RSCCreated {
				b.Fatalf("create: %v %v", r.RSC, r.PC)
			}
		}
	})
}

// BenchmarkCoreRetrieve measures RETRIEVE of a contentInstance by its ID and of
// the container's la.
func BenchmarkCoreRetrieve(b *testing.B) {
	c, aei := benchCSE(b, "normal")
	var ri string
	for i := 0; i < 100; i++ {
		r := createCIN(c, aei, int64(i))
		ri = r.PC["m2m:cin"].(map[string]any)["ri"].(string)
	}
	for _, to := range []string{ri, "cse-in/bench/data/la"} {
		b.Run(to[:3], func(b *testing.B) {
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := primitive.NewRequest()
					req.Op, req.To, req.RQI, req.RVI, req.From = primitive.OpRetrieve, to, fmt.Sprint(n.Add(1)), "3", aei
					if r := c.Handle(context.Background(), req); r.RSC != primitive.RSCOK {
						b.Fatalf("retrieve: %v %v", r.RSC, r.PC)
					}
				}
			})
		})
	}
}

// BenchmarkCoreDiscoveryContent measures discovery over 1,000 JSON
// instances: by type alone, with a content query (compiled once per
// request, run on each instance), and with a content type condition that
// no instance meets (the walk reads all 1,000; the content query is never
// run).
func BenchmarkCoreDiscoveryContent(b *testing.B) {
	c, aei := benchCSE(b, "normal")
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		req := primitive.NewRequest()
		req.Op, req.To, req.RQI, req.RVI, req.Ty, req.From = primitive.OpCreate, "cse-in/bench/data", fmt.Sprint(i), "3", 4, aei
		req.Content = map[string]any{"m2m:cin": map[string]any{"cnf": "application/json:0", "con": fmt.Sprintf(`{"temp":%d,"unit":"C","hist":[1,2,3,4,5,6,7,8]}`, i%40)}}
		if r := c.Handle(ctx, req); r.RSC != primitive.RSCCreated {
			b.Fatalf("create: %v %v", r.RSC, r.PC)
		}
	}
	cfq, err := primitive.ParseContentQuery("$[?$.temp > 30]")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		fc    primitive.FilterCriteria
		found int
	}{
		{"ty", primitive.FilterCriteria{Ty: []int{4}}, 1000},
		{"ty+cfq", primitive.FilterCriteria{Ty: []int{4}, CFS: 1, CFQ: cfq}, 225},
		{"cty+cfq", primitive.FilterCriteria{ContentTypes: []string{"text/plain"}, CFS: 1, CFQ: cfq}, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				fc := tc.fc
				fc.FU, fc.Lim = primitive.FUDiscovery, -1
				req := primitive.NewRequest()
				req.Op, req.To, req.RQI, req.RVI, req.From, req.FC = primitive.OpRetrieve, "cse-in/bench", fmt.Sprint(i), "3", aei, &fc
				r := c.Handle(ctx, req)
				if l, _ := r.PC["m2m:uril"].([]any); r.RSC != primitive.RSCOK || len(l) != tc.found {
					b.Fatalf("discover: %v, %d found, want %d", r.RSC, len(l), tc.found)
				}
			}
		})
	}
}
