package cse

import (
	"fmt"
	"testing"
	"time"
)

// TestGroupRequestIDsBounded: an entry lives until rqet (else the default,
// never beyond the maximum), and the memory holds at most gidMaxEntries.
func TestGroupRequestIDsBounded(t *testing.T) {
	var g groupRequestIDs
	now := time.Unix(1000, 0)
	if !g.admit("a", "x", now, time.Time{}) || g.admit("a", "x", now, time.Time{}) {
		t.Fatal("a repeat within the default lifetime must be refused")
	}
	if !g.admit("a", "x", now.Add(gidDefaultTTL), time.Time{}) {
		t.Fatal("after the default lifetime the gid is forgotten")
	}
	if !g.admit("b", "x", now, now.Add(time.Second)) || g.admit("b", "x", now.Add(500*time.Millisecond), time.Time{}) {
		t.Fatal("a repeat before rqet must be refused")
	}
	if !g.admit("b", "x", now.Add(time.Second), time.Time{}) {
		t.Fatal("after rqet the gid is forgotten")
	}
	if !g.admit("c", "x", now, now.Add(time.Hour)) || !g.admit("c", "x", now.Add(gidMaxTTL), time.Time{}) {
		t.Fatal("an rqet far ahead is capped at the maximum lifetime")
	}
	var h groupRequestIDs
	for i := range gidMaxEntries + 10 {
		h.admit(fmt.Sprint(i), "x", now, now.Add(gidMaxTTL))
	}
	if len(h.seen) > gidMaxEntries || len(h.order) > gidMaxEntries {
		t.Fatalf("%d entries kept, bound %d", len(h.seen), gidMaxEntries)
	}
	if !h.admit("0", "x", now, time.Time{}) {
		t.Fatal("the oldest entry beyond the bound is forgotten")
	}
}
