// Package acceptance runs one table of black-box cases over every binding:
// the same requests, in binding-neutral terms (testcse.Msg), carried by a
// client of each binding, with the same answers expected. A new binding
// adds a client to bindings, not cases.
package acceptance

import (
	"slices"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// bindings start a CSE and a client of one binding.
var bindings = []struct {
	name  string
	start func(t *testing.T) testcse.Client
}{
	{"http", func(t *testing.T) testcse.Client { return testcse.Start(t, nil).HTTPClient() }},
	{"ws-json", func(t *testing.T) testcse.Client { return testcse.DialWS(t, testcse.Start(t, nil), "oneM2M.json") }},
	{"ws-cbor", func(t *testing.T) testcse.Client { return testcse.DialWS(t, testcse.Start(t, nil), "oneM2M.cbor") }},
	{"mqtt-json", func(t *testing.T) testcse.Client { return testcse.DialMQTT(t, testcse.StartMQTT(t, nil), "json") }},
	{"mqtt-cbor", func(t *testing.T) testcse.Client { return testcse.DialMQTT(t, testcse.StartMQTT(t, nil), "cbor") }},
	{"coap", func(t *testing.T) testcse.Client { return testcse.DialCoAP(t, testcse.StartCoAP(t, nil)) }},
	{"coap-cbor", func(t *testing.T) testcse.Client {
		cl := testcse.DialCoAP(t, testcse.StartCoAP(t, nil))
		cl.CBOR = true
		return cl
	}},
	// Non-confirmable requests get (separate, NON) answers too (TS-0008 6.3.1).
	{"coap-non", func(t *testing.T) testcse.Client {
		cl := testcse.DialCoAP(t, testcse.StartCoAP(t, nil))
		cl.NON = true
		return cl
	}},
	// The broker embedded in onecse (--mqtt-embedded) instead of Mosquitto.
	{"mqtt-embedded", func(t *testing.T) testcse.Client {
		return testcse.DialMQTT(t, testcse.Start(t, func(cfg *config.Config) { cfg.MQTTEmbedded = "127.0.0.1:0" }), "json")
	}},
}

const admin = "CAdmin"

// register registers an AE named rn and returns its AE-ID.
func register(t *testing.T, cl testcse.Client, rn string) string {
	t.Helper()
	r := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2,
		PC: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nacceptance", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001)
	aei, _ := r.Res("m2m:ae")["aei"].(string)
	if aei == "" || aei[0] != 'C' {
		t.Fatalf("aei %q in %s", aei, r.Raw)
	}
	return aei
}

func retrieve(t *testing.T, cl testcse.Client, from, to string) *testcse.Result {
	t.Helper()
	return cl.Send(t, testcse.Msg{Op: 2, To: to, From: from})
}

var cases = []struct {
	name string
	run  func(t *testing.T, cl testcse.Client)
}{
	{"AE registration and deregistration", func(t *testing.T, cl testcse.Client) {
		aei := register(t, cl, "ae1")
		got := retrieve(t, cl, aei, "cse-in/ae1").Must(t, 2000).Res("m2m:ae")
		if got["aei"] != aei || got["ri"] != aei || got["api"] != "Nacceptance" {
			t.Fatalf("retrieved %v", got)
		}
		// A second AE with the same name: 4105 CONFLICT, the first unchanged.
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2,
			PC: map[string]any{"m2m:ae": map[string]any{"rn": "ae1", "api": "Nother", "rr": false, "srv": []any{"3"}}}}).Must(t, 4105)
		if got := retrieve(t, cl, aei, "cse-in/ae1").Must(t, 2000).Res("m2m:ae"); got["api"] != "Nacceptance" {
			t.Fatalf("after the conflict: %v", got)
		}
		cl.Send(t, testcse.Msg{Op: 4, To: "cse-in/ae1", From: aei}).Must(t, 2002)
		retrieve(t, cl, admin, "cse-in/ae1").Must(t, 4004)
		// Deregistered: its AE-ID is no longer an originator here.
		retrieve(t, cl, aei, "cse-in").Must(t, 4106)
	}},
	{"container CRUD", func(t *testing.T, cl testcse.Client) {
		aei := register(t, cl, "ae1")
		cnt := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3,
			PC: map[string]any{"m2m:cnt": map[string]any{"rn": "temp", "mni": 10, "lbl": []any{"room:1"}}}}).Must(t, 2001).Res("m2m:cnt")
		if cnt["rn"] != "temp" || cnt["mni"] != int64(10) || cnt["cni"] != int64(0) || cnt["pi"] != aei {
			t.Fatalf("created %v", cnt)
		}
		ri, _ := cnt["ri"].(string)
		// By structured path, by unstructured ID, and by SP-relative path.
		for _, to := range []string{"cse-in/ae1/temp", ri} {
			if got := retrieve(t, cl, aei, to).Must(t, 2000).Res("m2m:cnt"); got["ri"] != ri {
				t.Fatalf("%s: %v", to, got)
			}
		}
		upd := cl.Send(t, testcse.Msg{Op: 3, To: "cse-in/ae1/temp", From: aei,
			PC: map[string]any{"m2m:cnt": map[string]any{"mni": 5, "lbl": nil}}}).Must(t, 2004).Res("m2m:cnt")
		if upd["mni"] != int64(5) || upd["lbl"] != nil {
			t.Fatalf("updated %v", upd)
		}
		// Partial retrieve: pc m2m:atrl (a query item over HTTP).
		part := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1/temp", From: aei, PC: map[string]any{"m2m:atrl": []any{"mni"}}}).Must(t, 2000).Res("m2m:cnt")
		if part["mni"] != int64(5) || part["rn"] != nil {
			t.Fatalf("partial retrieve %v", part)
		}
		cl.Send(t, testcse.Msg{Op: 4, To: "cse-in/ae1/temp", From: aei}).Must(t, 2002)
		retrieve(t, cl, aei, "cse-in/ae1/temp").Must(t, 4004)
	}},
	{"contentInstance and la", func(t *testing.T, cl testcse.Client) {
		aei := register(t, cl, "ae1")
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "temp", "mni": 2}}}).Must(t, 2001)
		for _, v := range []string{"20.5", "21.0", "21.5"} {
			cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1/temp", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": v, "cnf": "text/plain:0"}}}).Must(t, 2001)
		}
		if la := retrieve(t, cl, aei, "cse-in/ae1/temp/la").Must(t, 2000).Res("m2m:cin"); la["con"] != "21.5" {
			t.Fatalf("la %v", la)
		}
		if ol := retrieve(t, cl, aei, "cse-in/ae1/temp/ol").Must(t, 2000).Res("m2m:cin"); ol["con"] != "21.0" {
			t.Fatalf("ol after mni=2 dropped the oldest: %v", ol)
		}
		cnt := retrieve(t, cl, aei, "cse-in/ae1/temp").Must(t, 2000).Res("m2m:cnt")
		if cnt["cni"] != int64(2) || cnt["cbs"] != int64(8) {
			t.Fatalf("cni/cbs %v/%v", cnt["cni"], cnt["cbs"])
		}
		// rcn=4: the container with its instances.
		all := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1/temp", From: aei, Params: map[string]any{"rcn": 4}}).Must(t, 2000).Res("m2m:cnt")
		if cins, _ := all["m2m:cin"].([]any); len(cins) != 2 {
			t.Fatalf("rcn=4 children: %v", all)
		}
	}},
	{"discovery", func(t *testing.T, cl testcse.Client) {
		aei := register(t, cl, "ae1")
		for _, c := range []struct {
			rn  string
			lbl []any
		}{{"a", []any{"kind:temp"}}, {"b", []any{"kind:hum"}}, {"c", []any{"kind:temp"}}} {
			cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": c.rn, "lbl": c.lbl}}}).Must(t, 2001)
		}
		uril := func(r *testcse.Result) []string {
			var out []string
			l, _ := r.PC["m2m:uril"].([]any)
			for _, e := range l {
				out = append(out, e.(string))
			}
			slices.Sort(out)
			return out
		}
		got := uril(cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"fc": map[string]any{"fu": 1, "ty": []any{3}}}}).Must(t, 2000))
		if !slices.Equal(got, []string{"cse-in/ae1/a", "cse-in/ae1/b", "cse-in/ae1/c"}) {
			t.Fatalf("ty=3: %v", got)
		}
		got = uril(cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"fc": map[string]any{"fu": 1, "lbl": []any{"kind:temp"}}}}).Must(t, 2000))
		if !slices.Equal(got, []string{"cse-in/ae1/a", "cse-in/ae1/c"}) {
			t.Fatalf("lbl=kind:temp: %v", got)
		}
		got = uril(cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"fc": map[string]any{"fu": 1, "ty": []any{3}, "lim": 1}}}).Must(t, 2000))
		if len(got) != 1 {
			t.Fatalf("lim=1: %v", got)
		}
		// rcn=6 gives child references instead.
		r := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"rcn": 6, "fc": map[string]any{"fu": 1, "ty": []any{3}}}}).Must(t, 2000)
		if rrf, _ := r.Res("m2m:rrl")["rrf"].([]any); len(rrf) != 3 {
			t.Fatalf("rcn=6: %s", r.Raw)
		}
	}},
	{"bad requests change nothing", func(t *testing.T, cl testcse.Client) {
		aei := register(t, cl, "ae1")
		// An unknown attribute: 4000, and no container.
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "bad", "bogus": 1}}}).Must(t, 4000)
		retrieve(t, cl, aei, "cse-in/ae1/bad").Must(t, 4004)
		// A content that does not match ty: 4000.
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cin": map[string]any{"con": "x"}}}).Must(t, 4000)
		// A missing From on anything but an AE registration: 4000.
		cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1"}).Must(t, 4000)
		// A result content the operation does not take: 4000.
		cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"rcn": 9}}).Must(t, 4000)
		// An update of a read-only attribute: 4000, and the AE unchanged.
		cl.Send(t, testcse.Msg{Op: 3, To: "cse-in/ae1", From: aei, PC: map[string]any{"m2m:ae": map[string]any{"aei": "Cother"}}}).Must(t, 4000)
		if got := retrieve(t, cl, aei, "cse-in/ae1").Must(t, 2000).Res("m2m:ae"); got["aei"] != aei {
			t.Fatalf("aei changed: %v", got)
		}
		// A target that does not exist: 4004.
		retrieve(t, cl, aei, "cse-in/ae1/nothing").Must(t, 4004)
		// An originator that is not registered: 4106.
		retrieve(t, cl, "Cunknown", "cse-in").Must(t, 4106)
	}},
	{"denied requests change nothing", func(t *testing.T, cl testcse.Client) {
		owner := register(t, cl, "owner")
		other := register(t, cl, "other")
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/owner", From: owner, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "private", "mni": 3}}}).Must(t, 2001)
		retrieve(t, cl, other, "cse-in/owner/private").Must(t, 4103)
		cl.Send(t, testcse.Msg{Op: 3, To: "cse-in/owner/private", From: other, PC: map[string]any{"m2m:cnt": map[string]any{"mni": 99}}}).Must(t, 4103)
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/owner/private", From: other, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "x"}}}).Must(t, 4103)
		cl.Send(t, testcse.Msg{Op: 4, To: "cse-in/owner/private", From: other}).Must(t, 4103)
		got := retrieve(t, cl, owner, "cse-in/owner/private").Must(t, 2000).Res("m2m:cnt")
		if got["mni"] != int64(3) || got["cni"] != int64(0) {
			t.Fatalf("changed by a denied request: %v", got)
		}
	}},
}

func TestAcceptance(t *testing.T) {
	for _, b := range bindings {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, b.start(t))
				})
			}
		})
	}
}
