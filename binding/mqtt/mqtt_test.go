package mqtt_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/server"
)

// listen subscribes a plain client to filter and delivers what arrives.
func listen(t *testing.T, broker, filter string) <-chan paho.Message {
	t.Helper()
	ch := make(chan paho.Message, 16)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("A::listen-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { ch <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return ch
}

func publish(t *testing.T, broker, topic string, payload []byte) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("A::pub-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func next(t *testing.T, ch <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived")
		return nil
	}
}

func registerAE(t *testing.T, cl *testcse.MQTTClient, rn string) string {
	t.Helper()
	return cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2,
		PC: map[string]any{"m2m:ae": map[string]any{"rn": rn, "api": "Nmqtt", "rr": true, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
}

// TestTopics: the topic rules of TS-0010 on a real broker.
func TestTopics(t *testing.T) {
	c := testcse.StartMQTT(t, nil)
	cl := testcse.DialMQTT(t, c, "json")
	cse := cl.CSE
	broker := c.Config.MQTTBroker

	// Registration over reg_req, answered on reg_resp with the credential
	// ID of the request (TS-0010 6.4.4).
	regResp := listen(t, broker, "/oneM2M/reg_resp/cred-x/"+cse+"/json")
	b, _ := codec.Encode(codec.JSON, map[string]any{"op": 1, "to": "cse-in", "rqi": "reg1", "rvi": "3", "ty": 2,
		"pc": map[string]any{"m2m:ae": map[string]any{"rn": "viaReg", "api": "Nx", "rr": false, "srv": []any{"3"}}}})
	publish(t, broker, "/oneM2M/reg_req/cred-x/"+cse+"/json", b)
	m, _ := codec.Decode(codec.JSON, next(t, regResp).Payload())
	aei, _ := m["pc"].(map[string]any)["m2m:ae"].(map[string]any)["aei"].(string)
	if m["rsc"] != int64(2001) || m["rqi"] != "reg1" || aei == "" {
		t.Fatalf("registration answer %v", m)
	}
	// Then the AE switches to its AE-ID topics, in either form of the
	// originator level: the bare stem, or TS-0010 6.4.2's SP-relative form.
	cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/viaReg", From: aei}).Must(t, 2000)
	cl.SPRelative = true
	cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/viaReg", From: aei}).Must(t, 2000)
	cl.SPRelative = false

	// reg_req carries registrations only.
	cl.Publish(t, "/oneM2M/reg_req/cred-y/"+cse+"/json", map[string]any{"op": 2, "to": "cse-in", "fr": aei, "rqi": "reg2", "rvi": "3"}).Must(t, 4000)

	// fr must name the topic's originator: 4103, and nothing is created.
	other := registerAE(t, cl, "other")
	r := cl.Publish(t, "/oneM2M/req/"+other+"/"+cse+"/json", map[string]any{"op": 1, "to": "cse-in/viaReg", "fr": aei, "rqi": "spoof1", "rvi": "3", "ty": 3,
		"pc": map[string]any{"m2m:cnt": map[string]any{"rn": "spoofed"}}}).Must(t, 4103)
	if !strings.Contains(string(r.Raw), "topic") {
		t.Errorf("the refusal does not say why: %s", r.Raw)
	}
	cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/viaReg/spoofed", From: aei}).Must(t, 4004)
	// The SP-relative From of the same AE is the same entity.
	cl.Publish(t, "/oneM2M/req/"+aei+"/"+cse+"/json", map[string]any{"op": 2, "to": "cse-in/viaReg", "fr": "/" + cse + "/" + aei, "rqi": "sp1", "rvi": "3"}).Must(t, 2000)

	// The request expiration time is checked on receipt (TS-0010 6.4.3).
	cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/viaReg", From: aei, Params: map[string]any{"rqet": "20000101T000000"}}).Must(t, 4008)

	// A malformed payload: 4000 with its rqi.
	r = cl.PublishRaw(t, "/oneM2M/req/"+aei+"/"+cse+"/json", "bad1", []byte(`{"op":2,"to":"cse-in","fr":"`+aei+`","rqi":"bad1","bogus":true}`)).Must(t, 4000)
	if !strings.Contains(string(r.Raw), "bogus") {
		t.Errorf("does not name the member: %s", r.Raw)
	}

	// XML is answered 4015, in JSON on the json response topic.
	xmlResp := listen(t, broker, "/oneM2M/resp/"+aei+"/"+cse+"/json")
	publish(t, broker, "/oneM2M/req/"+aei+"/"+cse+"/xml", []byte(`<m2m:rqp/>`))
	m, _ = codec.Decode(codec.JSON, next(t, xmlResp).Payload())
	if m["rsc"] != int64(4015) {
		t.Fatalf("xml: %v", m)
	}
	// A topic without the type level (as TS-0010's figures draw it) is JSON,
	// answered on the response topic without a type level.
	bareResp := listen(t, broker, "/oneM2M/resp/"+aei+"/"+cse)
	b, _ = codec.Encode(codec.JSON, map[string]any{"op": 2, "to": "cse-in/viaReg", "fr": aei, "rqi": "bare1", "rvi": "3"})
	publish(t, broker, "/oneM2M/req/"+aei+"/"+cse, b)
	m, _ = codec.Decode(codec.JSON, next(t, bareResp).Payload())
	if m["rsc"] != int64(2000) || m["rqi"] != "bare1" {
		t.Fatalf("untyped topic: %v", m)
	}
}

// TestSend: onecse's own requests reach an AE on /oneM2M/req/<cse>/<ae>/<type>
// and its answers come back; the topic level and serialisation are those the
// AE uses.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		typ        string
		spRelative bool
	}{{"json", false}, {"cbor", true}} {
		t.Run(tc.typ, func(t *testing.T) {
			c := testcse.StartMQTT(t, nil)
			cl := testcse.DialMQTT(t, c, tc.typ)
			cl.SPRelative = tc.spRelative
			got := make(chan map[string]any, 1)
			cl.OnRequest = func(req map[string]any) (int, map[string]any) {
				got <- req
				return 2000, nil
			}
			aei := registerAE(t, cl, "target")
			cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/target", From: aei}).Must(t, 2000) // shows the AE's topic form
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req := primitive.NewRequest()
			req.Op, req.To, req.From, req.RQI, req.RVI = primitive.OpNotify, aei, c.Config.CSEID, "ntf-1", "3"
			req.Content = map[string]any{"m2m:sgn": map[string]any{"sur": "/x/sub", "vrq": true}}
			resp, err := c.Server.MQTT().Send(ctx, aei, req)
			if err != nil || resp.RSC != 2000 || resp.RQI != "ntf-1" {
				t.Fatalf("send: %+v %v", resp, err)
			}
			if r := <-got; r["op"] != int64(5) || r["rqi"] != "ntf-1" {
				t.Fatalf("the AE received %v", r)
			}
			// Nobody listening: the wait ends with the context, as 4008.
			cl.Client.Disconnect(100)
			ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel2()
			req.RQI = "ntf-2"
			if _, err := c.Server.MQTT().Send(ctx2, "Cnobody", req); primitive.ErrorRSC(err) != primitive.RSCRequestTimeout {
				t.Fatalf("send to nobody: %v", err)
			}
		})
	}
}

