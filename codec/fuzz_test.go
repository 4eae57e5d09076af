package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonSeeds are realistic request bodies plus the edge cases of the parser.
var jsonSeeds = []string{
	`{"m2m:ae":{"rn":"myapp","api":"Nmyapp","rr":true,"srv":["3"],"poa":["http://127.0.0.1:9000/notify"]}}`,
	`{"m2m:cnt":{"rn":"temp","mni":100,"mbs":10000,"lbl":["room:1","sensor"]}}`,
	`{"m2m:cin":{"con":"21.5","cnf":"text/plain:0"}}`,
	`{"m2m:cin":{"con":{"t":21.0,"h":55,"ok":true,"tags":["a","b"],"n":null}}}`,
	`{"m2m:sub":{"rn":"s","nu":["CAE1"],"enc":{"net":[1,3]},"nct":1}}`,
	`{"m2m:acp":{"pv":{"acr":[{"acor":["all"],"acop":63}]},"pvs":{"acr":[{"acor":["CAdmin"],"acop":63}]}}}`,
	`{"m2m:atrl":["rn","lbl"]}`,
	`{"m2m:cnt":{"et":null}}`,
	`{"a":1e308,"b":-1e-308,"c":18446744073709551615,"d":-9223372036854775808,"e":0.1}`,
	`{"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`,
	`{"a":[[[[[]]]]],"b":{}}`,
	`{"a":1,"a":2}`,
	`{"a":1} `,
	`{"a":1}x`,
	`[1]`,
	``,
}

// FuzzDecodeJSON: Decode never panics; what it accepts is valid JSON by
// encoding/json's judgement and reads the same there; what it decodes
// re-encodes and decodes to an equal value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(JSON, data)
		if err != nil {
			// A document encoding/json reads as an object with unique keys,
			// valid UTF-8 and bounded nesting must not be refused.
			if json.Valid(data) && utf8.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) &&
				!strings.Contains(err.Error(), "duplicate") && !strings.Contains(err.Error(), "nested") &&
				!strings.Contains(err.Error(), "out of range") && !strings.Contains(err.Error(), "UTF-8") {
				t.Fatalf("refused valid JSON %q: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q as %#v", data, m)
		}
		// The same value as encoding/json, once its numbers are normalised.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var ref any
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", data, err)
		}
		refN, err := normalizeJSONNumbers(ref)
		if err == nil && !reflect.DeepEqual(refN, any(m)) {
			t.Fatalf("%q: decoded %#v, encoding/json %#v", data, m, refN)
		}
		roundTrip(t, JSON, m)
		roundTrip(t, CBOR, m)
	})
}

// normalizeJSONNumbers turns encoding/json's json.Number into the canonical
// number types (through jsonNumber, the one rule for both).
func normalizeJSONNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return jsonNumber(string(x))
	case map[string]any:
		for k, e := range x {
			n, err := normalizeJSONNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := normalizeJSONNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}

