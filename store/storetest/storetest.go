// Package storetest is the conformance suite that every store backend must
// pass: store/sqlite (the embedded default) now, store/postgres later. A
// backend's test calls Run (or RunPersistent when its data outlives Close):
//
//	func TestConformance(t *testing.T) {
//		storetest.RunPersistent(t, func(t *testing.T, dir string) store.Store { ... })
//	}
//
// The suite states the contract of store.Store and store.Tx as tests, so a new
// backend is done when it passes, and a change to the contract is a change here.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Run runs the suite. open must return a new, empty store for each call; the
// suite closes it (Close is called more than once, which must be harmless).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// RunPersistent runs the suite and, in addition, the tests of a backend whose
// data outlives Close. open(t, dir) opens the store kept in dir (a directory
// for an embedded backend; a server backend maps it to a database or schema of
// its own): called again with the same dir after Close, it must find
// everything that was committed.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Helper()
	Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
	for _, tc := range persistentTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			reopen := func(t *testing.T) store.Store {
				s := open(t, dir)
				t.Cleanup(func() { s.Close() })
				return s
			}
			tc.fn(t, reopen)
		})
	}
}

var tests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"GetMissing", testGetMissing},
	{"CreateGet", testCreateGet},
	{"CreateExists", testCreateExists},
	{"CreateExistsKeepsTxUsable", testCreateExistsKeepsTxUsable},
	{"Put", testPut},
	{"PutMissing", testPutMissing},
	{"DeleteTree", testDeleteTree},
	{"DeleteTreeMissing", testDeleteTreeMissing},
	{"Children", testChildren},
	{"ChildrenSeq", testChildrenSeq},
	{"SeqNeverReused", testSeqNeverReused},
	{"Walk", testWalk},
	{"WalkLabeled", testWalkLabeled},
	{"WalkLabeledInUpdate", testWalkLabeledInUpdate},
	{"Expired", testExpired},
	{"RoundTrip", testRoundTrip},
	{"ReadOnlyView", testReadOnlyView},
	{"FailedUpdateLeavesNothing", testFailedUpdate},
	{"PanicInUpdate", testPanicInUpdate},
	{"ViewSeesCommitted", testViewSeesCommitted},
	{"GroupCommitIsolation", testGroupCommitIsolation},
	{"CancelDuringUpdate", testCancelDuringUpdate},
	{"CounterSerializable", testCounter},
	{"Closed", testClosed},
}

var persistentTests = []struct {
	name string
	fn   func(t *testing.T, reopen func(t *testing.T) store.Store)
}{
	{"ReopenKeepsEverything", testReopen},
	{"CloseDuringUpdates", testCloseDuringUpdates},
}

// ---- helpers ----

var ctx = context.Background()

// newRes builds a resource at path whose parent has the ID pi.
func newRes(ty int, ri, pi, path string) *resource.Resource {
	rn := path[strings.LastIndexByte(path, '/')+1:]
	return &resource.Resource{
		Ty: ty, RI: ri, PI: pi, RN: rn, Path: path, Creator: "C" + ri, Owner: "Cowner",
		Attrs: map[string]any{"rn": rn, "ri": ri, "pi": pi, "ty": int64(ty)},
	}
}

// mustUpdate runs fn in an Update and fails the test on error.
func mustUpdate(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// create stores rs, in one transaction, setting their Seq.
func create(t *testing.T, s store.Store, rs ...*resource.Resource) {
	t.Helper()
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.Create(r); err != nil {
				return fmt.Errorf("create %s: %w", r.Path, err)
			}
		}
		return nil
	})
}

func get(t *testing.T, s store.Store, ri string) (*resource.Resource, error) {
	t.Helper()
	var r *resource.Resource
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = tx.Get(ri)
		return err
	})
	return r, err
}

func mustGet(t *testing.T, s store.Store, ri string) *resource.Resource {
	t.Helper()
	r, err := get(t, s, ri)
	if err != nil {
		t.Fatalf("Get %s: %v", ri, err)
	}
	return r
}

func mustBeGone(t *testing.T, s store.Store, ris ...string) {
	t.Helper()
	for _, ri := range ris {
		if r, err := get(t, s, ri); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get %s = %v, %v; want ErrNotFound", ri, r, err)
		}
	}
}

// same reports how got differs from want ("" when equal): every field,
// including Seq and the expiration time.
func same(got, want *resource.Resource) string {
	var d []string
	if got.Ty != want.Ty || got.RI != want.RI || got.PI != want.PI || got.RN != want.RN || got.Path != want.Path {
		d = append(d, fmt.Sprintf("ty/ri/pi/rn/path %d %q %q %q %q, want %d %q %q %q %q",
			got.Ty, got.RI, got.PI, got.RN, got.Path, want.Ty, want.RI, want.PI, want.RN, want.Path))
	}
	if got.Creator != want.Creator || got.Owner != want.Owner || got.Subs != want.Subs || got.SubEvents != want.SubEvents {
		d = append(d, fmt.Sprintf("creator/owner/subs/subevents %q %q %d %d, want %q %q %d %d", got.Creator, got.Owner, got.Subs, got.SubEvents, want.Creator, want.Owner, want.Subs, want.SubEvents))
	}
	if !reflect.DeepEqual(got.Private, want.Private) && (len(got.Private) > 0 || len(want.Private) > 0) {
		d = append(d, fmt.Sprintf("private %v, want %v", got.Private, want.Private))
	}
	if !got.ET.Equal(want.ET) {
		d = append(d, fmt.Sprintf("et %v, want %v", got.ET, want.ET))
	}
	if got.Seq != want.Seq {
		d = append(d, fmt.Sprintf("seq %d, want %d", got.Seq, want.Seq))
	}
	if !reflect.DeepEqual(got.Attrs, want.Attrs) {
		d = append(d, fmt.Sprintf("attrs %#v, want %#v", got.Attrs, want.Attrs))
	}
	return strings.Join(d, "; ")
}

