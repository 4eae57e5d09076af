// Package acceptance runs one table of black-box cases over every binding:
// the same requests, in binding-neutral terms (testcse.Msg), carried by a
// client of each binding, with the same answers expected. A new binding
// adds a client to bindings, not cases.
package acceptance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	coapb "github.com/onecse/onecse/binding/coap"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// binding is what the suite needs of one binding; a new binding (CoAP)
// joins by adding one entry to bindings, with a testcse.Client of its own.
type binding struct {
	name string
	// start starts a CSE (mod may change its configuration) and a client
	// of this binding.
	start func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client)
	// listen makes the requests the CSE sends to AEs of cl arrive (over
	// cl's own connection, or at a receiver of this binding): it returns
	// the pointOfAccess to register such an AE with (nil: none is needed)
	// and next, which returns the m2m:sgn of the next notification.
	listen func(t *testing.T, c *testcse.CSE, cl testcse.Client) (poa []any, next func(t *testing.T) map[string]any)
	// registrar configures mn (whose CSE-ID is set) to register with c over
	// this binding: registrar-url and, for a secured binding, the
	// credential of mn's own association (it may bind mn.CSEID on c).
	registrar func(t *testing.T, c *testcse.CSE, mn *config.Config)
	// secured: the client's requests go over a security association
	// bound to AE-IDs (with require-sa-for-aes on). Its AEs then register
	// with the stem bound to them ("C"+rn) instead of a "C" the CSE
	// completes, and the administrator (an originator no association is
	// bound to: 4106) speaks over plain HTTP on loopback.
	secured bool
}

// boundStems are the AE-ID-Stems the cases register with over a security
// association ("C"+rn for each AE name they use).
var boundStems = []string{"Cae1", "Csecond", "Cowner", "Cother"}

// aeFrom is the From with which the AE named rn registers.
func (e *env) aeFrom(rn string) string {
	if e.b.secured {
		return "C" + rn
	}
	return "C"
}

// admin is the client for the administrator's requests.
func (e *env) admin() testcse.Client {
	if e.b.secured {
		return e.c.HTTPClient()
	}
	return e.cl
}

// plainRegistrar registers over an unsecured binding at url(c).
func plainRegistrar(url func(c *testcse.CSE) string) func(*testing.T, *testcse.CSE, *config.Config) {
	return func(_ *testing.T, c *testcse.CSE, mn *config.Config) {
		mn.RegistrarURL, mn.RegistrarID, mn.RegistrarName = url(c), c.Config.CSEID, c.Config.CSEName
	}
}

// env is what a case gets: the binding, its CSE and its client.
type env struct {
	b  binding
	c  *testcse.CSE
	cl testcse.Client
}

// fromChannel is listen for clients that answer the CSE's requests
// themselves (WebSocket, MQTT).
func fromChannel(set func(func(map[string]any) (int, map[string]any))) func(t *testing.T) map[string]any {
	ch := make(chan map[string]any, 16)
	set(func(req map[string]any) (int, map[string]any) {
		ch <- req
		return 2000, nil
	})
	return func(t *testing.T) map[string]any {
		t.Helper()
		select {
		case req := <-ch:
			sgn, _ := req["pc"].(map[string]any)["m2m:sgn"].(map[string]any)
			if req["op"] != int64(5) || sgn == nil {
				t.Fatalf("not a notification: %v", req)
			}
			return sgn
		case <-time.After(10 * time.Second):
			t.Fatal("no notification arrived")
			return nil
		}
	}
}

func mqttPoA(c *testcse.CSE) string {
	return strings.Replace(c.Server.MQTTBroker(), "tcp://", "mqtt://", 1)
}

func wsBinding(proto string) binding {
	return binding{
		name: "ws-" + strings.TrimPrefix(proto, "oneM2M."),
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c := testcse.Start(t, mod)
			return c, testcse.DialWS(t, c, proto)
		},
		listen:    wsListen,
		registrar: plainRegistrar(func(c *testcse.CSE) string { return "ws://" + c.Addr() + "/" }),
	}
}

