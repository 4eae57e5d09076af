package acceptance

import (
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/onecse/onecse/internal/testcse"
)

// Non-blocking requests over every binding (TS-0004 7.3.2.3; protocol.md
// 12): the acknowledgement carries rsc 1001/1002 and the address of the
// <request>, which the originator then reads blocking.
func init() {
	cases = append(cases, struct {
		name string
		run  func(t *testing.T, e *env)
	}{"a non-blocking request", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
		ack := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, Params: map[string]any{"rt": map[string]any{"rtv": 1}},
			PC: map[string]any{"m2m:cnt": map[string]any{"rn": "nb"}}}).Must(t, 1001)
		uri, _ := ack.PC["m2m:uri"].(string)
		if !strings.HasPrefix(uri, "cse-in/req") {
			t.Fatalf("acknowledgement %s: no m2m:uri of a <request>", ack.Raw)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			req := retrieve(t, cl, aei, uri).Must(t, 2000).Res("m2m:req")
			if req["rs"] != int64(3) {
				if ors, _ := req["ors"].(map[string]any); req["rs"] != int64(1) || ors["rsc"] != int64(2001) {
					t.Fatalf("<request> %v: want rs 1, ors.rsc 2001", req)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still PENDING: %v", req)
			}
			time.Sleep(20 * time.Millisecond)
		}
		retrieve(t, cl, aei, "cse-in/ae1/nb").Must(t, 2000)
		// rt=2: 1002 (the AE has no point of access: the result NOTIFY
		// finds nobody, which the acknowledgement does not depend on).
		cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"rt": map[string]any{"rtv": 2}}}).Must(t, 1002)

		// CoAP: 2.01 Created with the <request> in Location-Path for both
		// (TS-0008 6.3.2, 6.3.3).
		if k, ok := cl.(*testcse.CoAPClient); ok {
			for rtv, rsc := range map[int]int{1: 1001, 2: 1002} {
				raw := k.Do(t, codes.GET, k.Options(testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"rt": map[string]any{"rtv": rtv}}}), nil)
				res := raw.Result(t).Must(t, rsc)
				var loc []string
				for _, o := range raw.Opts {
					if o.ID == message.LocationPath {
						loc = append(loc, string(o.Value))
					}
				}
				if raw.Code != codes.Created || strings.Join(loc, "/") != res.PC["m2m:uri"] {
					t.Errorf("rt=%d over CoAP: %v with Location-Path %v, want 2.01 and %v", rtv, raw.Code, loc, res.PC["m2m:uri"])
				}
			}
		}
	}})
}