func mustSame(t *testing.T, what string, got, want *resource.Resource) {
	t.Helper()
	if d := same(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

func ris(rs []*resource.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RI
	}
	return out
}

// ---- Get, Create, Put ----

func testGetMissing(t *testing.T, s store.Store) {
	create(t, s, newRes(5, "base", "", "cse-in"))
	err := s.View(ctx, func(tx store.Tx) error {
		if r, err := tx.Get("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(nope) = %v, %v; want ErrNotFound", r, err)
		}
		if r, err := tx.GetByPath("cse-in/nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetByPath(cse-in/nope) = %v, %v; want ErrNotFound", r, err)
		}
		// A path is not an ID, nor an ID a path.
		if r, err := tx.Get("cse-in"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(cse-in) = %v, %v; want ErrNotFound", r, err)
		}
		if r, err := tx.GetByPath("base"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetByPath(base) = %v, %v; want ErrNotFound", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testCreateGet(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	ae := newRes(2, "Cae1", "base", "cse-in/ae1")
	ae.ET = time.Date(2031, 2, 3, 4, 5, 6, 789000, time.UTC)
	create(t, s, base, ae)
	if base.Seq == 0 || ae.Seq == 0 || ae.Seq <= base.Seq {
		t.Fatalf("Create set Seq %d and %d: want non-zero and increasing", base.Seq, ae.Seq)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		for _, want := range []*resource.Resource{base, ae} {
			got, err := tx.Get(want.RI)
			if err != nil {
				return err
			}
			mustSame(t, "Get "+want.RI, got, want)
			got, err = tx.GetByPath(want.Path)
			if err != nil {
				return err
			}
			mustSame(t, "GetByPath "+want.Path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// What Get returns belongs to the caller: changing it changes nothing stored.
	got := mustGet(t, s, "Cae1")
	got.Attrs["lbl"] = []any{"changed"}
	mustSame(t, "after changing a returned copy", mustGet(t, s, "Cae1"), ae)
	// Reads inside the writing transaction see its own writes.
	mustUpdate(t, s, func(tx store.Tx) error {
		cnt := newRes(3, "cnt1", "Cae1", "cse-in/ae1/cnt1")
		if err := tx.Create(cnt); err != nil {
			return err
		}
		got, err := tx.GetByPath("cse-in/ae1/cnt1")
		if err != nil {
			return fmt.Errorf("own write not visible: %w", err)
		}
		mustSame(t, "own write", got, cnt)
		return nil
	})
}

func testCreateExists(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	ae := newRes(2, "Cae1", "base", "cse-in/ae1")
	create(t, s, base, ae)
	for _, tc := range []struct {
		name string
		r    *resource.Resource
	}{
		{"same ri", newRes(2, "Cae1", "base", "cse-in/other")},
		{"same path", newRes(2, "Cother", "base", "cse-in/ae1")},
		{"same ri and path", newRes(2, "Cae1", "base", "cse-in/ae1")},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(tc.r) })
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("%s: Create = %v, want ErrExists", tc.name, err)
		}
	}
	mustSame(t, "original after duplicates", mustGet(t, s, "Cae1"), ae)
	mustBeGone(t, s, "Cother")
	err := s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetByPath("cse-in/other"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetByPath(cse-in/other) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The core retries a Create with another generated name after ErrExists in
// the same transaction, so a failed Create must leave the transaction usable.
func testCreateExistsKeepsTxUsable(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	create(t, s, base, cnt)
	first := newRes(4, "cin1", "cnt", "cse-in/cnt/cin1")
	second := newRes(4, "cin2", "cnt", "cse-in/cnt/cin1") // same path: must fail
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(first); err != nil {
			return err
		}
		if err := tx.Create(second); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("second Create = %v, want ErrExists", err)
		}
		second.Path, second.RN, second.Attrs["rn"] = "cse-in/cnt/cin2", "cin2", "cin2"
		if err := tx.Create(second); err != nil {
			return fmt.Errorf("Create after ErrExists: %w", err)
		}
		return tx.Put(cnt)
	})
	mustSame(t, "first", mustGet(t, s, "cin1"), first)
	mustSame(t, "second", mustGet(t, s, "cin2"), second)
	if second.Seq <= first.Seq {
		t.Errorf("Seq %d after %d: want increasing", second.Seq, first.Seq)
	}
}

func testPut(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	cnt.Attrs["cni"] = int64(0)
	cnt.ET = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	create(t, s, base, cnt)

	upd := cnt.Clone()
	upd.Attrs["cni"] = int64(7)
	upd.Attrs["lbl"] = []any{"a", "b"}
	delete(upd.Attrs, "ri")
	upd.ET = time.Date(2032, 6, 7, 8, 9, 10, 123456000, time.UTC)
	upd.Creator, upd.Owner = "Cnew", "Cnewowner"
	upd.Private = map[string]any{"q": []any{map[string]any{"op": int64(5), "pc": map[string]any{"m2m:sgn": map[string]any{"vrq": true}}}}}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Put(upd) })
	got := mustGet(t, s, "cnt")
	mustSame(t, "after Put", got, upd)
	if got.Seq != cnt.Seq {
		t.Errorf("Put changed Seq %d → %d", cnt.Seq, got.Seq)
	}
	// Clearing the expiration time.
	upd2 := upd.Clone()
	upd2.ET = time.Time{}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Put(upd2) })
	mustSame(t, "after clearing et", mustGet(t, s, "cnt"), upd2)
	// Put does not create a second resource, and the path still finds it.
	err := s.View(ctx, func(tx store.Tx) error {
		kids, err := tx.Children("base", store.ChildQuery{})
		if err != nil {
			return err
		}
		if len(kids) != 1 {
			t.Errorf("children after Put: %v, want [cnt]", ris(kids))
		}
		r, err := tx.GetByPath("cse-in/cnt")
		if err != nil {
			return err
		}
		mustSame(t, "GetByPath after Put", r, upd2)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPutMissing(t *testing.T, s store.Store) {
	create(t, s, newRes(5, "base", "", "cse-in"))
	ghost := newRes(3, "ghost", "base", "cse-in/ghost")
	err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ghost) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Put of a missing resource = %v, want ErrNotFound", err)
	}
	mustBeGone(t, s, "ghost")
}

// ---- DeleteTree ----

