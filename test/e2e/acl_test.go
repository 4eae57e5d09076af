package e2e

// Black-box tests of access control over HTTP (TS-0001 9.6.2, TS-0003 7.1,
// protocol.md section 11). Every denied request is checked for 4103 and for
// its having changed nothing: the target is read back by the admin and
// compared, a CREATE's child must not exist, a DELETE's target must remain.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

const aclAdmin = "CAdmin"

// aclRule builds one m2m:accessControlRule.
func aclRule(acor []string, acop int, extra ...map[string]any) map[string]any {
	r := map[string]any{"acor": acor, "acop": acop}
	for _, e := range extra {
		for k, v := range e {
			r[k] = v
		}
	}
	return r
}

// acrs builds an m2m:setOfAcrs.
func acrs(rules ...map[string]any) map[string]any {
	if rules == nil {
		rules = []map[string]any{}
	}
	return map[string]any{"acr": rules}
}

// aclRegister registers an AE with the AE-ID stem from (e.g. "Cabc1").
func aclRegister(t *testing.T, c *testcse.CSE, from, rn string) string {
	t.Helper()
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: from, Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nacl", "rr": false, "srv": []string{"3"}}}}).Must(t, 2001)
	aei, _ := r.Res("m2m:ae")["aei"].(string)
	if aei != from {
		t.Fatalf("registered %q, got aei %q", from, aei)
	}
	return aei
}

// aclCreateACP creates an <accessControlPolicy> and returns its resource ID.
func aclCreateACP(t *testing.T, c *testcse.CSE, from, parent, rn string, pv, pvs any) string {
	t.Helper()
	acp := c.Create(from, parent, 1, "m2m:acp", map[string]any{"rn": rn, "pv": pv, "pvs": pvs})
	ri, _ := acp["ri"].(string)
	if ri == "" {
		t.Fatalf("no ri in %v", acp)
	}
	return ri
}

// aclSnapshot reads path as the admin.
func aclSnapshot(t *testing.T, c *testcse.CSE, path string) map[string]any {
	t.Helper()
	return c.Do(testcse.Req{Method: "GET", Path: path, From: aclAdmin}).Must(t, 2000).JSON
}

// aclUnchanged fails unless path reads as before.
func aclUnchanged(t *testing.T, c *testcse.CSE, path string, before map[string]any) {
	t.Helper()
	if after := aclSnapshot(t, c, path); !reflect.DeepEqual(before, after) {
		t.Fatalf("%s changed by a denied request:\nbefore %v\nafter  %v", path, before, after)
	}
}

// aclAbsent fails unless path does not exist.
func aclAbsent(t *testing.T, c *testcse.CSE, path string) {
	t.Helper()
	c.Do(testcse.Req{Method: "GET", Path: path, From: aclAdmin}).Must(t, 4004)
}

// aclDenied sends r, expects 4103 and checks that check (the resource the
// request would have changed) reads as before.
func aclDenied(t *testing.T, c *testcse.CSE, r testcse.Req, check string) {
	t.Helper()
	before := aclSnapshot(t, c, check)
	c.Do(r).Must(t, 4103)
	aclUnchanged(t, c, check, before)
}

// aclOp is one kind of request against a container, with what it must answer
// when allowed and how to check a denial left no trace.
type aclOp struct {
	name string
	bit  int
	// run sends the request on the container at path as from.
	run func(c *testcse.CSE, from, path string) *testcse.Resp
	ok  int // rsc when allowed
	// gone, when set, is the path that a denied request must not create.
	gone func(path string) string
}

var aclOps = []aclOp{
	{name: "CREATE", bit: 1, ok: 2001,
		run: func(c *testcse.CSE, from, path string) *testcse.Resp {
			return c.Do(testcse.Req{Method: "POST", Path: path, From: from, Ty: 4,
				Body: map[string]any{"m2m:cin": map[string]any{"rn": "made", "con": "x"}}})
		},
		gone: func(path string) string { return path + "/made" }},
	{name: "RETRIEVE", bit: 2, ok: 2000,
		run: func(c *testcse.CSE, from, path string) *testcse.Resp {
			return c.Do(testcse.Req{Method: "GET", Path: path, From: from})
		}},
	{name: "UPDATE", bit: 4, ok: 2004,
		run: func(c *testcse.CSE, from, path string) *testcse.Resp {
			return c.Do(testcse.Req{Method: "PUT", Path: path, From: from,
				Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"changed"}}}})
		}},
	// A container takes no notifications: an allowed NOTIFY gets past the
	// access check and is then refused with 4005.
	{name: "NOTIFY", bit: 16, ok: 4005,
		run: func(c *testcse.CSE, from, path string) *testcse.Resp {
			return c.Do(testcse.Req{Method: "POST", Path: path, From: from,
				Body: map[string]any{"m2m:sgn": map[string]any{"nev": map[string]any{"net": 1}, "sur": "/id-in/sub1"}}})
		}},
	// DELETE last: it removes the container.
	{name: "DELETE", bit: 8, ok: 2002,
		run: func(c *testcse.CSE, from, path string) *testcse.Resp {
			return c.Do(testcse.Req{Method: "DELETE", Path: path, From: from})
		}},
}

// aclDiscover runs a discovery below path as from and returns the structured
// paths found.
func aclDiscover(t *testing.T, c *testcse.CSE, from, path, query string) []string {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: path + "?fu=1&" + query, From: from}).Must(t, 2000)
	l, ok := r.JSON["m2m:uril"].([]any)
	if !ok {
		t.Fatalf("no m2m:uril in %s", r.Body)
	}
	var out []string
	for _, e := range l {
		out = append(out, e.(string))
	}
	return out
}

