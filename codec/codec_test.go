package codec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// cborHex decodes a hex string written with spaces for readability.
func cborHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeJSONShapes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]any
	}{
		{`{}`, map[string]any{}},
		{` {"a":1} `, map[string]any{"a": int64(1)}},
		{`{"a":-9223372036854775808}`, map[string]any{"a": int64(math.MinInt64)}},
		{`{"a":9223372036854775808}`, map[string]any{"a": uint64(1 << 63)}},
		{`{"a":18446744073709551616}`, map[string]any{"a": float64(1 << 64)}},
		{`{"a":-0}`, map[string]any{"a": int64(0)}},
		// A fraction or an exponent makes a float, even with an integral value.
		{`{"a":21.0}`, map[string]any{"a": 21.0}},
		{`{"a":2e1}`, map[string]any{"a": 20.0}},
		{`{"a":2E-1}`, map[string]any{"a": 0.2}},
		{`{"a":21.5,"b":-0.001}`, map[string]any{"a": 21.5, "b": -0.001}},
		{`{"a":"héllo €𝄞","b":"\u00e9\n"}`, map[string]any{"a": "héllo €𝄞", "b": "é\n"}},
		{`{"e":"\"\\\/\b\f\n\r\t\u0041\ud834\udd1e"}`, map[string]any{"e": "\"\\/\b\f\n\r\tA𝄞"}},
		{`{"lone":"\ud834x","low":"\udd1e"}`, map[string]any{"lone": "\ufffdx", "low": "\ufffd"}},
		{"{\"a\"\t:\r\n[ 1 , 2 ]\n}", map[string]any{"a": []any{int64(1), int64(2)}}},
		{`{"a":null,"b":true,"c":false}`, map[string]any{"a": nil, "b": true, "c": false}},
		{`{"a":[],"b":[1,"x",[2.5]],"c":{"d":{"e":{}}}}`, map[string]any{
			"a": []any{}, "b": []any{int64(1), "x", []any{2.5}}, "c": map[string]any{"d": map[string]any{"e": map[string]any{}}}}},
	} {
		got, err := Decode(JSON, []byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(JSON, %s) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeCBORShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]any
	}{
		{"empty map", "a0", map[string]any{}},
		{"uint", "a1 61 61 01", map[string]any{"a": int64(1)}},
		{"negative int", "a1 61 61 38 63", map[string]any{"a": int64(-100)}},
		{"uint64 beyond int64", "a1 61 61 1b 8000000000000000", map[string]any{"a": uint64(1 << 63)}},
		{"float16 1.5", "a1 61 61 f9 3e00", map[string]any{"a": 1.5}},
		{"float32 21.0", "a1 61 61 fa 41a80000", map[string]any{"a": 21.0}},
		{"float64 21.5", "a1 61 61 fb 4035800000000000", map[string]any{"a": 21.5}},
		{"text", "a1 61 61 63 e282ac", map[string]any{"a": "€"}},
		{"bytes", "a1 61 61 42 0102", map[string]any{"a": []byte{1, 2}}},
		{"null, true, false", "a3 61 61 f6 61 62 f5 61 63 f4", map[string]any{"a": nil, "b": true, "c": false}},
		{"undefined reads as null", "a1 61 61 f7", map[string]any{"a": nil}},
		{"nested", "a1 61 61 82 01 a1 61 62 80", map[string]any{"a": []any{int64(1), map[string]any{"b": []any{}}}}},
		{"indefinite lengths", "bf 61 61 9f 01 02 ff ff", map[string]any{"a": []any{int64(1), int64(2)}}},
	} {
		got, err := Decode(CBOR, cborHex(t, tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Decode(CBOR, %s) = %#v, %v; want %#v", tc.name, tc.in, got, err, tc.want)
		}
	}
}

