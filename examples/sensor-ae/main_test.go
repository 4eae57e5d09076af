package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

// TestExample runs the example against an IN that requires TLS-PSK
// associations for AEs, as docs/client.md does by hand.
func TestExample(t *testing.T) {
	key := bytes.Repeat([]byte{0x7a}, 32)
	dir := t.TempDir()
	creds := filepath.Join(dir, "in-credentials.yaml")
	keyFile := filepath.Join(dir, "sensor7.key")
	os.WriteFile(creds, []byte(fmt.Sprintf("psk:\n  - kpsa-id: sensor7@in.onecse.example\n    key: %x\n    ae-ids: [Csensor7]\n    app-ids: [Nsensor]\n", key)), 0o600)
	os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600)
	in := testcse.Start(t, func(c *config.Config) {
		c.Credentials, c.HTTPSPSK, c.RequireSAForAEs = creds, "127.0.0.1:0", config.SAOn
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"--url", "https://" + in.Server.HTTPSPSKAddr(), "--cse-id", "/id-in",
		"--psk-identity", "sensor7@in.onecse.example", "--psk-key-file", keyFile,
		"--ae-id", "Csensor7", "--app-id", "Nsensor", "--name", "sensor7", "--keep"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"registered with /id-in as Csensor7", "notification: ", "con=21.0", "latest: 21.0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the output lacks %q:\n%s", want, out.String())
		}
	}
	r := in.Do(testcse.Req{Method: "GET", Path: "/cse-in/sensor7/readings/la", From: "CAdmin"}).Must(t, 2000)
	if con := r.Res("m2m:cin")["con"]; con != "21.0" {
		t.Fatalf("latest reading on the IN: %v", con)
	}
	// Without the key the same run is refused by the IN.
	out.Reset()
	err = run(ctx, []string{"--url", in.URL, "--cse-id", "/id-in", "--ae-id", "Csensor7", "--app-id", "Nsensor", "--name", "other"}, &out)
	if err == nil || !strings.Contains(err.Error(), "4107") {
		t.Fatalf("without an association: %v", err)
	}
}