// TestACLOperationBits grants one AE each single acop bit (and 63) on a
// container and checks every operation: the granted ones succeed, the others
// are denied with 4103 and change nothing.
func TestACLOperationBits(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	other := aclRegister(t, c, "Cother", "other")
	for _, acop := range []int{1, 2, 4, 8, 16, 32, 63} {
		t.Run(fmt.Sprintf("acop=%d", acop), func(t *testing.T) {
			rn := fmt.Sprintf("cnt%d", acop)
			acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp"+rn,
				acrs(aclRule([]string{other}, acop)), acrs(aclRule([]string{owner}, 63)))
			c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{acp}})
			path := "/cse-in/owner/" + rn

			// DISCOVERY (acop 32) is RETRIEVE with fu=1; RETRIEVE (2) does
			// not imply it, nor does it imply RETRIEVE.
			found := slices.Contains(aclDiscover(t, c, other, "/cse-in/owner", "ty=3"), "cse-in/owner/"+rn)
			if want := acop&32 != 0; found != want {
				t.Errorf("DISCOVERY: found=%v, want %v", found, want)
			}
			for _, op := range aclOps {
				if acop&op.bit != 0 {
					op.run(c, other, path).Must(t, op.ok)
					continue
				}
				before := aclSnapshot(t, c, path)
				r := op.run(c, other, path)
				if r.RSC != 4103 {
					t.Fatalf("%s without bit %d: want 4103, got %d: %s", op.name, op.bit, r.RSC, r.Body)
				}
				aclUnchanged(t, c, path, before)
				if op.gone != nil {
					aclAbsent(t, c, op.gone(path))
				}
			}
		})
	}
}

// TestACLOriginators checks the accessControlOriginators forms.
func TestACLOriginators(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	abc := aclRegister(t, c, "Cabc1", "abc")
	xyz := aclRegister(t, c, "Cxyz1", "xyz")
	sp := c.Config.SPID
	for i, tc := range []struct {
		acor         []string
		abcOK, xyzOK bool
		fromAbcForms bool // also try abc's SP-relative and absolute From
		description  string
	}{
		{[]string{"Cabc1"}, true, false, true, "exact AE-ID-Stem"},
		{[]string{"all"}, true, true, false, "keyword all"},
		{[]string{"C*"}, true, true, false, "wildcard C*"},
		{[]string{"Cabc*"}, true, false, true, "wildcard Cabc*"},
		{[]string{"/id-in/Cabc1"}, true, false, true, "SP-relative AE-ID"},
		{[]string{sp + "/id-in/Cabc1"}, true, false, true, "absolute AE-ID"},
		{[]string{"/id-in/C*"}, true, true, false, "SP-relative wildcard"},
		{[]string{"//*/id-in/Cabc*"}, true, false, false, "absolute wildcard"},
		{[]string{"/id-mn/Cabc1"}, false, false, false, "same stem at another CSE"},
		{[]string{"Cnobody"}, false, false, false, "originator not listed"},
		{[]string{"Cnobody", "Cxyz1"}, false, true, false, "second entry"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			rn := fmt.Sprintf("cnt%d", i)
			acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp"+rn, acrs(aclRule(tc.acor, 2)), acrs(aclRule([]string{owner}, 63)))
			c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{acp}})
			path := "/cse-in/owner/" + rn
			want := func(ok bool) int {
				if ok {
					return 2000
				}
				return 4103
			}
			c.Do(testcse.Req{Method: "GET", Path: path, From: abc}).Must(t, want(tc.abcOK))
			c.Do(testcse.Req{Method: "GET", Path: path, From: xyz}).Must(t, want(tc.xyzOK))
			if tc.fromAbcForms {
				for _, from := range []string{"/id-in/" + abc, sp + "/id-in/" + abc} {
					c.Do(testcse.Req{Method: "GET", Path: path, From: from}).Must(t, want(tc.abcOK))
				}
			}
		})
	}
}

// TestACLSelfPrivileges checks that the <accessControlPolicy> itself is
// governed by pvs, and that an UPDATE of acpi is governed by the pvs of the
// policies the resource has now.
func TestACLSelfPrivileges(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	pvOnly := aclRegister(t, c, "Cpv", "pv")    // in pv with 63, not in pvs
	pvsOnly := aclRegister(t, c, "Cpvs", "pvs") // in pvs with 63, not in pv
	reader := aclRegister(t, c, "Creader", "reader")
	acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp1",
		acrs(aclRule([]string{pvOnly}, 63)),
		acrs(aclRule([]string{owner, pvsOnly}, 63), aclRule([]string{reader}, 2)))
	spare := aclCreateACP(t, c, owner, "/cse-in/owner", "spare",
		acrs(aclRule([]string{owner}, 63)), acrs(aclRule([]string{owner}, 63)))
	acpPath := "/cse-in/owner/acp1"

	t.Run("the ACP by pvs", func(t *testing.T) {
		aclDenied(t, c, testcse.Req{Method: "GET", Path: acpPath, From: pvOnly}, acpPath)
		c.Do(testcse.Req{Method: "GET", Path: acpPath, From: reader}).Must(t, 2000)
		c.Do(testcse.Req{Method: "GET", Path: acpPath, From: pvsOnly}).Must(t, 2000)
		upd := map[string]any{"m2m:acp": map[string]any{"lbl": []string{"x"}}}
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: acpPath, From: pvOnly, Body: upd}, acpPath)
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: acpPath, From: reader, Body: upd}, acpPath)
		aclDenied(t, c, testcse.Req{Method: "DELETE", Path: acpPath, From: pvOnly}, acpPath)
		aclDenied(t, c, testcse.Req{Method: "DELETE", Path: acpPath, From: reader}, acpPath)
		c.Do(testcse.Req{Method: "PUT", Path: acpPath, From: pvsOnly, Body: upd}).Must(t, 2004)
		// Discovering the ACP needs DISCOVERY in pvs as well.
		if got := aclDiscover(t, c, pvOnly, "/cse-in/owner", "ty=1"); len(got) != 0 {
			t.Errorf("pv-only originator discovered %v", got)
		}
		if got := aclDiscover(t, c, pvsOnly, "/cse-in/owner", "ty=1"); !slices.Contains(got, "cse-in/owner/acp1") {
			t.Errorf("pvs originator did not discover the ACP: %v", got)
		}
	})

	t.Run("acpi by pvs", func(t *testing.T) {
		c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt", "acpi": []string{acp}})
		path := "/cse-in/owner/cnt"
		setACPI := map[string]any{"m2m:cnt": map[string]any{"acpi": []string{spare}}}
		setLbl := map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"a"}}}
		both := map[string]any{"m2m:cnt": map[string]any{"acpi": []string{acp, spare}, "lbl": []string{"b"}}}
		// pv grants UPDATE, pvs does not: other attributes yes, acpi no.
		c.Do(testcse.Req{Method: "PUT", Path: path, From: pvOnly, Body: setLbl}).Must(t, 2004)
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: pvOnly, Body: setACPI}, path)
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: pvOnly,
			Body: map[string]any{"m2m:cnt": map[string]any{"acpi": nil}}}, path)
		// pvs grants UPDATE, pv does not: acpi yes, other attributes no, and
		// both together need both.
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: pvsOnly, Body: setLbl}, path)
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: pvsOnly, Body: both}, path)
		c.Do(testcse.Req{Method: "PUT", Path: path, From: pvsOnly, Body: setACPI}).Must(t, 2004)
		// Now spare governs, whose pvs lists only the owner.
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: pvsOnly,
			Body: map[string]any{"m2m:cnt": map[string]any{"acpi": []string{acp}}}}, path)
		c.Do(testcse.Req{Method: "PUT", Path: path, From: owner,
			Body: map[string]any{"m2m:cnt": map[string]any{"acpi": []string{acp}}}}).Must(t, 2004)
	})
}