func mqttBinding(name, typ string, embedded bool) binding {
	return binding{
		name: name,
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			var c *testcse.CSE
			if embedded {
				// The broker embedded in onecse (--mqtt-embedded) instead of Mosquitto.
				c = testcse.Start(t, func(cfg *config.Config) {
					cfg.MQTTEmbedded = "127.0.0.1:0"
					if mod != nil {
						mod(cfg)
					}
				})
			} else {
				c = testcse.StartMQTT(t, mod)
			}
			return c, testcse.DialMQTT(t, c, typ)
		},
		listen: func(t *testing.T, c *testcse.CSE, cl testcse.Client) ([]any, func(*testing.T) map[string]any) {
			m := cl.(*testcse.MQTTClient)
			return []any{mqttPoA(c)}, fromChannel(func(f func(map[string]any) (int, map[string]any)) { m.OnRequest = f })
		},
		registrar: plainRegistrar(mqttPoA),
	}
}

// httpListen: notifications arrive at an HTTP receiver.
func httpListen(t *testing.T, _ *testcse.CSE, _ testcse.Client) ([]any, func(*testing.T) map[string]any) {
	r := testcse.NewReceiver(t)
	n := 0
	return []any{r.URL}, func(t *testing.T) map[string]any {
		t.Helper()
		n++
		return r.Wait(n, 10*time.Second)[n-1].Sgn()
	}
}

// wsListen: notifications arrive over the client's own WebSocket.
func wsListen(t *testing.T, _ *testcse.CSE, cl testcse.Client) ([]any, func(*testing.T) map[string]any) {
	w := cl.(*testcse.WSClient)
	return nil, fromChannel(func(f func(map[string]any) (int, map[string]any)) { w.OnRequest = f })
}

var bindings = []binding{
	{
		name: "http",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c := testcse.Start(t, mod)
			return c, c.HTTPClient()
		},
		listen:    httpListen,
		registrar: plainRegistrar(func(c *testcse.CSE) string { return c.URL }),
	},
	wsBinding("oneM2M.json"),
	wsBinding("oneM2M.cbor"),
	mqttBinding("mqtt-json", "json", false),
	mqttBinding("mqtt-cbor", "cbor", false),
	mqttBinding("mqtt-embedded", "json", true),
	coapBinding("coap", false, false),
	coapBinding("coap-cbor", true, false),
	// Non-confirmable requests get (separate, NON) answers too (TS-0008 6.3.1).
	coapBinding("coap-non", false, true),
	// The security modes (security_test.go).
	httpsPSKBinding(),
	wssPSKBinding(),
	coapsPSKBinding(),
	httpsCertBinding(),
	mqttsBinding(),
}

const admin = "CAdmin"

