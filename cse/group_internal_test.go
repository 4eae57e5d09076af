package cse

import (
	"strings"
	"testing"
)

func TestSplitFanOut(t *testing.T) {
	for _, tc := range []struct {
		to, grp, rest string
		ok            bool
	}{
		{"cse-in/g/fopt", "cse-in/g", "", true},
		{"cse-in/g/fopt/la", "cse-in/g", "la", true},
		{"grp123/fopt/a/b", "grp123", "a/b", true},
		{"/id-in/grp123/fopt", "/id-in/grp123", "", true},
		{"//sp/id-in/cse-in/g/fopt/x", "//sp/id-in/cse-in/g", "x", true},
		{"fopt", "", "", false},
		{"/fopt", "", "", false},
		{"cse-in/g", "", "", false},
		{"cse-in/g/fopt#lbl", "", "", false},
		{"cse-in/g/fopts", "", "", false},
	} {
		g, r, ok := splitFanOut(tc.to)
		if g != tc.grp || r != tc.rest || ok != tc.ok {
			t.Errorf("splitFanOut(%q) = %q, %q, %v; want %q, %q, %v", tc.to, g, r, ok, tc.grp, tc.rest, tc.ok)
		}
	}
}

// FuzzSplitFanOut: the group part and the rest put back together give the
// To, and the group part never ends in the separator.
func FuzzSplitFanOut(f *testing.F) {
	for _, s := range []string{"cse-in/g/fopt", "a/fopt/b/fopt/c", "//x/y/fopt", "/fopt/", "fopt/fopt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, to string) {
		g, rest, ok := splitFanOut(to)
		if !ok {
			return
		}
		back := g + "/fopt"
		if rest != "" || strings.HasSuffix(to, "/fopt/") {
			back += "/" + rest
		}
		if back != to || g == "" || strings.HasSuffix(g, "/") {
			t.Fatalf("splitFanOut(%q) = %q, %q", to, g, rest)
		}
	})
}
