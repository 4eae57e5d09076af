package codec

import (
	"errors"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MediaInfo
		err  bool
	}{
		{in: "application/json", want: MediaInfo{Format: JSON}},
		{in: "application/cbor", want: MediaInfo{Format: CBOR}},
		// The spellings of ty that clients send (TS-0009 6.4.3).
		{in: "application/json;ty=3", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "application/json; ty=3", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "application/json ; ty = 3", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "application/json;ty=3;", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "application/json;;ty=3", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: `application/json;ty="3"`, want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "Application/JSON;TY=3", want: MediaInfo{Format: JSON, Ty: 3}},
		{in: "application/vnd.onem2m-res+json;ty=3", want: MediaInfo{Format: JSON, OneM2M: true, Kind: "res", Ty: 3}},
		{in: "application/vnd.onem2m-res+json; ty=3", want: MediaInfo{Format: JSON, OneM2M: true, Kind: "res", Ty: 3}},
		{in: "application/vnd.onem2m-res+cbor; ty=4", want: MediaInfo{Format: CBOR, OneM2M: true, Kind: "res", Ty: 4}},
		{in: "application/vnd.onem2m-ntfy+json", want: MediaInfo{Format: JSON, OneM2M: true, Kind: "ntfy"}},
		{in: "application/vnd.onem2m-preq+cbor", want: MediaInfo{Format: CBOR, OneM2M: true, Kind: "preq"}},
		{in: "application/json; charset=utf-8", want: MediaInfo{Format: JSON}},
		{in: "application/json; charset=UTF-8; ty=2", want: MediaInfo{Format: JSON, Ty: 2}},
		// A ty that is not a resource type is reported, not dropped.
		{in: "application/json;ty=abc", want: MediaInfo{Format: JSON, Ty: -1}},
		{in: "application/json;ty=0", want: MediaInfo{Format: JSON, Ty: -1}},
		{in: "application/json;ty=-3", want: MediaInfo{Format: JSON, Ty: -1}},
		{in: "application/json;ty=", want: MediaInfo{Format: JSON, Ty: -1}},
		{in: "application/json;ty=70000", want: MediaInfo{Format: JSON, Ty: -1}},
		{in: "application/xml", err: true},
		{in: "application/vnd.onem2m-res+xml", err: true},
		{in: "application/vnd.onem2m-foo+json", err: true},
		{in: "text/plain", err: true},
		{in: "", err: true},
		{in: "json", err: true},
		{in: "application/json;ty", err: true},
		{in: "application/json;ty=3;ty=4", err: true},
		{in: "application/json; charset=iso-8859-1", err: true},
		{in: "application/json, application/cbor", err: true},
	} {
		got, err := ParseMediaType(tc.in)
		if tc.err {
			if err == nil || !errors.Is(err, ErrUnsupportedMedia) {
				t.Errorf("ParseMediaType(%q) = %+v, %v; want ErrUnsupportedMedia", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMediaType(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestContentType(t *testing.T) {
	for _, tc := range []struct {
		f      Format
		onem2m bool
		kind   string
		want   string
	}{
		{JSON, false, "", "application/json"},
		{CBOR, false, "", "application/cbor"},
		{JSON, true, "res", "application/vnd.onem2m-res+json"},
		{CBOR, true, "", "application/vnd.onem2m-res+cbor"},
	} {
		if got := ContentType(tc.f, tc.onem2m, tc.kind); got != tc.want {
			t.Errorf("ContentType(%v, %v, %q) = %q, want %q", tc.f, tc.onem2m, tc.kind, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	json := MediaInfo{Format: JSON}
	cbor := MediaInfo{Format: CBOR}
	vndJSON := MediaInfo{Format: JSON, OneM2M: true, Kind: "res"}
	vndCBOR := MediaInfo{Format: CBOR, OneM2M: true, Kind: "res"}
	for _, tc := range []struct {
		accept   string
		fallback MediaInfo
		want     MediaInfo
		ok       bool
	}{
		{"", json, json, true},
		{"", cbor, cbor, true},
		{"  ", vndCBOR, vndCBOR, true},
		{"*/*", json, json, true},
		{"*/*", cbor, cbor, true},
		{"*/*", vndJSON, vndJSON, true},
		{"application/*", cbor, cbor, true},
		{"application/json", cbor, json, true},
		{"application/cbor", json, cbor, true},
		{"application/vnd.onem2m-res+json", json, vndJSON, true},
		{"application/vnd.onem2m-res+cbor", json, vndCBOR, true},
		{"APPLICATION/CBOR", json, cbor, true},
		// Quality values decide; the most specific range sets a type's quality.
		{"application/json;q=0.5, application/cbor", json, cbor, true},
		{"application/json;q=0.9, application/cbor;q=0.8", cbor, json, true},
		{"application/cbor;q=0.001, application/json;q=0", json, cbor, true},
		{"*/*, application/json;q=0", json, cbor, true},
		{"*/*;q=0.1, application/cbor;q=0.2", json, cbor, true},
		{"application/*;q=0.5, application/json;q=0.4", json, cbor, true},
		// Equal quality: the more specific range, then the request's format.
		{"*/*, application/cbor", json, cbor, true},
		{"application/json, application/cbor", cbor, cbor, true},
		{"application/json, application/cbor", json, json, true},
		// Several Accept headers arrive joined with commas; junk entries are skipped.
		{"text/html, application/xhtml+xml,application/cbor", json, cbor, true},
		{"application/json;q=abc, application/cbor", json, cbor, true},
		{"application/json;q=1.5, application/cbor", json, cbor, true},
		{"garbage, application/json", cbor, json, true},
		// Nothing onecse can produce: 5207.
		{"application/xml", json, MediaInfo{}, false},
		{"text/plain, application/xml;q=0.9", json, MediaInfo{}, false},
		{"application/json;q=0", json, MediaInfo{}, false},
		{"*/*;q=0", json, MediaInfo{}, false},
		{"garbage", json, MediaInfo{}, false},
		// Notifications and whole primitives are not answers (TS-0009 6.4.2).
		{"application/vnd.onem2m-ntfy+json", json, MediaInfo{}, false},
		{"application/vnd.onem2m-prsp+json", json, MediaInfo{}, false},
	} {
		got, ok := Negotiate(tc.accept, tc.fallback)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Negotiate(%q, %+v) = %+v, %v; want %+v, %v", tc.accept, tc.fallback, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseQ(t *testing.T) {
	for in, want := range map[string]int{"1": 1000, "1.": 1000, "1.000": 1000, "0": 0, "0.5": 500, "0.125": 125, "0.05": 50} {
		if got, ok := parseQ(in); !ok || got != want {
			t.Errorf("parseQ(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2", "1.5", "0.1234", "-0.5", "0.x", ".5", "01"} {
		if got, ok := parseQ(in); ok {
			t.Errorf("parseQ(%q) = %d, want invalid", in, got)
		}
	}
}