// tree is a registration tree whose names share prefixes, including the
// characters that sort next to '/' ('.' before it, '0' after it) and the LIKE
// wildcards '_' and '%', so that a backend deleting or walking "by prefix"
// gets caught.
var treePaths = []string{
	"cse-in",
	"cse-in/a",
	"cse-in/ae",
	"cse-in/ae1",
	"cse-in/ae1/cnt",
	"cse-in/ae1/cnt/cin1",
	"cse-in/ae1/cnt/cin2",
	"cse-in/ae1/cnt/sub",
	"cse-in/ae1/cnt2",
	"cse-in/ae1/ünïcødé",
	"cse-in/ae1/ünïcødé/x",
	"cse-in/ae1-x",
	"cse-in/ae1.x",
	"cse-in/ae10",
	"cse-in/ae10/cnt",
	"cse-in/ae1x",
	"cse-in/ae1x/cnt",
	"cse-in/ae_1",
	"cse-in/ae_1/cnt",
	"cse-in/ae%1",
	"cse-in/aeX1",
	"cse-in/b",
}

// treeTypes gives the tree a mix of types for the filters.
func treeType(path string) int {
	switch {
	case path == "cse-in":
		return resource.TyCSEBase
	case strings.HasSuffix(path, "/sub"):
		return resource.TySubscription
	case strings.Contains(path, "/cin"):
		return resource.TyCIN
	case strings.Count(path, "/") == 1:
		return resource.TyAE
	}
	return resource.TyContainer
}

// pathRI turns a path into a resource ID (IDs and paths are different names).
func pathRI(path string) string { return "id:" + path }

// makeTree creates treePaths (in this order, parents first) and returns them
// by path.
func makeTree(t *testing.T, s store.Store) map[string]*resource.Resource {
	t.Helper()
	m := map[string]*resource.Resource{}
	var rs []*resource.Resource
	for _, p := range treePaths {
		pi := ""
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			pi = pathRI(p[:i])
		}
		r := newRes(treeType(p), pathRI(p), pi, p)
		m[p] = r
		rs = append(rs, r)
	}
	create(t, s, rs...)
	return m
}

// below returns the tree paths strictly below p.
func below(p string) []string {
	var out []string
	for _, q := range treePaths {
		if strings.HasPrefix(q, p+"/") {
			out = append(out, q)
		}
	}
	return out
}

