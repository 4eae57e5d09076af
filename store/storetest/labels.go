package storetest

import (
	"slices"
	"testing"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// labelled builds a resource carrying the labels lbl.
func labelled(ty int, ri, pi, path string, lbl ...string) *resource.Resource {
	r := newRes(ty, ri, pi, path)
	if lbl != nil {
		l := make([]any, len(lbl))
		for i, v := range lbl {
			l[i] = v
		}
		r.Attrs["lbl"] = l
	}
	return r
}

// labelTree creates a small tree whose resources carry labels, and returns
// the resources by path.
func labelTree(t *testing.T, s store.Store) map[string]*resource.Resource {
	t.Helper()
	rs := []*resource.Resource{
		labelled(resource.TyAE, "ae1", "cb", "cse-in/ae1", "site:a", "x"),
		labelled(resource.TyContainer, "c1", "ae1", "cse-in/ae1/c1", "x"),
		labelled(resource.TyCIN, "i1", "c1", "cse-in/ae1/c1/i1", "x", "y"),
		labelled(resource.TyCIN, "i2", "c1", "cse-in/ae1/c1/i2"),
		labelled(resource.TyCIN, "i3", "c1", "cse-in/ae1/c1/i3", "y"),
		labelled(resource.TyContainer, "c2", "ae1", "cse-in/ae1/c2", "site:a", "x y", "ünïcode"),
		labelled(resource.TyAE, "ae2", "cb", "cse-in/ae2", "x"),
		labelled(resource.TyContainer, "c3", "ae2", "cse-in/ae2/c3", "y"),
		// A sibling whose path shares the prefix "cse-in/ae1" must not be
		// found below cse-in/ae1.
		labelled(resource.TyAE, "ae1x", "cb", "cse-in/ae1x", "x", "y"),
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.Create(r); err != nil {
				return err
			}
		}
		return nil
	})
	m := map[string]*resource.Resource{}
	for _, r := range rs {
		m[r.Path] = r
	}
	return m
}

func walkLabeled(t *testing.T, tx store.Tx, path string, labels []string, types []int, stop int) []string {
	t.Helper()
	var got []string
	err := tx.WalkLabeled(path, labels, types, func(r *resource.Resource) bool {
		got = append(got, r.Path)
		return stop == 0 || len(got) < stop
	})
	if err != nil {
		t.Fatalf("WalkLabeled(%s, %q, %v): %v", path, labels, types, err)
	}
	return got
}

