// Package enrol tests enrolment over real transports (issue 6): the M2M
// service subscription resources, application rules at AE registration,
// the enrolment file, and credentials tied to applications.
package enrol

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

const admin = "CAdmin"

func post(c *testcse.CSE, from, path string, ty int, key string, body map[string]any) *testcse.Resp {
	return c.Do(testcse.Req{Method: "POST", Path: path, From: from, Ty: ty, Body: map[string]any{key: body}})
}

func put(c *testcse.CSE, from, path, key string, body map[string]any) *testcse.Resp {
	return c.Do(testcse.Req{Method: "PUT", Path: path, From: from, Body: map[string]any{key: body}})
}

func get(c *testcse.CSE, from, path string) *testcse.Resp {
	return c.Do(testcse.Req{Method: "GET", Path: path, From: from})
}

func del(c *testcse.CSE, from, path string) *testcse.Resp {
	return c.Do(testcse.Req{Method: "DELETE", Path: path, From: from})
}

func aeBody(rn, api string) map[string]any {
	return map[string]any{"rn": rn, "api": api, "rr": false, "srv": []any{"3"}}
}

// register registers an AE over c and returns the answer.
func register(c *testcse.CSE, from, rn, api string) *testcse.Resp {
	return post(c, from, "/cse-in", 2, "m2m:ae", aeBody(rn, api))
}