// TestACLContexts checks accessControlContexts: time windows and IP addresses.
func TestACLContexts(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Cctx", "ctx")
	now := time.Now().UTC()
	// The current hour and the next, so that a run at hh:59:59 still passes;
	// "elsewhere" is hours away from both.
	here := fmt.Sprintf("* * %d,%d * * * *", now.Hour(), (now.Hour()+1)%24)
	elsewhere := fmt.Sprintf("* * %d-%d * * * *", (now.Hour()+6)%24, (now.Hour()+6)%24)
	thisYear := fmt.Sprintf("* * * * * * %d-%d", now.Year(), now.Year()+1)
	ctx := func(m map[string]any) map[string]any { return map[string]any{"acco": []any{m}} }
	for i, tc := range []struct {
		name string
		acco map[string]any
		ok   bool
	}{
		{"actw now", ctx(map[string]any{"actw": []string{here}}), true},
		{"actw this year", ctx(map[string]any{"actw": []string{thisYear}}), true},
		{"actw other hour", ctx(map[string]any{"actw": []string{elsewhere}}), false},
		{"actw year 2000", ctx(map[string]any{"actw": []string{"* * * * * * 2000"}}), false},
		{"actw any of two", ctx(map[string]any{"actw": []string{elsewhere, here}}), true},
		{"acip 127.0.0.1/32", ctx(map[string]any{"acip": map[string]any{"ipv4": []string{"127.0.0.1/32"}}}), true},
		{"acip 127.0.0.0/8", ctx(map[string]any{"acip": map[string]any{"ipv4": []string{"127.0.0.0/8"}}}), true},
		{"acip 10.0.0.0/8", ctx(map[string]any{"acip": map[string]any{"ipv4": []string{"10.0.0.0/8"}}}), false},
		{"acip ipv6 only", ctx(map[string]any{"acip": map[string]any{"ipv6": []string{"::1/128"}}}), false},
		{"actw now and wrong ip", ctx(map[string]any{"actw": []string{here}, "acip": map[string]any{"ipv4": []string{"10.0.0.0/8"}}}), false},
		{"actw now and right ip", ctx(map[string]any{"actw": []string{here}, "acip": map[string]any{"ipv4": []string{"127.0.0.1/32"}}}), true},
		{"one of two contexts", map[string]any{"acco": []any{
			map[string]any{"acip": map[string]any{"ipv4": []string{"10.0.0.0/8"}}},
			map[string]any{"actw": []string{here}},
		}}, true},
		{"country code unknown", ctx(map[string]any{"aclr": map[string]any{"accc": []string{"DE"}}}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rn := fmt.Sprintf("cnt%d", i)
			acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp"+rn,
				acrs(aclRule([]string{ae}, 2|4, tc.acco)), acrs(aclRule([]string{owner}, 63)))
			c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{acp}})
			path := "/cse-in/owner/" + rn
			if tc.ok {
				c.Do(testcse.Req{Method: "GET", Path: path, From: ae}).Must(t, 2000)
				return
			}
			aclDenied(t, c, testcse.Req{Method: "GET", Path: path, From: ae}, path)
			aclDenied(t, c, testcse.Req{Method: "PUT", Path: path, From: ae,
				Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"x"}}}}, path)
		})
	}
}

// TestACLContextsIPv6 checks acip over an IPv6 connection from ::1.
func TestACLContextsIPv6(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.HTTP = "[::1]:0" })
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Cctx", "ctx")
	for i, tc := range []struct {
		name string
		acip map[string]any
		ok   bool
	}{
		{"::1/128", map[string]any{"ipv6": []string{"::1/128"}}, true},
		{"::/0", map[string]any{"ipv6": []string{"::/0"}}, true},
		{"fd00::/8", map[string]any{"ipv6": []string{"fd00::/8"}}, false},
		{"ipv4 only", map[string]any{"ipv4": []string{"127.0.0.1/32"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rn := fmt.Sprintf("cnt%d", i)
			acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp"+rn,
				acrs(aclRule([]string{ae}, 2, map[string]any{"acco": []any{map[string]any{"acip": tc.acip}}})),
				acrs(aclRule([]string{owner}, 63)))
			c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{acp}})
			want := 4103
			if tc.ok {
				want = 2000
			}
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/" + rn, From: ae}).Must(t, want)
		})
	}
}

