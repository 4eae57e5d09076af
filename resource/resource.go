// Package resource defines the oneM2M resource types onecse serves: for each
// type a table of its attributes (short name, value type, presence on CREATE and
// UPDATE) and the checks that follow from it. A type registers itself with its
// table; adding a type is adding a file. Behaviour that needs the store (counters,
// AE-ID assignment, ...) lives in the core, which looks types up here.
package resource

import (
	"maps"
	"time"

	"github.com/onecse/onecse/primitive"
)

// Resource types (m2m:resourceType, TS-0004 Table 6.3.4.2.1-1).
const (
	TyACP          = 1
	TyAE           = 2
	TyContainer    = 3
	TyCIN          = 4
	TyCSEBase      = 5
	TyGroup        = 9
	TyPollingCh    = 15
	TyRemoteCSE    = 16
	TyRequest      = 17
	TySubscription = 23
	TyFlexCont     = 28
	TyTimeSeries   = 29
)

// Resource is one stored resource. Attrs holds every attribute by short name,
// including the universal ones (ty, ri, rn, pi, ct, lt, et); the struct fields
// mirror the ones the core and the store use all the time, plus internal data
// that is never shown to clients.
type Resource struct {
	Ty   int
	RI   string
	PI   string
	RN   string
	Path string // structured CSE-relative address, e.g. "cse-in/ae1/cnt1"
	// Creator is the originator that created the resource. It is kept even when
	// the client did not ask for the cr attribute, because the default access
	// rule of a resource without acpi grants its creator access (TS-0001 9.6.1.3.2).
	Creator string
	// Owner is the AE-ID of the <AE> this resource sits under ("" above any AE):
	// an AE has full rights on its own subtree unless an acpi says otherwise.
	Owner string
	// Subs is the number of <subscription> children, kept by the core so that
	// a change to a resource without subscribers costs no look-up for them;
	// SubEvents has bit 1<<n set when one of them may want notificationEventType
	// n (a superset: bits are cleared only when Subs drops to 0).
	Subs      int
	SubEvents int
	// ET is the expiration time (zero: never expires).
	ET time.Time
	// Seq orders siblings by creation (store-assigned, monotonically increasing).
	Seq   int64
	Attrs map[string]any
	// Private holds data of the core that clients never see (the queue of a
	// <pollingChannel>); like Attrs, its values are replaced, never changed
	// in place.
	Private map[string]any
}

// Clone returns a copy whose Attrs map can be changed without touching r.
// Attribute values are shared: values are replaced, never mutated in place.
func (r *Resource) Clone() *Resource {
	c := *r
	c.Attrs = maps.Clone(r.Attrs)
	c.Private = maps.Clone(r.Private)
	return &c
}

// Int returns an integer attribute (0, false when absent or not an integer).
func (r *Resource) Int(sn string) (int64, bool) {
	v, ok := r.Attrs[sn].(int64)
	return v, ok
}

// Str returns a string attribute.
func (r *Resource) Str(sn string) string {
	s, _ := r.Attrs[sn].(string)
	return s
}

// Bool returns a boolean attribute.
func (r *Resource) Bool(sn string) bool {
	b, _ := r.Attrs[sn].(bool)
	return b
}

// Strings returns a list-of-string attribute.
func (r *Resource) Strings(sn string) []string { return StringList(r.Attrs[sn]) }

// StringList returns the strings of a decoded list value (others are skipped;
// a value that is not a list gives an empty list).
func StringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Representation returns the attributes a client may see, wrapped in the
// type's key ({"m2m:cnt": {...}}). attrs limits it to those names when non-nil.
func (r *Resource) Representation(attrs []string) map[string]any {
	key := Key(r.Ty)
	if attrs == nil {
		return map[string]any{key: r.Attrs}
	}
	sub := make(map[string]any, len(attrs))
	for _, a := range attrs {
		if v, ok := r.Attrs[a]; ok {
			sub[a] = v
		}
	}
	return map[string]any{key: sub}
}

// SetTime stores a timestamp attribute in m2m:timestamp form.
func (r *Resource) SetTime(sn string, t time.Time) { r.Attrs[sn] = primitive.FormatTime(t) }
