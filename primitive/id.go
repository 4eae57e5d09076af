package primitive

import "strings"

// Scope is the scope of an address (TS-0001 7.2).
type Scope int

const (
	ScopeCSERelative Scope = iota
	ScopeSPRelative
	ScopeAbsolute
)

// Address is a To (or any resource address) split into its parts.
//   - "cse-in/ae1"            → CSE-relative, Path "cse-in/ae1"
//   - "/id-in/cse-in/ae1"     → SP-relative, CSEID "/id-in", Path "cse-in/ae1"
//   - "//sp.example/id-in/x"  → absolute, SPID "//sp.example", CSEID "/id-in", Path "x"
//
// Attr is the attribute name after '#', if any (partial retrieve, TS-0004 7.3.3.6).
type Address struct {
	Scope Scope
	SPID  string
	CSEID string
	Path  string
	Attr  string
}

// ParseAddress splits an address. ok is false for forms that cannot be an
// address at all (empty, or an absolute form without a CSE-ID).
func ParseAddress(s string) (Address, bool) {
	var a Address
	if i := strings.IndexByte(s, '#'); i >= 0 {
		a.Attr = s[i+1:]
		s = s[:i]
		if a.Attr == "" {
			return a, false
		}
	}
	switch {
	case strings.HasPrefix(s, "//"):
		a.Scope = ScopeAbsolute
		rest := s[2:]
		i := strings.IndexByte(rest, '/')
		if i <= 0 {
			return a, false
		}
		a.SPID = "//" + rest[:i]
		if !a.splitCSE(rest[i+1:]) {
			return a, false
		}
	case strings.HasPrefix(s, "/"):
		a.Scope = ScopeSPRelative
		if !a.splitCSE(s[1:]) {
			return a, false
		}
	default:
		a.Scope = ScopeCSERelative
		a.Path = s
		if s == "" {
			return a, false
		}
	}
	return a, true
}

// splitCSE takes "csi/rest" (after the leading slash of an SP-relative ID)
// into CSEID and Path; an empty CSE-ID is not an address.
func (a *Address) splitCSE(rest string) bool {
	csi, path, _ := strings.Cut(rest, "/")
	a.CSEID, a.Path = "/"+csi, path
	return csi != ""
}

// String puts the address back together: ParseAddress(a.String()) gives a
// back for every address ParseAddress accepted.
func (a Address) String() string {
	var s string
	switch a.Scope {
	case ScopeAbsolute:
		s = a.SPID + a.CSEID
	case ScopeSPRelative:
		s = a.CSEID
	}
	if a.Path != "" || a.Scope == ScopeCSERelative {
		if a.Scope != ScopeCSERelative {
			s += "/"
		}
		s += a.Path
	}
	if a.Attr != "" {
		s += "#" + a.Attr
	}
	return s
}

// ValidResourceName reports whether s is a valid m2m:resourceName: a letter or
// digit first, then letters, digits, '-', '.', '_' or '~' (RFC 3986 unreserved).
func ValidResourceName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '-' || c == '.' || c == '_' || c == '~'):
		default:
			return false
		}
	}
	return true
}

// IsAEStem reports whether s has the form of an AE-ID-Stem (C… or S… followed by
// unreserved characters).
func IsAEStem(s string) bool {
	if len(s) < 2 || (s[0] != 'C' && s[0] != 'S') {
		return false
	}
	return ValidResourceName(s)
}

// SupportedReleases are the release version indicators onecse accepts. "1" is
// what a request without rvi is (TS-0004 7.3.2.1): Release 1 clients send none.
var SupportedReleases = []string{"1", "2", "2a", "3", "4", "5"}

// ReleaseSupported reports whether rvi is a supported release ("" counts as "1").
func ReleaseSupported(rvi string) bool {
	if rvi == "" {
		return true
	}
	for _, r := range SupportedReleases {
		if r == rvi {
			return true
		}
	}
	return false
}
