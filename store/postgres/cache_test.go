package postgres

import (
	"slices"
	"strings"
	"testing"
)

// FuzzPayload: the invalidation payload another node sends parses back into
// what was sent (or into "drop everything", which is always safe), and no
// payload makes the parser fail.
func FuzzPayload(f *testing.F) {
	f.Add("ri1", "cse-in/ae/c", "cse-in/ae", false)
	f.Add("", "", "", true)
	f.Add("a\nb", "p\x00", "t/", false)
	f.Fuzz(func(t *testing.T, put, del, tree string, all bool) {
		ch := &changes{all: all}
		if put != "" {
			ch.puts = []string{put}
		}
		if del != "" {
			ch.dels = []string{del}
		}
		if tree != "" {
			ch.trees = []string{tree}
		}
		if put != "" {
			ch.child(put, len(del)) // a parent that got a child of a type
		}
		node, got := parsePayload(ch.payload("node1"))
		if node != "node1" {
			t.Fatalf("node %q", node)
		}
		if got.all {
			return // drop everything: covers any change
		}
		if ch.all {
			t.Fatal("drop-everything lost")
		}
		if strings.ContainsAny(put+del+tree, "\n\x00") {
			t.Fatalf("a value with a newline was sent as is: %+v", got)
		}
		if !slices.Equal(got.puts, ch.puts) || !slices.Equal(got.dels, ch.dels) || !slices.Equal(got.trees, ch.trees) || !slices.Equal(got.kids, ch.kids) {
			t.Fatalf("sent %+v, got %+v", ch, got)
		}
		parsePayload(put + "\n" + del + "\n" + tree) // anything at all parses
	})
}
