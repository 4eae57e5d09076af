package e2e

// Discovery conditions on children and parents and applyRelativePath
// (TS-0004 Table 7.3.3.17-1: chty, pty, clbl, palb, arp).

import (
	"slices"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

func TestDiscoveryRelatives(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("d")
	c.Create(aei, "/cse-in/d", 3, "m2m:cnt", map[string]any{"rn": "c1", "lbl": []any{"x"}})
	c.Create(aei, "/cse-in/d", 3, "m2m:cnt", map[string]any{"rn": "c2", "lbl": []any{"y"}})
	c.Create(aei, "/cse-in/d", 3, "m2m:cnt", map[string]any{"rn": "c3"})
	c.Create(aei, "/cse-in/d/c2", 3, "m2m:cnt", map[string]any{"rn": "sub", "lbl": []any{"z"}})
	c.Create(aei, "/cse-in/d/c1", 4, "m2m:cin", map[string]any{"rn": "i1", "con": "a"})
	c.Create(aei, "/cse-in/d/c1", 4, "m2m:cin", map[string]any{"rn": "i2", "con": "b"})
	c.Create(aei, "/cse-in/d/c2/sub", 4, "m2m:cin", map[string]any{"rn": "j1", "con": "c"})

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"chty=4", []string{"cse-in/d/c1", "cse-in/d/c2/sub"}},
		{"chty=3", []string{"cse-in/d/c2"}},
		{"chty=3+4&lvl=1", []string{"cse-in/d/c1", "cse-in/d/c2"}},
		{"pty=3&ty=3", []string{"cse-in/d/c2/sub"}},
		{"pty=2", []string{"cse-in/d/c1", "cse-in/d/c2", "cse-in/d/c3"}},
		{"clbl=z", []string{"cse-in/d/c2"}},
		{"palb=x", []string{"cse-in/d/c1/i1", "cse-in/d/c1/i2"}},
		{"palb=x+z&ty=4", []string{"cse-in/d/c1/i1", "cse-in/d/c1/i2", "cse-in/d/c2/sub/j1"}},
		{"chty=4&clbl=z&fo=2", []string{"cse-in/d/c1", "cse-in/d/c2", "cse-in/d/c2/sub"}},
		{"chty=4&lbl=x", []string{"cse-in/d/c1"}},
		{"ty=3&arp=la", []string{"cse-in/d/c1/i2", "cse-in/d/c2/sub/j1"}},
		{"ty=3&arp=ol&lbl=x", []string{"cse-in/d/c1/i1"}},
		{"ty=3&arp=sub", []string{"cse-in/d/c2/sub"}},
		{"ty=2&arp=c2/sub/la", nil},
		{"ty=3&arp=sub/la", []string{"cse-in/d/c2/sub/j1"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := aclDiscover(t, c, aei, "/cse-in/d", tc.query)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	// arp from the CSEBase level finds the AE's container by its path.
	if got := aclDiscover(t, c, admin, "/cse-in", "ty=2&arp=c2/sub/la"); !slices.Equal(got, []string{"cse-in/d/c2/sub/j1"}) {
		t.Fatalf("arp with a path: %v", got)
	}
	// Bad conditions: 4000; a condition onecse does not evaluate: 5001.
	for q, rsc := range map[string]int{
		"chty=0": 4000, "chty=abc": 4000, "pty=65536": 4000, "clbl=": 4000, "arp=..": 4000,
		"arp=/la": 4000, "arp=a//b": 4000, "lvl=0": 4000, "fo=3": 4000, "lbq=x%20LT%20y": 4000, "smf=x": 5001,
	} {
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/d?fu=1&" + q, From: aei}).Must(t, rsc)
	}
}
