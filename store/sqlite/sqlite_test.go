package sqlite

import (
	"context"
	"fmt"
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
