package multicse

import (
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// A subscription on the IN whose notification target is an AE registered
// with the ASN, named by its SP-relative AE-ID: the IN cannot reach the AE's
// pointOfAccess itself, so the NOTIFY travels down the registration tree
// (IN → MN → ASN) and the ASN hands it to the AE through its poa (TS-0004
// 7.5.1.2.2 with 7.3.2.6 and 7.3.3.9.1). A target on a CSE that is not
// known anywhere is refused at subscription time.
func TestNotifyAcrossCSEs(t *testing.T) {
	tr := startTree(t)
	openACP(tr.in)
	tr.in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	rcv := testcse.NewReceiver(t)
	r := tr.asn.Do(testcse.Req{Method: "POST", Path: "/cse-asn", From: "C", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "far", "api": "Nfar", "rr": true, "srv": []any{"3"}, "poa": []any{rcv.URL}}}}).Must(t, 2001)
	aei, _ := r.Res("m2m:ae")["aei"].(string)
	target := "/id-asn/" + aei
	sub := func(rn string) *testcse.Resp {
		return tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in/shared", From: "CAdmin", Ty: 23,
			Body: map[string]any{"m2m:sub": map[string]any{"rn": rn, "nu": []any{target}, "enc": map[string]any{"net": []any{3}}}}})
	}

	// The AE has not allowed the IN to notify it: the ASN refuses the
	// verification request with 5205, so the subscription is refused.
	if r := sub("refused").Must(t, 5204); !strings.Contains(string(r.Body), "5205") {
		t.Fatalf("refusal %s: want the target's 5205 SUBSCRIPTION_HOST_HAS_NO_PRIVILEGE", r.Body)
	}
	if n := len(rcv.All()); n != 0 {
		t.Fatalf("%d requests reached the AE, want none", n)
	}
	tr.asn.Create(aei, "/cse-asn/far", 1, "m2m:acp", map[string]any{"rn": "notifiers",
		"pv":  map[string]any{"acr": []any{map[string]any{"acor": []any{"/id-in"}, "acop": 16}, map[string]any{"acor": []any{aei}, "acop": 63}}},
		"pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{aei}, "acop": 63}}}})
	tr.asn.Do(testcse.Req{Method: "PUT", Path: "/cse-asn/far", From: aei,
		Body: map[string]any{"m2m:ae": map[string]any{"acpi": []any{"cse-asn/far/notifiers"}}}}).Must(t, 2004)
	// The IN may notify the AE now, but the subscription's creator (the
	// IN's admin) may not: 4101 at the ASN, so still refused.
	if r := sub("refused").Must(t, 5204); !strings.Contains(string(r.Body), "4101") {
		t.Fatalf("refusal %s: want the target's 4101 SUBSCRIPTION_CREATOR_HAS_NO_PRIVILEGE", r.Body)
	}
	tr.asn.Do(testcse.Req{Method: "PUT", Path: "/cse-asn/far/notifiers", From: aei,
		Body: map[string]any{"m2m:acp": map[string]any{"pv": map[string]any{"acr": []any{
			map[string]any{"acor": []any{"/id-in", "/id-in/CAdmin"}, "acop": 16}, map[string]any{"acor": []any{aei}, "acop": 63}}}}}}).Must(t, 2004)

	// Subscribed by the admin of the IN, so the target is not the subscriber
	// and is verified: the verification request takes the same way.
	sub("tofar").Must(t, 2001)
	all := rcv.All()
	if len(all) != 1 || !all[0].IsVerification() {
		t.Fatalf("at the AE: %d requests, want the verification request alone", len(all))
	}
	if o := all[0].Header.Get("X-M2M-Origin"); o != "/id-in" {
		t.Errorf("verification came from %q, want the IN /id-in", o)
	}
	tr.in.Create("CAdmin", "/cse-in/shared", 4, "m2m:cin", map[string]any{"rn": "v1", "con": "hello"})
	got := rcv.Wait(1, 10*time.Second)
	if cin, _ := got[0].Rep()["m2m:cin"].(map[string]any); cin["con"] != "hello" || got[0].Sgn()["sur"] != "/id-in/"+subRI(t, tr.in, "/cse-in/shared/tofar") {
		t.Fatalf("notification at the AE: %s", got[0].Body)
	}

	// The AE subscribes itself through its CSE, naming itself by AE-ID.
	tr.asn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared", From: aei, Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"rn": "mine", "nu": []any{target}, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2001)
	tr.in.Create("CAdmin", "/cse-in/shared", 4, "m2m:cin", map[string]any{"rn": "v2", "con": "again"})
	rcv.Wait(3, 10*time.Second)

	// No CSE of that ID anywhere: the verification cannot be sent.
	tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in/shared", From: "CAdmin", Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{"/id-nowhere/Cx"}}}}).Must(t, 5204)
}

func subRI(t *testing.T, c *testcse.CSE, path string) string {
	t.Helper()
	ri, _ := get(c, path).Must(t, 2000).Res("m2m:sub")["ri"].(string)
	return ri
}
