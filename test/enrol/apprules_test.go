package enrol

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

var (
	keyGood  = bytes.Repeat([]byte{0x61}, 32)
	keyOther = bytes.Repeat([]byte{0x62}, 32)
)

// ruleIN starts an IN-CSE with two AE credentials and an HTTPS-PSK
// listener (associations are not required, so AEs may also register
// without one).
func ruleIN(t *testing.T) *testcse.CSE {
	creds := writeSecret(t, "credentials.yaml", fmt.Sprintf(`psk:
  - kpsa-id: good@sp.example
    key: %x
    ae-ids: [Cgood1, Cgood2]
  - kpsa-id: other@sp.example
    key: %x
    ae-ids: [Cother]
`, keyGood, keyOther))
	return testcse.Start(t, func(c *config.Config) { c.Credentials, c.HTTPSPSK = creds, "127.0.0.1:0" })
}

// TestAppRulesAtRegistration: the registrar's node's rules decide, with
// the App-ID, the AE-ID-Stem and the Credential-ID together.
func TestAppRulesAtRegistration(t *testing.T) {
	in := ruleIN(t)
	// Before anything is provisioned the allow-list decides (C*, S*).
	register(in, "C", "early", "Nanything").Must(t, 2001)

	post(in, admin, "/cse-in", 11, "m2m:mssp", map[string]any{"rn": "sub"}).Must(t, 2001)
	plain := post(in, admin, "/cse-in", 19, "m2m:asar", map[string]any{"rn": "plain", "aai": []any{"Nplain"}, "aae": []any{"C*"}}).Must(t, 2001).Res("m2m:asar")
	post(in, admin, "/cse-in", 19, "m2m:asar", map[string]any{"rn": "cred", "apci": []any{"12-good@sp.example"}, "aai": []any{"Nsensor*"}, "aae": []any{"Cgood*"}}).Must(t, 2001)
	// ruleLinks by unstructured ID and by structured address.
	post(in, admin, "/cse-in/sub", 20, "m2m:svsn", map[string]any{"rn": "in", "ni": "in-node", "csi": "/id-in", "rlk": []any{plain["ri"], "cse-in/cred"}}).Must(t, 2001)

	good := in.PSK("good@sp.example", keyGood)
	other := in.PSK("other@sp.example", keyOther)
	for i, tc := range []struct {
		name      string
		c         *testcse.CSE
		from, api string
		rsc       int
	}{
		{"allowed App-ID without association", in, "C", "Nplain", 2001},
		{"allowed App-ID, absent From", in, "-", "Nplain", 2001},
		{"refused App-ID", in, "C", "Nrefused", 4126},
		{"refused S stem", in, "Sabc", "Nplain", 4126},
		{"allowed credential, wildcard App-ID", good, "Cgood1", "Nsensor-temp", 2001},
		{"allowed credential, App-ID of the rule without credentials", good, "Cgood2", "Nplain", 4126},
		{"refused credential", other, "Cother", "Nsensor", 4126},
		{"credential rule without association", in, "Cgood2", "Nsensor", 4126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rn := fmt.Sprintf("ae%d", i)
			register(tc.c, tc.from, rn, tc.api).Must(t, tc.rsc)
			if tc.rsc != 2001 {
				// Nothing was created.
				get(in, admin, "/cse-in/"+rn).Must(t, 4004)
				return
			}
			del(in, admin, "/cse-in/"+rn).Must(t, 2002)
		})
	}

	// An empty ruleLinks lets no AE register on that CSE.
	put(in, admin, "/cse-in/sub/in", "m2m:svsn", map[string]any{"rlk": []any{}}).Must(t, 2004)
	register(in, "C", "x1", "Nplain").Must(t, 4126)
	// The rules can be changed at run time: a wildcard rule for everything.
	all := post(in, admin, "/cse-in", 19, "m2m:asar", map[string]any{"aai": []any{"*"}, "aae": []any{"*"}}).Must(t, 2001).Res("m2m:asar")
	put(in, admin, "/cse-in/sub/in", "m2m:svsn", map[string]any{"rlk": []any{all["ri"]}}).Must(t, 2004)
	register(in, "Sfree", "x2", "Rcom.example.any").Must(t, 2001)
	// Without any node of this CSE: 4128.
	del(in, admin, "/cse-in/sub/in").Must(t, 2002)
	post(in, admin, "/cse-in/sub", 20, "m2m:svsn", map[string]any{"rn": "mn", "ni": "mn-node", "csi": "/id-mn9", "rlk": []any{all["ri"]}}).Must(t, 2001)
	register(in, "C", "x3", "Nplain").Must(t, 4128)
	get(in, admin, "/cse-in/x3").Must(t, 4004)
	// The profile gone with its nodes (deleted here; expiry does the same),
	// the rules remain: still 4128, not the allow-list of an unprovisioned CSE.
	del(in, admin, "/cse-in/sub").Must(t, 2002)
	register(in, "C", "x4", "Nplain").Must(t, 4128)
}