// nested returns a document with n nested containers in all (the top-level
// object counting as one).
func nestedJSON(n int) string {
	return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`
}

func nestedCBOR(n int) []byte {
	b := []byte{0xa1, 0x61, 'a'}
	for i := 0; i < n-1; i++ {
		b = append(b, 0x81)
	}
	b[len(b)-1] = 0x80 // the innermost array is empty
	return b
}

func TestDecodeDepthLimit(t *testing.T) {
	if _, err := Decode(JSON, []byte(nestedJSON(MaxDepth))); err != nil {
		t.Errorf("JSON nested %d deep: %v", MaxDepth, err)
	}
	if _, err := Decode(CBOR, nestedCBOR(MaxDepth)); err != nil {
		t.Errorf("CBOR nested %d deep: %v", MaxDepth, err)
	}
	if _, err := Decode(JSON, []byte(nestedJSON(MaxDepth+1))); err == nil {
		t.Errorf("JSON nested %d deep was accepted", MaxDepth+1)
	}
	if _, err := Decode(CBOR, nestedCBOR(MaxDepth+1)); err == nil {
		t.Errorf("CBOR nested %d deep was accepted", MaxDepth+1)
	}
	// Far beyond: fails fast, without building the value.
	if _, err := Decode(JSON, []byte(strings.Repeat("[", 1<<20))); err == nil {
		t.Error("a million '[' was accepted")
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Format
		in   []byte
	}{
		{"malformed JSON", JSON, []byte(`{"a":`)},
		{"truncated JSON", JSON, []byte(`{"a":1`)},
		{"JSON with trailing garbage", JSON, []byte(`{"a":1} x`)},
		{"two JSON documents", JSON, []byte(`{"a":1}{"b":2}`)},
		{"JSON trailing brace", JSON, []byte(`{"a":1}}`)},
		{"JSON array at top level", JSON, []byte(`[{"a":1}]`)},
		{"JSON string at top level", JSON, []byte(`"m2m:cnt"`)},
		{"JSON number at top level", JSON, []byte(`42`)},
		{"JSON null at top level", JSON, []byte(`null`)},
		{"JSON duplicate key", JSON, []byte(`{"m2m:cnt":{"rn":"a","rn":"b"}}`)},
		{"JSON number out of range", JSON, []byte(`{"a":1e400}`)},
		{"JSON single quotes", JSON, []byte(`{'a':1}`)},
		{"JSON trailing comma", JSON, []byte(`{"a":1,}`)},
		{"JSON NaN", JSON, []byte(`{"a":NaN}`)},
		{"JSON invalid UTF-8", JSON, []byte("{\"a\":\"\xff\"}")},
		{"JSON invalid UTF-8 key", JSON, []byte("{\"\xc3\":1}")},
		{"JSON raw control character", JSON, []byte("{\"a\":\"x\ny\"}")},
		{"JSON bad escape", JSON, []byte(`{"a":"\x41"}`)},
		{"JSON short unicode escape", JSON, []byte(`{"a":"\u12"}`)},
		{"JSON leading zero", JSON, []byte(`{"a":01}`)},
		{"JSON bare minus", JSON, []byte(`{"a":-}`)},
		{"JSON dot without digits", JSON, []byte(`{"a":1.}`)},
		{"JSON exponent without digits", JSON, []byte(`{"a":1e+}`)},
		{"JSON plus sign", JSON, []byte(`{"a":+1}`)},
		{"JSON bad literal", JSON, []byte(`{"a":tru}`)},
		{"JSON missing colon", JSON, []byte(`{"a" 1}`)},
		{"JSON unquoted key", JSON, []byte(`{a:1}`)},
		{"JSON byte order mark", JSON, []byte("\xef\xbb\xbf{}")},
		{"empty JSON", JSON, []byte(``)},
		{"blank JSON", JSON, []byte("  \n")},
		{"malformed CBOR", CBOR, cborHex(t, "a1 61")},
		{"CBOR with trailing data", CBOR, cborHex(t, "a0 00")},
		{"CBOR array at top level", CBOR, cborHex(t, "80")},
		{"CBOR integer map key", CBOR, cborHex(t, "a1 01 02")},
		{"CBOR byte string map key", CBOR, cborHex(t, "a1 41 61 02")},
		{"CBOR nested integer map key", CBOR, cborHex(t, "a1 61 61 a1 01 02")},
		{"CBOR duplicate key", CBOR, cborHex(t, "a2 61 61 01 61 61 02")},
		{"CBOR tag", CBOR, cborHex(t, "a1 61 61 c1 1a 5f5e1000")},
		{"CBOR bignum", CBOR, cborHex(t, "a1 61 61 c2 49 010000000000000000")},
		{"CBOR negative beyond int64", CBOR, cborHex(t, "a1 61 61 3b ffffffffffffffff")},
		{"CBOR NaN", CBOR, cborHex(t, "a1 61 61 f9 7e00")},
		{"CBOR infinity", CBOR, cborHex(t, "a1 61 61 f9 7c00")},
		{"CBOR simple value", CBOR, cborHex(t, "a1 61 61 f0")},
		{"CBOR invalid UTF-8 text", CBOR, cborHex(t, "a1 61 61 61 ff")},
		{"empty CBOR", CBOR, nil},
		{"no format", FormatNone, []byte(`{}`)},
	} {
		if got, err := Decode(tc.f, tc.in); err == nil {
			t.Errorf("%s: Decode = %#v, want an error", tc.name, got)
		}
	}
}

func TestEncodeJSON(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{map[string]any{"b": int64(1), "a": "x"}, `{"a":"x","b":1}`},
		{map[string]any{"f": 21.0, "g": 21.5, "h": math.Copysign(0, -1), "i": 1e21, "j": 1e-7, "k": 123456789.0}, `{"f":21.0,"g":21.5,"h":-0.0,"i":1e+21,"j":1e-7,"k":123456789.0}`},
		{map[string]any{"u": uint64(1 << 63), "n": nil, "t": true}, `{"n":null,"t":true,"u":9223372036854775808}`},
		{map[string]any{"s": "<a&b> \"q\" \\ \n\t\x01 é \u2028"}, `{"s":"<a&b> \"q\" \\ \n\t\u0001 é \u2028"}`},
		{map[string]any{"s": "bad \xff utf8"}, `{"s":"bad \ufffd utf8"}`},
		{map[string]any{"l": []any{}, "m": map[string]any{}, "b": []byte{1, 2, 3}}, `{"b":"AQID","l":[],"m":{}}`},
		{map[string]any{"ss": []string{"a", "b"}, "other": map[string]int{"x": 1}}, `{"other":{"x":1},"ss":["a","b"]}`},
	} {
		got, err := Encode(JSON, tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("Encode(JSON, %#v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("Encode(JSON, %#v) = %s: not valid JSON", tc.in, got)
		}
	}
	if _, err := Encode(JSON, map[string]any{"a": math.NaN()}); err == nil {
		t.Error("NaN encoded as JSON")
	}
}

// TestJSONStringsLikeEncodingJSON checks the string quoting against
// encoding/json for every byte value and a few runes.
func TestJSONStringsLikeEncodingJSON(t *testing.T) {
	var samples []string
	for c := 0; c < 256; c++ {
		samples = append(samples, "a"+string([]byte{byte(c)})+"z")
	}
	samples = append(samples, "€", "𝄞", "\u2028\u2029", "\xed\xa0\x80", "")
	for _, s := range samples {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		got := appendJSONString(nil, s)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("quote(%q) = %s, encoding/json says %s", s, got, want.String())
		}
	}
}

// TestRoundTripAcrossFormats: what one serialisation decodes, the other
// encodes and decodes to the same value (ints stay ints, floats stay floats).
func TestRoundTripAcrossFormats(t *testing.T) {
	doc := `{"m2m:cin":{"con":{"int":21,"float":21.0,"frac":21.5,"neg":-7,"big":9223372036854775807,` +
		`"huge":18446744073709551615,"exp":1e300,"tiny":5e-324,"s":"Grüße, 世界 🌍","t":true,"n":null,` +
		`"list":[1,2.0,"3",[4],{"five":5}],"deep":{"a":{"b":{"c":[0.1]}}}},"lbl":["a","b"]}}`
	want, err := Decode(JSON, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]Format{{CBOR}, {JSON}, {CBOR, JSON}, {JSON, CBOR, JSON, CBOR}} {
		v := want
		for _, f := range path {
			b, err := Encode(f, v)
			if err != nil {
				t.Fatalf("%v: encode %v: %v", path, f, err)
			}
			if v, err = Decode(f, b); err != nil {
				t.Fatalf("%v: decode %v: %v (%x)", path, f, err, b)
			}
		}
		if !reflect.DeepEqual(v, want) {
			t.Errorf("%v: got %#v\nwant %#v", path, v, want)
		}
	}
}

// TestDecodeDoesNotAliasInput: decoded strings must not share memory with the
// request buffer (the binding may reuse it).
func TestDecodeDoesNotAliasInput(t *testing.T) {
	for _, f := range []Format{JSON, CBOR} {
		in, _ := Encode(f, map[string]any{"k": "value"})
		m, err := Decode(f, in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range in {
			in[i] = 'X'
		}
		if m["k"] != "value" {
			t.Errorf("%v: decoded value changed with the input: %q", f, m["k"])
		}
	}
}
