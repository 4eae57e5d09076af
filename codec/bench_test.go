package codec

import "testing"

// The hot path of every request: decoding a CREATE body, encoding a response.

var benchCIN = map[string]any{"m2m:cin": map[string]any{"ri": "cin0abcdefghi12345", "rn": "cin0abcdefghi12345", "pi": "cnt0abcdefghi12345", "ty": int64(4),
	"ct": "20261127T122209,475022", "lt": "20261127T122209,475022", "et": "20271127T122209,315464", "st": int64(5), "cs": int64(32),
	"cnf": "text/plain:0", "con": "0123456789abcdef0123456789abcdef"}}

var benchBody = []byte(`{"m2m:cin":{"cnf":"text/plain:0","con":"0123456789abcdef0123456789abcdef","lbl":["a","b:c"]}}`)

func BenchmarkDecodeJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(JSON, benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCBOR(b *testing.B) {
	m, _ := Decode(JSON, benchBody)
	data, err := Encode(CBOR, m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(CBOR, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(JSON, benchCIN); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeCBOR(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(CBOR, benchCIN); err != nil {
			b.Fatal(err)
		}
	}
}
