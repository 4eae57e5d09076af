package store

import "github.com/onecse/onecse/resource"

// Labels is the label condition of a WalkLabeled call, for its backends.
type Labels struct {
	// Distinct are the labels asked for, each once, in their first order.
	Distinct []string
	want     map[string]bool
}

// NewLabels collects the labels of a WalkLabeled call.
func NewLabels(labels []string) Labels {
	l := Labels{want: make(map[string]bool, len(labels))}
	for _, v := range labels {
		if !l.want[v] {
			l.want[v] = true
			l.Distinct = append(l.Distinct, v)
		}
	}
	return l
}

// Match reports whether r carries one of the labels. A backend checks what
// its label index gave with it, because the copy of a resource it returns
// (from a cache) may be newer than the index entry that led to it.
func (l Labels) Match(r *resource.Resource) bool {
	for _, v := range r.Strings("lbl") {
		if l.want[v] {
			return true
		}
	}
	return false
}