// TestACLContextsDualStack checks that an IPv4 client of a dual-stack
// listener is matched against acip.ipv4: the binding unmaps ::ffff:a.b.c.d.
func TestACLContextsDualStack(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.HTTP = "[::]:0" })
	_, port, _ := strings.Cut(strings.TrimPrefix(c.URL, "http://"), "]:")
	c.URL = "http://127.0.0.1:" + port
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Cctx", "ctx")
	for i, tc := range []struct {
		acip map[string]any
		ok   bool
	}{
		{map[string]any{"ipv4": []string{"127.0.0.1/32"}}, true},
		{map[string]any{"ipv6": []string{"::ffff:127.0.0.1/128"}}, false},
		{map[string]any{"ipv4": []string{"10.0.0.0/8"}}, false},
	} {
		rn := fmt.Sprintf("cnt%d", i)
		acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp"+rn,
			acrs(aclRule([]string{ae}, 2, map[string]any{"acco": []any{map[string]any{"acip": tc.acip}}})),
			acrs(aclRule([]string{owner}, 63)))
		c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{acp}})
		want := 4103
		if tc.ok {
			want = 2000
		}
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/" + rn, From: ae}).Must(t, want)
	}
}

// TestACLAdminAndDefaults checks the admin originator and the rules that apply
// when a resource has no acpi.
func TestACLAdminAndDefaults(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	other := aclRegister(t, c, "Cother", "other")

	// The AE has every right on its own subtree without any ACP.
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt"})
	c.Create(owner, "/cse-in/owner/cnt", 3, "m2m:cnt", map[string]any{"rn": "sub"})
	c.Create(owner, "/cse-in/owner/cnt", 4, "m2m:cin", map[string]any{"rn": "cin", "con": "v"})
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt/cin", From: owner}).Must(t, 2000)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt/la", From: owner}).Must(t, 2000)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/cnt", From: owner,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"mine"}}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt/sub", From: owner}).Must(t, 2002)
	// Resources the admin creates under the AE belong to its subtree too.
	c.Create(aclAdmin, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "byadmin"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/byadmin", From: owner,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"mine"}}}}).Must(t, 2004)

	// Another registered AE has no right there.
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner", From: other}, "/cse-in/owner")
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: other}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt/cin", From: other}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt/la", From: other}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "PUT", Path: "/cse-in/owner/cnt", From: other,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"theirs"}}}}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "PUT", Path: "/cse-in/owner", From: other,
		Body: map[string]any{"m2m:ae": map[string]any{"lbl": []string{"theirs"}}}}, "/cse-in/owner")
	aclDenied(t, c, testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt", From: other}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "DELETE", Path: "/cse-in/owner", From: other}, "/cse-in/owner")
	aclDenied(t, c, testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt/ol", From: other}, "/cse-in/owner/cnt/ol")
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/cnt", From: other, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"rn": "intruder", "con": "x"}}}, "/cse-in/owner/cnt")
	aclAbsent(t, c, "/cse-in/owner/cnt/intruder")
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner", From: other, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "intruder"}}}, "/cse-in/owner")
	aclAbsent(t, c, "/cse-in/owner/intruder")
	if got := aclDiscover(t, c, other, "/cse-in", ""); slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, "cse-in/owner") }) {
		t.Errorf("another AE discovered %v", got)
	}
	if got := aclDiscover(t, c, owner, "/cse-in/owner", ""); len(got) != 3 { // cnt, cnt/cin, byadmin
		t.Errorf("the owner discovered %v, want its 3 resources", got)
	}

	// A registered AE may RETRIEVE the CSEBase, not create under it nor
	// update it (the CSEBase is not updatable at all: 4005).
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: other}).Must(t, 2000)
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in", From: other, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "top"}}}, "/cse-in")
	aclAbsent(t, c, "/cse-in/top")
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in", From: other, Ty: 1,
		Body: map[string]any{"m2m:acp": map[string]any{"rn": "topacp", "pv": acrs(), "pvs": acrs(aclRule([]string{other}, 63))}}}, "/cse-in")
	aclAbsent(t, c, "/cse-in/topacp")
	before := aclSnapshot(t, c, "/cse-in")
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in", From: other,
		Body: map[string]any{"m2m:cb": map[string]any{"lbl": []string{"x"}}}}).Must(t, 4005)
	aclUnchanged(t, c, "/cse-in", before)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in", From: other}).Must(t, 4005)
	aclUnchanged(t, c, "/cse-in", before)
	// The CSEBase's child list shows an AE only what it may retrieve.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in?rcn=6", From: other}).Must(t, 2000)
	if l := r.Res("m2m:rrl")["rrf"].([]any); len(l) != 1 || l[0].(map[string]any)["nm"] != "other" {
		t.Errorf("the CSEBase's children for another AE: %s", r.Body)
	}
	// The CSEBase takes no NOTIFY from an AE (it has no acpi: only the admin).
	sgn := map[string]any{"m2m:sgn": map[string]any{"vrq": true, "sur": "/id-in/sub1", "cr": other}}
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in", From: other, Body: sgn}, "/cse-in")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: aclAdmin, Body: sgn}).Must(t, 2000)

	// The admin may do anything, even where an ACP grants it nothing.
	acp := aclCreateACP(t, c, owner, "/cse-in/owner", "nobody", acrs(), acrs(aclRule([]string{"Cnobody"}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "locked", "acpi": []string{acp}})
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/locked", From: owner}, "/cse-in/owner/locked")
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/nobody", From: owner}, "/cse-in/owner/nobody")
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/nobody", From: aclAdmin}).Must(t, 2000)
	c.Create(aclAdmin, "/cse-in/owner/locked", 4, "m2m:cin", map[string]any{"con": "v"})
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/locked", From: aclAdmin,
		Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"admin"}}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/nobody", From: aclAdmin,
		Body: map[string]any{"m2m:acp": map[string]any{"lbl": []string{"admin"}}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/locked", From: aclAdmin}).Must(t, 2002)
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner", From: aclAdmin}).Must(t, 2002)
	aclAbsent(t, c, "/cse-in/owner/nobody")
}

