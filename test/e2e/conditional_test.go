package e2e

// UPDATE and DELETE with filter criteria (TS-0001 8.1.2): the operation is
// carried out only when its target meets them; otherwise 4004 and nothing
// changes.

import (
	"fmt"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

func TestConditionalUpdateDelete(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("cond")
	c.Create(aei, "/cse-in/cond", 3, "m2m:cnt", map[string]any{"rn": "c1", "lbl": []any{"room:1"}, "mni": 5})
	c.Create(aei, "/cse-in/cond/c1", 4, "m2m:cin", map[string]any{"rn": "i1", "con": "a", "lbl": []any{"old"}})
	c.Create(aei, "/cse-in/cond/c1", 4, "m2m:cin", map[string]any{"rn": "i2", "con": "b"})
	mni := func() any {
		return c.Do(testcse.Req{Method: "GET", Path: "/cse-in/cond/c1", From: aei}).Must(t, 2000).Res("m2m:cnt")["mni"]
	}
	exists := func(path string) bool {
		return c.Do(testcse.Req{Method: "GET", Path: path, From: aei}).RSC == 2000
	}
	upd := func(q string) *testcse.Resp {
		return c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/cond/c1" + q, From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 7}}})
	}

	// UPDATE: a label the container does not have leaves it as it was.
	upd("?lbl=room:2").Must(t, 4004)
	if got := fmt.Sprint(mni()); got != "5" {
		t.Fatalf("mni after a non-matching conditional UPDATE = %v, want 5", got)
	}
	upd("?fu=1&lbl=room:1").Must(t, 4000) // discovery is for RETRIEVE
	if got := fmt.Sprint(mni()); got != "5" {
		t.Fatalf("mni after a conditional UPDATE with fu=1 = %v, want 5", got)
	}
	upd("?lbl=room:1&ty=3").Must(t, 2004)
	if got := fmt.Sprint(mni()); got != "7" {
		t.Fatalf("mni after a matching conditional UPDATE = %v, want 7", got)
	}

	// DELETE: the same rule, also through the virtual resources.
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1/i1?lbl=new", From: aei}).Must(t, 4004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1/ol?lbl=new", From: aei}).Must(t, 4004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1/la?lbl=old", From: aei}).Must(t, 4004) // la is i2
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1?ty=4", From: aei}).Must(t, 4004)
	if !exists("/cse-in/cond/c1/i1") || !exists("/cse-in/cond/c1/i2") {
		t.Fatal("a non-matching conditional DELETE deleted something")
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1/ol?lbl=old", From: aei}).Must(t, 2002)
	if exists("/cse-in/cond/c1/i1") || !exists("/cse-in/cond/c1/i2") {
		t.Fatal("a matching conditional DELETE of ol did not delete exactly i1")
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1?cty=text/plain", From: aei}).Must(t, 4004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/cond/c1?lbl=room:1", From: aei}).Must(t, 2002)
	if exists("/cse-in/cond/c1") {
		t.Fatal("a matching conditional DELETE left the container")
	}
}
