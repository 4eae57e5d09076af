package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// TestEnrolCommand: apply to a running CSE over HTTP creates, the second
// apply changes nothing; check finds errors.
func TestEnrolCommand(t *testing.T) {
	dir := t.TempDir()
	credFile := filepath.Join(dir, "creds.yaml")
	if err := os.WriteFile(credFile, []byte("psk: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := testcse.Start(t, func(c *config.Config) { c.Credentials = credFile })
	file := filepath.Join(dir, "enrol.yaml")
	content := `subscriptions:
  - name: sub
    expires: 2030-01-01T00:00:00Z
    nodes:
      - name: n1
        node-id: urn:dev:ops:n1
        cse-id: /id-in
        app-rules: [r1]
app-rules:
  - name: r1
    credentials: [ae1@sp.example]
    app-ids: [Nx]
    ae-ids: [Cae1]
credentials:
  - kpsa-id: ae1@sp.example
    key-out: ` + filepath.Join(dir, "ae1.key") + `
    ae-ids: [Cae1]
    subscription: sub
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enrol := func(want int, args ...string) string {
		t.Helper()
		out.Reset()
		if code := run(append([]string{"enrol"}, args...), &out, &out); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, out.String())
		}
		return out.String()
	}
	if got := enrol(0, "check", "--file", file); !strings.Contains(got, "1 subscriptions, 1 app-rules, 1 credentials") {
		t.Fatalf("check: %s", got)
	}
	got := enrol(0, "apply", "--file", file, "--url", in.URL, "--credentials", credFile)
	if !strings.Contains(got, "4 created, 0 updated, 0 unchanged") || !strings.Contains(got, "SIGHUP") {
		t.Fatalf("first apply: %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "ae1.key")); err != nil {
		t.Fatalf("generated key: %v", err)
	}
	if got := enrol(0, "apply", "--file", file, "--url", in.URL, "--credentials", credFile); !strings.Contains(got, "0 created, 0 updated, 4 unchanged") {
		t.Fatalf("second apply: %s", got)
	}
	if in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sub/n1", From: "CAdmin"}).Must(t, 2000).Res("m2m:svsn")["csi"] != "/id-in" {
		t.Fatal("svsn not there")
	}
	// An expiry beyond the CSE's max-expiration is reported.
	os.WriteFile(file, []byte(strings.Replace(content, "2030-01-01", "2099-01-01", 1)), 0o600)
	if got := enrol(1, "apply", "--file", file, "--url", in.URL, "--credentials", credFile); !strings.Contains(got, "max-expiration") {
		t.Fatalf("apply beyond max-expiration: %s", got)
	}
	// A file others may read is refused; so is a broken one.
	os.Chmod(file, 0o644)
	enrol(1, "check", "--file", file)
	os.Chmod(file, 0o600)
	os.WriteFile(file, []byte("app-rules:\n  - name: r\n    app-ids: [Nx]\n    ae-ids: [C*]\n"), 0o600)
	if got := enrol(1, "check", "--file", file); !strings.Contains(got, "no-credential") {
		t.Fatalf("check of a broken file: %s", got)
	}
}
