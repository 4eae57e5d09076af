package acp

import (
	"strings"
	"testing"
)

// refMatchID is the straightforward definition of originator matching that
// matchCanon implements without allocating: canonicalise both sides, then
// compare (domain, equality or segment-wise wildcard match).
func refMatchID(n ids, pattern, originator string) bool {
	canon := func(id string) string {
		switch {
		case strings.HasPrefix(id, "//"):
			dom, rest, hasRest := strings.Cut(id[2:], "/")
			if hasRest {
				return "//" + strings.ToLower(dom) + "/" + rest
			}
			return "//" + strings.ToLower(dom)
		case strings.HasPrefix(id, "/"):
			return "//" + n.sp + id
		case strings.HasPrefix(id, "S"):
			return "//" + n.sp + "/" + id
		default:
			return "//" + n.sp + n.cse + "/" + id
		}
	}
	if originator == "" || pattern == "" {
		return false
	}
	if pattern == keywordAll {
		return true
	}
	if isRoleID(pattern) {
		return false
	}
	p, o := canon(pattern), canon(originator)
	wild := strings.Contains(pattern, "*")
	if !strings.Contains(p[2:], "/") {
		dom := domainOf(p)
		return !wild && dom != "" && dom == domainOf(o)
	}
	if !wild {
		return p == o
	}
	return segmentsMatch(p[2:], o[2:])
}

var refEnvs = []Env{
	testEnv,
	{CSEID: "id-in", SPID: "SP.Example.com/"},
	{CSEID: "//id-x//", SPID: "sp"},
	{},
	{SPID: "//a.b"},
}

var refIDs = []string{
	"", "all", "ALL", "*", "C*", "CAE1", "cae1", "Cabc*", "C*1", "S*", "Sxyz", "/Sxyz", "/S*",
	"/id-mn", "/id-mn/CAE1", "/id-mn/C*", "/id-in/CAE1", "/id-*/CAE1", "/*/C*", "/*", "/",
	"//sp.example.com", "//SP.example.COM", "//sp.example.com/id-mn/CAE1", "//SP.EXAMPLE.COM/id-mn/CAE1",
	"//*/id-mn/CAE1", "//*/*/C*", "//sp.example.com/Sxyz", "//other.org/id-mn/CAE1", "//", "///", "//*",
	"//sp/CAE1", "//sp/id-in/CAE1", "//a.b/x", "r@x.org", "grp1", "/id-mn/CAE1/x", "C*/x", "a/b", "id-mn/CAE1",
}

func TestMatchCanonAgreesWithReference(t *testing.T) {
	for _, env := range refEnvs {
		n := newIDs(env)
		for _, p := range refIDs {
			for _, o := range refIDs {
				if got, want := n.matchID(p, o), refMatchID(n, p, o); got != want {
					t.Errorf("env %+v: matchID(%q, %q) = %v, reference %v", env, p, o, got, want)
				}
			}
		}
	}
}

// FuzzMatchCanon compares matchID with the reference definition.
//
//	go test -run='^$' -fuzz='^FuzzMatchCanon$' -fuzztime=20s ./acp/
func FuzzMatchCanon(f *testing.F) {
	for i, p := range refIDs {
		f.Add(p, refIDs[(i*7+3)%len(refIDs)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, pattern, originator string, e uint8) {
		env := refEnvs[int(e)%len(refEnvs)]
		n := newIDs(env)
		if got, want := n.matchID(pattern, originator), refMatchID(n, pattern, originator); got != want {
			t.Fatalf("env %+v: matchID(%q, %q) = %v, reference %v", env, pattern, originator, got, want)
		}
	})
}

// TestAllowsAllocations keeps the per-decision cost of the common case down:
// an AE-ID-Stem originator checked against stem, wildcard, SP-relative and
// absolute acor entries allocates only its own canonical form.
func TestAllowsAllocations(t *testing.T) {
	v, err := decodeJSON(`{"acr":[
		{"acor":["CAE9","/id-mn/CX*","//sp.example.com/id-mn/CAE8","Sabc","all@x.org"],"acop":63},
		{"acor":["CAE1"],"acop":2}]}`)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Originator: "CAE1", Operation: OpRetrieve}
	if !rules.Allows(testEnv, req) {
		t.Fatal("not allowed")
	}
	if n := testing.AllocsPerRun(100, func() { rules.Allows(testEnv, req) }); n > 1 {
		t.Errorf("Allows allocates %v times, want at most 1", n)
	}
}