func roundTrip(t *testing.T, f Format, m map[string]any) {
	t.Helper()
	b, err := Encode(f, m)
	if err != nil {
		t.Fatalf("%v: cannot encode %#v: %v", f, m, err)
	}
	m2, err := Decode(f, b)
	if err != nil {
		t.Fatalf("%v: cannot decode its own encoding %q of %#v: %v", f, b, m, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("%v: round trip changed %#v into %#v (via %q)", f, m, m2, b)
	}
}

// FuzzDecodeCBOR: Decode never panics; a decoded value re-encodes (in CBOR and,
// without byte strings, in JSON) and decodes to an equal value.
func FuzzDecodeCBOR(f *testing.F) {
	for _, s := range jsonSeeds {
		m, err := Decode(JSON, []byte(s))
		if err != nil {
			continue
		}
		b, err := Encode(CBOR, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, h := range []string{
		"a1 61 61 42 0102",                       // byte string
		"bf 61 61 9f 01 02 ff ff",                // indefinite lengths
		"a1 61 61 f9 3e00",                       // float16
		"a1 61 61 1b ffffffffffffffff",           // uint64 max
		"a2 61 61 01 61 61 02",                   // duplicate key
		"a1 01 02",                               // integer key
		"a1 61 61 c1 1a 5f5e1000",                // tag
		"a1 61 61 f9 7e00",                       // NaN
		"a1 61 61 7f 61 61 61 62 ff",             // indefinite text
		"a1 61 61 5f 41 01 41 02 ff",             // indefinite bytes
		"a1 61 61 3b 7fffffffffffffff",           // int64 min
		"a1 61 61 fb 7fefffffffffffff",           // float64 max
		"a1 69 6d 32 6d 3a 61 74 72 6c 80",       // {"m2m:atrl":[]}
		"a1 61 61 9a 00100000",                   // a huge announced array
		"a1 61 61 a1 61 62 a1 61 63 a1 61 64 80", // nesting
	} {
		f.Add(cborHex(f, h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(CBOR, data)
		if err != nil {
			return
		}
		roundTrip(t, CBOR, m)
		if !hasBytes(m) {
			roundTrip(t, JSON, m)
		}
	})
}

func hasBytes(v any) bool {
	switch x := v.(type) {
	case []byte:
		return true
	case map[string]any:
		for _, e := range x {
			if hasBytes(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasBytes(e) {
				return true
			}
		}
	}
	return false
}

// FuzzParseMediaType: never panics; an accepted type prints back (through
// ContentType) as a type that parses to the same format.
func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{
		"application/json", "application/json;ty=3", "application/json; ty=3", "application/cbor;ty=4",
		"application/vnd.onem2m-res+json;ty=3", "application/vnd.onem2m-res+cbor; ty=23",
		"application/vnd.onem2m-ntfy+json", "application/json; charset=utf-8", `application/json;ty="3"`,
		"application/json;;ty=3;", "application/xml", "text/plain;ty=3", "application/json;ty=3;ty=4", ";", "/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mi, err := ParseMediaType(s)
		if err != nil {
			if mi != (MediaInfo{}) {
				t.Fatalf("ParseMediaType(%q) failed but returned %+v", s, mi)
			}
			return
		}
		if mi.Format != JSON && mi.Format != CBOR {
			t.Fatalf("ParseMediaType(%q) = %+v without a format", s, mi)
		}
		if mi.Ty < -1 || mi.Ty > 65535 {
			t.Fatalf("ParseMediaType(%q): ty %d out of range", s, mi.Ty)
		}
		back, err := ParseMediaType(ContentType(mi.Format, mi.OneM2M, mi.Kind))
		if err != nil || back.Format != mi.Format || back.OneM2M != mi.OneM2M {
			t.Fatalf("ParseMediaType(%q) = %+v, but its ContentType reads %+v, %v", s, mi, back, err)
		}
	})
}

// FuzzNegotiate: never panics; a chosen type is one onecse produces and one
// the Accept header admits.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "application/json", "application/cbor;q=0.5, application/json;q=0.4",
		"application/vnd.onem2m-res+json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/xml", "*/*;q=0", "application/*;q=0.1, application/cbor;q=0", "application/json;q=1.0001",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, accept string, cborFallback bool) {
		fb := MediaInfo{Format: JSON}
		if cborFallback {
			fb.Format = CBOR
		}
		mi, ok := Negotiate(accept, fb)
		if !ok {
			if strings.TrimSpace(accept) == "" {
				t.Fatalf("an empty Accept %q was refused", accept)
			}
			return
		}
		produced := false
		for _, p := range producible {
			produced = produced || p == mi
		}
		if !produced {
			t.Fatalf("Negotiate(%q) = %+v, which onecse does not produce", accept, mi)
		}
		if strings.TrimSpace(accept) == "" {
			if mi != fb {
				t.Fatalf("empty Accept gave %+v, not the fallback", mi)
			}
			return
		}
		ct := ContentType(mi.Format, mi.OneM2M, mi.Kind)
		typ, sub, _ := strings.Cut(ct, "/")
		admitted := false
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := splitMediaType(part)
			if err != nil {
				continue
			}
			r := acceptRange{}
			r.typ, r.sub, _ = strings.Cut(mt, "/")
			q := 1000
			if qs, ok := params["q"]; ok {
				if q, ok = parseQ(qs); !ok {
					continue
				}
			}
			if q > 0 && r.specificity(typ, sub) > 0 {
				admitted = true
			}
		}
		if !admitted {
			t.Fatalf("Negotiate(%q) = %s, which no entry admits", accept, ct)
		}
	})
}
