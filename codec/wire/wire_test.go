package wire

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// serialised returns the vector's document in format f; ok=false when the
// document cannot be carried over to CBOR (it is not valid JSON to begin
// with).
func serialised(t *testing.T, doc string, f codec.Format) ([]byte, bool) {
	if f == codec.JSON {
		return []byte(doc), true
	}
	m, err := codec.Decode(codec.JSON, []byte(doc))
	if err != nil {
		return nil, false
	}
	b, err := codec.Encode(codec.CBOR, m)
	if err != nil {
		t.Fatalf("cbor: %v", err)
	}
	return b, true
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		for _, f := range []codec.Format{codec.JSON, codec.CBOR} {
			data, ok := serialised(t, v.doc, f)
			if !ok {
				if v.req != nil || v.resp != nil {
					t.Fatalf("%s: the document is not JSON", v.desc)
				}
				continue
			}
			req, resp, err := Decode(f, data, vNow)
			switch {
			case v.req != nil:
				if err != nil || resp != nil || !reflect.DeepEqual(req, v.req) {
					t.Errorf("%s (%s): %+v, %+v, %v\nwant %+v", v.desc, f, req, resp, err, v.req)
					continue
				}
				enc, err := EncodeRequest(f, req)
				if err != nil {
					t.Fatalf("%s (%s): encode: %v", v.desc, f, err)
				}
				back, err := DecodeRequest(f, enc, vNow)
				if err != nil || !reflect.DeepEqual(back, v.req) {
					t.Errorf("%s (%s): round trip %s gave %+v, %v", v.desc, f, enc, back, err)
				}
			case v.resp != nil:
				if err != nil || req != nil || !reflect.DeepEqual(resp, v.resp) {
					t.Errorf("%s (%s): %+v, %+v, %v\nwant %+v", v.desc, f, req, resp, err, v.resp)
					continue
				}
				enc, err := EncodeResponse(f, resp)
				if err != nil {
					t.Fatalf("%s (%s): encode: %v", v.desc, f, err)
				}
				back, err := DecodeResponse(f, enc, vNow)
				if err != nil || !reflect.DeepEqual(back, v.resp) {
					t.Errorf("%s (%s): round trip %s gave %+v, %v", v.desc, f, enc, back, err)
				}
			default:
				if err == nil || primitive.ErrorRSC(err) != v.rsc || !strings.Contains(err.Error(), v.names) {
					t.Errorf("%s (%s): %v; want %d naming %q", v.desc, f, err, v.rsc, v.names)
				}
				if v.hasRQI && (req == nil || req.RQI != "r1") {
					t.Errorf("%s (%s): the failed request lost its rqi: %+v", v.desc, f, req)
				}
			}
		}
	}
}

// TestCBORTypes: CBOR's own types that JSON cannot express are refused where
// the primitive wants text or integers.
func TestCBORTypes(t *testing.T) {
	for _, tc := range []struct {
		desc, hex, names string
	}{
		// {"op": 2, "to": h'78', "rqi": "r1"}: to as a byte string.
		{"byte string", "a3626f700262746f417863727169627231", "to"},
		// {"op": 2.0 (half float), "to": "x", "rqi": "r1"}.
		{"float op", "a3626f70f9400062746f617863727169627231", "op"},
		// {"op": 2, "to": 1(0) tagged, ...}: tags are refused by the codec.
		{"tag", "a3626f700262746fc10063727169627231", "tag"},
		// {"op": 2, "to": "x", "rqi": "r1", "rcn": -1}.
		{"negative rcn", "a4626f700262746f6178637271696272316372636e20", "rcn"},
	} {
		data, _ := hex.DecodeString(tc.hex)
		_, _, err := Decode(codec.CBOR, data, vNow)
		if primitive.ErrorRSC(err) != primitive.RSCBadRequest || err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: %v; want 4000 naming %s", tc.desc, err, tc.names)
		}
	}
}

func TestDecodeWrongKind(t *testing.T) {
	if _, err := DecodeRequest(codec.JSON, []byte(`{"rsc":2000,"rqi":"r"}`), vNow); primitive.ErrorRSC(err) != primitive.RSCBadRequest {
		t.Errorf("a response as a request: %v", err)
	}
	if _, err := DecodeResponse(codec.JSON, []byte(`{"op":2,"to":"x","rqi":"r"}`), vNow); primitive.ErrorRSC(err) != primitive.RSCBadRequest {
		t.Errorf("a request as a response: %v", err)
	}
}

// TestEncodeErrorResponse: what a binding sends when a request fails.
func TestEncodeErrorResponse(t *testing.T) {
	req, _, err := Decode(codec.JSON, []byte(`{"op":2,"to":"x","rqi":"r9","rvi":"3","bogus":1}`), vNow)
	resp := primitive.ErrorResponse(req, err)
	b, _ := EncodeResponse(codec.JSON, resp)
	want := `{"pc":{"m2m:dbg":"unknown request parameter \"bogus\""},"rqi":"r9","rsc":4000,"rvi":"3"}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.doc), false)
		if b, ok := serialised(&testing.T{}, v.doc, codec.CBOR); ok {
			f.Add(b, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, isCBOR bool) {
		format := codec.JSON
		if isCBOR {
			format = codec.CBOR
		}
		req, resp, err := Decode(format, data, vNow)
		if err != nil {
			if rsc := primitive.ErrorRSC(err); rsc != primitive.RSCBadRequest && rsc != primitive.RSCNotImplemented {
				t.Fatalf("%q: %v is neither 4000 nor 5001", data, err)
			}
			return
		}
		// What is accepted is well-formed and survives a round trip.
		switch {
		case req != nil:
			if req.Op < 1 || req.Op > 5 || req.To == "" {
				t.Fatalf("%q: accepted %+v", data, req)
			}
			enc, err := EncodeRequest(format, req)
			if err != nil {
				t.Fatalf("%q: encode: %v", data, err)
			}
			back, err := DecodeRequest(format, enc, vNow)
			if err != nil || !reflect.DeepEqual(back, req) {
				t.Fatalf("%q: round trip %q: %+v, %v; want %+v", data, enc, back, err, req)
			}
		case resp != nil:
			enc, err := EncodeResponse(format, resp)
			if err != nil {
				t.Fatalf("%q: encode: %v", data, err)
			}
			back, err := DecodeResponse(format, enc, vNow)
			if err != nil || !reflect.DeepEqual(back, resp) {
				t.Fatalf("%q: round trip %q: %+v, %v; want %+v", data, enc, back, err, resp)
			}
		default:
			t.Fatalf("%q: neither a request nor a response, and no error", data)
		}
	})
}
