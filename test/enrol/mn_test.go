package enrol

import (
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMNRegistrarFetchesRules: an MN-CSE registrar applies the rules the
// IN-CSE holds for its node, as they are at each registration.
func TestMNRegistrarFetchesRules(t *testing.T) {
	in := testcse.Start(t, func(c *config.Config) { c.CSEType, c.CSEID, c.CSEName = "IN", "/id-in", "cse-in" })
	mn := testcse.Start(t, func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = "MN", "/id-mn", "cse-mn"
		c.RegistrarURL, c.RegistrarID, c.RegistrarName = in.URL, "/id-in", "cse-in"
		c.LivenessInterval = 100 * time.Millisecond
	})
	waitFor(t, "the MN is registered", func() bool { return get(mn, admin, "/cse-mn/id-in").RSC == 2000 })
	regMN := func(from, rn, api string) *testcse.Resp {
		return post(mn, from, "/cse-mn", 2, "m2m:ae", aeBody(rn, api))
	}
	// Nothing provisioned: the MN's allow-list decides.
	regMN("C", "early", "Nwhatever").Must(t, 2001)

	post(in, admin, "/cse-in", 11, "m2m:mssp", map[string]any{"rn": "sub"}).Must(t, 2001)
	post(in, admin, "/cse-in", 19, "m2m:asar", map[string]any{"rn": "r1", "aai": []any{"Nok*"}, "aae": []any{"C*", "S*"}}).Must(t, 2001)
	post(in, admin, "/cse-in/sub", 20, "m2m:svsn", map[string]any{"rn": "mn", "ni": "mn-node", "csi": "/id-mn", "rlk": []any{"cse-in/r1"}}).Must(t, 2001)

	regMN("C", "a1", "Nok-1").Must(t, 2001)
	regMN("C", "a2", "Nbad").Must(t, 4126)
	get(mn, admin, "/cse-mn/a2").Must(t, 4004)
	// An S-type AE: the MN checks, then the IN-CSE assigns the AE-ID.
	regMN("S", "s1", "Nok-s").Must(t, 2001)
	// The IN-CSE checks the announcement of an S-type AE itself, against
	// the rules of the announcing registrar's node.
	annc := func(api string) *testcse.Resp {
		return post(in, "/id-mn/S", "/cse-in", 10002, "m2m:aeA", map[string]any{"lnk": "/id-mn/S", "api": api, "lbl": []any{"Credential-ID:"}})
	}
	annc("Nbad").Must(t, 4126)
	annc("Nok-2").Must(t, 2001)
	// Changed on the IN: the next registration at the MN follows.
	put(in, admin, "/cse-in/r1", "m2m:asar", map[string]any{"aai": []any{"Nbad"}}).Must(t, 2004)
	regMN("C", "a2", "Nbad").Must(t, 2001)
	regMN("C", "a3", "Nok-3").Must(t, 4126)
	// No node for the MN any more (another node exists): 4128.
	del(in, admin, "/cse-in/sub/mn").Must(t, 2002)
	post(in, admin, "/cse-in/sub", 20, "m2m:svsn", map[string]any{"rn": "other", "ni": "other", "csi": "/id-other"}).Must(t, 2001)
	regMN("C", "a4", "Nbad").Must(t, 4128)
}
