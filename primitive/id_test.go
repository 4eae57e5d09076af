package primitive

import "testing"

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
	}{
		// CSE-relative: structured, the '-' shortcut, unstructured, hybrid.
		{"cse-in", Address{Scope: ScopeCSERelative, Path: "cse-in"}},
		{"cse-in/ae1/cnt1", Address{Scope: ScopeCSERelative, Path: "cse-in/ae1/cnt1"}},
		{"-/ae1/cnt1", Address{Scope: ScopeCSERelative, Path: "-/ae1/cnt1"}},
		{"cnt123", Address{Scope: ScopeCSERelative, Path: "cnt123"}},
		{"cnt123/la", Address{Scope: ScopeCSERelative, Path: "cnt123/la"}},
		{"cse-in/ae1#rr", Address{Scope: ScopeCSERelative, Path: "cse-in/ae1", Attr: "rr"}},
		// SP-relative.
		{"/id-in", Address{Scope: ScopeSPRelative, CSEID: "/id-in"}},
		{"/id-in/", Address{Scope: ScopeSPRelative, CSEID: "/id-in"}},
		{"/id-in/cse-in/ae1", Address{Scope: ScopeSPRelative, CSEID: "/id-in", Path: "cse-in/ae1"}},
		{"/id-in/cnt123", Address{Scope: ScopeSPRelative, CSEID: "/id-in", Path: "cnt123"}},
		{"/id-in/cse-in#lbl", Address{Scope: ScopeSPRelative, CSEID: "/id-in", Path: "cse-in", Attr: "lbl"}},
		// Absolute.
		{"//onecse.example/id-in", Address{Scope: ScopeAbsolute, SPID: "//onecse.example", CSEID: "/id-in"}},
		{"//onecse.example/id-in/cse-in/ae1", Address{Scope: ScopeAbsolute, SPID: "//onecse.example", CSEID: "/id-in", Path: "cse-in/ae1"}},
		{"//onecse.example/id-in/cnt123", Address{Scope: ScopeAbsolute, SPID: "//onecse.example", CSEID: "/id-in", Path: "cnt123"}},
	} {
		got, ok := ParseAddress(tc.in)
		if !ok || got != tc.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", tc.in, got, ok, tc.want)
			continue
		}
		if again, ok := ParseAddress(got.String()); !ok || again != got {
			t.Errorf("ParseAddress(%q).String() = %q reads back as %+v, %v", tc.in, got.String(), again, ok)
		}
	}
	for _, in := range []string{"", "/", "//", "//sp", "//sp/", "///id-in", "#rr", "cse-in#", "/id-in#"} {
		if got, ok := ParseAddress(in); ok {
			t.Errorf("ParseAddress(%q) = %+v, want invalid", in, got)
		}
	}
}

func TestAddressString(t *testing.T) {
	for in, want := range map[string]string{
		"cse-in/ae1":                       "cse-in/ae1",
		"/id-in/":                          "/id-in",
		"/id-in/cse-in":                    "/id-in/cse-in",
		"//onecse.example/id-in/cse-in#rr": "//onecse.example/id-in/cse-in#rr",
	} {
		a, ok := ParseAddress(in)
		if !ok || a.String() != want {
			t.Errorf("ParseAddress(%q).String() = %q, %v; want %q", in, a.String(), ok, want)
		}
	}
}

func TestValidResourceName(t *testing.T) {
	for _, s := range []string{"a", "cse-in", "A1", "x.y_z~w", "0abc"} {
		if !ValidResourceName(s) {
			t.Errorf("ValidResourceName(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-a", ".a", "a/b", "a b", "a#b", "ä", string(make([]byte, 256))} {
		if ValidResourceName(s) {
			t.Errorf("ValidResourceName(%q) = true", s)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"cse-in/ae1/cnt1", "-/ae1", "cnt123/la", "/id-in/cse-in", "/id-in/cnt123", "//onecse.example/id-in/cse-in/ae1",
		"cse-in#rr", "/", "//", "//sp", "/id-in//x", "a#b#c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseAddress(s)
		if !ok {
			return
		}
		again, ok := ParseAddress(a.String())
		if !ok || again != a {
			t.Fatalf("ParseAddress(%q) = %+v; its String %q reads back as %+v, %v", s, a, a.String(), again, ok)
		}
		switch a.Scope {
		case ScopeCSERelative:
			if a.Path == "" || a.Path[0] == '/' || a.CSEID != "" || a.SPID != "" {
				t.Fatalf("ParseAddress(%q) = %+v: not CSE-relative", s, a)
			}
		case ScopeSPRelative:
			if len(a.CSEID) < 2 || a.CSEID[0] != '/' || a.CSEID[1] == '/' || a.SPID != "" {
				t.Fatalf("ParseAddress(%q) = %+v: bad CSE-ID", s, a)
			}
		case ScopeAbsolute:
			if len(a.SPID) < 3 || len(a.CSEID) < 2 {
				t.Fatalf("ParseAddress(%q) = %+v: bad SP-ID or CSE-ID", s, a)
			}
		}
	})
}
