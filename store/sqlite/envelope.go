package sqlite

import (
	"math"

	"github.com/fxamacker/cbor/v2"

	"github.com/onecse/onecse/codec"
)

// The data column holds one CBOR map: the attributes ("a") and the internal
// fields clients never see ("c" creator, "o" owner, "s" the number of
// subscription children, "e" the event types they may want, "p" the core's
// private data such as a polling channel's queue).
//
// The store decodes only what it wrote itself, with codec.StoredDecMode and
// not the limits package codec puts on documents from clients: otherwise one
// unreadable resource would take every listing and discovery of its parent
// down with it.
type envelope struct {
	Attrs   map[string]any `cbor:"a"`
	Creator string         `cbor:"c,omitempty"`
	Owner   string         `cbor:"o,omitempty"`
	Subs    int            `cbor:"s,omitempty"`
	SubEv   int            `cbor:"e,omitempty"`
	Private map[string]any `cbor:"p,omitempty"`
}

var (
	envEnc cbor.EncMode
)

func init() {
	var err error
	envEnc, err = cbor.EncOptions{Sort: cbor.SortCanonical}.EncMode()
	if err != nil {
		panic(err)
	}
}

func encodeEnvelope(e *envelope) ([]byte, error) { return envEnc.Marshal(e) }

func decodeEnvelope(data []byte) (*envelope, error) {
	var e envelope
	if err := codec.StoredDecMode.Unmarshal(data, &e); err != nil {
		return nil, err
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
	return &e, nil
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
