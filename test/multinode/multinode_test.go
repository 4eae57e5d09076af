// Package multinode tests several onecse nodes serving one CSE from one
// PostgreSQL database (docs/scale-out.md): what one node writes the others
// read at once, a subscription made through one node fires for changes made
// through another, each notification is delivered once, and a node killed
// while notifications are due loses none of them.
package multinode

import (
	"fmt"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/store/postgres/pgtest"
)

// nodes starts n in-process nodes with the same CSE-ID on one fresh schema.
func nodes(t *testing.T, n int, mod func(*config.Config)) []*testcse.CSE {
	dsn := pgtest.DSN(t)
	pg := pgtest.WithSchema(dsn, pgtest.Schema(t, dsn))
	var out []*testcse.CSE
	for range n {
		out = append(out, testcse.Start(t, func(c *config.Config) {
			c.Postgres = pg
			c.NotifyRetry = 20 * time.Millisecond
			c.NotifyRetryMax = 100 * time.Millisecond
			if mod != nil {
				mod(c)
			}
		}))
	}
	return out
}

// leader returns the node that leads and another one, waiting for a node to
// take the lead.
func leader(t *testing.T, ns []*testcse.CSE) (lead, other *testcse.CSE) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range ns {
			if n.Server.Leader() {
				return n, ns[(i+1)%len(ns)]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no node took the lead")
	return nil, nil
}

// TestVisibilityAcrossNodes: without the nodes' caches (postgres-cache 0)
// every read through one node sees every write acknowledged through another
// at once; with them, once the commit's notification has reached the node
// (docs/scale-out.md), which the test waits for.
func TestVisibilityAcrossNodes(t *testing.T) {
	for _, cache := range []int{0, 1000} {
		t.Run(fmt.Sprint("cache", cache), func(t *testing.T) { testVisibility(t, cache) })
	}
}

func testVisibility(t *testing.T, cache int) {
	ns := nodes(t, 2, func(c *config.Config) { c.PostgresCache = cache })
	a, b := ns[0], ns[1]
	// get reads path through n until the answer has rsc.
	get := func(n *testcse.CSE, path, from string, rsc int) *testcse.Resp {
		t.Helper()
		for start := time.Now(); ; time.Sleep(time.Millisecond) {
			r := n.Do(testcse.Req{Method: "GET", Path: path, From: from})
			if r.RSC == rsc || cache == 0 || time.Since(start) > 10*time.Second {
				return r.Must(t, rsc)
			}
		}
	}
	aei := a.RegisterAE("ae1")
	get(b, "/cse-in/ae1", aei, 2000)
	b.Create(aei, "/cse-in/ae1", 3, "m2m:cnt", map[string]any{"rn": "c", "mni": 5})
	get(a, "/cse-in/ae1/c", aei, 2000)
	// Instances through both nodes: the container's counters (kept by
	// whichever node wrote last) count them all, and mni holds.
	for i := range 8 {
		n := ns[i%2]
		n.Create(aei, "/cse-in/ae1/c", 4, "m2m:cin", map[string]any{"rn": fmt.Sprint("i", i), "con": fmt.Sprint(i)})
	}
	for _, n := range ns {
		get(n, "/cse-in/ae1/c/i2", aei, 4004)
		for start := time.Now(); ; time.Sleep(time.Millisecond) {
			cnt := get(n, "/cse-in/ae1/c", aei, 2000).Res("m2m:cnt")
			la := get(n, "/cse-in/ae1/c/la", aei, 2000).Res("m2m:cin")
			if cnt["cni"] == int64(5) && la["con"] == "7" {
				break
			}
			if cache == 0 || time.Since(start) > 10*time.Second {
				t.Fatalf("through %s: cni = %v (want 5), la = %v (want 7)", n.URL, cnt["cni"], la["con"])
			}
		}
	}
	// An update through one node is what the other reads next.
	b.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae1/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"x"}}}}).Must(t, 2004)
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		got := get(a, "/cse-in/ae1/c", aei, 2000).Res("m2m:cnt")
		l, _ := got["lbl"].([]any)
		if len(l) == 1 && l[0] == "x" {
			break
		}
		if cache == 0 || time.Since(start) > 10*time.Second {
			t.Fatalf("lbl through the other node = %v", got["lbl"])
		}
	}
	// A deletion too.
	a.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/ae1/c", From: aei}).Must(t, 2002)
	get(b, "/cse-in/ae1/c", aei, 4004)
	get(b, "/cse-in/ae1/c/i7", aei, 4004)
}

// TestNotificationAcrossNodes: a subscription made through the node that
// does not lead fires for instances created through both nodes; each
// notification arrives once.
func TestNotificationAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, nil)
	lead, other := leader(t, ns)
	rcv := testcse.NewReceiver(t)
	aei := other.RegisterAE("ae1")
	other.Create(aei, "/cse-in/ae1", 3, "m2m:cnt", map[string]any{"rn": "c"})
	other.Create(aei, "/cse-in/ae1/c", 23, "m2m:sub", map[string]any{"rn": "s", "nu": []string{rcv.URL}, "enc": map[string]any{"net": []int{3}}})
	const n = 20
	for i := range n {
		node := []*testcse.CSE{lead, other}[i%2]
		node.Create(aei, "/cse-in/ae1/c", 4, "m2m:cin", map[string]any{"con": fmt.Sprint("v", i)})
	}
	got := rcv.Wait(n, 30*time.Second)
	seen := map[string]int{}
	for _, g := range got {
		cin, _ := g.Rep()["m2m:cin"].(map[string]any)
		seen[fmt.Sprint(cin["con"])]++
	}
	for i := range n {
		if c := seen[fmt.Sprint("v", i)]; c != 1 {
			t.Errorf("v%d notified %d times", i, c)
		}
	}
	// Nothing more arrives: no second node delivers the same entries.
	rcv.Quiet(n, 2*time.Second)
}
