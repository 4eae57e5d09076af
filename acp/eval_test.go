package acp

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

// base is a request every case starts from: a RETRIEVE by the C-stem CAE1 on
// Monday 2025-01-06 10:00:00 UTC.
func base() Request {
	return Request{
		Originator: "CAE1",
		Operation:  OpRetrieve,
		Time:       utc(2025, 1, 6, 10, 0, 0),
	}
}

func TestAllows(t *testing.T) {
	addr := netip.MustParseAddr
	berlin := &LatLon{Lat: 52.5163, Lon: 13.3777}  // ~2 km from the circle centre
	potsdam := &LatLon{Lat: 52.3906, Lon: 13.0645} // ~25 km away
	const office = `"acco":[{"actw":["* * 8-18 * * 1-5 *"]}]`

	tests := []struct {
		name  string
		pv    string
		req   func(*Request)
		allow bool
	}{
		// Operations.
		{"retrieve granted", `{"acr":[{"acor":["CAE1"],"acop":2}]}`, nil, true},
		{"discovery is not retrieve", `{"acr":[{"acor":["CAE1"],"acop":2}]}`, func(r *Request) { r.Operation = OpDiscovery }, false},
		{"retrieve is not discovery", `{"acr":[{"acor":["CAE1"],"acop":32}]}`, nil, false},
		{"discovery granted", `{"acr":[{"acor":["CAE1"],"acop":32}]}`, func(r *Request) { r.Operation = OpDiscovery }, true},
		{"create granted by 63", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = OpCreate }, true},
		{"update granted by 63", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = OpUpdate }, true},
		{"delete granted by 63", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = OpDelete }, true},
		{"notify granted by 63", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = OpNotify }, true},
		{"notify not in 47", `{"acr":[{"acor":["CAE1"],"acop":47}]}`, func(r *Request) { r.Operation = OpNotify }, false},
		{"update not in create", `{"acr":[{"acor":["CAE1"],"acop":1}]}`, func(r *Request) { r.Operation = OpUpdate }, false},
		{"delete in 9", `{"acr":[{"acor":["CAE1"],"acop":9}]}`, func(r *Request) { r.Operation = OpDelete }, true},
		{"no operation", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = 0 }, false},
		{"undefined bit", `{"acr":[{"acor":["CAE1"],"acop":63}]}`, func(r *Request) { r.Operation = 64 }, false},
		{"two bits need both", `{"acr":[{"acor":["CAE1"],"acop":2}]}`, func(r *Request) { r.Operation = OpRetrieve | OpUpdate }, false},
		{"two bits granted", `{"acr":[{"acor":["CAE1"],"acop":6}]}`, func(r *Request) { r.Operation = OpRetrieve | OpUpdate }, true},

		// Originators through Allows.
		{"other originator", `{"acr":[{"acor":["CAE2"],"acop":63}]}`, nil, false},
		{"all", `{"acr":[{"acor":["all"],"acop":2}]}`, func(r *Request) { r.Originator = "//x.org/id-x/C1" }, true},
		{"SP-relative originator", `{"acr":[{"acor":["CAE1"],"acop":2}]}`, func(r *Request) { r.Originator = "/id-mn/CAE1" }, true},
		{"absolute originator", `{"acr":[{"acor":["/id-mn/CAE1"],"acop":2}]}`, func(r *Request) { r.Originator = "//sp.example.com/id-mn/CAE1" }, true},
		{"wildcard", `{"acr":[{"acor":["/id-mn/C*"],"acop":2}]}`, nil, true},
		{"wildcard other CSE", `{"acr":[{"acor":["/id-in/C*"],"acop":2}]}`, nil, false},
		{"SP domain", `{"acr":[{"acor":["//sp.example.com"],"acop":2}]}`, nil, true},
		{"foreign SP domain", `{"acr":[{"acor":["//x.org"],"acop":2}]}`, nil, false},
		{"second acor entry", `{"acr":[{"acor":["CX","CY","C*1"],"acop":2}]}`, nil, true},
		{"role granted", `{"acr":[{"acor":["reader@das.example.com"],"acop":2}]}`, func(r *Request) { r.RoleIDs = []string{"x@y.z", "reader@das.example.com"} }, true},
		{"role missing", `{"acr":[{"acor":["reader@das.example.com"],"acop":2}]}`, func(r *Request) { r.RoleIDs = []string{"writer@das.example.com"} }, false},

		// Permit-overrides.
		{"second rule permits", `{"acr":[{"acor":["CX"],"acop":63},{"acor":["CAE1"],"acop":2}]}`, nil, true},
		{"no rule permits", `{"acr":[{"acor":["CX"],"acop":63},{"acor":["CAE1"],"acop":4}]}`, nil, false},
		{"empty set", `{"acr":[]}`, nil, false},

		// acaf.
		{"acaf authenticated", `{"acr":[{"acor":["CAE1"],"acop":2,"acaf":true}]}`, func(r *Request) { r.Authenticated = true }, true},
		{"acaf unauthenticated", `{"acr":[{"acor":["CAE1"],"acop":2,"acaf":true}]}`, nil, false},
		{"acaf false unauthenticated", `{"acr":[{"acor":["CAE1"],"acop":2,"acaf":false}]}`, nil, true},

		// acod restricts CREATE only.
		{"acod create listed child", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 4, 3 }, true},
		{"acod create other child", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 3, 3 }, false},
		{"acod create second entry", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]},{"chty":[3,23]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 23, 3 }, true},
		{"acod retrieve unrestricted", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`, nil, true},
		{"acod update unrestricted", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`, func(r *Request) { r.Operation = OpUpdate }, true},
		{"acod delete unrestricted", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`, func(r *Request) { r.Operation = OpDelete }, true},
		{"acod discovery unrestricted", `{"acr":[{"acor":["CAE1"],"acop":63,"acod":[{"chty":[4]}]}]}`, func(r *Request) { r.Operation = OpDiscovery }, true},
		{"acod ty matches", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":3,"chty":[4]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 4, 3 }, true},
		{"acod ty differs", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":3,"chty":[4]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 4, 29 }, false},
		{"acod mgd matches", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":13,"spty":1001,"chty":[23]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType, r.TargetSpty = OpCreate, 23, 13, 1001 }, true},
		{"acod mgd differs", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":13,"spty":1001,"chty":[23]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType, r.TargetSpty = OpCreate, 23, 13, 1002 }, false},
		{"acod mgd 0 needs a mgmtObj", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"spty":0,"chty":[23]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 23, 3 }, false},
		{"acod mgd 0 on mgmtObj", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"spty":0,"chty":[23]}]}]}`,
			func(r *Request) { r.Operation, r.ChildType, r.TargetType = OpCreate, 23, 13 }, true},
		{"acod cnd matches", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":28,"spty":"org.onem2m.home.light","chty":[23]}]}]}`,
			func(r *Request) {
				r.Operation, r.ChildType, r.TargetType, r.TargetCnd = OpCreate, 23, 28, "org.onem2m.home.light"
			}, true},
		{"acod cnd differs", `{"acr":[{"acor":["CAE1"],"acop":1,"acod":[{"ty":28,"spty":"org.onem2m.home.light","chty":[23]}]}]}`,
			func(r *Request) {
				r.Operation, r.ChildType, r.TargetType, r.TargetCnd = OpCreate, 23, 28, "org.onem2m.home.door"
			}, false},

		// Contexts: absence.
		{"acco empty list", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[]}]}`, nil, true},
		{"acco empty object", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{}]}]}`, nil, true},

		// Time windows.
		{"in office hours", `{"acr":[{"acor":["CAE1"],"acop":2,` + office + `}]}`, nil, true},
		{"saturday", `{"acr":[{"acor":["CAE1"],"acop":2,` + office + `}]}`, func(r *Request) { r.Time = utc(2025, 1, 11, 10, 0, 0) }, false},
		{"evening", `{"acr":[{"acor":["CAE1"],"acop":2,` + office + `}]}`, func(r *Request) { r.Time = utc(2025, 1, 6, 20, 0, 0) }, false},
		{"unknown time", `{"acr":[{"acor":["CAE1"],"acop":2,` + office + `}]}`, func(r *Request) { r.Time = time.Time{} }, false},
		{"local time converted", `{"acr":[{"acor":["CAE1"],"acop":2,` + office + `}]}`,
			func(r *Request) { r.Time = time.Date(2025, 1, 6, 19, 30, 0, 0, time.FixedZone("X", 3*3600)) }, true},
		{"second window", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"actw":["* * 0-1 * * * *","* * 10 6 1 * 2025"]}]}]}`, nil, true},

		// IP addresses.
		{"ipv4 inside", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["192.168.0.0/16"]}}]}]}`, func(r *Request) { r.Addr = addr("192.168.1.2") }, true},
		{"ipv4 outside", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["192.168.0.0/16"]}}]}]}`, func(r *Request) { r.Addr = addr("10.0.0.1") }, false},
		{"ipv4 unknown", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["192.168.0.0/16"]}}]}]}`, nil, false},
		{"ipv4-mapped", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["192.168.0.0/16"]}}]}]}`, func(r *Request) { r.Addr = addr("::ffff:192.168.1.2") }, true},
		{"ipv6 vs ipv4 list", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["0.0.0.0/0"]}}]}]}`, func(r *Request) { r.Addr = addr("2001:db8::1") }, false},
		{"ipv6 inside", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv6":["2001:db8::/32"]}}]}]}`, func(r *Request) { r.Addr = addr("2001:db8::1") }, true},
		{"ipv6 with zone", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv6":["fe80::/10"]}}]}]}`, func(r *Request) { r.Addr = addr("fe80::1%eth0") }, true},
		{"ipv6 outside", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv6":["2001:db8::/32"]}}]}]}`, func(r *Request) { r.Addr = addr("2001:db9::1") }, false},
		{"both families v4", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["10.0.0.0/8"],"ipv6":["::1"]}}]}]}`, func(r *Request) { r.Addr = addr("10.9.9.9") }, true},
		{"both families v6", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["10.0.0.0/8"],"ipv6":["::1"]}}]}]}`, func(r *Request) { r.Addr = addr("::1") }, true},
		{"single host", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"acip":{"ipv4":["10.1.2.3"]}}]}]}`, func(r *Request) { r.Addr = addr("10.1.2.4") }, false},

		// Location regions.
		{"country match", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accc":["DE","AT"]}}]}]}`, func(r *Request) { r.Country = "at" }, true},
		{"country differs", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accc":["DE"]}}]}]}`, func(r *Request) { r.Country = "FR" }, false},
		{"country unknown", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accc":["DE"]}}]}]}`, nil, false},
		{"inside circle", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accr":[52.52,13.405,10000]}}]}]}`, func(r *Request) { r.Location = berlin }, true},
		{"outside circle", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accr":[52.52,13.405,10000]}}]}]}`, func(r *Request) { r.Location = potsdam }, false},
		{"location unknown", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"aclr":{"accr":[52.52,13.405,10000]}}]}]}`, nil, false},

		// All present members of one context must match; any context may.
		{"time ok ip not", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"actw":["* * * * * * *"],"acip":{"ipv4":["10.0.0.0/8"]}}]}]}`,
			func(r *Request) { r.Addr = addr("192.168.0.1") }, false},
		{"time and ip ok", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"actw":["* * * * * * *"],"acip":{"ipv4":["10.0.0.0/8"]}}]}]}`,
			func(r *Request) { r.Addr = addr("10.0.0.1") }, true},
		{"second context", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"actw":["* * 0 * * * *"]},{"acip":{"ipv4":["10.0.0.0/8"]}}]}]}`,
			func(r *Request) { r.Addr = addr("10.0.0.1") }, true},
		{"no context", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":[{"actw":["* * 0 * * * *"]},{"acip":{"ipv4":["10.0.0.0/8"]}}]}]}`,
			func(r *Request) { r.Addr = addr("11.0.0.1") }, false},
		{"acco as object", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":{"acip":{"ipv4":["10.0.0.0/8"]}}}]}`,
			func(r *Request) { r.Addr = addr("10.0.0.1") }, true},
		{"acco as object denies", `{"acr":[{"acor":["CAE1"],"acop":2,"acco":{"acip":{"ipv4":["10.0.0.0/8"]}}}]}`,
			func(r *Request) { r.Addr = addr("11.0.0.1") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := mustParse(tc.pv)
			req := base()
			if tc.req != nil {
				tc.req(&req)
			}
			if got := rules.Allows(testEnv, req); got != tc.allow {
				t.Fatalf("Allows = %v, want %v (req %+v)", got, tc.allow, req)
			}
			// Rule.Matches must agree with Allows for single-rule sets.
			if len(rules) == 1 {
				if got := rules[0].Matches(testEnv, req); got != tc.allow {
					t.Fatalf("Rule.Matches = %v, want %v", got, tc.allow)
				}
			}
		})
	}
}