// writeSecret writes a file readable by its owner only.
func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSubscriptionResources: the three types with their attributes, their
// parents, their validation, and the administrator as their only manager.
func TestSubscriptionResources(t *testing.T) {
	in := testcse.Start(t, nil)
	ae := in.RegisterAE("someapp")

	mssp := post(in, admin, "/cse-in", 11, "m2m:mssp", map[string]any{"rn": "sub1", "lbl": []any{"gold"}}).Must(t, 2001).Res("m2m:mssp")
	if mssp["ty"] != int64(11) || mssp["rn"] != "sub1" || mssp["ri"] == "" {
		t.Fatalf("mssp: %v", mssp)
	}
	asar := post(in, admin, "/cse-in", 19, "m2m:asar", map[string]any{
		"rn": "rule1", "apci": []any{"12-a@sp"}, "aai": []any{"Napp", "Rcom.example.*"}, "aae": []any{"C*"}, "ari": []any{"role1"},
	}).Must(t, 2001).Res("m2m:asar")
	if asar["ty"] != int64(19) || fmt.Sprint(asar["aai"]) != "[Napp Rcom.example.*]" {
		t.Fatalf("asar: %v", asar)
	}
	svsn := post(in, admin, "/cse-in/sub1", 20, "m2m:svsn", map[string]any{
		"rn": "node1", "ni": "urn:dev:ops:acme-gw-1", "csi": "/id-mn1", "di": []any{"urn:imei:490154203237518"},
		"rlk": []any{asar["ri"]}, "nrq": false,
	}).Must(t, 2001).Res("m2m:svsn")
	if svsn["ty"] != int64(20) || svsn["ni"] != "urn:dev:ops:acme-gw-1" || svsn["csi"] != "/id-mn1" {
		t.Fatalf("svsn: %v", svsn)
	}

	for _, tc := range []struct {
		name string
		path string
		ty   int
		key  string
		body map[string]any
		from string
		rsc  int
	}{
		{"svsn without ni", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"csi": "/id-x"}, admin, 4000},
		{"svsn rlk without csi", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"ni": "n2", "rlk": []any{"x"}}, admin, 4000},
		{"svsn bad csi", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"ni": "n2", "csi": "id-x"}, admin, 4000},
		{"svsn bad di", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"ni": "n2", "di": []any{"imei-123"}}, admin, 4000},
		{"svsn unknown attribute", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"ni": "n2", "xyz": 1}, admin, 4000},
		{"svsn under the CSEBase", "/cse-in", 20, "m2m:svsn", map[string]any{"ni": "n2"}, admin, 4108},
		{"asar under an mssp", "/cse-in/sub1", 19, "m2m:asar", map[string]any{"aai": []any{"Nx"}}, admin, 4108},
		{"mssp under an AE", "/cse-in/someapp", 11, "m2m:mssp", map[string]any{}, admin, 4108},
		{"asar bad App-ID", "/cse-in", 19, "m2m:asar", map[string]any{"aai": []any{"Xapp"}}, admin, 4000},
		{"asar bad AE pattern", "/cse-in", 19, "m2m:asar", map[string]any{"aae": []any{"Aabc"}}, admin, 4000},
		{"asar too many wildcards", "/cse-in", 19, "m2m:asar", map[string]any{"aai": []any{"N*a*b*c*d*"}}, admin, 4000},
		{"asar apci not a list", "/cse-in", 19, "m2m:asar", map[string]any{"apci": "12-a@sp"}, admin, 4000},
		{"mssp by an AE", "/cse-in", 11, "m2m:mssp", map[string]any{}, ae, 4103},
		{"svsn by an AE", "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"ni": "n3"}, ae, 4103},
		{"asar by an AE", "/cse-in", 19, "m2m:asar", map[string]any{"aai": []any{"*"}}, ae, 4103},
	} {
		t.Run(tc.name, func(t *testing.T) {
			post(in, tc.from, tc.path, tc.ty, tc.key, tc.body).Must(t, tc.rsc)
		})
	}

	// Updates: the administrator only; ni and csi cannot change.
	put(in, ae, "/cse-in/sub1/node1", "m2m:svsn", map[string]any{"nrq": true}).Must(t, 4103)
	put(in, ae, "/cse-in/rule1", "m2m:asar", map[string]any{"aai": []any{"*"}}).Must(t, 4103)
	put(in, admin, "/cse-in/sub1/node1", "m2m:svsn", map[string]any{"ni": "other"}).Must(t, 4000)
	put(in, admin, "/cse-in/sub1/node1", "m2m:svsn", map[string]any{"csi": "/id-other"}).Must(t, 4000)
	up := put(in, admin, "/cse-in/rule1", "m2m:asar", map[string]any{"aai": []any{"Nother"}}).Must(t, 2004).Res("m2m:asar")
	if fmt.Sprint(up["aai"]) != "[Nother]" {
		t.Fatalf("updated asar: %v", up)
	}
	put(in, admin, "/cse-in/sub1/node1", "m2m:svsn", map[string]any{"rlk": []any{}}).Must(t, 2004)
	// A node without csi cannot get rules.
	post(in, admin, "/cse-in/sub1", 20, "m2m:svsn", map[string]any{"rn": "bare", "ni": "n-bare"}).Must(t, 2001)
	put(in, admin, "/cse-in/sub1/bare", "m2m:svsn", map[string]any{"rlk": []any{"x"}}).Must(t, 4000)

	// Reading: the administrator; an AE without a policy granting it cannot.
	get(in, admin, "/cse-in/sub1/node1").Must(t, 2000)
	get(in, ae, "/cse-in/sub1/node1").Must(t, 4103)

	// Deletes: the administrator only; deleting the profile takes its nodes.
	del(in, ae, "/cse-in/rule1").Must(t, 4103)
	del(in, ae, "/cse-in/sub1").Must(t, 4103)
	del(in, admin, "/cse-in/sub1").Must(t, 2002)
	get(in, admin, "/cse-in/sub1/node1").Must(t, 4004)
	del(in, admin, "/cse-in/rule1").Must(t, 2002)
}

// TestSubscriptionResourcesINOnly: an MN-CSE refuses them with 4005.
func TestSubscriptionResourcesINOnly(t *testing.T) {
	mn := testcse.Start(t, func(c *config.Config) { c.CSEType, c.CSEID, c.CSEName = "MN", "/id-mn", "cse-in" })
	post(mn, admin, "/cse-in", 11, "m2m:mssp", map[string]any{}).Must(t, 4005)
	post(mn, admin, "/cse-in", 19, "m2m:asar", map[string]any{"aai": []any{"*"}}).Must(t, 4005)
	// Nor does it list them as supported; the IN-CSE does.
	for _, tc := range []struct {
		c    *testcse.CSE
		want bool
	}{{mn, false}, {testcse.Start(t, nil), true}} {
		srt := fmt.Sprint(get(tc.c, admin, "/cse-in").Res("m2m:cb")["srt"])
		for _, ty := range []string{" 11 ", " 19 ", " 20 "} {
			if got := strings.Contains(" "+strings.Trim(srt, "[]")+" ", ty); got != tc.want {
				t.Errorf("%s: srt %s lists %s: %v", tc.c.Config.CSEType, srt, ty, got)
			}
		}
	}
}
