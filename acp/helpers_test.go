package acp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// decodeJSON decodes s the way the project's decoders do: objects become
// map[string]any, lists []any, integral numbers int64, others float64.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return string(x) // keep something non-numeric rather than fail
		}
		return f
	}
	return v
}

func mustJSON(s string) any {
	v, err := decodeJSON(s)
	if err != nil {
		panic(fmt.Sprintf("bad test JSON %s: %v", s, err))
	}
	return v
}

func mustParse(s string) Rules {
	r, err := Parse(mustJSON(s))
	if err != nil {
		panic(fmt.Sprintf("Parse(%s): %v", s, err))
	}
	return r
}

func mustSchedule(s string) Schedule {
	sch, err := ParseSchedule(s)
	if err != nil {
		panic(err)
	}
	return sch
}

func i64(n int64) *int64 { return &n }
