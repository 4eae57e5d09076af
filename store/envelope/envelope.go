// Package envelope is how a store backend keeps one resource's data in one
// column: a CBOR map of the attributes ("a") and the internal fields clients
// never see ("c" creator, "o" owner, "s" the number of subscription children,
// "e" the event types they may want, "p" the core's private data such as a
// polling channel's queue). Every backend uses it, so that a resource
// round-trips the same whichever store holds it.
//
// A backend decodes only what it wrote itself, with codec.StoredDecMode and
// not the limits package codec puts on documents from clients: otherwise one
// unreadable resource would take every listing and discovery of its parent
// down with it.
package envelope

import (
	"math"

	"github.com/fxamacker/cbor/v2"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/resource"
)

type envelope struct {
	Attrs   map[string]any `cbor:"a"`
	Creator string         `cbor:"c,omitempty"`
	Owner   string         `cbor:"o,omitempty"`
	Subs    int            `cbor:"s,omitempty"`
	SubEv   int            `cbor:"e,omitempty"`
	Private map[string]any `cbor:"p,omitempty"`
}

var enc cbor.EncMode

func init() {
	var err error
	enc, err = cbor.EncOptions{Sort: cbor.SortCanonical}.EncMode()
	if err != nil {
		panic(err)
	}
}

// Encode returns the data of r (not its ri, pi, ty, path, et and seq, which a
// backend keeps in columns of their own).
func Encode(r *resource.Resource) ([]byte, error) {
	return enc.Marshal(&envelope{Attrs: r.Attrs, Creator: r.Creator, Owner: r.Owner, Subs: r.Subs, SubEv: r.SubEvents, Private: r.Private})
}

// Decode fills the fields of r that Encode kept, and r.RN from the
// attributes.
func Decode(data []byte, r *resource.Resource) error {
	var e envelope
	if err := codec.StoredDecMode.Unmarshal(data, &e); err != nil {
		return err
	}
	for k, v := range e.Attrs {
		e.Attrs[k] = canonical(v)
	}
	for k, v := range e.Private {
		e.Private[k] = canonical(v)
	}
	if e.Attrs == nil {
		e.Attrs = map[string]any{}
	}
	r.Attrs, r.Creator, r.Owner, r.Subs, r.SubEvents, r.Private = e.Attrs, e.Creator, e.Owner, e.Subs, e.SubEv, e.Private
	r.RN, _ = r.Attrs["rn"].(string)
	return nil
}

// canonical turns what CBOR decoding gives into the shape the rest of onecse
// uses (see package codec): integers are int64, uint64 only beyond int64.
func canonical(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = canonical(e)
		}
	case []any:
		for i, e := range x {
			x[i] = canonical(e)
		}
	}
	return v
}
