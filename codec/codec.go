// Package codec serialises oneM2M content as JSON or CBOR (TS-0004 8.4, 8.5).
//
// Decoded values have one canonical Go shape whatever the serialisation, so that
// validation and storage never care where a value came from: objects are
// map[string]any, arrays []any, integers int64 (uint64 only beyond int64), other
// numbers float64, text string, booleans bool, null nil, CBOR byte strings []byte.
package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"

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

// MediaInfo is what a Content-Type (or Accept entry) says.
type MediaInfo struct {
	Format Format
	// OneM2M is true for the application/vnd.onem2m-* types.
	OneM2M bool
	// Kind is "res", "ntfy", "preq" or "prsp" for the oneM2M types.
	Kind string
	// Ty is the ty= parameter (0 when absent, -1 when present but invalid).
	Ty int
}

// ErrUnsupportedMedia means the media type is not one onecse speaks.
var ErrUnsupportedMedia = errors.New("unsupported media type")

// ParseMediaType interprets a Content-Type value such as
// "application/json;ty=3" or "application/vnd.onem2m-res+cbor; ty=4".
func ParseMediaType(v string) (MediaInfo, error) {
	var mi MediaInfo
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		// Some clients send "application/json;ty=3;" or spaces the mime package
		// rejects; fall back to a lenient split.
		parts := strings.Split(v, ";")
		mt = strings.ToLower(strings.TrimSpace(parts[0]))
		params = map[string]string{}
		for _, p := range parts[1:] {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok {
				params[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
			} else if strings.TrimSpace(p) != "" {
				return mi, fmt.Errorf("%w: %q", ErrUnsupportedMedia, v)
			}
		}
	}
	f, onem2m, kind, ok := lookupType(mt)
	if !ok {
		return mi, fmt.Errorf("%w: %q", ErrUnsupportedMedia, mt)
	}
	mi.Format, mi.OneM2M, mi.Kind = f, onem2m, kind
	if t, ok := params["ty"]; ok {
		n, err := strconv.Atoi(t)
		if err != nil || n <= 0 || n > 65535 {
			mi.Ty = -1
		} else {
			mi.Ty = n
		}
	}
	return mi, nil
}

func lookupType(mt string) (Format, bool, string, bool) {
	switch mt {
	case "application/json":
		return JSON, false, "", true
	case "application/cbor":
		return CBOR, false, "", true
	}
	if rest, ok := strings.CutPrefix(mt, "application/vnd.onem2m-"); ok {
		kind, enc, ok := strings.Cut(rest, "+")
		if !ok {
			return FormatNone, false, "", false
		}
		switch kind {
		case "res", "ntfy", "preq", "prsp":
		default:
			return FormatNone, false, "", false
		}
		switch enc {
		case "json":
			return JSON, true, kind, true
		case "cbor":
			return CBOR, true, kind, true
		}
	}
	return FormatNone, false, "", false
}

// ContentType returns the media type to label a response body with.
func ContentType(f Format, onem2m bool, kind string) string {
	if onem2m {
		if kind == "" {
			kind = "res"
		}
		return "application/vnd.onem2m-" + kind + "+" + f.String()
	}
	if f == CBOR {
		return "application/cbor"
	}
	return "application/json"
}

// Negotiate picks the response serialisation from an Accept header value. It
// returns ok=false when the header names only types onecse cannot produce
// (answered with 5207 NOT_ACCEPTABLE). An empty header or */* accepts the
// fallback.
func Negotiate(accept string, fallback MediaInfo) (MediaInfo, bool) {
	if strings.TrimSpace(accept) == "" {
		return fallback, true
	}
	best, bestQ := MediaInfo{}, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(qs, 64); err == nil {
				q = v
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			best, bestQ = fallback, q
			continue
		}
		if f, onem2m, kind, ok := lookupType(mt); ok {
			best, bestQ = MediaInfo{Format: f, OneM2M: onem2m, Kind: kind}, q
		}
	}
	if bestQ < 0 {
		return MediaInfo{}, false
	}
	return best, true
}

// MaxDepth bounds the nesting of decoded documents, so that a hostile body
// cannot exhaust the stack or memory through nesting alone.
const MaxDepth = 64

var (
	cborDec cbor.DecMode
	cborEnc cbor.EncMode
)

func init() {
	var err error
	cborDec, err = cbor.DecOptions{
		DupMapKey:             cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:       MaxDepth,
		MaxArrayElements:      1 << 20,
		MaxMapPairs:           1 << 20,
		IndefLength:           cbor.IndefLengthAllowed,
		IntDec:                cbor.IntDecConvertNone,
		DefaultMapType:        nil,
		DefaultByteStringType: nil,
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
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("malformed JSON: data after the top-level value")
		}
	case CBOR:
		if err := cborDec.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("malformed CBOR: %v", err)
		}
	default:
		return nil, ErrUnsupportedMedia
	}
	nv, err := Normalize(v, 0)
	if err != nil {
		return nil, err
	}
	m, ok := nv.(map[string]any)
	if !ok {
		return nil, errors.New("the content must be an object")
	}
	return m, nil
}

// Normalize converts a decoded value into the canonical shape.
func Normalize(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("content nested deeper than %d levels", MaxDepth)
	}
	switch x := v.(type) {
	case nil, string, bool, int64, float64, []byte:
		return x, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u, nil
		}
		fl, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(fl, 0) {
			return nil, fmt.Errorf("number %s out of range", string(x))
		}
		return fl, nil
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
		return float64(x), nil
	case map[string]any:
		for k, e := range x {
			n, err := Normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case map[any]any:
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
		for i, e := range x {
			n, err := Normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case cbor.Tag:
		return nil, fmt.Errorf("CBOR tag %d is not allowed in oneM2M content", x.Number)
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
		return appendJSON(make([]byte, 0, 512), v)
	}
}
