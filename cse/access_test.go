package cse

import (
	"context"
	"testing"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store/sqlite"
)

// TestACPCacheSameTimestamp updates a policy twice within one clock tick: the
// parsed-rules cache is keyed by lastModifiedTime, so the second version must
// still get a later one, or the cache would keep deciding with the first.
func TestACPCacheSameTimestamp(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(ctx, Config{}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	c.now = func() time.Time { return frozen }
	n := 0
	do := func(op primitive.Operation, from, to string, ty int, pc map[string]any) *primitive.Response {
		t.Helper()
		n++
		req := primitive.NewRequest()
		req.Op, req.From, req.To, req.Ty, req.Content, req.RQI, req.RVI = op, from, to, ty, pc, "r"+formatInt(int64(n)), "3"
		return c.Handle(ctx, req)
	}
	must := func(r *primitive.Response, rsc primitive.RSC) {
		t.Helper()
		if r.RSC != rsc {
			t.Fatalf("want %d, got %d: %v", rsc, r.RSC, r.PC)
		}
	}
	for _, ae := range []string{"Cowner", "Creader"} {
		must(do(primitive.OpCreate, ae, "cse-in", resource.TyAE, map[string]any{"m2m:ae": map[string]any{"rn": ae, "api": "Nt", "rr": false, "srv": []any{"3"}}}), primitive.RSCCreated)
	}
	pv := func(acor ...any) map[string]any {
		return map[string]any{"acr": []any{map[string]any{"acor": acor, "acop": int64(2)}}}
	}
	resp := do(primitive.OpCreate, "Cowner", "cse-in/Cowner", resource.TyACP, map[string]any{"m2m:acp": map[string]any{
		"rn": "acp", "pv": pv("Cowner"), "pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"Cowner"}, "acop": int64(63)}}}}})
	must(resp, primitive.RSCCreated)
	ri := resp.PC["m2m:acp"].(map[string]any)["ri"]
	must(do(primitive.OpCreate, "Cowner", "cse-in/Cowner", resource.TyContainer, map[string]any{"m2m:cnt": map[string]any{"rn": "cnt", "acpi": []any{ri}}}), primitive.RSCCreated)

	for i, tc := range []struct {
		acor []any
		rsc  primitive.RSC
	}{{[]any{"Cowner"}, primitive.RSCOriginatorHasNoPrivilege}, {[]any{"Creader"}, primitive.RSCOK}, {[]any{"Cowner"}, primitive.RSCOriginatorHasNoPrivilege}, {[]any{"all"}, primitive.RSCOK}} {
		if i > 0 {
			must(do(primitive.OpUpdate, "Cowner", "cse-in/Cowner/acp", 0, map[string]any{"m2m:acp": map[string]any{"pv": pv(tc.acor...)}}), primitive.RSCUpdated)
		}
		must(do(primitive.OpRetrieve, "Creader", "cse-in/Cowner/cnt", 0, nil), tc.rsc)
	}
}
