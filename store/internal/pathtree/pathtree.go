// Package pathtree is the tree of the paths a store's resource cache holds,
// so that the cache finds the resources below a deleted one by going through
// that subtree only, not through the whole cache.
package pathtree

import "strings"

// Tree records paths ("cse-in/ae1/data") with their ancestors: for a path,
// the paths one level below it that were added or have added paths below
// them. The zero Tree is not usable; use New.
type Tree struct {
	kids map[string]map[string]struct{}
}

// New returns an empty tree.
func New() *Tree { return &Tree{kids: map[string]map[string]struct{}{}} }

// Parent returns the path one level up ("" for a path without "/").
func Parent(path string) string {
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		return path[:i]
	}
	return ""
}

// Add enters path, and its ancestors, into the tree.
func (t *Tree) Add(path string) {
	for x := path; ; {
		p := Parent(x)
		if p == "" {
			return
		}
		set := t.kids[p]
		if set == nil {
			set = map[string]struct{}{}
			t.kids[p] = set
		}
		if _, ok := set[x]; ok {
			return // the ancestors are in already
		}
		set[x] = struct{}{}
		x = p
	}
}

// Remove takes path out of the tree unless held(path) or paths below it are
// in the tree; then the same for its parent, and so on up. held tells
// whether a path is still wanted for itself (still cached).
func (t *Tree) Remove(path string, held func(string) bool) {
	for x := path; ; {
		if len(t.kids[x]) > 0 || held(x) {
			return
		}
		p := Parent(x)
		if p == "" {
			return
		}
		set := t.kids[p]
		delete(set, x)
		if len(set) > 0 {
			return
		}
		delete(t.kids, p)
		x = p
	}
}

// RemoveBelow calls fn for every path in the tree below path (not path
// itself), deepest first, and takes them out of the tree; path itself then
// goes as Remove says.
func (t *Tree) RemoveBelow(path string, fn func(string), held func(string) bool) {
	var walk func(string)
	walk = func(p string) {
		for k := range t.kids[p] {
			walk(k)
			fn(k)
		}
		delete(t.kids, p)
	}
	walk(path)
	t.Remove(path, held)
}

// Children returns the paths one level below path in the tree (for tests).
func (t *Tree) Children(path string) map[string]struct{} { return t.kids[path] }

// Len is the number of paths that have paths below them in the tree.
func (t *Tree) Len() int { return len(t.kids) }

// Each calls fn for each path with paths below it, with those (for tests).
func (t *Tree) Each(fn func(path string, kids map[string]struct{})) {
	for p, k := range t.kids {
		fn(p, k)
	}
}

// Clear empties the tree.
func (t *Tree) Clear() { clear(t.kids) }