func TestAllowsGroups(t *testing.T) {
	calls := 0
	env := testEnv
	env.IsGroupMember = func(group, orig string) bool {
		calls++
		return group == "grp1" && orig == "CAE1"
	}
	tests := []struct {
		name      string
		pv        string
		op        uint32
		allow     bool
		wantCalls int
	}{
		{"member", `{"acr":[{"acor":["grp1"],"acop":2}]}`, OpRetrieve, true, 1},
		{"not a member group", `{"acr":[{"acor":["grp2"],"acop":2}]}`, OpRetrieve, false, 1},
		// A later rule that matches syntactically wins without any lookup.
		{"cheap rule first", `{"acr":[{"acor":["grp1"],"acop":2},{"acor":["C*"],"acop":2}]}`, OpRetrieve, true, 0},
		// Rules failing on operation are never looked up.
		{"op mismatch", `{"acr":[{"acor":["grp1"],"acop":4}]}`, OpRetrieve, false, 0},
		{"wildcard group id", `{"acr":[{"acor":["grp*"],"acop":2}]}`, OpRetrieve, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = 0
			req := base()
			req.Operation = tc.op
			if got := mustParse(tc.pv).Allows(env, req); got != tc.allow {
				t.Fatalf("Allows = %v, want %v", got, tc.allow)
			}
			if calls != tc.wantCalls {
				t.Fatalf("IsGroupMember called %d times, want %d", calls, tc.wantCalls)
			}
		})
	}
	// Without a callback a group never matches.
	if mustParse(`{"acr":[{"acor":["grp1"],"acop":2}]}`).Allows(testEnv, base()) {
		t.Fatal("group matched without IsGroupMember")
	}
}

