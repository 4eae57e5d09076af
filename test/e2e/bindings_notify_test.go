package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// Notifications to AEs reached over MQTT and WebSocket: through the core's
// Sender, as any notification (TS-0010 6.6, TS-0020 6.4).

// requests collects the requests a client's AE receives.
type requests chan map[string]any

func (r requests) answer(req map[string]any) (int, map[string]any) {
	r <- req
	return 2000, nil
}

// next returns the next request, which must be a NOTIFY.
func (r requests) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case req := <-r:
		if req["op"] != int64(5) {
			t.Fatalf("not a NOTIFY: %v", req)
		}
		sgn, _ := req["pc"].(map[string]any)["m2m:sgn"].(map[string]any)
		if sgn == nil {
			t.Fatalf("no m2m:sgn in %v", req)
		}
		return sgn
	case <-time.After(wait):
		t.Fatal("no notification arrived")
		return nil
	}
}

// expectNotifications subscribes nu to a new container of aei, and checks
// that the notification of a new instance arrives in got, after the
// verification when nu is not the subscriber itself (TS-0004 7.5.1.2.3).
func expectNotifications(t *testing.T, cl testcse.Client, aei, rn string, nu string, got requests) {
	t.Helper()
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/" + rn, From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "box"}}}).Must(t, 2001)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/" + rn + "/box", From: aei, Ty: 23,
		PC: map[string]any{"m2m:sub": map[string]any{"rn": "s", "nu": []any{nu}, "enc": map[string]any{"net": []any{3}}}}}).Must(t, 2001)
	if nu != aei {
		if sgn := got.next(t); sgn["vrq"] != true {
			t.Fatalf("first came %v, not the verification", sgn)
		}
	}
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/" + rn + "/box", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "42"}}}).Must(t, 2001)
	sgn := got.next(t)
	rep, _ := sgn["nev"].(map[string]any)["rep"].(map[string]any)
	if cin, _ := rep["m2m:cin"].(map[string]any); cin["con"] != "42" {
		t.Fatalf("notification %v", sgn)
	}
}

func brokerPoA(broker string) string {
	u, _ := url.Parse(broker)
	return "mqtt://" + u.Host
}

// TestNotifyMQTT: an AE whose poa is the broker gets its notifications on
// /oneM2M/req/<cse>/<aei>/<type> and answers on the response topic,
// whether it registered over MQTT or over HTTP; with Mosquitto and with the
// embedded broker.
func TestNotifyMQTT(t *testing.T) {
	starts := map[string]func(t *testing.T) *testcse.CSE{
		"mosquitto": func(t *testing.T) *testcse.CSE { return testcse.StartMQTT(t, nil) },
		"embedded": func(t *testing.T) *testcse.CSE {
			return testcse.Start(t, func(cfg *config.Config) { cfg.MQTTEmbedded = "127.0.0.1:0"; cfg.CSEID = testcse.UniqueCSEID() })
		},
	}
	for name, start := range starts {
		for _, via := range []string{"mqtt-json", "mqtt-cbor", "http"} {
			t.Run(name+"/"+via, func(t *testing.T) {
				c := start(t)
				typ := "json"
				if via == "mqtt-cbor" {
					typ = "cbor"
				}
				mc := testcse.DialMQTT(t, c, typ)
				got := make(requests, 4)
				mc.OnRequest = got.answer
				var cl testcse.Client = mc
				if via == "http" {
					cl = c.HTTPClient()
				}
				ae := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{
					"rn": "mq", "api": "Nmq", "rr": true, "srv": []any{"3"}, "poa": []any{brokerPoA(c.Server.MQTTBroker())}, "csz": []any{"application/" + typ}}}}).Must(t, 2001).Res("m2m:ae")
				aei := ae["aei"].(string)
				mc.Serve(aei)
				expectNotifications(t, cl, aei, "mq", aei, got)
			})
		}
	}
}

// TestNotifyMQTTURL: a notification URL mqtt://broker/<topic> gets the
// NOTIFY published on <topic>.
func TestNotifyMQTTURL(t *testing.T) {
	c := testcse.StartMQTT(t, nil)
	topic := "onecse-test/" + strings.TrimPrefix(c.Config.CSEID, "/") + "/notes"
	got := make(chan paho.Message, 4)
	lc := paho.NewClient(paho.NewClientOptions().AddBroker(c.Server.MQTTBroker()).SetClientID(fmt.Sprintf("A::nu-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := lc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer lc.Disconnect(100)
	if tok := lc.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	reqs := make(requests, 4)
	go func() {
		for m := range got {
			doc, err := codec.Decode(codec.JSON, m.Payload())
			if err != nil {
				t.Errorf("undecodable %q", m.Payload())
				continue
			}
			reqs <- doc
		}
	}()
	defer close(got)
	cl := c.HTTPClient()
	aei := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "u", "api": "Nu", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
	expectNotifications(t, cl, aei, "u", brokerPoA(c.Server.MQTTBroker())+"/"+topic, reqs)
	// Without a path there is no topic: the subscription is refused.
	r := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/u/box", From: aei, Ty: 23,
		PC: map[string]any{"m2m:sub": map[string]any{"rn": "nopath", "nu": []any{brokerPoA(c.Server.MQTTBroker())}}}})
	if r.RSC == 2001 {
		t.Fatalf("a subscription to an mqtt:// URL without a topic was created: %s", r.Raw)
	}
}

// TestNotifyWebSocket: an AE connected over WebSocket, with no point of
// access, gets its notifications over its connection, in its
// serialisation.
func TestNotifyWebSocket(t *testing.T) {
	for _, proto := range []string{"oneM2M.json", "oneM2M.cbor"} {
		t.Run(proto, func(t *testing.T) {
			c := testcse.Start(t, nil)
			w := testcse.DialWS(t, c, proto)
			got := make(requests, 4)
			w.OnRequest = got.answer
			aei := w.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "w", "api": "Nw", "rr": true, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
			expectNotifications(t, w, aei, "w", aei, got)
			// Gone: the AE has no other point of access, so the
			// verification of a subscription another AE makes for it fails.
			w.Close()
			h := c.HTTPClient()
			other := h.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "o", "api": "No", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
			r := h.Send(t, testcse.Msg{Op: 1, To: "cse-in/o", From: other, Ty: 23,
				PC: map[string]any{"m2m:sub": map[string]any{"rn": "s2", "nu": []any{aei}}}})
			if r.RSC == 2001 {
				t.Fatalf("verified over a closed connection: %s", r.Raw)
			}
		})
	}
}