// TestACLContentInstances checks that contentInstances and la/ol are governed
// by the acpi of their container.
func TestACLContentInstances(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	reader := aclRegister(t, c, "Creader", "reader")
	deleter := aclRegister(t, c, "Cdeleter", "deleter")
	other := aclRegister(t, c, "Cother", "other")
	acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp",
		acrs(aclRule([]string{owner}, 63), aclRule([]string{reader}, 2), aclRule([]string{deleter}, 8)),
		acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt", "acpi": []string{acp}})
	var ris []string
	for _, v := range []string{"a", "b", "c"} {
		cin := c.Create(owner, "/cse-in/owner/cnt", 4, "m2m:cin", map[string]any{"rn": v, "con": v})
		ris = append(ris, cin["ri"].(string))
	}
	for _, p := range []string{"/cse-in/owner/cnt/a", "/~/id-in/" + ris[0], "/cse-in/owner/cnt/la", "/cse-in/owner/cnt/ol"} {
		c.Do(testcse.Req{Method: "GET", Path: p, From: reader}).Must(t, 2000)
		aclDenied(t, c, testcse.Req{Method: "GET", Path: p, From: other}, p)
		aclDenied(t, c, testcse.Req{Method: "GET", Path: p, From: deleter}, p)
		aclDenied(t, c, testcse.Req{Method: "DELETE", Path: p, From: reader}, p)
		aclDenied(t, c, testcse.Req{Method: "DELETE", Path: p, From: other}, p)
	}
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/cnt", From: reader, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"rn": "d", "con": "d"}}}, "/cse-in/owner/cnt")
	aclAbsent(t, c, "/cse-in/owner/cnt/d")
	// DELETE privilege on the container deletes instances, la and ol.
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt/la", From: deleter}).Must(t, 2002)
	aclAbsent(t, c, "/cse-in/owner/cnt/c")
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt/ol", From: deleter}).Must(t, 2002)
	aclAbsent(t, c, "/cse-in/owner/cnt/a")
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/cnt/b", From: deleter}).Must(t, 2002)
	aclAbsent(t, c, "/cse-in/owner/cnt/b")
}

// TestACLDiscovery checks that discovery returns only what the originator
// may discover.
func TestACLDiscovery(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	finder := aclRegister(t, c, "Cfinder", "finder")
	disc := aclCreateACP(t, c, owner, "/cse-in/owner", "disc", acrs(aclRule([]string{finder}, 32)), acrs(aclRule([]string{owner}, 63)))
	read := aclCreateACP(t, c, owner, "/cse-in/owner", "read", acrs(aclRule([]string{finder}, 2)), acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "visible", "acpi": []string{disc}, "lbl": []string{"k"}})
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "readonly", "acpi": []string{read}, "lbl": []string{"k"}})
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "private", "lbl": []string{"k"}})
	// Once a container has acpi, its policies decide: the admin adds the
	// instances.
	c.Create(aclAdmin, "/cse-in/owner/visible", 4, "m2m:cin", map[string]any{"rn": "i1", "con": "x", "lbl": []string{"k"}})
	c.Create(aclAdmin, "/cse-in/owner/readonly", 4, "m2m:cin", map[string]any{"rn": "i2", "con": "x", "lbl": []string{"k"}})
	c.Create(owner, "/cse-in/owner/private", 4, "m2m:cin", map[string]any{"rn": "i3", "con": "x", "lbl": []string{"k"}})
	// A container the finder may discover below one it may not.
	c.Create(owner, "/cse-in/owner/private", 3, "m2m:cnt", map[string]any{"rn": "deep", "acpi": []string{disc}, "lbl": []string{"k"}})

	want := []string{"cse-in/owner/private/deep", "cse-in/owner/visible", "cse-in/owner/visible/i1"}
	got := aclDiscover(t, c, finder, "/cse-in/owner", "lbl=k")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("finder discovered %v, want %v", got, want)
	}
	// From the CSEBase too (the finder may not discover the owner's AE).
	got = aclDiscover(t, c, finder, "/cse-in", "lbl=k")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("finder discovered %v from the CSEBase, want %v", got, want)
	}
	// drt=2 and rcn=6 honour the same filter.
	if got := aclDiscover(t, c, finder, "/cse-in/owner", "ty=3&drt=2"); len(got) != 2 {
		t.Errorf("finder discovered %v with drt=2, want 2 containers", got)
	}
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner?fu=1&ty=3&rcn=6", From: finder}).Must(t, 2000)
	if n := len(r.JSON["m2m:rrl"].(map[string]any)["rrf"].([]any)); n != 2 {
		t.Errorf("finder discovered %d containers with rcn=6, want 2: %s", n, r.Body)
	}
	// The owner discovers what it has rights on: its container without acpi
	// and everything below it; the ACPs do not list it in pv.
	got = aclDiscover(t, c, owner, "/cse-in/owner", "lbl=k")
	slices.Sort(got)
	if want := []string{"cse-in/owner/private", "cse-in/owner/private/i3"}; !slices.Equal(got, want) {
		t.Errorf("owner discovered %v, want %v", got, want)
	}
	// RETRIEVE of a discovered resource still needs RETRIEVE.
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/visible", From: finder}, "/cse-in/owner/visible")
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/readonly", From: finder}).Must(t, 2000)
}

