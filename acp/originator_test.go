package acp

import (
	"strings"
	"testing"
)

var testEnv = Env{CSEID: "/id-mn", SPID: "//sp.example.com"}

func TestMatchOriginator(t *testing.T) {
	tests := []struct {
		pattern, originator string
		want                bool
	}{
		// "all"
		{"all", "CAE1", true},
		{"all", "//other.org/id-x/C1", true},
		{"all", "/id-in", true},
		{"all", "", false}, // no originator at all: fail closed
		{"ALL", "CAE1", false},

		// Exact match across the three forms of a C-stem registered here.
		{"CAE1", "CAE1", true},
		{"CAE1", "/id-mn/CAE1", true},
		{"CAE1", "//sp.example.com/id-mn/CAE1", true},
		{"/id-mn/CAE1", "CAE1", true},
		{"/id-mn/CAE1", "//sp.example.com/id-mn/CAE1", true},
		{"//sp.example.com/id-mn/CAE1", "CAE1", true},
		{"//sp.example.com/id-mn/CAE1", "/id-mn/CAE1", true},
		{"//SP.Example.COM/id-mn/CAE1", "CAE1", true}, // domain is case-insensitive
		{"CAE1", "CAE2", false},
		{"CAE1", "cae1", false},                   // IDs are case-sensitive
		{"CAE1", "/id-in/CAE1", false},            // same stem, other registrar
		{"/id-in/CAE1", "CAE1", false},            // ditto
		{"CAE1", "//other.org/id-mn/CAE1", false}, // same path, other SP
		{"//other.org/id-mn/CAE1", "/id-mn/CAE1", false},
		{"CAE1", "", false},
		{"", "CAE1", false},

		// S-stems are SP-wide: "Sxyz" == "/Sxyz" == "//sp/Sxyz".
		{"Sxyz", "Sxyz", true},
		{"Sxyz", "/Sxyz", true},
		{"/Sxyz", "Sxyz", true},
		{"//sp.example.com/Sxyz", "Sxyz", true},
		{"Sxyz", "/id-mn/Sxyz", false},

		// CSE-IDs, SP-relative and absolute.
		{"/id-in", "/id-in", true},
		{"/id-in", "//sp.example.com/id-in", true},
		{"//sp.example.com/id-in", "/id-in", true},
		{"/id-in", "//other.org/id-in", false},
		{"/id-in", "/id-in/CAE1", false},
		{"/id-mn", "/id-mn", true}, // the CSE itself

		// Wildcards: "*" spans one segment only.
		{"C*", "CAE1", true},
		{"C*", "/id-mn/CAE1", true},
		{"C*", "//sp.example.com/id-mn/CAE1", true},
		{"C*", "/id-in/CAE1", false}, // a stem pattern means "registered here"
		{"C*", "Sxyz", false},
		{"C*", "XAE", false},
		{"C*1", "CAE1", true},
		{"C*1", "CAE2", false},
		{"C**", "C", true},
		{"*", "CAE1", true},
		{"S*", "Sxyz", true},
		{"S*", "/Sabc", true},
		{"/id-mn/C98*", "/id-mn/C9886", true},
		{"/id-mn/C98*", "C9886", true},
		{"/id-mn/C98*", "/id-mn/C98", true}, // "*" may be empty
		{"/id-mn/C98*", "/id-mn/C97", false},
		{"/id-mn/C98*", "/id-mn/C98/x", false},
		{"/id-mn/*", "/id-mn/CAE1", true},
		{"/id-mn/*", "/id-mn", false},
		{"/id-mn/*", "/id-mn/a/b", false},
		{"/myCSE*/C98*", "/myCSE01/C9801", true},
		{"/myCSE*/C98*", "/myCSE01/x/C9801", false},
		{"/myCSE*/C98*", "/other/C9801", false},
		{"/id-*", "/id-in", true},
		{"/id-*", "/id-in/CAE1", false},
		{"/*", "/id-in", true},
		{"/*", "/Sxyz", true},
		{"/*", "//other.org/id-in", false}, // SP-relative pattern = own SP only
		{"/*/*", "CAE1", true},             // any AE registered at any CSE of the SP
		{"//*/myCSE", "//other.org/myCSE", true},
		{"//*/myCSE", "/myCSE", true},
		{"//*/myCSE", "//other.org/myCSE/CAE1", false},
		{"//*/myCSE", "//other.org/yourCSE", false},
		{"//*/myCSE*", "//m2msp.org/myCSE42", true},
		{"//*/myCSE*/C9886", "//m2msp.org/myCSE2/C9886", true},
		{"//*/myCSEID/C9886", "//m2msp.org/myCSEID/C9887", false},
		{"//m2msp.org/S988", "//m2msp.org/S988", true},
		{"//*.org/x", "//m2msp.org/x", true}, // wildcard inside the SP part of a CSE/AE-ID

		// SP domains.
		{"//sp.example.com", "CAE1", true},
		{"//sp.example.com", "/id-in/C1", true},
		{"//sp.example.com", "//sp.example.com/id-x/C1", true},
		{"//SP.EXAMPLE.COM", "Sxyz", true},
		{"//sp.example.com", "//other.org/id-x/C1", false},
		{"//other.org", "//other.org/id-in", true},
		{"//other.org", "/id-in", false},
		// No wildcards for domains.
		{"//*.example.com", "//a.example.com/x", false},
		{"//*", "//a.example.com/x", false},
		{"//*", "CAE1", false},
		{"//", "CAE1", false},

		// Role-IDs never match an originator ID directly.
		{"role1@das.example.com", "role1@das.example.com", false},
	}
	for _, tc := range tests {
		if got := MatchOriginator(testEnv, tc.pattern, tc.originator); got != tc.want {
			t.Errorf("MatchOriginator(%q, %q) = %v, want %v", tc.pattern, tc.originator, got, tc.want)
		}
	}
}

