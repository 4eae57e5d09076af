package credentials

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddPSKAndRevoke(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	k1, k2 := NewKey(), NewKey()
	if len(k1) != 32 || bytes.Equal(k1, k2) {
		t.Fatal("NewKey")
	}
	if err := AddPSK(p, Credential{KpsaID: "mn1@x", Key: k1, CSEID: "/id-mn"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	// A comment of the operator survives the edits.
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append([]byte("# managed by ops\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := AddPSK(p, Credential{KpsaID: "ae1@x", Key: k2, AEIDs: []string{"Cae1"}, AppIDs: []string{"Nx"}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Credential{
		{KpsaID: "mn1@x", Key: k2, CSEID: "/id-other"}, // twice
		{KpsaID: "mn2@x", Key: k2},                     // no identity
		{KpsaID: "mn3@x", Key: k2[:8], CSEID: "/id-x"}, // short key
	} {
		if err := AddPSK(p, bad); err == nil {
			t.Fatalf("%s accepted", bad.KpsaID)
		} else if strings.Contains(err.Error(), ".credentials-") {
			t.Fatalf("error names the temporary file: %v", err)
		}
	}
	if err := SetRevoked(p, "ae1@x"); err != nil {
		t.Fatal(err)
	}
	if err := SetRevoked(p, "nobody@x"); err == nil {
		t.Fatal("revoked an unknown credential")
	}
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.Lookup("mn1@x"); !ok || !c.Key.Equal(k1) || c.CSEID != "/id-mn" {
		t.Fatalf("mn1: %v %+v", ok, c)
	}
	if _, ok := s.Lookup("ae1@x"); ok {
		t.Fatal("ae1 still valid after SetRevoked")
	}
	if len(s.All()) != 2 {
		t.Fatalf("%d credentials", len(s.All()))
	}
	data, _ = os.ReadFile(p)
	if !strings.HasPrefix(string(data), "# managed by ops") {
		t.Fatalf("comment lost:\n%s", data)
	}
	// A world-readable file is not edited.
	os.Chmod(p, 0o644)
	if err := SetRevoked(p, "mn1@x"); err == nil {
		t.Fatal("edited a world-readable file")
	}
}

func TestWriteKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k := NewKey()
	if err := WriteKeyFile(p, k); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKeyFile(p)
	if err != nil || !got.Equal(k) {
		t.Fatalf("%v", err)
	}
	if err := WriteKeyFile(p, NewKey()); err == nil {
		t.Fatal("overwrote a key file")
	}
}
