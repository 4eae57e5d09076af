package server_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// scrape reads /metrics and returns every sample by its canonical text
// (name{k="v",...} with the labels sorted, as client_golang writes them).
func scrape(t *testing.T, c *testcse.CSE) map[string]float64 {
	t.Helper()
	resp, err := http.Get(c.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sample is the canonical text of a series: labels in the order given,
// which must be the order client_golang writes (alphabetical, le last).
func sample(name string, kv ...string) string {
	if len(kv) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "{")
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i] + `="` + kv[i+1] + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

func req(op, ty, binding, rsc string) string {
	return sample("onecse_requests_total", "binding", binding, "operation", op, "resource_type", ty, "rsc", rsc)
}

// TestMetricsAfterKnownTraffic drives known requests over HTTP and WebSocket
// and a notification that the target refuses, then checks the exact counters
// /metrics reports, and that the registered-AE gauge is right after a
// restart.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	c := testcse.Start(t, func(cfg *config.Config) { cfg.NotifyRetry = 10 * time.Millisecond })
	aei := c.RegisterAE("metricsAE")
	c.Create(aei, "/cse-in/metricsAE", 3, "m2m:cnt", map[string]any{"rn": "cnt"})
	cin1 := c.Create(aei, "/cse-in/metricsAE/cnt", 4, "m2m:cin", map[string]any{"con": "1"})
	c.Create(aei, "/cse-in/metricsAE/cnt", 4, "m2m:cin", map[string]any{"con": "2"})
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/metricsAE/cnt/la", From: aei}).Must(t, 2000)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/nothing", From: aei}).Must(t, 4004)

	ws := testcse.DialWS(t, c, "oneM2M.json")
	defer ws.Close()
	ws.Send(t, testcse.Msg{Op: 2, To: "cse-in/metricsAE/cnt", From: aei}).Must(t, 2000)
	ws.Send(t, testcse.Msg{Op: 1, To: "cse-in/metricsAE/cnt", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "3"}}}).Must(t, 2001)
	ws.Send(t, testcse.Msg{Op: 4, To: "cse-in/metricsAE/cnt/" + cin1["rn"].(string), From: aei}).Must(t, 2002)
	ws.Send(t, testcse.Msg{Op: 2, To: "cse-in/metricsAE/nothing", From: aei}).Must(t, 4004)

	// A subscription whose target accepts the verification and then
	// refuses (4xxx: no retry): one attempt, one failure, one drop.
	rcv := testcse.NewReceiver(t)
	c.Create(aei, "/cse-in/metricsAE/cnt", 23, "m2m:sub", map[string]any{"rn": "sub", "nu": []string{rcv.URL}, "enc": map[string]any{"net": []int{3}}})
	rcv.Answer(4004, 404)
	c.Create(aei, "/cse-in/metricsAE/cnt", 4, "m2m:cin", map[string]any{"con": "4"})

	var m map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		m = scrape(t, c)
		// Each metric is read on its own, so a scrape taken while the
		// drop happens can see it counted and still pending: wait for
		// both.
		if m["onecse_notifications_dropped_total"] >= 1 && m["onecse_notifications_pending"] == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The scrape that saw the drop may have read the attempt counters just
	// before the attempt counted itself (each is read on its own). They
	// count before the drop does, so a scrape from now on sees them all.
	m = scrape(t, c)
	want := map[string]float64{
		req("create", "ae", "http", "2001"):    1,
		req("create", "cnt", "http", "2001"):   1,
		req("create", "cin", "http", "2001"):   3,
		req("create", "sub", "http", "2001"):   1,
		req("retrieve", "cin", "http", "2000"): 1,
		req("retrieve", "", "http", "4004"):    1,
		req("retrieve", "cnt", "ws", "2000"):   1,
		req("create", "cin", "ws", "2001"):     1,
		req("delete", "", "ws", "2002"):        1,
		req("retrieve", "", "ws", "4004"):      1,
		sample("onecse_request_duration_seconds_count", "binding", "http", "operation", "create"):   6,
		sample("onecse_request_duration_seconds_count", "binding", "http", "operation", "retrieve"): 2,
		sample("onecse_request_duration_seconds_count", "binding", "ws", "operation", "retrieve"):   2,
		sample("onecse_request_duration_seconds_count", "binding", "ws", "operation", "create"):     1,
		sample("onecse_request_duration_seconds_count", "binding", "ws", "operation", "delete"):     1,
		"onecse_registered_aes":                      1,
		"onecse_registered_cses":                     0,
		"onecse_notification_requests_total":         1,
		"onecse_notification_request_failures_total": 1,
		"onecse_notifications_delivered_total":       0,
		"onecse_notifications_dropped_total":         1,
		"onecse_notifications_pending":               0,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	// No other request series than those above.
	for k := range m {
		if strings.HasPrefix(k, "onecse_requests_total{") {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected series %s = %v", k, m[k])
			}
		}
	}
	for _, k := range []string{
		sample("onecse_store_transaction_duration_seconds_count", "result", "ok"),
		sample("onecse_store_commit_duration_seconds_count", "result", "ok"),
		"onecse_store_commit_transactions_count",
	} {
		if m[k] < 1 {
			t.Errorf("%s = %v, want at least 1", k, m[k])
		}
	}
	// (client_golang writes the bucket label le last.)
	if m[sample("onecse_request_duration_seconds_bucket", "binding", "http", "operation", "create", "le", "+Inf")] != 6 {
		t.Errorf("latency histogram +Inf bucket of http creates is not 6")
	}

	// After a restart the gauges come from the store; the counters start
	// again from zero.
	c.Stop()
	cfg := c.Config
	cfg.HTTP = c.Addr()
	c2 := testcse.StartConfig(t, cfg)
	m = scrape(t, c2)
	if m["onecse_registered_aes"] != 1 {
		t.Errorf("after restart: onecse_registered_aes = %v, want 1", m["onecse_registered_aes"])
	}
	if v := m[req("create", "ae", "http", "2001")]; v != 0 {
		t.Errorf("after restart: AE creations counted %v, want 0 (absent)", v)
	}
	c2.Do(testcse.Req{Method: "DELETE", Path: "/cse-in/metricsAE", From: aei}).Must(t, 2002)
	if v := scrape(t, c2)["onecse_registered_aes"]; v != 0 {
		t.Errorf("after deregistration: onecse_registered_aes = %v, want 0", v)
	}
}
