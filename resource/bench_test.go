package resource

import (
	"testing"

	"github.com/onecse/onecse/primitive"
)

// BenchmarkValidate measures attribute validation of a CREATE, on the path of
// every write.
func BenchmarkValidate(b *testing.B) {
	for _, c := range []struct {
		ty   int
		body map[string]any
	}{
		{TyCIN, map[string]any{"cnf": "text/plain:0", "con": "0123456789abcdef", "lbl": []any{"a", "b:c"}}},
		{TyContainer, map[string]any{"rn": "data", "mni": int64(100), "mbs": int64(10000), "lbl": []any{"x"}}},
		{TyAE, map[string]any{"rn": "ae", "api": "Napp", "rr": true, "srv": []any{"3"}, "poa": []any{"http://127.0.0.1:9000"}}},
	} {
		t, _ := Lookup(c.ty)
		b.Run(t.SN, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := t.Validate(primitive.OpCreate, c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