func testDeleteTree(t *testing.T, s store.Store) {
	for _, del := range []string{"cse-in/ae1", "cse-in/ae_1", "cse-in/ae1/cnt/cin2", "cse-in/ae1/ünïcødé", "cse-in/a"} {
		t.Run(strings.ReplaceAll(del, "/", "|"), func(t *testing.T) {
			// Each case starts again from the whole tree.
			mustUpdate(t, s, func(tx store.Tx) error {
				for _, p := range treePaths {
					if _, err := tx.DeleteTree(newRes(0, "", "", p)); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
				}
				return nil
			})
			tree := makeTree(t, s)
			gone := append([]string{del}, below(del)...)
			var n int
			mustUpdate(t, s, func(tx store.Tx) error {
				var err error
				n, err = tx.DeleteTree(tree[del])
				return err
			})
			if n != len(gone) {
				t.Errorf("DeleteTree(%s) = %d, want %d (%v)", del, n, len(gone), gone)
			}
			err := s.View(ctx, func(tx store.Tx) error {
				for _, p := range treePaths {
					wantGone := slices.Contains(gone, p)
					r, err := tx.GetByPath(p)
					switch {
					case wantGone && !errors.Is(err, store.ErrNotFound):
						t.Errorf("after DeleteTree(%s): GetByPath(%s) = %v, want ErrNotFound", del, p, err)
					case !wantGone && err != nil:
						t.Errorf("after DeleteTree(%s): GetByPath(%s) = %v, want it kept", del, p, err)
					case !wantGone:
						mustSame(t, "kept "+p, r, tree[p])
					}
					_, err = tx.Get(pathRI(p))
					if wantGone != errors.Is(err, store.ErrNotFound) {
						t.Errorf("after DeleteTree(%s): Get(%s) = %v, gone=%v", del, pathRI(p), err, wantGone)
					}
				}
				// Nothing deleted is listed as a child any more.
				for _, p := range treePaths {
					kids, err := tx.Children(pathRI(p), store.ChildQuery{})
					if err != nil {
						return err
					}
					for _, k := range kids {
						if slices.Contains(gone, k.Path) {
							t.Errorf("Children(%s) lists deleted %s", p, k.Path)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func testDeleteTreeMissing(t *testing.T, s store.Store) {
	makeTree(t, s)
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.DeleteTree(newRes(3, "id:cse-in/ae1/zz", "id:cse-in/ae1", "cse-in/ae1/zz"))
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteTree of a missing resource = %v, want ErrNotFound", err)
	}
	var n int
	err = s.View(ctx, func(tx store.Tx) error {
		return tx.Walk("cse-in", nil, func(*resource.Resource) bool { n++; return true })
	})
	if err != nil || n != len(treePaths)-1 {
		t.Errorf("after DeleteTree of a missing resource: %d resources below cse-in (%v), want %d", n, err, len(treePaths)-1)
	}
}

// ---- Children ----

func testChildren(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	other := newRes(3, "other", "base", "cse-in/other")
	create(t, s, base, cnt, other)
	// 12 children of mixed types, created over several transactions, with
	// names that do not sort in creation order; plus children of another
	// parent and a grandchild, which must never show up.
	types := []int{4, 4, 23, 4, 3, 4, 23, 4, 4, 3, 4, 23}
	var kids []*resource.Resource
	for i, ty := range types {
		name := fmt.Sprintf("k%02d", (i*7)%len(types))
		r := newRes(ty, fmt.Sprintf("kid%02d", i), "cnt", "cse-in/cnt/"+name)
		kids = append(kids, r)
		noise := newRes(ty, fmt.Sprintf("noise%02d", i), "other", "cse-in/other/"+name)
		create(t, s, r, noise)
	}
	create(t, s, newRes(4, "grandkid", "kid04", "cse-in/cnt/"+kids[4].RN+"/gk"))

	sel := func(tys ...int) []*resource.Resource {
		var out []*resource.Resource
		for _, k := range kids {
			if len(tys) == 0 || slices.Contains(tys, k.Ty) {
				out = append(out, k)
			}
		}
		return out
	}
	rev := func(in []*resource.Resource) []*resource.Resource {
		out := slices.Clone(in)
		slices.Reverse(out)
		return out
	}
	window := func(in []*resource.Resource, off, lim int) []*resource.Resource {
		if off >= len(in) {
			return nil
		}
		in = in[off:]
		if lim > 0 && lim < len(in) {
			in = in[:lim]
		}
		return in
	}
	cases := []struct {
		name string
		q    store.ChildQuery
		want []*resource.Resource
	}{
		{"all", store.ChildQuery{}, kids},
		{"one type", store.ChildQuery{Types: []int{4}}, sel(4)},
		{"one type absent", store.ChildQuery{Types: []int{2}}, nil},
		{"two types", store.ChildQuery{Types: []int{3, 23}}, sel(3, 23)},
		{"two types reversed", store.ChildQuery{Types: []int{23, 3}}, sel(3, 23)},
		{"three types", store.ChildQuery{Types: []int{4, 3, 23}}, kids},
		{"type present and absent", store.ChildQuery{Types: []int{2, 23}}, sel(23)},
		{"limit", store.ChildQuery{Limit: 5}, kids[:5]},
		{"limit above count", store.ChildQuery{Limit: 100}, kids},
		{"offset", store.ChildQuery{Offset: 4}, kids[4:]},
		{"offset at end", store.ChildQuery{Offset: len(kids)}, nil},
		{"offset beyond", store.ChildQuery{Offset: 100}, nil},
		{"offset limit", store.ChildQuery{Offset: 3, Limit: 4}, kids[3:7]},
		{"newest", store.ChildQuery{Newest: true}, rev(kids)},
		{"newest limit 1 (la)", store.ChildQuery{Types: []int{4}, Newest: true, Limit: 1}, rev(sel(4))[:1]},
		{"oldest limit 1 (ol)", store.ChildQuery{Types: []int{4}, Limit: 1}, sel(4)[:1]},
		{"newest offset limit", store.ChildQuery{Newest: true, Offset: 2, Limit: 3}, rev(kids)[2:5]},
		{"one type offset limit", store.ChildQuery{Types: []int{4}, Offset: 2, Limit: 3}, window(sel(4), 2, 3)},
		{"one type newest offset", store.ChildQuery{Types: []int{4}, Newest: true, Offset: 5}, window(rev(sel(4)), 5, 0)},
		{"two types offset limit", store.ChildQuery{Types: []int{3, 23}, Offset: 1, Limit: 3}, window(sel(3, 23), 1, 3)},
		{"two types newest offset limit", store.ChildQuery{Types: []int{3, 23}, Newest: true, Offset: 1, Limit: 2}, window(rev(sel(3, 23)), 1, 2)},
		{"two types offset beyond", store.ChildQuery{Types: []int{3, 23}, Offset: 5}, nil},
	}
	err := s.View(ctx, func(tx store.Tx) error {
		for _, tc := range cases {
			got, err := tx.Children("cnt", tc.q)
			if err != nil {
				return fmt.Errorf("%s: %w", tc.name, err)
			}
			if !slices.Equal(ris(got), ris(tc.want)) {
				t.Errorf("%s: Children(cnt, %+v) = %v, want %v", tc.name, tc.q, ris(got), ris(tc.want))
				continue
			}
			for i := range got {
				mustSame(t, tc.name, got[i], tc.want[i])
			}
		}
		got, err := tx.Children("nobody", store.ChildQuery{})
		if err != nil || len(got) != 0 {
			t.Errorf("Children of an unknown parent = %v, %v; want none", ris(got), err)
		}
		// The CSEBase has the empty parent ID; it is found as its child.
		got, err = tx.Children("", store.ChildQuery{Types: []int{5}})
		if err != nil || !slices.Equal(ris(got), []string{"base"}) {
			t.Errorf("Children(\"\", ty 5) = %v, %v; want [base]", ris(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Inside an Update, children created in the same transaction are listed.
	mustUpdate(t, s, func(tx store.Tx) error {
		r := newRes(4, "late", "cnt", "cse-in/cnt/a-late")
		if err := tx.Create(r); err != nil {
			return err
		}
		got, err := tx.Children("cnt", store.ChildQuery{Types: []int{4}, Newest: true, Limit: 1})
		if err != nil {
			return err
		}
		if !slices.Equal(ris(got), []string{"late"}) {
			t.Errorf("la inside the creating transaction = %v, want [late]", ris(got))
		}
		return nil
	})
}

// Seq orders siblings by creation across transactions, and creation order is
// what Children returns whatever the names.
func testChildrenSeq(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	create(t, s, base)
	var want []string
	var last int64
	for i := range 30 {
		r := newRes(4, fmt.Sprintf("c%02d", i), "base", fmt.Sprintf("cse-in/z%02d", 30-i))
		if i%3 == 0 {
			create(t, s, r) // alone
		} else {
			create(t, s, r, newRes(3, fmt.Sprintf("x%02d", i), "elsewhere", fmt.Sprintf("elsewhere/%02d", i)))
		}
		if r.Seq <= last {
			t.Fatalf("Seq %d after %d: not increasing", r.Seq, last)
		}
		last = r.Seq
		want = append(want, r.RI)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		got, err := tx.Children("base", store.ChildQuery{Types: []int{4}})
		if err != nil {
			return err
		}
		if !slices.Equal(ris(got), want) {
			t.Errorf("Children in creation order = %v, want %v", ris(got), want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Errorf("Seq not increasing: %d then %d", got[i-1].Seq, got[i].Seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A Seq is never handed out twice, not even after the newest resource was
// deleted: a Seq identifies one creation for good (so a cursor or a cached
// "latest" cannot mistake a new resource for a deleted one).
func testSeqNeverReused(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	a := newRes(4, "a", "base", "cse-in/a")
	b := newRes(4, "b", "base", "cse-in/b")
	create(t, s, base, a, b)
	mustUpdate(t, s, func(tx store.Tx) error { _, err := tx.DeleteTree(b); return err })
	c := newRes(4, "c", "base", "cse-in/c")
	create(t, s, c)
	if c.Seq <= b.Seq {
		t.Errorf("Seq %d after the deleted newest had %d: reused", c.Seq, b.Seq)
	}
	// Also within one transaction.
	d := newRes(4, "d", "base", "cse-in/d")
	e := newRes(4, "e", "base", "cse-in/e")
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(d); err != nil {
			return err
		}
		if _, err := tx.DeleteTree(d); err != nil {
			return err
		}
		return tx.Create(e)
	})
	if e.Seq <= d.Seq {
		t.Errorf("Seq %d after %d (deleted in the same transaction): reused", e.Seq, d.Seq)
	}
}

// ---- Walk ----

func testWalk(t *testing.T, s store.Store) {
	tree := makeTree(t, s)
	sorted := slices.Clone(treePaths)
	sort.Strings(sorted)
	under := func(p string, tys ...int) []string {
		var out []string
		for _, q := range sorted {
			if strings.HasPrefix(q, p+"/") && (len(tys) == 0 || slices.Contains(tys, tree[q].Ty)) {
				out = append(out, q)
			}
		}
		return out
	}
	cases := []struct {
		path  string
		types []int
		stop  int // stop after this many (0: never)
		want  []string
	}{
		{"cse-in", nil, 0, under("cse-in")},
		{"cse-in/ae1", nil, 0, under("cse-in/ae1")},
		{"cse-in/ae1", []int{resource.TyCIN}, 0, under("cse-in/ae1", resource.TyCIN)},
		{"cse-in/ae1", []int{resource.TyCIN, resource.TySubscription}, 0, under("cse-in/ae1", resource.TyCIN, resource.TySubscription)},
		{"cse-in", []int{resource.TyAE}, 0, under("cse-in", resource.TyAE)},
		{"cse-in", []int{resource.TyGroup}, 0, nil},
		{"cse-in/ae_1", nil, 0, []string{"cse-in/ae_1/cnt"}},
		{"cse-in/ae1/cnt/cin1", nil, 0, nil},
		{"cse-in/nothing", nil, 0, nil},
		{"cse-in", nil, 3, under("cse-in")[:3]},
		{"cse-in", []int{resource.TyContainer}, 1, under("cse-in", resource.TyContainer)[:1]},
		// Subscriptions alone (the core looks for them below a resource it deletes).
		{"cse-in", []int{resource.TySubscription}, 0, under("cse-in", resource.TySubscription)},
		{"cse-in/ae1/cnt", []int{resource.TySubscription}, 0, []string{"cse-in/ae1/cnt/sub"}},
		{"cse-in/ae1", []int{resource.TySubscription}, 0, under("cse-in/ae1", resource.TySubscription)},
		{"cse-in/ae1x", []int{resource.TySubscription}, 0, nil},
		{"cse-in/ae1/cnt/sub", []int{resource.TySubscription}, 0, nil},
	}
	err := s.View(ctx, func(tx store.Tx) error {
		for _, tc := range cases {
			var got []string
			err := tx.Walk(tc.path, tc.types, func(r *resource.Resource) bool {
				got = append(got, r.Path)
				if want, ok := tree[r.Path]; ok {
					mustSame(t, "Walk "+r.Path, r, want)
				}
				return tc.stop == 0 || len(got) < tc.stop
			})
			if err != nil {
				return fmt.Errorf("Walk(%s, %v): %w", tc.path, tc.types, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Walk(%s, %v, stop %d) = %v, want %v", tc.path, tc.types, tc.stop, got, tc.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Walk inside an Update sees that transaction's writes, and the callback
	// may read while walking.
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(newRes(4, "id:new", pathRI("cse-in/ae10/cnt"), "cse-in/ae10/cnt/new")); err != nil {
			return err
		}
		var got []string
		err := tx.Walk("cse-in/ae10", nil, func(r *resource.Resource) bool {
			if _, err := tx.Get(r.PI); err != nil {
				t.Errorf("Get inside Walk: %v", err)
			}
			got = append(got, r.Path)
			return true
		})
		if want := []string{"cse-in/ae10/cnt", "cse-in/ae10/cnt/new"}; !slices.Equal(got, want) {
			t.Errorf("Walk inside Update = %v, want %v", got, want)
		}
		return err
	})
	// The same for a walk over subscriptions only: one created and one
	// deleted in this transaction.
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(newRes(resource.TySubscription, "id:newsub", pathRI("cse-in/ae10/cnt"), "cse-in/ae10/cnt/sub")); err != nil {
			return err
		}
		if _, err := tx.DeleteTree(tree["cse-in/ae1/cnt/sub"]); err != nil {
			return err
		}
		var got []string
		err := tx.Walk("cse-in", []int{resource.TySubscription}, func(r *resource.Resource) bool {
			got = append(got, r.Path)
			return true
		})
		var want []string
		for _, p := range under("cse-in", resource.TySubscription) {
			if p != "cse-in/ae1/cnt/sub" {
				want = append(want, p)
			}
		}
		want = append(want, "cse-in/ae10/cnt/sub")
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("subscription Walk inside Update = %v, want %v", got, want)
		}
		return err
	})
}

// ---- Expired ----

func testExpired(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	now := time.Date(2030, 5, 5, 12, 0, 0, 0, time.UTC)
	// Created in an order unrelated to their expiration.
	ets := map[string]time.Time{
		"e3":    now.Add(-1 * time.Second),
		"e1":    now.Add(-48 * time.Hour),
		"never": {},
		"e2":    now.Add(-time.Hour),
		"late":  now.Add(time.Hour),
		"exact": now, // not before now
		"e4":    now.Add(-time.Microsecond),
		"e0":    time.Date(2029, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	names := []string{"e3", "e1", "never", "e2", "late", "exact", "e4", "e0"}
	rs := []*resource.Resource{base}
	for _, n := range names {
		r := newRes(3, n, "base", "cse-in/"+n)
		r.ET = ets[n]
		rs = append(rs, r)
	}
	create(t, s, rs...)
	// One whose expiration is changed by a Put, and one deleted.
	mustUpdate(t, s, func(tx store.Tx) error {
		r, err := tx.Get("late")
		if err != nil {
			return err
		}
		r.ET = now.Add(-30 * time.Minute)
		if err := tx.Put(r); err != nil {
			return err
		}
		r, err = tx.Get("e2")
		if err != nil {
			return err
		}
		_, err = tx.DeleteTree(r)
		return err
	})
	want := []string{"e0", "e1", "late", "e3", "e4"}
	err := s.View(ctx, func(tx store.Tx) error {
		for _, lim := range []int{100, len(want), 2, 1} {
			got, err := tx.Expired(now, lim)
			if err != nil {
				return err
			}
			w := want[:min(lim, len(want))]
			if !slices.Equal(ris(got), w) {
				t.Errorf("Expired(now, %d) = %v, want %v", lim, ris(got), w)
			}
			for _, r := range got {
				if !r.ET.Before(now) {
					t.Errorf("Expired returned %s with et %v", r.RI, r.ET)
				}
			}
		}
		got, err := tx.Expired(ets["e0"], 10)
		if err != nil || len(got) != 0 {
			t.Errorf("Expired(earliest et) = %v, %v; want none", ris(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ---- values ----

func testRoundTrip(t *testing.T, s store.Store) {
	create(t, s, newRes(5, "base", "", "cse-in"))
	// Every value of the canonical shape (see package codec).
	values := map[string]any{
		"int":       int64(42),
		"neg":       int64(-7),
		"zero":      int64(0),
		"maxint":    int64(math.MaxInt64),
		"minint":    int64(math.MinInt64),
		"bigu":      uint64(math.MaxUint64),
		"bigu2":     uint64(math.MaxInt64) + 1,
		"float":     0.1,
		"floatint":  3.0, // stays a float64
		"floatneg":  -2.5e-300,
		"floatbig":  1.7976931348623157e308,
		"str":       "plain",
		"empty":     "",
		"unicode":   "grüße 漢字 🙂 \u200d\t\n\"\\",
		"nul":       "a\x00b",
		"badutf8":   "a\xffb\xc3", // not UTF-8: a Go string still
		"true":      true,
		"false":     false,
		"nil":       nil,
		"bytes":     []byte{0, 1, 2, 0xff, 0xfe},
		"emptybyte": []byte{},
		"list":      []any{int64(1), "two", 3.5, nil, true, []any{}, map[string]any{}},
		"emptylist": []any{},
		"emptymap":  map[string]any{},
		"nested": map[string]any{
			"m2m:x": map[string]any{"a": []any{map[string]any{"b": []any{int64(1), uint64(math.MaxUint64), []byte("x")}}}},
			"ü":     "v",
			"":      "empty key",
		},
	}
	// Deeper than codec.MaxDepth: what the codec accepts at its limit, the
	// store nests one level further in its own envelope, so the store must
	// not impose a depth limit of its own.
	deep := any(map[string]any{})
	for range 40 {
		deep = map[string]any{"d": []any{deep}}
	}
	values["deep"] = deep

	r := newRes(28, "flex", "base", "cse-in/flëx 漢")
	r.Creator, r.Owner = "Cgrüße\xff", "S🙂"
	r.Subs, r.SubEvents = 3, 1<<1|1<<4
	r.ET = time.Date(2031, 12, 31, 23, 59, 59, 999999000, time.UTC)
	for k, v := range values {
		r.Attrs[k] = v
	}
	create(t, s, r)
	got := mustGet(t, s, "flex")
	mustSame(t, "round trip", got, r)
	for k, v := range values {
		if reflect.TypeOf(got.Attrs[k]) != reflect.TypeOf(v) {
			t.Errorf("%s: type %T, want %T", k, got.Attrs[k], v)
		}
	}
	if b, _ := got.Attrs["bytes"].([]byte); !bytes.Equal(b, values["bytes"].([]byte)) {
		t.Errorf("bytes = %v", got.Attrs["bytes"])
	}
	// And after a Put.
	got.Attrs["str"] = "changed"
	got.Subs, got.SubEvents = 0, 0
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Put(got) })
	mustSame(t, "after Put", mustGet(t, s, "flex"), got)
	// An empty attribute map comes back empty, not nil (callers write into it).
	bare := &resource.Resource{Ty: 3, RI: "bare", PI: "base", Path: "cse-in/bare", Attrs: map[string]any{}}
	create(t, s, bare)
	if g := mustGet(t, s, "bare"); g.Attrs == nil {
		t.Error("empty Attrs came back nil")
	}
}

// ---- View and Update semantics ----

func testReadOnlyView(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	create(t, s, base, cnt)
	err := s.View(ctx, func(tx store.Tx) error {
		if err := tx.Create(newRes(3, "new", "base", "cse-in/new")); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Create in View = %v, want ErrReadOnly", err)
		}
		c := cnt.Clone()
		c.Attrs["x"] = "y"
		if err := tx.Put(c); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Put in View = %v, want ErrReadOnly", err)
		}
		if _, err := tx.DeleteTree(cnt); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("DeleteTree in View = %v, want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, s, "new")
	mustSame(t, "after writes in View", mustGet(t, s, "cnt"), cnt)
}

var errFail = errors.New("caller fails on purpose")

func testFailedUpdate(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	cnt.Attrs["cni"] = int64(1)
	cin := newRes(4, "cin", "cnt", "cse-in/cnt/cin")
	create(t, s, base, cnt, cin)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Create(newRes(4, "cin2", "cnt", "cse-in/cnt/cin2")); err != nil {
			return err
		}
		c := cnt.Clone()
		c.Attrs["cni"] = int64(99)
		if err := tx.Put(c); err != nil {
			return err
		}
		if _, err := tx.DeleteTree(cin); err != nil {
			return err
		}
		if err := tx.Create(newRes(3, "cnt2", "base", "cse-in/cnt2")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errFail)
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	mustBeGone(t, s, "cin2", "cnt2")
	mustSame(t, "cnt", mustGet(t, s, "cnt"), cnt)
	mustSame(t, "cin", mustGet(t, s, "cin"), cin)
	// The store goes on working, and the names are free.
	create(t, s, newRes(4, "cin2", "cnt", "cse-in/cnt/cin2"))
}

func testPanicInUpdate(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	create(t, s, base)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Create(newRes(3, "p", "base", "cse-in/p")); err != nil {
			return err
		}
		var m map[string]int
		m["boom"]++ // panics
		return nil
	})
	if err == nil {
		t.Fatal("Update whose function panics returned nil")
	}
	mustBeGone(t, s, "p")
	create(t, s, newRes(3, "p", "base", "cse-in/p"))
}

func testViewSeesCommitted(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	create(t, s, base)
	// Every Update that returned is visible to the next View, from any goroutine.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				r := newRes(4, fmt.Sprintf("g%d-%d", g, i), "base", fmt.Sprintf("cse-in/g%d-%d", g, i))
				r.Attrs["n"] = int64(i)
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(r) }); err != nil {
					t.Error(err)
					return
				}
				got, err := get(t, s, r.RI)
				if err != nil {
					t.Errorf("just committed %s: %v", r.RI, err)
					return
				}
				if d := same(got, r); d != "" {
					t.Errorf("just committed %s: %s", r.RI, d)
				}
			}
		}()
	}
	wg.Wait()
}

// Many concurrent Updates, so that a backend that commits in groups puts
// several in one commit: the ones that fail (by error, by panic, by a
// duplicate) leave nothing, the others are all kept.
func testGroupCommitIsolation(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	shared := newRes(3, "shared", "base", "cse-in/shared")
	shared.Attrs["n"] = int64(0)
	create(t, s, base, shared)
	const n = 300
	type outcome int
	const (
		ok outcome = iota
		fail
		panics
		dupThenOK // hits ErrExists, then goes on and commits
	)
	kind := func(i int) outcome { return outcome(i % 4) }
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				r := newRes(4, fmt.Sprintf("r%03d", i), "base", fmt.Sprintf("cse-in/r%03d", i))
				if err := tx.Create(r); err != nil {
					return err
				}
				sh, err := tx.Get("shared")
				if err != nil {
					return err
				}
				c, _ := sh.Int("n")
				sh.Attrs["n"] = c + 1
				if err := tx.Put(sh); err != nil {
					return err
				}
				switch kind(i) {
				case fail:
					return errFail
				case panics:
					panic("on purpose")
				case dupThenOK:
					if err := tx.Create(newRes(4, "r000", "base", "cse-in/x")); !errors.Is(err, store.ErrExists) {
						return fmt.Errorf("duplicate ri: %v, want ErrExists", err)
					}
					if err := tx.Create(newRes(4, fmt.Sprintf("extra%03d", i), "base", fmt.Sprintf("cse-in/extra%03d", i))); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	// r000 must exist before the dupThenOK callers look for it.
	mustUpdate(t, s, func(tx store.Tx) error {
		return tx.Create(newRes(4, "r000", "base", "cse-in/r000"))
	})
	close(start)
	wg.Wait()
	wantN := int64(0)
	for i := range n {
		k := kind(i)
		err := errs[i]
		switch {
		case i == 0:
			// r000 was created before: this caller's Create fails.
			if !errors.Is(err, store.ErrExists) {
				t.Errorf("caller 0: %v, want ErrExists", err)
			}
			continue
		case k == ok || k == dupThenOK:
			if err != nil {
				t.Errorf("caller %d (%d): %v", i, k, err)
				continue
			}
			wantN++
		case k == fail:
			if !errors.Is(err, errFail) {
				t.Errorf("caller %d: %v, want errFail", i, err)
			}
		case k == panics:
			if err == nil {
				t.Errorf("caller %d panicked but Update returned nil", i)
			}
		}
	}
	err := s.View(ctx, func(tx store.Tx) error {
		for i := 1; i < n; i++ {
			k := kind(i)
			_, err := tx.Get(fmt.Sprintf("r%03d", i))
			kept := err == nil
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if wantKept := k == ok || k == dupThenOK; kept != wantKept {
				t.Errorf("caller %d (%d): kept=%v, want %v", i, k, kept, wantKept)
			}
			_, err = tx.Get(fmt.Sprintf("extra%03d", i))
			if (err == nil) != (k == dupThenOK) {
				t.Errorf("caller %d (%d): extra: %v", i, k, err)
			}
		}
		sh, err := tx.Get("shared")
		if err != nil {
			return err
		}
		if got, _ := sh.Int("n"); got != wantN {
			t.Errorf("shared counter = %d, want %d (one per successful caller)", got, wantN)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A caller whose context ends while its function runs either commits all of
// its writes (Update returns nil) or none (Update returns an error), and the
// callers committed with it are not affected.
func testCancelDuringUpdate(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	big := newRes(3, "big", "base", "cse-in/big")
	create(t, s, base, big)
	// A subtree large enough that deleting it takes a while.
	const kids = 3000
	mustUpdate(t, s, func(tx store.Tx) error {
		for i := range kids {
			if err := tx.Create(newRes(4, fmt.Sprintf("k%05d", i), "big", fmt.Sprintf("cse-in/big/k%05d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	const others = 40
	var wg sync.WaitGroup
	errs := make([]error, others)
	cctx, cancel := context.WithCancel(ctx)
	var cancelErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		cancelErr = s.Update(cctx, func(tx store.Tx) error {
			if err := tx.Create(newRes(3, "marker", "base", "cse-in/marker")); err != nil {
				return err
			}
			go func() { time.Sleep(200 * time.Microsecond); cancel() }()
			if _, err := tx.DeleteTree(big); err != nil {
				return err
			}
			return tx.Create(newRes(3, "marker2", "base", "cse-in/marker2"))
		})
	}()
	for i := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				return tx.Create(newRes(3, fmt.Sprintf("o%02d", i), "base", fmt.Sprintf("cse-in/o%02d", i)))
			})
		}()
	}
	wg.Wait()
	cancel()
	for i, err := range errs {
		if err != nil {
			t.Errorf("other caller %d: %v", i, err)
		}
		if _, err := get(t, s, fmt.Sprintf("o%02d", i)); err != nil {
			t.Errorf("other caller %d: its write: %v", i, err)
		}
	}
	_, mErr := get(t, s, "marker")
	_, m2Err := get(t, s, "marker2")
	var left int
	err := s.View(ctx, func(tx store.Tx) error {
		kids, err := tx.Children("big", store.ChildQuery{})
		left = len(kids)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, bigErr := get(t, s, "big")
	if cancelErr == nil {
		if mErr != nil || m2Err != nil || bigErr == nil || left != 0 {
			t.Errorf("cancelled caller returned nil but its writes are not all kept: marker %v, marker2 %v, big %v, %d children left", mErr, m2Err, bigErr, left)
		}
	} else {
		if mErr == nil || m2Err == nil || bigErr != nil || left != kids {
			t.Errorf("cancelled caller returned %v but writes are kept: marker %v, marker2 %v, big %v, %d children left", cancelErr, mErr, m2Err, bigErr, left)
		}
	}
	t.Logf("cancelled caller: %v", cancelErr)
}

// Read-modify-write of one counter from many goroutines: writes are
// serialisable, so no increment is lost.
func testCounter(t *testing.T, s store.Store) {
	base := newRes(5, "base", "", "cse-in")
	cnt := newRes(3, "cnt", "base", "cse-in/cnt")
	cnt.Attrs["cni"] = int64(0)
	create(t, s, base, cnt)
	const goroutines, each = 16, 40
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx store.Tx) error {
					c, err := tx.Get("cnt")
					if err != nil {
						return err
					}
					n, _ := c.Int("cni")
					c.Attrs["cni"] = n + 1
					return tx.Put(c)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := mustGet(t, s, "cnt").Int("cni"); n != goroutines*each {
		t.Errorf("counter = %d, want %d", n, goroutines*each)
	}
}

// within fails the test if fn does not return within d (a hang is a failure,
// not a test timeout ten minutes later).
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func testClosed(t *testing.T, s store.Store) {
	create(t, s, newRes(5, "base", "", "cse-in"))
	within(t, 10*time.Second, "Close", func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	within(t, 10*time.Second, "Update and View after Close", func() {
		// Many times: an implementation that races the closed check against
		// queueing the work would pass once by luck.
		for i := range 100 {
			ran := false
			err := s.Update(ctx, func(tx store.Tx) error { ran = true; return nil })
			if !errors.Is(err, store.ErrClosed) || ran {
				t.Errorf("Update %d after Close = %v (ran %v), want ErrClosed", i, err, ran)
				return
			}
			ran = false
			err = s.View(ctx, func(tx store.Tx) error { ran = true; return nil })
			if !errors.Is(err, store.ErrClosed) || ran {
				t.Errorf("View %d after Close = %v (ran %v), want ErrClosed", i, err, ran)
				return
			}
		}
	})
	within(t, 10*time.Second, "a second Close", func() { s.Close() })
}

// ---- persistence ----

func testReopen(t *testing.T, reopen func(t *testing.T) store.Store) {
	s := reopen(t)
	tree := makeTree(t, s)
	flex := newRes(28, "flex", pathRI("cse-in"), "cse-in/flex")
	flex.ET = time.Date(2033, 3, 3, 3, 3, 3, 3000, time.UTC)
	flex.Attrs["v"] = map[string]any{"n": []any{int64(-1), 2.5, uint64(math.MaxUint64), []byte{9}, nil, "ü"}}
	create(t, s, flex)
	// Delete the newest, so a reopened store must remember the Seq it gave out.
	mustUpdate(t, s, func(tx store.Tx) error { _, err := tx.DeleteTree(flex); return err })
	create(t, s, flex) // the same again, with a new Seq
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.DeleteTree(tree["cse-in/ae10"])
		return err
	})
	// A failed Update just before Close leaves nothing either.
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Create(newRes(3, "doomed", pathRI("cse-in"), "cse-in/doomed")); err != nil {
			return err
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("failing Update = %v", err)
	}
	maxSeq := flex.Seq
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = reopen(t)
	err = s.View(ctx, func(tx store.Tx) error {
		for _, p := range treePaths {
			r, err := tx.GetByPath(p)
			if p == "cse-in/ae10" || strings.HasPrefix(p, "cse-in/ae10/") {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("deleted %s after reopen: %v", p, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s after reopen: %v", p, err)
				continue
			}
			mustSame(t, p+" after reopen", r, tree[p])
		}
		r, err := tx.Get("flex")
		if err != nil {
			return err
		}
		mustSame(t, "flex after reopen", r, flex)
		if _, err := tx.Get("doomed"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("failed Update's write after reopen: %v", err)
		}
		kids, err := tx.Children(pathRI("cse-in"), store.ChildQuery{Newest: true, Limit: 1})
		if err != nil {
			return err
		}
		if !slices.Equal(ris(kids), []string{"flex"}) {
			t.Errorf("newest child after reopen = %v, want [flex]", ris(kids))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	next := newRes(3, "next", pathRI("cse-in"), "cse-in/next")
	create(t, s, next)
	if next.Seq <= maxSeq {
		t.Errorf("Seq after reopen %d, want above %d", next.Seq, maxSeq)
	}
}

// Close while Updates are in flight: every Update either returns nil and is
// found after reopening, or returns an error and left nothing.
func testCloseDuringUpdates(t *testing.T, reopen func(t *testing.T) store.Store) {
	s := reopen(t)
	create(t, s, newRes(5, "base", "", "cse-in"))
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				return tx.Create(newRes(3, fmt.Sprintf("w%03d", i), "base", fmt.Sprintf("cse-in/w%03d", i)))
			})
		}()
	}
	time.Sleep(time.Millisecond)
	within(t, 20*time.Second, "Close with Updates in flight", func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	s = reopen(t)
	acked := 0
	for i, e := range errs {
		_, err := get(t, s, fmt.Sprintf("w%03d", i))
		switch {
		case e == nil && err != nil:
			t.Errorf("Update %d returned nil, but after reopen: %v", i, err)
		case e != nil && err == nil:
			t.Errorf("Update %d returned %v, but its write is kept", i, e)
		case e != nil && !errors.Is(e, store.ErrClosed):
			t.Errorf("Update %d during Close: %v, want nil or ErrClosed", i, e)
		}
		if e == nil {
			acked++
		}
	}
	t.Logf("%d of %d Updates committed before Close", acked, n)
}