// register registers an AE named rn and returns its AE-ID.
func register(t *testing.T, e *env, rn string) string {
	t.Helper()
	r := e.cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: e.aeFrom(rn), Ty: 2,
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
	run  func(t *testing.T, e *env)
}{
	{"AE registration and deregistration", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
		got := retrieve(t, cl, aei, "cse-in/ae1").Must(t, 2000).Res("m2m:ae")
		if got["aei"] != aei || got["ri"] != aei || got["api"] != "Nacceptance" {
			t.Fatalf("retrieved %v", got)
		}
		// A second AE with the same name: 4105 CONFLICT, the first unchanged.
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: e.aeFrom("second"), Ty: 2,
			PC: map[string]any{"m2m:ae": map[string]any{"rn": "ae1", "api": "Nother", "rr": false, "srv": []any{"3"}}}}).Must(t, 4105)
		if got := retrieve(t, cl, aei, "cse-in/ae1").Must(t, 2000).Res("m2m:ae"); got["api"] != "Nacceptance" {
			t.Fatalf("after the conflict: %v", got)
		}
		cl.Send(t, testcse.Msg{Op: 4, To: "cse-in/ae1", From: aei}).Must(t, 2002)
		retrieve(t, e.admin(), admin, "cse-in/ae1").Must(t, 4004)
		// Deregistered: its AE-ID is no longer an originator here.
		retrieve(t, cl, aei, "cse-in").Must(t, 4106)
	}},
	{"container CRUD", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
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
	{"contentInstance and la", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
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
	{"discovery", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
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
	{"labels and content queries", func(t *testing.T, e *env) {
		// lbq and cfs/cfq in each binding's form: query items over HTTP
		// and CoAP, members of fc over MQTT and WebSocket.
		cl := e.cl
		aei := register(t, e, "ae1")
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}}).Must(t, 2001)
		for _, in := range []map[string]any{
			{"rn": "i1", "lbl": []any{"color:red"}, "cnf": "application/json:0", "con": `{"temp":25}`},
			{"rn": "i2", "lbl": []any{"color:green"}, "con": `{"temp":15}`},
			{"rn": "i3", "lbl": []any{"size:big"}, "con": "text"},
		} {
			cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1/c", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": in}}).Must(t, 2001)
		}
		find := func(fc map[string]any) []string {
			t.Helper()
			fc["fu"] = 1
			r := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"fc": fc}}).Must(t, 2000)
			var out []string
			l, _ := r.PC["m2m:uril"].([]any)
			for _, e := range l {
				out = append(out, strings.TrimPrefix(e.(string), "cse-in/ae1/c/"))
			}
			slices.Sort(out)
			return out
		}
		for _, tc := range []struct {
			fc   map[string]any
			want []string
		}{
			{map[string]any{"lbq": []any{"color NE red"}}, []string{"i2"}},
			{map[string]any{"lbq": []any{"color IN (red, green)"}}, []string{"i1", "i2"}},
			{map[string]any{"lbq": []any{"NT color", "color:red"}, "ty": []any{4}}, []string{"i1", "i3"}},
			{map[string]any{"cfs": 1, "cfq": "$[?$.temp > 20]"}, []string{"i1"}},
			{map[string]any{"cfs": 1, "cfq": "$.temp", "lbq": []any{"color:green"}}, []string{"i2"}},
			{map[string]any{"cfs": 1, "cfq": "$[?$.temp > 20]", "lbl": []any{"size:big"}, "fo": 2}, []string{"i1", "i3"}},
		} {
			if got := find(tc.fc); !slices.Equal(got, tc.want) {
				t.Errorf("%v: %v, want %v", tc.fc, got, tc.want)
			}
		}
		for _, fc := range []map[string]any{
			{"fu": 1, "lbq": []any{"color LT red"}},
			{"fu": 1, "cfq": "$.temp"},
			{"fu": 1, "cfs": 1, "cfq": "$["},
			{"fu": 1, "cfs": 2, "cfq": "$.temp"},
		} {
			cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/ae1", From: aei, Params: map[string]any{"fc": fc}}).Must(t, 4000)
		}
	}},
	{"bad requests change nothing", func(t *testing.T, e *env) {
		cl := e.cl
		aei := register(t, e, "ae1")
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
	{"denied requests change nothing", func(t *testing.T, e *env) {
		cl := e.cl
		owner := register(t, e, "owner")
		other := register(t, e, "other")
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
	{"a notification", func(t *testing.T, e *env) {
		cl := e.cl
		poa, next := e.b.listen(t, e.c, cl)
		ae := map[string]any{"rn": "ae1", "api": "Nacceptance", "rr": true, "srv": []any{"3"}}
		if poa != nil {
			ae["poa"] = poa
		}
		aei := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: e.aeFrom("ae1"), Ty: 2, PC: map[string]any{"m2m:ae": ae}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "temp"}}}).Must(t, 2001)
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1/temp", From: aei, Ty: 23,
			PC: map[string]any{"m2m:sub": map[string]any{"rn": "s", "nu": []any{aei}, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2001)
		cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/ae1/temp", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "21.5"}}}).Must(t, 2001)
		sgn := next(t)
		for sgn["vrq"] == true {
			sgn = next(t)
		}
		rep, _ := sgn["nev"].(map[string]any)["rep"].(map[string]any)
		if cin, _ := rep["m2m:cin"].(map[string]any); cin["con"] != "21.5" || fmt.Sprint(sgn["sur"]) == "" {
			t.Fatalf("notification %v", sgn)
		}
	}},
	{"a request forwarded to another CSE", func(t *testing.T, e *env) {
		cl := e.cl
		// An MN registered with this CSE over the same binding.
		mn := testcse.Start(t, func(c *config.Config) {
			c.CSEType, c.CSEID, c.CSEName = "MN", testcse.UniqueCSEID(), "cse-mn"
			e.b.registrar(t, e.c, c)
		})
		mnID := mn.Config.CSEID
		// Registered both ways, and routed: the <remoteCSE>s are stored a
		// moment before the routing tables know them.
		waitFor(t, func() bool {
			return e.c.Do(testcse.Req{Method: "GET", Path: "/cse-in/" + mnID[1:], From: admin}).RSC == 2000 &&
				mn.Do(testcse.Req{Method: "GET", Path: "/cse-mn/" + e.c.Config.CSEID[1:], From: admin}).RSC == 2000 &&
				e.c.Do(testcse.Req{Method: "GET", Path: "/~" + mnID + "/cse-mn", From: admin}).RSC != 4004 &&
				mn.Do(testcse.Req{Method: "GET", Path: "/~" + e.c.Config.CSEID + "/cse-in", From: admin}).RSC != 4004
		})
		mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: admin, Ty: 1, Body: map[string]any{"m2m:acp": map[string]any{"rn": "open",
			"pv":  map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}},
			"pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{admin}, "acop": 63}}}}}}).Must(t, 2001)
		mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: admin, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "box", "acpi": []any{"cse-mn/open"}}}}).Must(t, 2001)
		aei := register(t, e, "ae1")
		cl.Send(t, testcse.Msg{Op: 1, To: mnID + "/cse-mn/box", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "forwarded"}}}).Must(t, 2001)
		if la := cl.Send(t, testcse.Msg{Op: 2, To: mnID + "/cse-mn/box/la", From: aei}).Must(t, 2000).Res("m2m:cin"); la["con"] != "forwarded" {
			t.Fatalf("la at the MN: %v", la)
		}
		// A CSE that no one knows: 4004, as from the CSE itself.
		cl.Send(t, testcse.Msg{Op: 2, To: "/id-nowhere/cse-x", From: aei}).Must(t, 4004)
	}},
}

