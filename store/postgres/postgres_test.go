package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/postgres/pgtest"
	"github.com/onecse/onecse/store/storetest"
)

func open(t testing.TB, dsn, schema string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{DSN: dsn, Schema: schema, PoolSize: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestConformance runs the shared store suite, each store in a schema of its
// own (a "dir" of the suite maps to one schema), dropped at the end.
func TestConformance(t *testing.T) {
	dsn := pgtest.DSN(t)
	var mu sync.Mutex
	schemas := map[string]string{}
	storetest.RunPersistent(t, func(t *testing.T, dir string) store.Store {
		mu.Lock()
		sc, ok := schemas[dir]
		if !ok {
			sc = pgtest.Schema(t, dsn)
			schemas[dir] = sc
		}
		mu.Unlock()
		return open(t, dsn, sc)
	})
}
