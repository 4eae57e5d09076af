package mef

import (
	"strings"
	"testing"
)

// FuzzParseRequest: the parser never panics, and what it accepts satisfies
// its rules.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"mefClientReg":{"adminFQDN":"sp.example"}}`))
	f.Add([]byte(`{"mefClientReg":{"adminFQDN":"sp.example","expirationTime":"20301231T000000","labels":["a"]}}`))
	f.Add([]byte(`{"mefClientReg":null}`))
	f.Add([]byte(`{"mefClientReg":{"adminFQDN":"a","labels":[""]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequest(data)
		if err != nil {
			return
		}
		if !validFQDN(r.AdminFQDN) {
			t.Fatalf("accepted adminFQDN %q", r.AdminFQDN)
		}
		if r.ExpirationTime != "" {
			if _, err := ParseTime(r.ExpirationTime); err != nil {
				t.Fatalf("accepted expirationTime %q", r.ExpirationTime)
			}
		}
		for _, l := range r.Labels {
			if l == "" || strings.ContainsAny(l, " \t\r\n") {
				t.Fatalf("accepted label %q", l)
			}
		}
	})
}
