// Package codec serialises oneM2M content as JSON or CBOR (TS-0004 8.4, 8.5).
//
// Decoded values have one canonical Go shape whatever the serialisation, so that
// validation and storage never care where a value came from: objects are
// map[string]any, arrays []any, integers int64 (uint64 only beyond int64), other
// numbers float64 (never NaN or infinite), text string, booleans bool, null nil,
// CBOR byte strings []byte.
//
// The shape survives a round trip through either serialisation and across
// them: an integer stays an integer and a number written with a fraction or an
// exponent (21.0, 2e1) stays a float, also when JSON would print it without a
// fraction. That is why JSON is encoded here rather than by encoding/json, which
// prints float64(21) as "21".
package codec

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Format is a serialisation.
type Format int

const (
	FormatNone Format = iota
	JSON
	CBOR
)

func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case CBOR:
		return "cbor"
	}
	return "none"
}

// MaxDepth bounds the nesting of decoded documents (objects and arrays, the
// top-level object counting as one), so that a hostile body cannot exhaust the
// stack or memory through nesting alone. Both serialisations apply the same
// limit.
const MaxDepth = 64

var (
	cborDec cbor.DecMode
	cborEnc cbor.EncMode
)

func init() {
	var err error
	cborDec, err = cbor.DecOptions{
		// Duplicate keys are an error, not "last one wins": two readers of one
		// document must not see two different values.
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		IndefLength:      cbor.IndefLengthAllowed,
		// oneM2M content has no tagged items (TS-0004 8.5 maps its types to
		// plain major types); forbidding tags also keeps time.Time and big.Int
		// out of the canonical shape.
		TagsMd: cbor.TagsForbidden,
		IntDec: cbor.IntDecConvertNone,
		// Maps decode straight to map[string]any: a key that is not a text
		// string fails the decode.
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
		// NaN and infinities cannot be written as JSON, and NaN is not equal to
		// itself: neither belongs in stored content.
		NaN: cbor.NaNDecodeForbidden,
		Inf: cbor.InfDecodeForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	cborEnc, err = cbor.EncOptions{Sort: cbor.SortCanonical, Time: cbor.TimeUnix}.EncMode()
	if err != nil {
		panic(err)
	}
}

// Decode parses a document into the canonical shape. The top level must be an
// object.
func Decode(f Format, data []byte) (map[string]any, error) {
	var v any
	switch f {
	case JSON:
		var err error
		if v, err = decodeJSON(data); err != nil {
			return nil, err
		}
	case CBOR:
		if err := cborDec.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("malformed CBOR: %v", err)
		}
		var err error
		if v, err = Normalize(v, 0); err != nil {
			return nil, err
		}
	default:
		return nil, ErrUnsupportedMedia
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the content must be an object")
	}
	return m, nil
}

// Normalize converts a decoded value into the canonical shape, in place where
// it can. depth is the nesting level of v (0 for a document's top level).
func Normalize(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, int64, []byte:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errors.New("NaN and infinite numbers are not allowed")
		}
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return Normalize(float64(x), depth)
	case map[string]any:
		if depth >= MaxDepth {
			return nil, fmt.Errorf("content nested deeper than %d levels", MaxDepth)
		}
		for k, e := range x {
			n, err := Normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case map[any]any:
		if depth >= MaxDepth {
			return nil, fmt.Errorf("content nested deeper than %d levels", MaxDepth)
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("object key %v is not a text string", k)
			}
			n, err := Normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[ks] = n
		}
		return m, nil
	case []any:
		if depth >= MaxDepth {
			return nil, fmt.Errorf("content nested deeper than %d levels", MaxDepth)
		}
		for i, e := range x {
			n, err := Normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case big.Int, *big.Int:
		return nil, errors.New("integer out of range")
	case cbor.Tag, cbor.RawTag:
		return nil, errors.New("CBOR tags are not allowed in oneM2M content")
	case cbor.SimpleValue:
		return nil, fmt.Errorf("CBOR simple value %d is not allowed", x)
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// Encode serialises v.
func Encode(f Format, v any) ([]byte, error) {
	switch f {
	case CBOR:
		return cborEnc.Marshal(v)
	default:
		return encodeJSON(v)
	}
}