// TestACLObjectDetails checks acod: CREATE limited to child types.
func TestACLObjectDetails(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Cwriter", "writer")
	cinOnly := aclCreateACP(t, c, owner, "/cse-in/owner", "cinonly",
		acrs(aclRule([]string{ae}, 1, map[string]any{"acod": []any{map[string]any{"chty": []int{4}}}})),
		acrs(aclRule([]string{owner}, 63)))
	onAE := aclCreateACP(t, c, owner, "/cse-in/owner", "onae",
		acrs(aclRule([]string{ae}, 1, map[string]any{"acod": []any{map[string]any{"ty": 2, "chty": []int{3, 4}}}})),
		acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt", "acpi": []string{cinOnly}})
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt2", "acpi": []string{onAE}})

	c.Create(ae, "/cse-in/owner/cnt", 4, "m2m:cin", map[string]any{"rn": "ok", "con": "x"})
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/cnt", From: ae, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "no"}}}, "/cse-in/owner/cnt")
	aclAbsent(t, c, "/cse-in/owner/cnt/no")
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/cnt", From: ae, Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"rn": "no", "nu": []string{ae}}}}, "/cse-in/owner/cnt")
	aclAbsent(t, c, "/cse-in/owner/cnt/no")
	// acod.ty names the type of the parent: 2 (AE) does not match a container.
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/cnt2", From: ae, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"rn": "no", "con": "x"}}}, "/cse-in/owner/cnt2")
	aclAbsent(t, c, "/cse-in/owner/cnt2/no")
}

// TestACLBadPolicies checks that malformed policies and references are
// refused with 4000, naming the member, and create nothing.
func TestACLBadPolicies(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	good := acrs(aclRule([]string{owner}, 63))
	for _, tc := range []struct {
		name    string
		pv, pvs any
		member  string // the debug message must name it
	}{
		{"acop 0", acrs(aclRule([]string{owner}, 0)), good, "acop"},
		{"acop 64", acrs(aclRule([]string{owner}, 64)), good, "acop"},
		{"acop 0 in pvs", good, acrs(aclRule([]string{owner}, 0)), "acop"},
		{"acor not a list", map[string]any{"acr": []any{map[string]any{"acor": owner, "acop": 2}}}, good, "acor"},
		{"acor missing", map[string]any{"acr": []any{map[string]any{"acop": 2}}}, good, "acor"},
		{"unknown member", acrs(aclRule([]string{owner}, 2, map[string]any{"xyz": 1})), good, "xyz"},
		{"unknown context member", acrs(aclRule([]string{owner}, 2, map[string]any{"acco": []any{map[string]any{"acxx": 1}}})), good, "acxx"},
		{"bad schedule", acrs(aclRule([]string{owner}, 2, map[string]any{"acco": []any{map[string]any{"actw": []string{"* * 25 * * * *"}}}})), good, "actw"},
		{"schedule with six fields", acrs(aclRule([]string{owner}, 2, map[string]any{"acco": []any{map[string]any{"actw": []string{"* * * * * *"}}}})), good, "actw"},
		{"bad CIDR", acrs(aclRule([]string{owner}, 2, map[string]any{"acco": []any{map[string]any{"acip": map[string]any{"ipv4": []string{"300.1.2.3/8"}}}}})), good, "ipv4"},
		{"ipv6 in ipv4", acrs(aclRule([]string{owner}, 2, map[string]any{"acco": []any{map[string]any{"acip": map[string]any{"ipv4": []string{"::1/128"}}}}})), good, "ipv4"},
		{"acod without chty", acrs(aclRule([]string{owner}, 1, map[string]any{"acod": []any{map[string]any{"ty": 3}}})), good, "chty"},
		{"acr not a list", map[string]any{"acr": "x"}, good, "acr"},
		{"empty pvs", good, acrs(), "pvs"},
		{"pvs without acr", good, map[string]any{}, "pvs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, where := range []struct{ from, parent string }{{owner, "/cse-in/owner"}, {aclAdmin, "/cse-in"}} {
				r := c.Do(testcse.Req{Method: "POST", Path: where.parent, From: where.from, Ty: 1,
					Body: map[string]any{"m2m:acp": map[string]any{"rn": "bad", "pv": tc.pv, "pvs": tc.pvs}}}).Must(t, 4000)
				if dbg, _ := r.JSON["m2m:dbg"].(string); !strings.Contains(dbg, tc.member) {
					t.Errorf("debug message %q does not name %q", dbg, tc.member)
				}
				aclAbsent(t, c, where.parent+"/bad")
			}
		})
	}

	// UPDATE with a bad value changes nothing either.
	aclCreateACP(t, c, owner, "/cse-in/owner", "acp", good, good)
	before := aclSnapshot(t, c, "/cse-in/owner/acp")
	for _, upd := range []map[string]any{
		{"pv": acrs(aclRule([]string{owner}, 64))},
		{"pvs": acrs()},
		{"pvs": nil},
		{"pv": nil},
	} {
		c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/acp", From: owner, Body: map[string]any{"m2m:acp": upd}}).Must(t, 4000)
		aclUnchanged(t, c, "/cse-in/owner/acp", before)
	}

	// acpi naming no <accessControlPolicy>.
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt"})
	cnt := aclSnapshot(t, c, "/cse-in/owner/cnt")
	cntRI := cnt["m2m:cnt"].(map[string]any)["ri"].(string)
	for _, ref := range []string{"acpNoSuch", "/id-in/acpNoSuch", "cse-in/owner/nosuch", cntRI, "/id-mn/acp1", ""} {
		c.Do(testcse.Req{Method: "POST", Path: "/cse-in/owner", From: owner, Ty: 3,
			Body: map[string]any{"m2m:cnt": map[string]any{"rn": "badref", "acpi": []string{ref}}}}).Must(t, 4000)
		aclAbsent(t, c, "/cse-in/owner/badref")
		c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/cnt", From: owner,
			Body: map[string]any{"m2m:cnt": map[string]any{"acpi": []string{ref}}}}).Must(t, 4000)
		aclUnchanged(t, c, "/cse-in/owner/cnt", cnt)
	}
}

