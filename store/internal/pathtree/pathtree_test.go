package pathtree

import (
	"slices"
	"testing"
)

func TestTree(t *testing.T) {
	tr := New()
	held := map[string]bool{}
	add := func(p string) { held[p] = true; tr.Add(p) }
	isHeld := func(p string) bool { return held[p] }
	add("cse-in/a/x/1")
	add("cse-in/a")
	add("cse-in/b")
	if _, ok := tr.Children("cse-in/a")["cse-in/a/x"]; !ok {
		t.Fatal("the ancestor cse-in/a/x of a path is not in the tree")
	}
	var below []string
	tr.RemoveBelow("cse-in/a", func(p string) { below = append(below, p); delete(held, p) }, isHeld)
	slices.Sort(below)
	if !slices.Equal(below, []string{"cse-in/a/x", "cse-in/a/x/1"}) {
		t.Fatalf("below cse-in/a: %v", below)
	}
	// cse-in/a itself is held: it stays, under cse-in, with cse-in/b.
	if len(tr.Children("cse-in")) != 2 || tr.Len() != 1 {
		t.Fatalf("after RemoveBelow: %d under cse-in, %d entries", len(tr.Children("cse-in")), tr.Len())
	}
	delete(held, "cse-in/a")
	tr.Remove("cse-in/a", isHeld)
	delete(held, "cse-in/b")
	tr.Remove("cse-in/b", isHeld)
	if tr.Len() != 0 {
		t.Fatalf("%d entries left", tr.Len())
	}
	if Parent("cse-in") != "" || Parent("cse-in/a/b") != "cse-in/a" {
		t.Fatal("Parent")
	}
}
