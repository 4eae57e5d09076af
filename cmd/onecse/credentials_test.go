package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/certid"
	"github.com/onecse/onecse/security/credentials"
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

// TestCertificateCommands: a CA, a CSE-ID and an AE-ID certificate that
// verify against it and carry the identities of TS-0003 10.1.
func TestCertificateCommands(t *testing.T) {
	dir := t.TempDir()
	n := func(s string) string { return filepath.Join(dir, s) }
	var out bytes.Buffer
	for _, args := range [][]string{
		{"ca", "--out", n("ca")},
		{"issue-cse", "--ca", n("ca"), "--cse-id", "/id-mn", "--out", n("mn")},
		{"issue-ae", "--ca", n("ca"), "--ae-id", "Csensor", "--out", n("ae"), "--days", "30"},
	} {
		if code := run(append([]string{"credentials"}, args...), &out, &out); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out.String())
		}
	}
	if code := run([]string{"credentials", "issue-cse", "--ca", n("ca"), "--cse-id", "/id-mn", "--out", n("mn")}, &out, &out); code != 1 {
		t.Fatalf("overwrote a certificate: exit %d", code)
	}
	if code := run([]string{"credentials", "issue-ae", "--ca", n("ca"), "--ae-id", "/bad", "--out", n("bad")}, &out, &out); code != 1 {
		t.Fatalf("bad AE-ID: exit %d", code)
	}
	for i, want := range []int{0, 0, 1} { // the third revocation of mn is refused
		args := []string{"credentials", "revoke-cert", "--ca", n("ca"), "--cert", n([]string{"mn", "ae", "mn"}[i] + ".crt"), "--crl", n("ca.crl")}
		if code := run(args, &out, &out); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, out.String())
		}
	}
	caPEM, _ := os.ReadFile(n("ca.crt"))
	caCert, _ := x509.ParseCertificate(func() []byte { b, _ := pem.Decode(caPEM); return b.Bytes }())
	revoked, err := certid.LoadRevoked(n("ca.crl"), []*x509.Certificate{caCert})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	m := certid.Mapper{SPID: "//onecse.example", Domain: "onecse.example"}
	for name, want := range map[string]string{"mn": "32-/id-mn", "ae": "33-Csensor"} {
		if st, _ := os.Stat(n(name + ".key")); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s.key mode %v", name, st.Mode())
		}
		pair, err := tls.LoadX509KeyPair(n(name+".crt"), n(name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id, err := m.Of(leaf); err != nil || id.CredentialID() != want {
			t.Fatalf("%s: %v %v", name, id, err)
		}
		if !revoked.Has(leaf) {
			t.Fatalf("%s not in the CRL", name)
		}
	}
}

// TestBinaryReloadsCredentialsOnSIGHUP: a credential revoked with
// "onecse credentials revoke" stops working once the running onecse got
// SIGHUP, and the process carries on.
func TestBinaryReloadsCredentialsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	file, keyFile := filepath.Join(dir, "creds.yaml"), filepath.Join(dir, "ae.key")
	var out bytes.Buffer
	if code := run([]string{"credentials", "add-psk", "--file", file, "--kpsa-id", "ae1@x", "--ae-id", "Cae1", "--key-out", keyFile}, &out, &out); code != 0 {
		t.Fatalf("add-psk: %s", out.String())
	}
	key, err := credentials.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--http", "127.0.0.1:0", "--https-psk", "127.0.0.1:0", "--credentials", file, "--data", filepath.Join(dir, "data"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("onecse exited while waiting for %s", re)
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-deadline:
				t.Fatalf("no log line %s", re)
			}
		}
	}
	addr := waitLine(regexp.MustCompile(`onecse started.*https-psk=([0-9.:]+)`))[1]
	get := func() error {
		req, _ := http.NewRequest("GET", "https://"+addr+"/cse-in", nil)
		req.Header["X-M2M-Origin"] = []string{"Cae1"}
		req.Header["X-M2M-RI"] = []string{"1"}
		resp, err := testcse.PSKClient("ae1@x", key).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("valid credential: %v", err)
	}
	if code := run([]string{"credentials", "revoke", "--file", file, "--kpsa-id", "ae1@x"}, &out, &out); code != 0 {
		t.Fatalf("revoke: %s", out.String())
	}
	if err := get(); err != nil {
		t.Fatalf("revoked in the file but not reloaded yet: %v", err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(regexp.MustCompile(`credentials reloaded`))
	if err := get(); err == nil {
		t.Fatal("a revoked credential still works after SIGHUP")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit 15 s after SIGTERM")
	}
}