// TestACLDeletedPolicy checks that an acpi entry whose policy was deleted
// grants nothing.
func TestACLDeletedPolicy(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Creader", "reader")
	keep := aclCreateACP(t, c, owner, "/cse-in/owner", "keep", acrs(aclRule([]string{owner}, 63)), acrs(aclRule([]string{owner}, 63)))
	gone := aclCreateACP(t, c, owner, "/cse-in/owner", "gone", acrs(aclRule([]string{ae, owner}, 63)), acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "one", "acpi": []string{gone}})
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "two", "acpi": []string{gone, keep}})
	for _, p := range []string{"/cse-in/owner/one", "/cse-in/owner/two"} {
		c.Do(testcse.Req{Method: "GET", Path: p, From: ae}).Must(t, 2000)
	}
	c.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/owner/gone", From: owner}).Must(t, 2002)
	for _, p := range []string{"/cse-in/owner/one", "/cse-in/owner/two"} {
		aclDenied(t, c, testcse.Req{Method: "GET", Path: p, From: ae}, p)
		aclDenied(t, c, testcse.Req{Method: "PUT", Path: p, From: ae,
			Body: map[string]any{"m2m:cnt": map[string]any{"lbl": []string{"x"}}}}, p)
	}
	// The remaining policy still applies; an acpi with nothing left grants
	// nothing, not the default rule.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/two", From: owner}).Must(t, 2000)
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/one", From: owner}, "/cse-in/owner/one")
	// A new policy with the same name is another resource: it does not
	// revive the old reference.
	aclCreateACP(t, c, owner, "/cse-in/owner", "gone", acrs(aclRule([]string{ae, owner}, 63)), acrs(aclRule([]string{owner}, 63)))
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/one", From: ae}, "/cse-in/owner/one")

	// An update of a policy applies at once (the parsed rules are cached).
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/keep", From: owner,
		Body: map[string]any{"m2m:acp": map[string]any{"pv": acrs(aclRule([]string{owner, ae}, 2))}}}).Must(t, 2004)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/two", From: ae}).Must(t, 2000)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/keep", From: owner,
		Body: map[string]any{"m2m:acp": map[string]any{"pv": acrs(aclRule([]string{owner}, 2))}}}).Must(t, 2004)
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/two", From: ae}, "/cse-in/owner/two")
}

// TestACLPolicyIDForms checks acpi entries in every ID form.
func TestACLPolicyIDForms(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Creader", "reader")
	other := aclRegister(t, c, "Cother", "other")
	ri := aclCreateACP(t, c, owner, "/cse-in/owner", "pol", acrs(aclRule([]string{ae}, 2)), acrs(aclRule([]string{owner}, 63)))
	adminACP := aclCreateACP(t, c, aclAdmin, "/cse-in", "toppol", acrs(aclRule([]string{ae}, 2)), acrs(aclRule([]string{aclAdmin}, 63)))
	sp := c.Config.SPID
	for i, ref := range []string{
		ri,
		"/id-in/" + ri,
		sp + "/id-in/" + ri,
		"cse-in/owner/pol",
		"/id-in/cse-in/owner/pol",
		sp + "/id-in/cse-in/owner/pol",
		"-/owner/pol",
		adminACP,
		"cse-in/toppol",
	} {
		t.Run(ref, func(t *testing.T) {
			rn := fmt.Sprintf("cnt%d", i)
			c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{ref}})
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/" + rn, From: ae}).Must(t, 2000)
			aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/" + rn, From: other}, "/cse-in/owner/"+rn)
		})
	}
}

// TestACLChildLists checks that results with child resources (rcn 4, 5, 6,
// 8) omit the children the originator may not retrieve.
func TestACLChildLists(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Creader", "reader")
	read := aclCreateACP(t, c, owner, "/cse-in/owner", "read", acrs(aclRule([]string{ae}, 2)), acrs(aclRule([]string{ae}, 2)))
	disc := aclCreateACP(t, c, owner, "/cse-in/owner", "disc", acrs(aclRule([]string{ae}, 32)), acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "p", "acpi": []string{read}})
	// p's policy does not let the owner create: the admin fills it.
	c.Create(aclAdmin, "/cse-in/owner/p", 3, "m2m:cnt", map[string]any{"rn": "yes", "acpi": []string{read}})
	c.Create(aclAdmin, "/cse-in/owner/p", 3, "m2m:cnt", map[string]any{"rn": "discoverable", "acpi": []string{disc}})
	c.Create(aclAdmin, "/cse-in/owner/p", 3, "m2m:cnt", map[string]any{"rn": "private"})
	c.Create(aclAdmin, "/cse-in/owner/p", 4, "m2m:cin", map[string]any{"rn": "inst", "con": "x"})

	names := func(r *testcse.Resp, rcn int) []string {
		var out []string
		switch rcn {
		case 4, 8:
			m := r.Res("m2m:cnt")
			for _, key := range []string{"m2m:cnt", "m2m:cin"} {
				l, _ := m[key].([]any)
				for _, e := range l {
					out = append(out, e.(map[string]any)["rn"].(string))
				}
			}
		case 5, 6:
			var l []any
			if rcn == 5 {
				l, _ = r.Res("m2m:cnt")["ch"].([]any)
			} else {
				l, _ = r.Res("m2m:rrl")["rrf"].([]any)
			}
			for _, e := range l {
				out = append(out, e.(map[string]any)["nm"].(string))
			}
		}
		slices.Sort(out)
		return out
	}
	for _, rcn := range []int{4, 5, 6, 8} {
		r := c.Do(testcse.Req{Method: "GET", Path: fmt.Sprintf("/cse-in/owner/p?rcn=%d", rcn), From: ae}).Must(t, 2000)
		// The contentInstance follows p, which the reader may retrieve.
		if got, want := names(r, rcn), []string{"inst", "yes"}; !slices.Equal(got, want) {
			t.Errorf("rcn=%d: children %v, want %v: %s", rcn, got, want, r.Body)
		}
		r = c.Do(testcse.Req{Method: "GET", Path: fmt.Sprintf("/cse-in/owner/p?rcn=%d", rcn), From: aclAdmin}).Must(t, 2000)
		if got, want := names(r, rcn), []string{"discoverable", "inst", "private", "yes"}; !slices.Equal(got, want) {
			t.Errorf("rcn=%d as admin: children %v, want %v", rcn, got, want)
		}
	}
	// The AE's children: ACPs are shown only to originators their pvs lets
	// retrieve them.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner?rcn=6", From: owner}).Must(t, 2000)
	var got []string
	for _, e := range r.Res("m2m:rrl")["rrf"].([]any) {
		got = append(got, e.(map[string]any)["nm"].(string))
	}
	slices.Sort(got)
	if want := []string{"disc"}; !slices.Equal(got, want) { // p has acpi without the owner
		t.Errorf("owner's children %v, want %v", got, want)
	}
	// An originator without RETRIEVE on the parent gets no list at all.
	other := aclRegister(t, c, "Cother", "other")
	for _, rcn := range []int{4, 5, 6, 8} {
		aclDenied(t, c, testcse.Req{Method: "GET", Path: fmt.Sprintf("/cse-in/owner/p?rcn=%d", rcn), From: other}, "/cse-in/owner/p")
	}
}

