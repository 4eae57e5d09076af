package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthAndReadiness: /healthz answers while the process runs; /readyz
// only between Start and Shutdown and while the store answers.
func TestHealthAndReadiness(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Sync = "normal"
	cfg.Metrics = false
	s, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.health, "/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Errorf("before Start: /readyz %d %q, want 503 starting", code, body)
	}
	s.Start()
	base := "http://" + s.HTTPAddr()
	if code, body := getURL(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz %d %q, want 200 ok", code, body)
	}
	if code, body := getURL(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz %d %q, want 200 ready", code, body)
	}
	// With metrics off, /metrics is an ordinary oneM2M address (4004 as
	// HTTP 404 from the binding, not the metrics page).
	if code, body := getURL(t, base+"/metrics"); code != 400 && code != 404 || strings.Contains(body, "onecse_") {
		t.Errorf("/metrics with metrics off: %d %q", code, body)
	}
	// POST /healthz is no health check: it goes to the oneM2M binding.
	resp, err := http.Post(base+"/healthz", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("POST /healthz answered 200")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.health, "/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("after Shutdown: /readyz %d %q, want 503 shutting down", code, body)
	}
	if code, _ := get(t, s.health, "/healthz"); code != 200 {
		t.Errorf("after Shutdown: /healthz %d, want 200 (the process is alive)", code)
	}
	// A closed store makes a started server unready.
	s.readiness.state.Store(1)
	if code, body := get(t, s.health, "/readyz"); code != 503 || !strings.Contains(body, "store") {
		t.Errorf("store closed: /readyz %d %q, want 503 store", code, body)
	}
}
