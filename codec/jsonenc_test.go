package codec

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendJSONMatchesEncodingJSON checks the fast encoder against
// encoding/json (with HTML escaping off) on the value shapes it handles.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, int64(0), int64(-42), uint64(1 << 63), 3.5, 1e21, 1e-7, 0.1, -0.0, 123456789.0,
		"", "plain", "quote \" backslash \\ slash /", "ctl \x00\x01\x1f\n\r\t", "<html>&amp;", "üñíçødé 😀",
		"bad utf8 \xff\xfe", "line\u2028sep\u2029", []byte{0, 1, 2, 250},
		map[string]any{"b": int64(1), "a": []any{"x", int64(2), nil, map[string]any{"z": false}}, "": "empty key"},
		[]any{}, map[string]any{},
	}
	for _, v := range values {
		got, err := Encode(JSON, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
			t.Errorf("%#v:\n got  %s\n want %s", v, got, w)
		}
	}
}