// TestACLPartialRetrieve checks that a partial RETRIEVE is checked too.
func TestACLPartialRetrieve(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	other := aclRegister(t, c, "Cother", "other")
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt", "lbl": []string{"secret"}})
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt?atrl=lbl", From: owner}).Must(t, 2000)
	if got := r.Res("m2m:cnt"); len(got) != 1 || got["lbl"] == nil {
		t.Fatalf("partial retrieve gave %v", got)
	}
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt?atrl=lbl", From: other}, "/cse-in/owner/cnt")
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: other,
		Body: map[string]any{"m2m:atrl": []string{"lbl"}}}, "/cse-in/owner/cnt")
}

// TestACLSubscriptions checks that creating a <subscription> needs CREATE and
// RETRIEVE on the subscribed-to resource, and that subscriptions themselves
// follow their own acpi.
func TestACLSubscriptions(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Csub", "sub")
	createOnly := aclCreateACP(t, c, owner, "/cse-in/owner", "c", acrs(aclRule([]string{ae}, 1)), acrs(aclRule([]string{owner}, 63)))
	retrieveOnly := aclCreateACP(t, c, owner, "/cse-in/owner", "r", acrs(aclRule([]string{ae}, 2)), acrs(aclRule([]string{owner}, 63)))
	both := aclCreateACP(t, c, owner, "/cse-in/owner", "cr", acrs(aclRule([]string{ae}, 3)), acrs(aclRule([]string{owner}, 63)))
	sub := func(rn string) map[string]any {
		return map[string]any{"m2m:sub": map[string]any{"rn": rn, "nu": []string{ae}}}
	}
	for _, tc := range []struct {
		acp string
		ok  bool
	}{{createOnly, false}, {retrieveOnly, false}, {both, true}} {
		rn := "cnt-" + tc.acp
		c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": rn, "acpi": []string{tc.acp}})
		path := "/cse-in/owner/" + rn
		req := testcse.Req{Method: "POST", Path: path, From: ae, Ty: 23, Body: sub("s")}
		if tc.ok {
			c.Do(req).Must(t, 2001)
			// The subscription has no acpi: its creator may delete it.
			c.Do(testcse.Req{Method: "DELETE", Path: path + "/s", From: ae}).Must(t, 2002)
			continue
		}
		aclDenied(t, c, req, path)
		aclAbsent(t, c, path+"/s")
	}
	// Subscribing to an ACP needs CREATE and RETRIEVE in its pvs.
	aclCreateACP(t, c, owner, "/cse-in/owner", "self", acrs(aclRule([]string{ae}, 63)), acrs(aclRule([]string{owner}, 63), aclRule([]string{ae}, 1)))
	aclDenied(t, c, testcse.Req{Method: "POST", Path: "/cse-in/owner/self", From: ae, Ty: 23, Body: sub("s")}, "/cse-in/owner/self")
	aclAbsent(t, c, "/cse-in/owner/self/s")
	// (The owner is its own notification target: Csub, which is not
	// request-reachable, could not be verified.)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/owner/self", From: owner, Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"rn": "s", "nu": []string{owner}}}}).Must(t, 2001)
}

// TestACLOriginatorLookalikes checks that an originator whose ID merely
// starts like a listed one is not matched.
func TestACLOriginatorLookalikes(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := aclRegister(t, c, "Cowner", "owner")
	ae := aclRegister(t, c, "Cabc", "abc")
	long := aclRegister(t, c, "Cabcd", "abcd")
	acp := aclCreateACP(t, c, owner, "/cse-in/owner", "acp", acrs(aclRule([]string{ae}, 2)), acrs(aclRule([]string{owner}, 63)))
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "cnt", "acpi": []string{acp}})
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: ae}).Must(t, 2000)
	aclDenied(t, c, testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: long}, "/cse-in/owner/cnt")
	// An unregistered originator is refused before access control.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: "Cabc/x"}).Must(t, 4000)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/owner/cnt", From: "Cnobody"}).Must(t, 4106)
}

// TestACLBeforeContentChecks: authorization comes before the checks of the
// content (TS-0004 7.2.2.2), so an originator without the right gets 4103 for
// a malformed request too, and learns nothing about what would be accepted.
func TestACLBeforeContentChecks(t *testing.T) {
	c := testcse.Start(t, nil)
	owner := c.RegisterAE("owner")
	other := c.RegisterAE("other")
	c.Create(owner, "/cse-in/owner", 3, "m2m:cnt", map[string]any{"rn": "box"})
	for _, r := range []testcse.Req{
		{Method: "POST", Path: "/cse-in/owner/box", From: other, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"nosuch": 1}}},
		{Method: "POST", Path: "/cse-in/owner/box", From: other, Ty: 4, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "wrongkey"}}},
		{Method: "POST", Path: "/cse-in/owner/box", From: other, Ty: 2, Body: map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": true, "srv": []string{"3"}}}},
		{Method: "POST", Path: "/cse-in/owner/box", From: other, Ty: 9, Body: map[string]any{"m2m:grp": map[string]any{}}},
		{Method: "PUT", Path: "/cse-in/owner/box", From: other, Body: map[string]any{"m2m:cnt": map[string]any{"cni": 5}}},
		{Method: "PUT", Path: "/cse-in/owner/box", From: other, Body: map[string]any{"m2m:cin": map[string]any{}}},
	} {
		aclDenied(t, c, r, "/cse-in/owner/box")
	}
	// With the right, the same requests get their content errors.
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/owner/box", From: owner, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"nosuch": 1}}}).Must(t, 4000)
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/owner/box", From: owner, Body: map[string]any{"m2m:cnt": map[string]any{"cni": 5}}}).Must(t, 4000)
}