// TestMosquittoClients: a request published with mosquitto_pub is answered
// on the response topic mosquitto_sub listens to.
func TestMosquittoClients(t *testing.T) {
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (Debian package mosquitto-clients; .ci/run installs it)", tool)
		}
	}
	c := testcse.StartMQTT(t, nil)
	cse := strings.TrimPrefix(c.Config.CSEID, "/")
	host := strings.TrimPrefix(c.Config.MQTTBroker, "tcp://")
	h, port, _ := strings.Cut(host, ":")
	sub := exec.Command("mosquitto_sub", "-h", h, "-p", port, "-q", "1", "-W", "60", "-v",
		"-t", "/oneM2M/reg_resp/mosq/"+cse+"/json", "-t", "/oneM2M/resp/+/"+cse+"/json")
	out, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sub.Process.Kill(); sub.Wait() }()
	// Until mosquitto_sub has subscribed, anything published goes to
	// nobody (a fixed pause was too short under load): a probe is
	// published on one of its topics until it comes out.
	probe := "/oneM2M/resp/probe/" + cse + "/json"
	subscribed := make(chan struct{})
	go func() {
		for {
			exec.Command("mosquitto_pub", "-h", h, "-p", port, "-q", "1", "-t", probe, "-m", "probe").Run()
			select {
			case <-subscribed:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	lines := bufio.NewScanner(out)
	// next returns the next line ("topic payload") that is not a probe.
	next := func() (string, bool) {
		for lines.Scan() {
			if !strings.HasPrefix(lines.Text(), probe+" ") {
				return lines.Text(), true
			}
		}
		return "", false
	}
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), probe+" ") {
		close(subscribed)
		t.Fatalf("mosquitto_sub: %q, want the probe", lines.Text())
	}
	close(subscribed)
	pub := func(topic, msg string) {
		t.Helper()
		if b, err := exec.Command("mosquitto_pub", "-h", h, "-p", port, "-q", "1", "-t", topic, "-m", msg).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, b)
		}
	}
	pub("/oneM2M/reg_req/mosq/"+cse+"/json", `{"op":1,"to":"cse-in","rqi":"m1","rvi":"3","ty":2,"pc":{"m2m:ae":{"rn":"mosq","api":"Nmosq","rr":false,"srv":["3"]}}}`)
	line, ok := next()
	if !ok {
		t.Fatal("no registration answer")
	}
	topic, payload, _ := strings.Cut(line, " ")
	m, err := codec.Decode(codec.JSON, []byte(payload))
	if err != nil || topic != "/oneM2M/reg_resp/mosq/"+cse+"/json" || m["rsc"] != int64(2001) {
		t.Fatalf("%s %s %v", topic, payload, err)
	}
	aei := m["pc"].(map[string]any)["m2m:ae"].(map[string]any)["aei"].(string)
	pub("/oneM2M/req/"+aei+"/"+cse+"/json", `{"op":1,"to":"cse-in/mosq","fr":"`+aei+`","rqi":"m2","rvi":"3","ty":3,"pc":{"m2m:cnt":{"rn":"box"}}}`)
	if line, ok = next(); !ok {
		t.Fatal("no answer")
	}
	topic, payload, _ = strings.Cut(line, " ")
	if m, _ := codec.Decode(codec.JSON, []byte(payload)); topic != "/oneM2M/resp/"+aei+"/"+cse+"/json" || m["rsc"] != int64(2001) || m["rqi"] != "m2" {
		t.Fatalf("%s %s", topic, payload)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/mosq/box", From: aei}).Must(t, 2000)
}

