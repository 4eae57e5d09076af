package credentials

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var key = bytes.Repeat([]byte{0xab}, 16)

func write(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have cut bits
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	p := write(t, fmt.Sprintf(`psk:
  - kpsa-id: mn1@in.example.com
    key: %x
    cse-id: /id-mn
    not-after: 2099-01-01T00:00:00Z
  - kpsa-id: ae1@in.example.com
    key: %x
    ae-ids: [Cae1, Sae1]
    app-ids: [Nsensor]
  - kpsa-id: old@in.example.com
    key: %x
    cse-id: /id-old
    not-after: 2020-01-01T00:00:00Z
  - kpsa-id: gone@in.example.com
    key: %x
    cse-id: /id-gone
    revoked: true
`, key, key, key, key), 0o600)
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.ByCredentialID("12-mn1@in.example.com")
	if !ok || c.CSEID != "/id-mn" || !bytes.Equal(c.Key, key) || c.ID() != "12-mn1@in.example.com" {
		t.Fatalf("mn1: %v %+v", ok, c)
	}
	if c, ok := s.Lookup("ae1@in.example.com"); !ok || len(c.AEIDs) != 2 || c.AppIDs[0] != "Nsensor" {
		t.Fatalf("ae1: %v %+v", ok, c)
	}
	for _, id := range []string{"old@in.example.com", "gone@in.example.com", "nobody@in.example.com"} {
		if k, err := s.GetKey(id); k != nil || err != nil {
			t.Fatalf("%s: key given (%v)", id, err)
		}
	}
	if _, ok := s.ByCredentialID("11-mn1@in.example.com"); ok {
		t.Fatal("a Credential-ID of another type matched")
	}
	// The clock decides validity.
	s.SetClock(func() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) })
	if _, ok := s.Lookup("mn1@in.example.com"); ok {
		t.Fatal("valid after not-after")
	}
	s.SetClock(time.Now)
	if !s.Revoke("mn1@in.example.com") {
		t.Fatal("revoke")
	}
	if _, ok := s.Lookup("mn1@in.example.com"); ok {
		t.Fatal("valid after revocation")
	}
	for _, c := range s.All() {
		if c.Key != nil {
			t.Fatal("All returns keys")
		}
	}
}

// TestLoadRefuses: bad files are refused, and no error quotes a key.
func TestLoadRefuses(t *testing.T) {
	hk := hex.EncodeToString(key)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"group readable", "psk: []\n", 0o640, "chmod 600"},
		{"world readable", "psk: []\n", 0o604, "chmod 600"},
		{"short key", "psk:\n  - kpsa-id: a@b\n    key: abcd\n    cse-id: /x\n", 0o600, "at least 16 bytes"},
		{"bad hex", "psk:\n  - kpsa-id: a@b\n    key: zz" + hk + "\n    cse-id: /x\n", 0o600, "hex digits"},
		{"no identity", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n", 0o600, "exactly one of"},
		{"both identities", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n    cse-id: /x\n    ae-ids: [Cx]\n", 0o600, "exactly one of"},
		{"bad KpsaID", "psk:\n  - kpsa-id: a b:c\n    key: " + hk + "\n    cse-id: /x\n", 0o600, "KpsaID"},
		{"bad cse-id", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n    cse-id: x\n", 0o600, "SP-relative"},
		{"bad ae-id", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n    ae-ids: [/x/Cy]\n", 0o600, "AE-ID-Stem"},
		{"app-ids on a CSE", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n    cse-id: /x\n    app-ids: [Nx]\n", 0o600, "app-ids"},
		{"twice", "psk:\n  - kpsa-id: a@b\n    key: " + hk + "\n    cse-id: /x\n  - kpsa-id: a@b\n    key: " + hk + "\n    cse-id: /y\n", 0o600, "twice"},
		{"unknown key", "psk:\n  - kpsa-id: a@b\n    secret: " + hk + "\n    cse-id: /x\n", 0o600, "line"},
		{"syntax", "psk: [\n  key: " + hk + "\n", 0o600, "not a valid credential file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.content, tc.mode))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), hk) {
				t.Fatalf("the error quotes the key: %v", err)
			}
			if tc.mode&0o077 != 0 && !errors.Is(err, ErrPermissions) {
				t.Fatalf("not ErrPermissions: %v", err)
			}
		})
	}
}

func TestReadKeyFile(t *testing.T) {
	p := write(t, hex.EncodeToString(key)+"\n", 0o400)
	k, err := ReadKeyFile(p)
	if err != nil || !bytes.Equal(k, key) {
		t.Fatalf("%v %x", err, []byte(k))
	}
	if _, err := ReadKeyFile(write(t, hex.EncodeToString(key), 0o644)); !errors.Is(err, ErrPermissions) {
		t.Fatalf("world-readable key file: %v", err)
	}
	bad := "xx" + hex.EncodeToString(key)
	if _, err := ReadKeyFile(write(t, bad, 0o600)); err == nil || strings.Contains(err.Error(), bad) {
		t.Fatalf("bad key file: %v", err)
	}
}

// TestSecretNeverPrints: every way a Secret reaches text shows no byte of it.
func TestSecretNeverPrints(t *testing.T) {
	s := Secret(key)
	c := Credential{KpsaID: "a@b", Key: s, CSEID: "/x"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", s, "cred", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", s, "cred", c)
	j, _ := json.Marshal(c)
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %s %x %X %q %#v %+v %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", c, c, c), logged.String(), string(j),
	}
	hk := hex.EncodeToString(key)
	for _, o := range outs {
		if strings.Contains(strings.ToLower(o), hk) || strings.Contains(o, string(key)) || strings.Contains(o, "171 171") {
			t.Fatalf("key material in %q", o)
		}
		if !strings.Contains(o, "[secret]") {
			t.Fatalf("no [secret] in %q", o)
		}
	}
}
