package cse

import (
	"context"
	"testing"

	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// commitHook calls after once each Update has committed, before the caller
// learns of it: the first instant other readers can see what it wrote.
type commitHook struct {
	store.Store
	after func()
}

func (h *commitHook) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := h.Store.Update(ctx, fn)
	if err == nil && h.after != nil {
		h.after()
	}
	return err
}

// TestRegistrarRouteBeforeCSR: the moment the local <remoteCSE> of the
// registrar can be read, requests can be routed through it. A client that
// saw the registree registered used to get 4004 "no route to the CSE" until
// the routing table was reloaded after the commit.
func TestRegistrarRouteBeforeCSR(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hook := &commitHook{Store: st}
	cfg := Config{CSEID: "/id-mn", CSEName: "cse-mn", SPID: "//onecse.example", CSEType: TypeMN}
	cfg.Registrar = Registrar{URL: "http://127.0.0.1:9/", CSEID: "/id-in", Name: "cse-in"}
	c, err := New(context.Background(), cfg, hook, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.routeTable().registrar != nil {
		t.Fatal("a registrar route before registering")
	}
	checked := false
	hook.after = func() {
		checked = true
		rt := c.routeTable()
		if rt.registrar == nil || rt.registrar.csi != "/id-in" || rt.byCSI["/id-in"] == nil {
			t.Errorf("the registrar's <remoteCSE> is committed but not routed: %+v", rt)
		}
	}
	cb := map[string]any{"rn": "cse-in", "csi": "/id-in", "cst": int64(1), "poa": []any{"http://127.0.0.1:9/"}}
	if err := c.createRegistrarCSR(context.Background(), cb); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("no commit seen")
	}
	hook.after = nil
	// The reload from the store keeps it.
	if err := c.reloadRoutes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rt := c.routeTable(); rt.registrar == nil || rt.registrar.ri != "id-in" {
		t.Fatalf("after the reload: %+v", rt)
	}
}