func TestMatchOriginatorEnvSpellings(t *testing.T) {
	// Env values with or without slashes are equivalent.
	for _, env := range []Env{
		{CSEID: "/id-mn", SPID: "//sp.example.com"},
		{CSEID: "id-mn", SPID: "sp.example.com"},
		{CSEID: "/id-mn/", SPID: "//sp.example.com/"},
		{CSEID: "/id-mn", SPID: "//SP.example.com"},
	} {
		if !MatchOriginator(env, "//sp.example.com/id-mn/CAE1", "CAE1") {
			t.Errorf("env %+v: absolute entry does not match stem", env)
		}
		if !MatchOriginator(env, "/id-mn/C*", "CAE1") {
			t.Errorf("env %+v: wildcard entry does not match stem", env)
		}
	}
}

func TestMatchOriginatorGroups(t *testing.T) {
	type call struct{ group, orig string }
	var calls []call
	env := testEnv
	env.IsGroupMember = func(group, orig string) bool {
		calls = append(calls, call{group, orig})
		return group == "grp1" && orig == "CAE1" ||
			group == "/id-mn/cse-mn/grp2" && orig == "//sp.example.com/id-in/CX"
	}
	tests := []struct {
		pattern, originator string
		want                bool
		called              bool
	}{
		{"grp1", "CAE1", true, true},
		{"grp1", "CAE2", false, true},
		{"/id-mn/cse-mn/grp2", "//sp.example.com/id-in/CX", true, true}, // raw values are passed
		{"grp*", "CAE1", false, false},                                  // no wildcards for groups
		{"all", "CAE1", true, false},
		{"CAE1", "CAE1", true, false}, // matched syntactically first
		{"//sp.example.com", "//x.org/a", false, false},
		{"role@x.org", "CAE1", false, false},
		{"grp1", "", false, false},
	}
	for _, tc := range tests {
		calls = nil
		if got := MatchOriginator(env, tc.pattern, tc.originator); got != tc.want {
			t.Errorf("MatchOriginator(%q, %q) = %v, want %v", tc.pattern, tc.originator, got, tc.want)
		}
		if (len(calls) > 0) != tc.called {
			t.Errorf("MatchOriginator(%q, %q): callback calls %v, want called=%v", tc.pattern, tc.originator, calls, tc.called)
		}
		if len(calls) > 0 && (calls[0].group != tc.pattern || calls[0].orig != tc.originator) {
			t.Errorf("callback got %+v, want raw values", calls[0])
		}
	}
	// nil callback: groups never match.
	if MatchOriginator(testEnv, "grp1", "CAE1") {
		t.Error("nil IsGroupMember must not match")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"*", "", true},
		{"", "a", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"*ab", "aab", true},
		{"a*a*a*a*b", strings.Repeat("a", 200), false}, // no exponential blow-up
		{"*x*", "abc", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
	}
	for _, tc := range tests {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}
