package loadgen_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/loadgen"
)

// TestBindings: the load generator drives a real CSE over WebSocket and
// over MQTT (Mosquitto and the embedded broker): every phase has requests
// and no errors, and the AE is deleted at the end.
func TestBindings(t *testing.T) {
	cases := map[string]func(t *testing.T) (*testcse.CSE, []string){
		"ws": func(t *testing.T) (*testcse.CSE, []string) {
			c := testcse.Start(t, nil)
			return c, []string{"--binding", "ws", "--target", "ws://" + c.Addr() + "/cse-in"}
		},
		"mqtt-mosquitto": func(t *testing.T) (*testcse.CSE, []string) {
			c := testcse.StartMQTT(t, nil)
			return c, []string{"--binding", "mqtt", "--target", strings.Replace(c.Server.MQTTBroker(), "tcp://", "mqtt://", 1) + "/cse-in", "--cse-id", c.Config.CSEID}
		},
		"mqtt-embedded": func(t *testing.T) (*testcse.CSE, []string) {
			c := testcse.Start(t, func(cfg *config.Config) { cfg.MQTTEmbedded = "127.0.0.1:0" })
			return c, []string{"--target", strings.Replace(c.Server.MQTTBroker(), "tcp://", "mqtt://", 1) + "/cse-in"}
		},
	}
	for name, start := range cases {
		t.Run(name, func(t *testing.T) {
			c, args := start(t)
			var out bytes.Buffer
			code := loadgen.Main(append(args, "-c", "4", "-d", "300ms", "--prefill", "10", "--json"), &out)
			text := out.String()
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, text)
			}
			var rep loadgen.Report
			if err := json.Unmarshal([]byte(text[strings.LastIndex(text, "\n{")+1:]), &rep); err != nil {
				t.Fatalf("report: %v\n%s", err, text)
			}
			if len(rep.Phases) != 3 || rep.Prefill == nil || rep.Prefill.Created != 10 {
				t.Fatalf("report %+v", rep)
			}
			for _, p := range rep.Phases {
				if p.Requests == 0 || p.Errors != 0 || p.Skipped != "" {
					t.Errorf("%s: %d requests, %d errors %v %s", p.Phase, p.Requests, p.Errors, p.ErrorKinds, p.Skipped)
				}
			}
			c.Do(testcse.Req{Method: "GET", Path: "/cse-in/" + rep.AE, From: c.Config.Admin}).Must(t, 4004)
		})
	}
	// A binding that disagrees with the target, and options that are HTTP's.
	var out bytes.Buffer
	if code := loadgen.Main([]string{"--binding", "mqtt", "--target", "ws://127.0.0.1:1/cse-in"}, &out); code != 2 {
		t.Errorf("exit %d for a binding that disagrees with the target: %s", code, out.String())
	}
	if code := loadgen.Main([]string{"--target", "ws://127.0.0.1:1/cse-in", "--subs", "1"}, &out); code != 2 {
		t.Errorf("exit %d for --subs over WebSocket: %s", code, out.String())
	}
}