func TestAllowsAny(t *testing.T) {
	a := mustParse(`{"acr":[{"acor":["CX"],"acop":63}]}`)
	b := mustParse(`{"acr":[{"acor":["CAE1"],"acop":2}]}`)
	if !AllowsAny(testEnv, base(), a, b) {
		t.Fatal("second ACP should permit")
	}
	if AllowsAny(testEnv, base(), a) || AllowsAny(testEnv, base()) {
		t.Fatal("unexpected permit")
	}
	var nilRules Rules
	if nilRules.Allows(testEnv, base()) {
		t.Fatal("nil Rules must deny")
	}
}

func TestCircleContains(t *testing.T) {
	c := Circle{Lat: 0, Lon: 0, Radius: 111195} // ≈ 1 degree of arc
	tests := []struct {
		p    LatLon
		want bool
	}{
		{LatLon{0, 0}, true},
		{LatLon{0.99, 0}, true},
		{LatLon{1.01, 0}, false},
		{LatLon{0, -0.99}, true},
		{LatLon{0, 179}, false},
	}
	for _, tc := range tests {
		if got := c.Contains(tc.p); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	// Across the antimeridian.
	c = Circle{Lat: 0, Lon: 179.9, Radius: 50000}
	if !c.Contains(LatLon{0, -179.9}) {
		t.Error("antimeridian neighbour not contained")
	}
	// Zero radius contains only the centre.
	c = Circle{Lat: 10, Lon: 10}
	if !c.Contains(LatLon{10, 10}) || c.Contains(LatLon{10, 10.001}) {
		t.Error("zero radius")
	}
}

func TestCircleRejectsNaN(t *testing.T) {
	c := Circle{Radius: 1e9}
	nan := LatLon{Lat: math.NaN(), Lon: 0}
	if c.Contains(nan) {
		t.Fatal("NaN position must not be contained")
	}
}

func TestEnvWithoutCSEID(t *testing.T) {
	// A misconfigured Env degrades gracefully: stems still equal themselves.
	env := Env{}
	if !MatchOriginator(env, "CAE1", "CAE1") || MatchOriginator(env, "CAE1", "CAE2") {
		t.Fatal("stem comparison without CSE-ID")
	}
}
