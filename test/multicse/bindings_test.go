package multicse

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// An MN registers with its IN over WebSocket (it opens the connection, the
// IN sends its requests down it, TS-0020 5.2 and 6.4) and over MQTT
// (TS-0010), and requests are forwarded both ways. The MN's point of access
// is one that cannot be reached, so what the IN sends it can only travel
// over the registration's binding.
func TestRegistrarBindings(t *testing.T) {
	type setup struct {
		in  func(*config.Config)
		reg func(in *testcse.CSE) string // the MN's registrar-url
		mn  func(in *testcse.CSE, c *config.Config)
	}
	broker := ""
	setups := map[string]setup{
		"ws": {
			reg: func(in *testcse.CSE) string { return "ws://" + in.Addr() + "/" },
			mn:  func(_ *testcse.CSE, c *config.Config) { c.PoA = []string{"ws://127.0.0.1:1"} },
		},
		"mqtt-mosquitto": {
			in: func(c *config.Config) { c.MQTTBroker = broker },
			reg: func(in *testcse.CSE) string {
				return strings.Replace(in.Server.MQTTBroker(), "tcp://", "mqtt://", 1)
			},
			mn: func(in *testcse.CSE, c *config.Config) {
				c.MQTTBroker = in.Server.MQTTBroker()
				c.PoA = []string{strings.Replace(in.Server.MQTTBroker(), "tcp://", "mqtt://", 1)}
			},
		},
		"mqtt-embedded": {
			in: func(c *config.Config) { c.MQTTEmbedded = "127.0.0.1:0" },
			reg: func(in *testcse.CSE) string {
				return strings.Replace(in.Server.MQTTBroker(), "tcp://", "mqtt://", 1)
			},
			// The MN has no MQTT binding of its own: the connection made
			// to reach its registrar serves it.
			mn: func(in *testcse.CSE, c *config.Config) {
				c.PoA = []string{strings.Replace(in.Server.MQTTBroker(), "tcp://", "mqtt://", 1)}
			},
		},
	}
	for name, s := range setups {
		t.Run(name, func(t *testing.T) {
			if name == "mqtt-mosquitto" {
				broker = testcse.MQTTBroker(t)
			}
			inID, mnID := testcse.UniqueCSEID(), testcse.UniqueCSEID()
			in := testcse.Start(t, cseCfg("IN", inID, "cse-in", nil, func(c *config.Config) {
				if s.in != nil {
					s.in(c)
				}
			}))
			mn := testcse.Start(t, cseCfg("MN", mnID, "cse-mn", nil, func(c *config.Config) {
				c.RegistrarURL, c.RegistrarID, c.RegistrarName = s.reg(in), inID, "cse-in"
				s.mn(in, c)
			}))
			csr := "/cse-in/" + mnID[1:]
			waitFor(t, "the IN has the MN's <remoteCSE>", func() bool { return get(in, csr).RSC == 2000 })
			waitFor(t, "the MN has the IN's <remoteCSE>", func() bool { return get(mn, "/cse-mn/"+inID[1:]).RSC == 2000 })
			// The <remoteCSE>s are stored a moment before the routing
			// tables know them.
			waitFor(t, "both route", func() bool {
				return get(in, "/~"+mnID+"/cse-mn").RSC != 4004 && get(mn, "/~"+inID+"/cse-in").RSC != 4004
			})

			// IN → MN: an AE of the IN creates and reads on the MN.
			inAE := in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "C", Ty: 2,
				Body: map[string]any{"m2m:ae": map[string]any{"rn": "inAE", "api": "Nin", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
			mnAE := mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "C", Ty: 2,
				Body: map[string]any{"m2m:ae": map[string]any{"rn": "mnAE", "api": "Nmn", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
			mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn/mnAE", From: mnAE, Ty: 1,
				Body: map[string]any{"m2m:acp": map[string]any{"rn": "open",
					"pv":  map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}},
					"pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{mnAE}, "acop": 63}}}}}}).Must(t, 2001)
			mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn/mnAE", From: mnAE, Ty: 3,
				Body: map[string]any{"m2m:cnt": map[string]any{"rn": "box", "acpi": []any{"cse-mn/mnAE/open"}}}}).Must(t, 2001)
			in.Do(testcse.Req{Method: "POST", Path: "/~" + mnID + "/cse-mn/mnAE/box", From: inAE, Ty: 4,
				Body: map[string]any{"m2m:cin": map[string]any{"con": "from the IN"}}}).Must(t, 2001)
			if la := in.Do(testcse.Req{Method: "GET", Path: "/~" + mnID + "/cse-mn/mnAE/box/la", From: inAE}).Must(t, 2000).Res("m2m:cin"); la["con"] != "from the IN" {
				t.Fatalf("la over the registration's binding: %v", la)
			}
			// MN → IN: an AE of the MN writes in a container of the IN.
			in.Do(testcse.Req{Method: "POST", Path: "/cse-in/inAE", From: inAE, Ty: 1,
				Body: map[string]any{"m2m:acp": map[string]any{"rn": "open",
					"pv":  map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}},
					"pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{inAE}, "acop": 63}}}}}}).Must(t, 2001)
			in.Do(testcse.Req{Method: "POST", Path: "/cse-in/inAE", From: inAE, Ty: 3,
				Body: map[string]any{"m2m:cnt": map[string]any{"rn": "box", "acpi": []any{"cse-in/inAE/open"}}}}).Must(t, 2001)
			mn.Do(testcse.Req{Method: "POST", Path: "/~" + inID + "/cse-in/inAE/box", From: mnAE, Ty: 4,
				Body: map[string]any{"m2m:cin": map[string]any{"con": "from the MN"}}}).Must(t, 2001)
			if la := in.Do(testcse.Req{Method: "GET", Path: "/cse-in/inAE/box/la", From: inAE}).Must(t, 2000).Res("m2m:cin"); la["con"] != "from the MN" {
				t.Fatalf("la at the IN: %v", la)
			}
		})
	}
}

// TestRegistrarWSSPSK: an MN registers with its IN over wss:// on the IN's
// TLS-PSK listener (the IN requires a security association for CSEs); the
// IN takes the MN's CSE-ID from the association's credential and sends its
// requests down the same connection.
func TestRegistrarWSSPSK(t *testing.T) {
	in := testcse.Start(t, saIN(t))
	mn := testcse.Start(t, cseCfg("MN", "/id-mn-01", "cse-mn", nil, func(c *config.Config) {
		c.RegistrarURL = "wss://" + in.Server.HTTPSPSKAddr() + "/"
		c.RegistrarID, c.RegistrarName = "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, writeSecret(t, "mn.key", hex.EncodeToString(keyMN))
		c.PoA = []string{"ws://127.0.0.1:1"} // unreachable: the IN must use the connection
	}))
	waitFor(t, "the IN has the MN's <remoteCSE>", func() bool { return get(in, "/cse-in/id-mn-01").RSC == 2000 })
	waitFor(t, "the MN has the IN's <remoteCSE>", func() bool { return get(mn, "/cse-mn/id-in").RSC == 2000 })
	waitFor(t, "the IN routes to the MN", func() bool { return get(in, "/~/id-mn-01/cse-mn").RSC != 4004 })
	mn.Create("CAdmin", "/cse-mn", 1, "m2m:acp", map[string]any{"rn": "open",
		"pv": map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 63}}}, "pvs": map[string]any{"acr": []any{map[string]any{"acor": []any{"CAdmin"}, "acop": 63}}}})
	mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "box", "acpi": []any{"cse-mn/open"}})
	// The IN's administrator reads the MN's container: down the connection.
	in.Do(testcse.Req{Method: "GET", Path: "/~/id-mn-01/cse-mn/box", From: "CAdmin"}).Must(t, 2000)
}
