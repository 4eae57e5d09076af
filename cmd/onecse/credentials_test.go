package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentialsCommand: add-psk writes the key to the key file only,
// list shows identities and states but no key, revoke marks it.
func TestCredentialsCommand(t *testing.T) {
	dir := t.TempDir()
	file, keyFile := filepath.Join(dir, "creds.yaml"), filepath.Join(dir, "mn.key")
	var out bytes.Buffer
	run1 := func(want int, args ...string) string {
		t.Helper()
		out.Reset()
		if code := run(append([]string{"credentials"}, args...), &out, &out); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, out.String())
		}
		return out.String()
	}
	all := run1(0, "add-psk", "--file", file, "--kpsa-id", "mn1@in.x", "--cse-id", "/id-mn", "--key-out", keyFile, "--not-after", "2099-01-01T00:00:00Z")
	all += run1(0, "add-psk", "--file", file, "--kpsa-id", "ae1@in.x", "--ae-id", "Cae1", "--app-id", "Nx", "--key-out", filepath.Join(dir, "ae.key"))
	all += run1(0, "revoke", "--file", file, "--kpsa-id", "ae1@in.x")
	list := run1(0, "list", "--file", file)
	all += list
	for _, want := range []string{"mn1@in.x\t12-mn1@in.x\tcse-id=/id-mn\tnot-after=2099-01-01T00:00:00Z\tvalid", "ae1@in.x\t12-ae1@in.x\tae-ids=Cae1 app-ids=Nx\tnot-after=-\trevoked"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	key, err := os.ReadFile(keyFile)
	if err != nil || len(strings.TrimSpace(string(key))) != 64 {
		t.Fatalf("key file: %v %q", err, key)
	}
	if _, err := hex.DecodeString(strings.TrimSpace(string(key))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(all, strings.TrimSpace(string(key))) {
		t.Fatalf("the key was printed:\n%s", all)
	}
	for _, fi := range []string{file, keyFile} {
		st, _ := os.Stat(fi)
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", fi, st.Mode())
		}
	}
	run1(1, "add-psk", "--file", file, "--kpsa-id", "mn1@in.x", "--cse-id", "/id-mn", "--key-out", filepath.Join(dir, "dup.key"))
	if _, err := os.Stat(filepath.Join(dir, "dup.key")); err == nil {
		t.Fatal("a refused add-psk left its key file")
	}
	run1(2, "add-psk", "--file", file, "--kpsa-id", "x@y", "--cse-id", "/id-x") // no --key-out
	run1(1, "revoke", "--file", file, "--kpsa-id", "nobody@x")
	run1(2, "frobnicate")
}
