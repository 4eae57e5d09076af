package envelope

import (
	"reflect"
	"testing"

	"github.com/onecse/onecse/resource"
)

func sample() *resource.Resource {
	return &resource.Resource{
		Attrs:   map[string]any{"rn": "cnt", "mni": int64(10), "lbl": []any{"a", "b"}, "big": uint64(1) << 63},
		Creator: "Cx", Owner: "Cx", Subs: 2, SubEvents: 5,
		Private: map[string]any{"q": []any{map[string]any{"op": int64(5)}}},
	}
}

// TestRoundTrip: every field a backend keeps in the envelope comes back, in
// codec's canonical shape (int64, uint64 only beyond int64), and rn is set.
func TestRoundTrip(t *testing.T) {
	in := sample()
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var out resource.Resource
	if err := Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.RN != "cnt" || !reflect.DeepEqual(out.Attrs, in.Attrs) || !reflect.DeepEqual(out.Private, in.Private) ||
		out.Creator != in.Creator || out.Owner != in.Owner || out.Subs != in.Subs || out.SubEvents != in.SubEvents {
		t.Fatalf("got %+v, want %+v", out, in)
	}
}

// FuzzDecode: no input makes Decode panic, and whatever it accepts encodes
// and decodes again to the same thing.
func FuzzDecode(f *testing.F) {
	if data, err := Encode(sample()); err == nil {
		f.Add(data)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r resource.Resource
		if Decode(data, &r) != nil {
			return
		}
		again, err := Encode(&r)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var r2 resource.Resource
		if err := Decode(again, &r2); err != nil {
			t.Fatalf("decoding what was encoded: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed %+v into %+v", r, r2)
		}
	})
}