// TestPersistentSession: with clean session false (TS-0010 6.3.3), a QoS 1
// request published while onecse is down is answered once it is back.
func TestPersistentSession(t *testing.T) {
	broker := testcse.MQTTBroker(t)
	cfg := config.Default()
	cfg.HTTP, cfg.Data, cfg.Sync = "127.0.0.1:0", t.TempDir(), "normal"
	cfg.MQTTBroker, cfg.CSEID = broker, testcse.UniqueCSEID()
	cse := strings.TrimPrefix(cfg.CSEID, "/")
	start := func() *server.Server {
		s, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		return s
	}
	stop := func(s *server.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := start()
	stop(s)
	defer func() {
		// Leave the broker as it was: end the session (clean session).
		c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("C::" + cse).SetCleanSession(true))
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(0)
		}
	}()
	resp := listen(t, broker, "/oneM2M/resp/CAdmin/"+cse+"/json")
	publish(t, broker, "/oneM2M/req/CAdmin/"+cse+"/json", []byte(`{"op":2,"to":"cse-in","fr":"CAdmin","rqi":"while-down","rvi":"3"}`))
	s = start()
	defer stop(s)
	m, _ := codec.Decode(codec.JSON, next(t, resp).Payload())
	if m["rsc"] != int64(2000) || m["rqi"] != "while-down" {
		t.Fatalf("%v", m)
	}
}
