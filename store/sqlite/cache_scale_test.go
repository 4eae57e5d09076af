package sqlite

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store/internal/pathtree"
)

// cacheWith returns a cache holding n AEs under cse-in, each with a
// container, and max room for all of them.
func cacheWith(n int) *cache {
	c := newCache(2*n + 10)
	c.put(&resource.Resource{RI: "base", Path: "cse-in", Ty: resource.TyCSEBase})
	for i := range n {
		ae := fmt.Sprintf("ae%d", i)
		c.put(&resource.Resource{RI: "C" + ae, PI: "base", Path: "cse-in/" + ae, Ty: resource.TyAE})
		c.put(&resource.Resource{RI: "cnt" + ae, PI: "C" + ae, Path: "cse-in/" + ae + "/data", Ty: resource.TyContainer})
	}
	return c
}

// BenchmarkCacheDeleteTree measures making the deletion of an AE with its
// container visible in the cache, with 1,000 and with 100,000 AEs cached:
// it should not depend on how much the cache holds (it went through the
// whole cache: 23 ms per deletion with 200,000 cached, under the lock every
// read takes).
func BenchmarkCacheDeleteTree(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("cached=%d", 2*n), func(b *testing.B) {
			c := cacheWith(n)
			b.ResetTimer()
			for i := range b.N {
				ae := fmt.Sprintf("ae%d", i%n)
				o := newOverlay()
				o.delTree("cse-in/" + ae)
				o.del("C"+ae, "cse-in/"+ae)
				c.apply(o)
				// Back in, for the next round (two map inserts).
				c.put(&resource.Resource{RI: "C" + ae, PI: "base", Path: "cse-in/" + ae, Ty: resource.TyAE})
				c.put(&resource.Resource{RI: "cnt" + ae, PI: "C" + ae, Path: "cse-in/" + ae + "/data", Ty: resource.TyContainer})
			}
		})
	}
}

// TestCacheTreeModel runs random puts, removals, evictions and subtree
// deletions against the cache and a plain model of it (subtree deletion by
// path prefix, as it was done before the cache kept its tree of paths), and
// checks after each step that both hold the same paths and that the tree
// lists exactly the cached paths and their ancestors.
func TestCacheTreeModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newCache(40)            // small: evictions happen
	model := map[string]string{} // path → ri
	names := []string{"a", "b", "ab", "a0"}
	randPath := func() string {
		p := "cse-in"
		for d := rng.IntN(4); d >= 0; d-- {
			p += "/" + names[rng.IntN(len(names))]
		}
		return p
	}
	for step := range 20000 {
		p := randPath()
		switch op := rng.IntN(10); {
		case op < 6:
			ri := "ri:" + p
			c.put(&resource.Resource{RI: ri, Path: p})
			model[p] = ri
		case op < 8:
			o := newOverlay()
			o.delTree(p)
			c.apply(o)
			for q := range model {
				if strings.HasPrefix(q, p+"/") {
					delete(model, q)
				}
			}
		default:
			c.remove("ri:"+p, p)
			delete(model, p)
		}
		// Evictions drop entries from the cache only: the model follows.
		for q := range model {
			if _, ok := c.byPath[q]; !ok {
				delete(model, q)
			}
		}
		if len(c.byPath) != len(model) || len(c.byRI) != len(c.byPath) {
			t.Fatalf("step %d: cache holds %d paths / %d ris, model %d", step, len(c.byPath), len(c.byRI), len(model))
		}
		// The tree: every cached path hangs from its ancestors, and every
		// entry of the tree is cached or has entries below it.
		for q := range c.byPath {
			for x := q; pathtree.Parent(x) != ""; x = pathtree.Parent(x) {
				if _, ok := c.kids.Children(pathtree.Parent(x))[x]; !ok {
					t.Fatalf("step %d: %s is cached but %s is not in the tree under %s", step, q, x, pathtree.Parent(x))
				}
			}
		}
		c.kids.Each(func(p string, set map[string]struct{}) {
			if len(set) == 0 {
				t.Fatalf("step %d: empty tree entry %s", step, p)
			}
			for k := range set {
				if _, cached := c.byPath[k]; !cached && len(c.kids.Children(k)) == 0 {
					t.Fatalf("step %d: tree entry %s under %s is neither cached nor has entries below", step, k, p)
				}
				if pathtree.Parent(k) != p {
					t.Fatalf("step %d: %s under %s", step, k, p)
				}
			}
		})
	}
}
