package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerAddsContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := With(context.Background(), "rqi", "r1", "originator", "Cae")
	ctx = With(ctx, slog.String("binding", "http"))
	log.InfoContext(ctx, "one", "k", 1)
	log.InfoContext(ctx, "two", "rqi", "explicit") // its own rqi wins, no duplicate key
	log.Info("three")                              // no context: no attributes
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	want := []map[string]any{
		{"msg": "one", "k": float64(1), "rqi": "r1", "originator": "Cae", "binding": "http"},
		{"msg": "two", "rqi": "explicit", "originator": "Cae", "binding": "http"},
		{"msg": "three"},
	}
	for i, l := range lines {
		if strings.Count(l, `"rqi"`) > 1 {
			t.Errorf("line %d has rqi twice: %s", i, l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "time")
		delete(m, "level")
		if len(m) != len(want[i]) {
			t.Errorf("line %d = %v, want %v", i, m, want[i])
			continue
		}
		for k, v := range want[i] {
			if m[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, m[k], v)
			}
		}
	}
	// With does not change the context it was given.
	base := With(context.Background(), "a", 1)
	_ = With(base, "b", 2)
	if n := len(Attrs(base)); n != 1 {
		t.Errorf("base carries %d attributes, want 1", n)
	}
}
