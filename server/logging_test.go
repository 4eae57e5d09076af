package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/server"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func send(t *testing.T, hc *http.Client, base, method, path, from, rqi string, ty string, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header["X-M2M-Origin"] = []string{from}
	req.Header["X-M2M-RI"] = []string{rqi}
	req.Header["X-M2M-RVI"] = []string{"3"}
	if body != "" {
		req.Header.Set("Content-Type", "application/json;ty="+ty)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestRequestLogLines: the lines logged while a request is handled, by the
// core as well as by the layer every binding passes, carry the request's
// rqi and originator; no secret (PSK, MQTT password) is ever logged, even
// at debug level.
func TestRequestLogLines(t *testing.T) {
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credentials.yaml")
	psk := credentials.NewKey()
	if err := credentials.AddPSK(credFile, credentials.Credential{KpsaID: "logae@test", Key: psk, AEIDs: []string{"Clog"}}); err != nil {
		t.Fatal(err)
	}
	const mqttPassword = "mqtt-pw-7f3a9c41"
	cfg := config.Default()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = filepath.Join(dir, "data")
	cfg.Sync = "normal"
	cfg.Credentials = credFile
	cfg.HTTPSPSK = "127.0.0.1:0"
	cfg.MQTTEmbedded = "127.0.0.1:0"
	cfg.MQTTUsername = "onecse"
	cfg.MQTTPassword = mqttPassword
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}
	}
	defer stop()

	pskURL := "https://" + srv.HTTPSPSKAddr()
	hc := testcse.PSKClient("logae@test", psk)
	if code := send(t, hc, pskURL, "POST", "/cse-in", "Clog", "log-rqi-1", "2", `{"m2m:ae":{"rn":"logAE","api":"Nlog","rr":false,"srv":["3"]}}`); code != 201 {
		t.Fatalf("AE registration over TLS-PSK: HTTP %d", code)
	}
	if code := send(t, hc, pskURL, "POST", "/cse-in/logAE", "Clog", "log-rqi-2", "3", `{"m2m:cnt":{"rn":"c"}}`); code != 201 {
		t.Fatalf("container: HTTP %d", code)
	}
	if code := send(t, http.DefaultClient, "http://"+srv.HTTPAddr(), "GET", "/cse-in/missing", "Cnobody", "log-rqi-3", "", ""); code < 400 {
		t.Fatalf("missing resource: HTTP %d", code)
	}
	stop()

	type line map[string]any
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m line
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	find := func(msg, rqi string) line {
		for _, l := range lines {
			if l["msg"] == msg && l["rqi"] == rqi {
				return l
			}
		}
		t.Errorf("no line %q with rqi %s in:\n%s", msg, rqi, buf.String())
		return nil
	}
	for _, c := range []struct{ msg, rqi, originator, binding string }{
		{"AE registered", "log-rqi-1", "Clog", "http"}, // logged by the core
		{"request", "log-rqi-1", "Clog", "http"},       // the access line
		{"request", "log-rqi-2", "Clog", "http"},
		{"request failed", "log-rqi-3", "Cnobody", "http"},
		{"request", "log-rqi-3", "Cnobody", "http"},
	} {
		l := find(c.msg, c.rqi)
		if l == nil {
			continue
		}
		if l["originator"] != c.originator || l["binding"] != c.binding {
			t.Errorf("line %q of %s: originator %v binding %v, want %s %s", c.msg, c.rqi, l["originator"], l["binding"], c.originator, c.binding)
		}
	}
	// Every line that names a request carries its originator too.
	for _, l := range lines {
		if _, ok := l["rqi"]; ok && strings.HasPrefix(l["rqi"].(string), "log-rqi-") {
			if _, ok := l["originator"]; !ok {
				t.Errorf("line with rqi but no originator: %v", l)
			}
		}
	}
	out := buf.String()
	for name, secret := range map[string]string{"PSK (hex)": hex.EncodeToString(psk), "PSK (HEX)": strings.ToUpper(hex.EncodeToString(psk)), "MQTT password": mqttPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	if !strings.Contains(out, `"msg":"onecse started"`) {
		t.Errorf("no start line: the log was not captured")
	}
}
