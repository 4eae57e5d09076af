package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/resource"

	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/storetest"
)

func open(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestConformance runs the shared store suite, with synchronous=NORMAL (as
// the durability level does not change what the suite checks) and with FULL.
func TestConformance(t *testing.T) {
	for _, sync := range []string{"normal", "full"} {
		t.Run(sync, func(t *testing.T) {
			storetest.RunPersistent(t, func(t *testing.T, dir string) store.Store {
				return open(t, dir, Options{Sync: sync})
			})
		})
	}
}

// TestClientLimitsRoundTrip: whatever the codec accepts from a client must
// read back from the store. A content nested as deep as the JSON decoder
// allows used to be stored but not readable (the store decoded with the
// client limits, one level short because of its envelope), which made `la`
// and every discovery above it answer 5000.
func TestClientLimitsRoundTrip(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: "normal"})
	defer s.Close()
	ctx := context.Background()
	accepted := 0
	for n := codec.MaxDepth - 4; n <= codec.MaxDepth+1; n++ {
		for _, inner := range []string{"", "{}", `"x"`, "1"} {
			body := `{"m2m:cin":{"con":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}}`
			doc, err := codec.Decode(codec.JSON, []byte(body))
			if err != nil {
				continue // refused at the door: never reaches the store
			}
			accepted++
			attrs := doc["m2m:cin"].(map[string]any)
			ri := fmt.Sprintf("cin-%d-%d", n, len(inner))
			r := &resource.Resource{Ty: 4, RI: ri, PI: "cnt", Path: "cse-in/cnt/" + ri, Attrs: attrs}
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(r) }); err != nil {
				t.Fatalf("depth %d %q: Create: %v", n, inner, err)
			}
			got, err := getRI(s, ri)
			if err != nil {
				t.Fatalf("depth %d %q: stored but not readable: %v", n, inner, err)
			}
			if !reflect.DeepEqual(got.Attrs, attrs) {
				t.Fatalf("depth %d %q: read back %v", n, inner, got.Attrs)
			}
		}
	}
	if accepted == 0 {
		t.Fatal("the codec accepted none of the documents: the test checks nothing")
	}
}

// TestLabelsMigration: a database written before the labels table existed
// (user_version 0, no label rows) gets the labels of its resources indexed
// when it is opened, so that discovery by label finds them.
func TestLabelsMigration(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir, Options{Sync: "normal"})
	err := s.Update(ctx, func(tx store.Tx) error {
		for i, lbl := range [][]any{{"a", "b"}, nil, {"b"}} {
			ri := fmt.Sprintf("cnt%d", i)
			r := &resource.Resource{Ty: 3, RI: ri, PI: "cb", Path: "cse-in/" + ri, Attrs: map[string]any{"rn": ri}}
			if lbl != nil {
				r.Attrs["lbl"] = lbl
			}
			if err := tx.Create(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Make it look like an older onecse wrote it.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "onecse.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM labels; PRAGMA user_version = 0"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = open(t, dir, Options{Sync: "normal"})
	defer s.Close()
	var got []string
	err = s.View(ctx, func(tx store.Tx) error {
		return tx.WalkLabeled("cse-in", []string{"b"}, nil, func(r *resource.Resource) bool {
			got = append(got, r.Path)
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cse-in/cnt0", "cse-in/cnt2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration WalkLabeled(b) = %v, want %v", got, want)
	}
}