func TestAcceptance(t *testing.T) {
	for _, b := range bindings {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					cse, cl := b.start(t, nil)
					c.run(t, &env{b: b, c: cse, cl: cl})
				})
			}
		})
	}
}

// waitFor polls cond (for the registration rounds of the CSEs).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the CSE registration")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// coapBinding runs the suite over CoAP: the client speaks CoAP (JSON or CBOR,
// confirmable or not), its AEs receive their notifications at a CoAP
// receiver (coap:// pointOfAccess), and an MN registers with coap://.
func coapBinding(name string, cbor, non bool) binding {
	return binding{
		name: name,
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c := testcse.StartCoAP(t, mod)
			cl := testcse.DialCoAP(t, c)
			cl.CBOR, cl.NON = cbor, non
			return c, cl
		},
		listen:    coapListen,
		registrar: plainRegistrar(func(c *testcse.CSE) string { return "coap://" + c.Server.CoAPAddr() }),
	}
}

// coapHandler is a function as the handler of a CoAP binding.
type coapHandler func(context.Context, *primitive.Request) *primitive.Response

func (h coapHandler) Handle(ctx context.Context, req *primitive.Request) *primitive.Response {
	return h(ctx, req)
}

// coapListen: notifications arrive at a CoAP receiver.
func coapListen(t *testing.T, _ *testcse.CSE, _ testcse.Client) ([]any, func(*testing.T) map[string]any) {
	ch := make(chan map[string]any, 16)
	b := coapb.New(coapHandler(func(_ context.Context, req *primitive.Request) *primitive.Response {
		sgn, _ := req.Content["m2m:sgn"].(map[string]any)
		if req.Op == primitive.OpNotify && sgn != nil {
			ch <- sgn
		}
		return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI}
	}), coapb.Options{})
	l, err := b.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve()
	t.Cleanup(b.Close)
	return []any{"coap://" + l.Addr().String() + "/notify"}, func(t *testing.T) map[string]any {
		t.Helper()
		select {
		case sgn := <-ch:
			return sgn
		case <-time.After(10 * time.Second):
			t.Fatal("no notification arrived")
			return nil
		}
	}
}