func testWalkLabeled(t *testing.T, s store.Store) {
	tree := labelTree(t, s)
	cases := []struct {
		path   string
		labels []string
		types  []int
		stop   int
		want   []string
	}{
		{"cse-in", []string{"x"}, nil, 0, []string{"cse-in/ae1", "cse-in/ae1/c1", "cse-in/ae1/c1/i1", "cse-in/ae1x", "cse-in/ae2"}},
		{"cse-in/ae1", []string{"x"}, nil, 0, []string{"cse-in/ae1/c1", "cse-in/ae1/c1/i1"}},
		// Several labels: any of them, each resource once, in path order.
		{"cse-in/ae1", []string{"y", "x"}, nil, 0, []string{"cse-in/ae1/c1", "cse-in/ae1/c1/i1", "cse-in/ae1/c1/i3"}},
		{"cse-in", []string{"y", "x", "y"}, []int{resource.TyCIN}, 0, []string{"cse-in/ae1/c1/i1", "cse-in/ae1/c1/i3"}},
		{"cse-in", []string{"x"}, []int{resource.TyAE, resource.TyContainer}, 0, []string{"cse-in/ae1", "cse-in/ae1/c1", "cse-in/ae1x", "cse-in/ae2"}},
		{"cse-in", []string{"x"}, nil, 2, []string{"cse-in/ae1", "cse-in/ae1/c1"}},
		// Labels match whole: "x y" is one label, "site" is not "site:a".
		{"cse-in", []string{"x y"}, nil, 0, []string{"cse-in/ae1/c2"}},
		{"cse-in", []string{"site"}, nil, 0, nil},
		{"cse-in", []string{"site:a"}, nil, 0, []string{"cse-in/ae1", "cse-in/ae1/c2"}},
		{"cse-in", []string{"ünïcode"}, nil, 0, []string{"cse-in/ae1/c2"}},
		{"cse-in", []string{"nothing"}, nil, 0, nil},
		{"cse-in", nil, nil, 0, nil},
		{"cse-in/ae1/c1/i1", []string{"x", "y"}, nil, 0, nil},
	}
	check := func(when string) {
		t.Helper()
		err := s.View(ctx, func(tx store.Tx) error {
			for _, tc := range cases {
				got := walkLabeled(t, tx, tc.path, tc.labels, tc.types, tc.stop)
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s: WalkLabeled(%s, %q, %v, stop %d) = %v, want %v", when, tc.path, tc.labels, tc.types, tc.stop, got, tc.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after create")
	// What is found is the resource as stored.
	err := s.View(ctx, func(tx store.Tx) error {
		return tx.WalkLabeled("cse-in/ae1", []string{"y"}, nil, func(r *resource.Resource) bool {
			mustSame(t, "WalkLabeled "+r.Path, r, tree[r.Path])
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	// Changing the labels moves the resource between the answers; deleting
	// a subtree takes its resources out of them.
	mustUpdate(t, s, func(tx store.Tx) error {
		r, err := tx.Get("i1")
		if err != nil {
			return err
		}
		r.Attrs["lbl"] = []any{"z"}
		if err := tx.Put(r); err != nil {
			return err
		}
		r, err = tx.Get("i2")
		if err != nil {
			return err
		}
		r.Attrs["lbl"] = []any{"x"}
		if err := tx.Put(r); err != nil {
			return err
		}
		r, err = tx.Get("ae2")
		if err != nil {
			return err
		}
		_, err = tx.DeleteTree(r)
		return err
	})
	cases = []struct {
		path   string
		labels []string
		types  []int
		stop   int
		want   []string
	}{
		{"cse-in", []string{"x"}, nil, 0, []string{"cse-in/ae1", "cse-in/ae1/c1", "cse-in/ae1/c1/i2", "cse-in/ae1x"}},
		{"cse-in", []string{"z"}, nil, 0, []string{"cse-in/ae1/c1/i1"}},
		{"cse-in", []string{"y"}, nil, 0, []string{"cse-in/ae1/c1/i3", "cse-in/ae1x"}},
	}
	check("after put and delete")
	// A resource whose labels are removed altogether is found by none.
	mustUpdate(t, s, func(tx store.Tx) error {
		r, err := tx.Get("i1")
		if err != nil {
			return err
		}
		delete(r.Attrs, "lbl")
		return tx.Put(r)
	})
	cases = cases[1:2]
	cases[0].want = nil
	check("after the labels were removed")
}

// testWalkLabeledInUpdate: inside an Update, WalkLabeled sees that
// transaction's own creates, label changes and deletes.
func testWalkLabeledInUpdate(t *testing.T, s store.Store) {
	labelTree(t, s)
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Create(labelled(resource.TyCIN, "i4", "c1", "cse-in/ae1/c1/i4", "x")); err != nil {
			return err
		}
		r, err := tx.Get("i3")
		if err != nil {
			return err
		}
		r.Attrs["lbl"] = []any{"x"}
		if err := tx.Put(r); err != nil {
			return err
		}
		r, err = tx.Get("i1")
		if err != nil {
			return err
		}
		if _, err := tx.DeleteTree(r); err != nil {
			return err
		}
		got := walkLabeled(t, tx, "cse-in/ae1", []string{"x"}, nil, 0)
		want := []string{"cse-in/ae1/c1", "cse-in/ae1/c1/i3", "cse-in/ae1/c1/i4"}
		if !slices.Equal(got, want) {
			t.Errorf("WalkLabeled in the Update = %v, want %v", got, want)
		}
		return nil
	})
}
