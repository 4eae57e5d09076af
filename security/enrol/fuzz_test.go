package enrol

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, a key never appears in an error, and a
// file it accepts names only rules it defines.
func FuzzParse(f *testing.F) {
	f.Add([]byte("subscriptions:\n  - name: a\n    nodes:\n      - name: n\n        node-id: x\n        cse-id: /id-mn\n        app-rules: [r]\napp-rules:\n  - name: r\n    no-credential: true\n    app-ids: ['*']\n    ae-ids: ['*']\n"))
	f.Add([]byte("credentials:\n  - kpsa-id: a@b\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn\n"))
	f.Add([]byte("credentials:\n  - kpsa-id: a@b\n    key: zz5ecret5ecret\n    cse-id: /x\n"))
	f.Add([]byte("app-rules: {"))
	f.Add([]byte("enrolees:\n  - kpm-id: gw@f.example\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Parse(data)
		if err != nil {
			for _, line := range strings.Split(string(data), "\n") {
				if k, ok := strings.CutPrefix(strings.TrimSpace(line), "key:"); ok && len(strings.TrimSpace(k)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(k)) {
					t.Fatalf("the error shows a key: %v", err)
				}
			}
			return
		}
		rules := map[string]bool{}
		for _, r := range fl.AppRules {
			rules[r.Name] = true
		}
		for _, s := range fl.Subscriptions {
			for _, n := range s.Nodes {
				for _, r := range n.AppRules {
					if !rules[r] {
						t.Fatalf("node %q names the unknown rule %q", n.Name, r)
					}
				}
			}
		}
	})
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"unknown field", "subscription: []\n", "not a valid enrolment file"},
		{"unknown rule", "subscriptions:\n  - name: a\n    nodes:\n      - name: n\n        node-id: x\n        cse-id: /m\n        app-rules: [nope]\n", "no app-rule named"},
		{"rules without cse-id", "app-rules:\n  - name: r\n    no-credential: true\n    app-ids: [Na]\n    ae-ids: [C*]\nsubscriptions:\n  - name: a\n    nodes:\n      - name: n\n        node-id: x\n        app-rules: [r]\n", "need the node's cse-id"},
		{"rule without credentials", "app-rules:\n  - name: r\n    app-ids: [Na]\n    ae-ids: [C*]\n", "no-credential"},
		{"bad key", "credentials:\n  - kpsa-id: a@b\n    key: secretsecret\n    cse-id: /m\n", "hex digits"},
		{"both bindings", "credentials:\n  - kpsa-id: a@b\n    cse-id: /m\n    ae-ids: [Ca]\n", "exactly one"},
		{"unknown subscription", "credentials:\n  - kpsa-id: a@b\n    cse-id: /m\n    subscription: x\n", "no subscription named"},
		{"duplicate names", "subscriptions:\n  - name: a\napp-rules:\n  - name: a\n    no-credential: true\n    app-ids: [Na]\n    ae-ids: [C*]\n", "used by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secretsecret") {
				t.Fatalf("key in error: %v", err)
			}
		})
	}
}
