package enrol

import (
	"strings"
	"testing"
	"time"
)

func TestEnrolees(t *testing.T) {
	head := `subscriptions:
  - name: acme
    expires: 2029-01-01T00:00:00Z
    nodes:
      - name: gw1
        node-id: urn:dev:ops:gw1
        cse-id: /id-mn1
credentials:
  - kpsa-id: mn1@in.example
    key: 00112233445566778899aabbccddeeff
    cse-id: /id-mn1
enrolees:
`
	ok := `  - kpm-id: gw1@factory.example
    key: 00112233445566778899aabbccddeeff
    cse-id: /id-mn1
    subscription: acme
    not-after: 2030-01-01T00:00:00Z
`
	f, err := Parse([]byte(head + ok))
	if err != nil {
		t.Fatal(err)
	}
	e := &f.Enrolees[0]
	if got := f.EnroleeNotAfter(e); !got.Equal(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("not-after %s: the subscription ends first", got)
	}
	if k, err := EnroleeKey(e); err != nil || len(k) != 16 {
		t.Fatalf("key: %v", err)
	}
	for _, tc := range []struct{ entry, want string }{
		{ok + ok, "listed twice"},
		{"  - kpm-id: mn1@in.example\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn2\n", "kpsa-id too"},
		{"  - kpm-id: g@f\n    cse-id: /id-mn1\n", "key or key-file"},
		{"  - kpm-id: g@f\n    key: 0011\n    cse-id: /id-mn1\n", "at least 16 bytes"},
		{"  - kpm-id: g@f\n    key: 00112233445566778899aabbccddeeff\n    cse-id: id-mn1\n", "SP-relative"},
		{"  - kpm-id: g f\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn1\n", "enrolee"},
		{"  - kpm-id: g@f\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn1\n    subscription: nope\n", "no subscription"},
		{"  - kpm-id: g@f\n    key: 00112233445566778899aabbccddeeff\n    cse-id: /id-mn7\n    subscription: acme\n", "no node with cse-id"},
		{ok + strings.Replace(ok, "gw1@", "gw2@", 1), "assigned to enrolee"},
	} {
		if _, err := Parse([]byte(head + tc.entry)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.entry, err, tc.want)
		}
	}
}
