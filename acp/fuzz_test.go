package acp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Run the fuzz targets one at a time with an anchored name, because
// "FuzzParse" is also a prefix of "FuzzParseSchedule":
//
//	go test -run='^$' -fuzz='^FuzzParse$' -fuzztime=20s ./acp/

// FuzzParse feeds arbitrary JSON through Parse and, when it is accepted,
// evaluates the rules against a spread of requests. Nothing may panic.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"acr":[{"acor":["CmyAE","/id-mn/*"],"acop":35}]}`,
		`{"acr":[{"acor":["all"],"acop":2,"acco":[{"actw":["* * 8-18 * * 1-5 *"],"acip":{"ipv4":["192.168.0.0/16"]},"aclr":{"accc":["DE"]}}]}]}`,
		`{"acr":[{"acor":["CmyAE"],"acop":1,"acod":[{"ty":13,"spty":1001,"chty":[4]}]}]}`,
		`{"acr":[{"acor":["grp1","r@x.org","//sp.example.com"],"acop":63,"acaf":true,"acco":{"aclr":{"accr":[1,2,3]},"acip":{"ipv6":["::/0"]}}}]}`,
		`{"acr":[{"acor":["//*/myCSE*/C98*"],"acop":63,"acod":[{"spty":{"cnd":"a.b"},"chty":[23]}]}]}`,
		`{"acr":[]}`, `{}`, `null`, `[1,2]`, `{"acr":[{"acor":[1],"acop":1e400}]}`,
	} {
		f.Add([]byte(seed))
	}
	env := testEnv
	env.IsGroupMember = func(g, o string) bool { return len(g) > len(o) }
	reqs := []Request{
		base(),
		{Originator: "/id-in/CX", Operation: OpCreate, ChildType: 4, TargetType: 13, TargetSpty: 1001,
			Addr: netip.MustParseAddr("192.168.3.4"), Country: "de", Location: &LatLon{1, 2}, Authenticated: true,
			Time: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC), RoleIDs: []string{"r@x.org"}},
		{Originator: "//other.org/myCSE1/C981", Operation: OpDiscovery, Addr: netip.MustParseAddr("2001:db8::1"),
			TargetCnd: "a.b", Time: time.Unix(0, 0)},
		{Originator: "", Operation: 0},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(string(data))
		if err != nil {
			return
		}
		rules, err := ParseAttr("pvs", v)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pvs") {
				t.Fatalf("error without path: %v", err)
			}
			return
		}
		for i := range rules {
			if rules[i].Operations < 1 || rules[i].Operations > OpAll || len(rules[i].Originators) == 0 {
				t.Fatalf("accepted invalid rule %+v", rules[i])
			}
		}
		for _, req := range reqs {
			rules.Allows(env, req)
			rules.Allows(testEnv, req)
		}
	})
}

// FuzzParseSchedule checks that ParseSchedule never panics and that an
// accepted entry round-trips through String with identical behaviour.
func FuzzParseSchedule(f *testing.F) {
	for _, seed := range []string{
		"* * 8-18 * * 1-5 *", "* 0-5 2,6,10 * * * *", "*/15 * * * * 7 2020-2030/5",
		"0 0 0 29 2 * *", "60 * * * * * *", "1-2-3 * * * * * *", "*/0 * * * * * *", "",
	} {
		f.Add(seed)
	}
	times := []time.Time{
		time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2030, 7, 7, 7, 7, 7, 0, time.FixedZone("x", -9*3600)),
	}
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseSchedule(s)
		if err != nil {
			return
		}
		again, err := ParseSchedule(sch.String())
		if err != nil {
			t.Fatalf("String() %q of accepted %q does not parse: %v", sch.String(), s, err)
		}
		for _, tm := range times {
			if sch.Matches(tm) != again.Matches(tm) {
				t.Fatalf("round trip of %q changes Matches(%v)", s, tm)
			}
		}
	})
}

// FuzzMatchOriginator checks for panics and one invariant: for plain IDs
// (no wildcard, keyword, domain or Role-ID) matching is symmetric, because
// it is equality after normalisation.
func FuzzMatchOriginator(f *testing.F) {
	for _, s := range [][2]string{
		{"CAE1", "/id-mn/CAE1"}, {"//*/myCSE", "//x/myCSE"}, {"C*", "CAE1"}, {"//sp.example.com", "S1"},
		{"/", "//"}, {"*", ""}, {"a@b", "a@b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, originator string) {
		got := MatchOriginator(testEnv, pattern, originator)
		plain := func(s string) bool {
			return s != "" && s != keywordAll && !strings.Contains(s, "*") && !isRoleID(s) &&
				!isDomain(newIDs(testEnv).canon(s))
		}
		if plain(pattern) && plain(originator) {
			if back := MatchOriginator(testEnv, originator, pattern); back != got {
				t.Fatalf("asymmetric: (%q,%q)=%v reverse=%v", pattern, originator, got, back)
			}
		}
	})
}
