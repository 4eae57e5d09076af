package cse_test

import (
	"testing"
	"time"

	"github.com/onecse/onecse/cse"
)

// TestSplitTarget: the serialisation suffix of a notification target (TS-0004
// Table 7.4.8.1-3).
func TestSplitTarget(t *testing.T) {
	cases := []struct {
		in, addr, ct string
		bad          bool
	}{
		{"http://h/n", "http://h/n", "", false},
		{"http://h/n?ct=json", "http://h/n", "json", false},
		{"http://h/n?ct=cbor", "http://h/n", "cbor", false},
		{"http://h/n?q=true&ct=json", "http://h/n?q=true", "json", false},
		{"http://h/n?ct=cbor&q=1", "http://h/n?q=1", "cbor", false},
		{"http://h/n?a=1&ct=json&b=2#f", "http://h/n?a=1&b=2#f", "json", false},
		{"http://h/n?act=x", "http://h/n?act=x", "", false},
		{"https://h:8443/", "https://h:8443/", "", false},
		{"mqtt://broker/topic?ct=json", "mqtt://broker/topic", "json", false},
		{"Cae?ct=json", "Cae?ct=json", "", false}, // an ID takes no suffix
		{"/id-in/Cae", "/id-in/Cae", "", false},
		{"http://h/n?ct=xml", "", "", true},
		{"http://h/n?ct=JSON", "", "", true},
		{"http://h/n?ct=", "http://h/n", "", false},
	}
	for _, tc := range cases {
		addr, ct, err := cse.SplitTarget(tc.in)
		if (err != nil) != tc.bad || !tc.bad && (addr != tc.addr || ct != tc.ct) {
			t.Errorf("SplitTarget(%q) = %q, %q, %v; want %q, %q, error %v", tc.in, addr, ct, err, tc.addr, tc.ct, tc.bad)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "PT60S", 1500 * time.Millisecond: "PT1.5S", 0: "PT0S"} {
		if got := cse.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// FuzzSplitTarget: any notification target splits without panicking, and
// what comes out is stable: split again, it has no serialisation left.
func FuzzSplitTarget(f *testing.F) {
	for _, s := range []string{"http://h/n?ct=json", "http://h/n?a=1&ct=cbor#x", "Cae", "http://?ct=", "x://?&&ct=json&", "http://h/?ct=xml"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		addr, ct, err := cse.SplitTarget(in)
		if err != nil {
			return
		}
		if ct != "" && ct != "json" && ct != "cbor" {
			t.Fatalf("SplitTarget(%q): ct %q", in, ct)
		}
		again, ct2, err := cse.SplitTarget(addr)
		if err != nil || again != addr || ct2 != "" {
			t.Fatalf("SplitTarget(%q) = %q, then %q, %q, %v", in, addr, again, ct2, err)
		}
	})
}
