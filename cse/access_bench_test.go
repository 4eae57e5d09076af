package cse

import (
	"context"
	"net/netip"
	"testing"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// benchSetup starts a core on a fresh SQLite store with an AE "Cbench", two
// policies and a container "cnt" whose acpi lists both. The reader "Creader"
// is granted RETRIEVE by the second policy only, behind a rule of the first
// that does not match, so a decision walks every rule.
func benchSetup(b *testing.B) (*CSE, *primitive.Request, *originator, *resource.Resource) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(b.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, err := New(ctx, Config{}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	do := func(op primitive.Operation, from, to string, ty int, pc map[string]any) *primitive.Response {
		n++
		req := primitive.NewRequest()
		req.Op, req.From, req.To, req.Ty, req.Content, req.RQI, req.RVI = op, from, to, ty, pc, "r"+formatInt(int64(n)), "3"
		resp := c.Handle(ctx, req)
		if resp.RSC >= 4000 {
			b.Fatalf("%s %s: %d %v", op, to, resp.RSC, resp.PC)
		}
		return resp
	}
	for _, from := range []string{"Cbench", "Creader"} {
		do(primitive.OpCreate, from, "cse-in", resource.TyAE, map[string]any{"m2m:ae": map[string]any{"rn": from, "api": "Nbench", "rr": false, "srv": []any{"3"}}})
	}
	var acpi []any
	for i, acor := range [][]any{{"Cbench", "/id-in/Cother*", "Cxyz"}, {"Cbench", "Creader"}} {
		rule := func(acor []any, acop int64) map[string]any {
			return map[string]any{"acor": acor, "acop": acop, "acco": []any{map[string]any{
				"actw": []any{"* * * * * * *"}, "acip": map[string]any{"ipv4": []any{"127.0.0.0/8"}}}}}
		}
		pv := map[string]any{"acr": []any{rule([]any{"Cbench"}, 63), rule(acor, 2|32)}}
		resp := do(primitive.OpCreate, "Cbench", "cse-in/Cbench", resource.TyACP, map[string]any{"m2m:acp": map[string]any{
			"rn": "acp" + formatInt(int64(i)), "pv": pv, "pvs": map[string]any{"acr": []any{rule([]any{"Cbench"}, 63)}}}})
		acpi = append(acpi, resp.PC["m2m:acp"].(map[string]any)["ri"])
	}
	resp := do(primitive.OpCreate, "Cbench", "cse-in/Cbench", resource.TyContainer, map[string]any{"m2m:cnt": map[string]any{"rn": "cnt", "acpi": acpi}})
	cnt := resp.PC["m2m:cnt"].(map[string]any)
	var target *resource.Resource
	if err := st.View(ctx, func(tx store.Tx) error {
		target, err = tx.Get(cnt["ri"].(string))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	req := primitive.NewRequest()
	req.Op, req.From, req.To, req.RQI = primitive.OpRetrieve, "Creader", "cse-in/Cbench/cnt", "bench"
	req.Peer.Addr = netip.MustParseAddr("127.0.0.1")
	return c, req, &originator{id: "Creader"}, target
}

// BenchmarkRetrieveDecision is one RETRIEVE decision on a container with an
// acpi of two policies, including reading both policies from the store.
func BenchmarkRetrieveDecision(b *testing.B) {
	c, req, o, target := benchSetup(b)
	chk := accessCheck{op: acp.OpRetrieve, target: target}
	err := c.st.View(context.Background(), func(tx store.Tx) error {
		b.ReportAllocs()
		for b.Loop() {
			ok, err := c.allowed(tx, req, o, chk)
			if err != nil || !ok {
				b.Fatalf("allowed = %v, %v", ok, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRetrieveDecisionEval is the same decision once the two policies
// have been read: the parsed-rules cache lookup and the rule evaluation,
// which is what the core adds to the store reads on every request.
func BenchmarkRetrieveDecisionEval(b *testing.B) {
	c, req, o, target := benchSetup(b)
	var acps []*resource.Resource
	err := c.st.View(context.Background(), func(tx store.Tx) error {
		for _, id := range target.Strings("acpi") {
			p, err := c.lookupACP(tx, id)
			if err != nil {
				return err
			}
			acps = append(acps, p)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	areq := c.acpRequest(req, o, accessCheck{op: acp.OpRetrieve, target: target})
	b.ReportAllocs()
	for b.Loop() {
		ok, err := c.decide(areq, acps, false)
		if err != nil || !ok {
			b.Fatalf("decide = %v, %v", ok, err)
		}
	}
}
