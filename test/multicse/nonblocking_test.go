package multicse

import (
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// A non-blocking request whose target is on another CSE: the receiving CSE
// keeps the <request>, forwards the request blocking (rt is not passed on,
// so no <request> appears on the way), and stores the remote answer.
func TestNonBlockingForwarded(t *testing.T) {
	tr := startTree(t)
	openACP(tr.in)
	tr.in.Create("CAdmin", "/cse-in", 3, "m2m:cnt", map[string]any{"rn": "shared", "acpi": []any{"cse-in/open"}})
	aei := tr.asn.RegisterAE("sensor")
	ack := tr.asn.Do(testcse.Req{Method: "POST", Path: "/~/id-in/cse-in/shared?rt=1", From: aei, Ty: 4,
		Body: map[string]any{"m2m:cin": map[string]any{"rn": "far", "con": "v"}}}).Must(t, 1001)
	uri, _ := ack.JSON["m2m:uri"].(string)
	if !strings.HasPrefix(uri, "cse-asn/req") {
		t.Fatalf("m2m:uri %q: want a <request> of the ASN", uri)
	}
	var req map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req = tr.asn.Do(testcse.Req{Method: "GET", Path: "/" + uri, From: aei}).Must(t, 2000).Res("m2m:req")
		if req["rs"] != int64(3) || time.Now().After(deadline) {
			break
		}
	}
	ors, _ := req["ors"].(map[string]any)
	if req["rs"] != int64(1) || ors["rsc"] != int64(2001) {
		t.Fatalf("rs %v ors %v, want 1 and the IN's 2001", req["rs"], ors)
	}
	if cin, _ := ors["pc"].(map[string]any)["m2m:cin"].(map[string]any); cin["con"] != "v" {
		t.Errorf("ors.pc %v: want the IN's contentInstance", ors["pc"])
	}
	get(tr.in, "/cse-in/shared/far").Must(t, 2000)
	for _, c := range []*testcse.CSE{tr.mn, tr.in} {
		r := get(c, "/"+c.Config.CSEName+"?fu=1&ty=17").Must(t, 2000)
		if got := strs(r.JSON["m2m:uril"]); len(got) != 0 {
			t.Errorf("%s holds <request>s %v: the forwarded request was not blocking", c.Config.CSEName, got)
		}
	}
}
