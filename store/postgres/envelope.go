package postgres

import (
	"math"

	"github.com/fxamacker/cbor/v2"

	"github.com/onecse/onecse/codec"
)

// The data column holds one CBOR map, the same envelope as store/sqlite's: the
// attributes ("a") and the internal fields clients never see ("c" creator,
// "o" owner, "s" the number of subscription children, "e" the event types
// they may want). It is decoded with codec.StoredDecMode (what onecse wrote
// itself), not with the limits on documents from clients.
type envelope struct {
	Attrs   map[string]any `cbor:"a"`
	Creator string         `cbor:"c,omitempty"`
	Owner   string         `cbor:"o,omitempty"`
	Subs    int            `cbor:"s,omitempty"`
	SubEv   int            `cbor:"e,omitempty"`
	// Private are internal attributes (a <pollingChannel>'s queue), as in
	// the embedded store's envelope.
	Private map[string]any `cbor:"p,omitempty"`
}

var envEnc cbor.EncMode

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
