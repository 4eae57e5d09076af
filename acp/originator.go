package acp

import "strings"

// keywordAll is the acor keyword granting every originator.
const keywordAll = "all"

// ids holds the own SP and CSE identifiers in the form used by canon.
type ids struct {
	sp  string // lower-case domain without slashes, e.g. "sp.example.com"
	cse string // with one leading slash, e.g. "/id-mn"
}

func newIDs(env Env) ids {
	sp := strings.ToLower(strings.Trim(env.SPID, "/"))
	cse := strings.TrimRight(env.CSEID, "/")
	// Tolerate "id-mn" as well as "/id-mn", but never produce "//x" which
	// would be read as an SP-ID. The usual spelling "/id-mn" is kept as it
	// is: this runs on every decision and should not allocate.
	if name := strings.TrimLeft(cse, "/"); name == "" {
		cse = ""
	} else if len(cse)-len(name) != 1 {
		cse = "/" + name
	}
	return ids{sp: sp, cse: cse}
}

// canon converts an originator ID or an acor entry to absolute form
// "//sp/rest" (TS-0001 7.2 identifier scopes):
//
//	"//SP.example/x" → "//sp.example/x" (only the domain is case-folded)
//	"/id-mn/CAE1"    → "//<sp>/id-mn/CAE1"        SP-relative
//	"Sxyz"           → "//<sp>/Sxyz"              SP-assigned AE-ID-Stem
//	"CAE1"           → "//<sp>/<cse>/CAE1"        registrar-assigned stem
//
// Wildcards pass through untouched, so the function works for patterns too.
func (n ids) canon(id string) string {
	switch {
	case strings.HasPrefix(id, "//"):
		dom, rest, hasRest := strings.Cut(id[2:], "/")
		low := strings.ToLower(dom)
		if low == dom {
			return id // already canonical: no copy
		}
		if hasRest {
			return "//" + low + "/" + rest
		}
		return "//" + low
	case strings.HasPrefix(id, "/"):
		return "//" + n.sp + id
	case strings.HasPrefix(id, "S"):
		// An S-stem is unique in the whole SP; its SP-relative AE-ID is
		// "/S..." without a CSE-ID (TS-0001 Table 7.2-1).
		return "//" + n.sp + "/" + id
	default:
		return "//" + n.sp + n.cse + "/" + id
	}
}

// isDomain reports whether an ID is a bare M2M-SP-ID ("//domain"). Only
// an absolute ID can be one: canon never turns another form into one.
func isDomain(id string) bool {
	return strings.HasPrefix(id, "//") && !strings.Contains(id[2:], "/")
}

// domainOf returns the domain part of an absolute ID.
func domainOf(abs string) string {
	dom, _, _ := strings.Cut(abs[2:], "/")
	return dom
}

// isRoleID reports whether an acor entry has the m2m:roleID form
// "issuerRelativeID@issuer.fqdn". No originator ID contains "@" or lacks a
// "/" before it, so the check cannot hide a real originator entry.
func isRoleID(s string) bool {
	local, issuer, ok := strings.Cut(s, "@")
	return ok && local != "" && issuer != "" && !strings.Contains(s, "/")
}

// MatchOriginator reports whether the acor entry pattern grants access to
// originator, including the <group> membership check via env.IsGroupMember.
// See the package documentation for the forms that are understood.
func MatchOriginator(env Env, pattern, originator string) bool {
	n := newIDs(env)
	return n.matchID(pattern, originator) || n.matchGroup(env, pattern, originator)
}

// matchID is the cheap, purely syntactic part of originator matching:
// "all", equality, SP domain and wildcard patterns.
func (n ids) matchID(pattern, originator string) bool {
	if originator == "" {
		return false
	}
	return n.matchCanon(pattern, n.canon(originator))
}

// matchCanon is matchID for an originator already in canonical form (see
// canon), so that a decision canonicalises the originator once. It compares
// the pattern with the originator as if the pattern had been canonicalised
// too, without building that string: only a pattern whose SP domain has
// upper-case letters is copied.
func (n ids) matchCanon(pattern, co string) bool {
	if pattern == "" {
		return false
	}
	if pattern == keywordAll {
		return true
	}
	if isRoleID(pattern) {
		return false // Role-IDs are matched against Request.RoleIDs
	}
	wild := strings.Contains(pattern, "*")
	var rest string // co after the canonical prefix the pattern omits
	var ok bool
	switch {
	case strings.HasPrefix(pattern, "//"):
		p := n.canon(pattern)
		if isDomain(p) {
			// Wildcards are not applicable to SP domains (TS-0003 7.1.3).
			dom := domainOf(p)
			return !wild && dom != "" && dom == domainOf(co)
		}
		if !wild {
			return p == co
		}
		return segmentsMatch(p[2:], co[2:])
	case strings.HasPrefix(pattern, "/"): // canonical: "//" + sp + pattern
		if rest, ok = cutPrefixes(co, "//", n.sp); !ok || !strings.HasPrefix(rest, "/") {
			return false
		}
		if !wild {
			return rest == pattern
		}
		return segmentsMatch(pattern[1:], rest[1:])
	case strings.HasPrefix(pattern, "S"): // canonical: "//" + sp + "/" + pattern
		rest, ok = cutPrefixes(co, "//", n.sp, "/")
	default: // canonical: "//" + sp + cse + "/" + pattern
		rest, ok = cutPrefixes(co, "//", n.sp, n.cse, "/")
	}
	// The prefix cut ends at a segment boundary and holds no wildcard, so
	// matching the remainders is matching the whole canonical forms.
	if !ok {
		return false
	}
	if !wild {
		return rest == pattern
	}
	return segmentsMatch(pattern, rest)
}

// cutPrefixes removes the prefixes from s in turn, reporting whether s
// started with all of them.
func cutPrefixes(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		var ok bool
		if s, ok = strings.CutPrefix(s, p); !ok {
			return "", false
		}
	}
	return s, true
}

// matchGroup asks the core whether pattern names a <group> that contains the
// originator. Entries that cannot be group resource IDs are skipped so the
// callback (likely a database lookup) is not bothered needlessly.
func (n ids) matchGroup(env Env, pattern, originator string) bool {
	if env.IsGroupMember == nil || originator == "" || pattern == "" ||
		pattern == keywordAll || isRoleID(pattern) ||
		strings.Contains(pattern, "*") || isDomain(pattern) {
		return false
	}
	return env.IsGroupMember(pattern, originator)
}

// segmentsMatch matches a wildcard pattern against an ID segment by segment:
// the scope of "*" ends at the next "/" (TS-0003 7.1.3), so both must have the
// same number of segments.
func segmentsMatch(pattern, id string) bool {
	for {
		ps, prest, pmore := strings.Cut(pattern, "/")
		is, irest, imore := strings.Cut(id, "/")
		if !globMatch(ps, is) {
			return false
		}
		if pmore != imore {
			return false
		}
		if !pmore {
			return true
		}
		pattern, id = prest, irest
	}
}

// globMatch matches s against p where "*" stands for any (possibly empty)
// sequence of characters. It backtracks only to the last "*", which keeps it
// linear-ish and free of recursion for hostile input.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
