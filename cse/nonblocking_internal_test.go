package cse

import (
	"context"
	"testing"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// TestOrphanedRequestFailed: a <request> left PENDING or PARTIALLY_COMPLETED
// by a process that ended without recording its result (a crash) is FAILED
// when a CSE starts on the store, not pending for ever.
func TestOrphanedRequestFailed(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	crashed, err := New(ctx, Config{}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.StopNonBlocking(0)
	req := primitive.NewRequest()
	req.Op, req.To, req.From, req.Ty, req.RQI, req.RVI = primitive.OpCreate, "cse-in", "Corph", 2, "1", "3"
	req.Content = map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": false, "srv": []any{"3"}}}
	if r := crashed.Handle(ctx, req); r.RSC != primitive.RSCCreated {
		t.Fatalf("register: %d %v", r.RSC, r.PC)
	}
	req = primitive.NewRequest()
	req.Op, req.To, req.From, req.RQI, req.RVI = primitive.OpRetrieve, "cse-in", "Corph", "2", "3"
	req.RT = &primitive.ResponseType{RTV: primitive.RTNonBlockingSynch}
	req.OET = time.Now().Add(time.Hour) // still waiting when the "crash" comes
	ack := crashed.Handle(ctx, req)
	if ack.RSC != primitive.RSCAcceptedNonBlockingSynch {
		t.Fatalf("ack %d %v", ack.RSC, ack.PC)
	}
	path := ack.PC["m2m:uri"].(string)
	// A second one that a fan-out had left PARTIALLY_COMPLETED.
	req.RQI = "3"
	ack = crashed.Handle(ctx, req)
	if ack.RSC != primitive.RSCAcceptedNonBlockingSynch {
		t.Fatalf("ack %d %v", ack.RSC, ack.PC)
	}
	partial := ack.PC["m2m:uri"].(string)
	err = st.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetByPath(partial)
		if err != nil {
			return err
		}
		r = r.Clone()
		r.Attrs["rs"] = int64(resource.RequestPartiallyCompleted)
		return tx.Put(r)
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := New(ctx, Config{}, st, nil); err != nil { // the next start
		t.Fatal(err)
	}
	for rqi, p := range map[string]string{"2": path, "3": partial} {
		var r *resource.Resource
		if err := st.View(ctx, func(tx store.Tx) error { r, err = tx.GetByPath(p); return err }); err != nil {
			t.Fatal(err)
		}
		ors, _ := r.Attrs["ors"].(map[string]any)
		if rs, _ := r.Int("rs"); rs != resource.RequestFailed || ors["rsc"] != int64(primitive.RSCInternalServerError) || ors["rqi"] != rqi {
			t.Fatalf("after the restart: rs %v ors %v, want 2 FAILED with 5000 for rqi %s", r.Attrs["rs"], ors, rqi)
		}
	}
}
