package e2e

import (
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// TestSmoke walks the thin slice: register an AE, create a container, add
// instances, read the latest back, deregister.
func TestSmoke(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("smoke")
	cnt := c.Create(aei, "/cse-in/smoke", 3, "m2m:cnt", map[string]any{"rn": "data"})
	if cnt["cni"] != int64(0) {
		t.Fatalf("new container cni = %v", cnt["cni"])
	}
	for _, v := range []string{"a", "b", "c"} {
		c.Create(aei, "/cse-in/smoke/data", 4, "m2m:cin", map[string]any{"con": v})
	}
	la := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/smoke/data/la", From: aei}).Must(t, 2000)
	if got := la.Res("m2m:cin")["con"]; got != "c" {
		t.Fatalf("la con = %v, want c", got)
	}
	ol := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/smoke/data/ol", From: aei}).Must(t, 2000)
	if got := ol.Res("m2m:cin")["con"]; got != "a" {
		t.Fatalf("ol con = %v, want a", got)
	}
	got := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/smoke/data", From: aei}).Must(t, 2000).Res("m2m:cnt")
	if got["cni"] != int64(3) || got["cbs"] != int64(3) {
		t.Fatalf("cni/cbs = %v/%v, want 3/3", got["cni"], got["cbs"])
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/smoke", From: aei}).Must(t, 2002)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/smoke/data", From: "CAdmin"}).Must(t, 4004)
}
