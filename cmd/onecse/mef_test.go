package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryMEF: remote provisioning with separate processes. An IN-CSE
// runs the MEF with the enrolees of its enrolment file; a fresh MN-CSE that
// holds only a bootstrap key and the MEF's address enrols, registers with
// the credential it received and gets the pre-assigned CSE-ID; AEs
// register through it as the node's rules say; restarted, it keeps its
// enrolment; with its enrolment expired it enrols again and the old
// credential is revoked; an expired enrolee, an unknown one and a wrong
// bootstrap key are refused.
func TestBinaryMEF(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	write := func(name, content string) string { return writeFile(t, dir, name, content) }
	gwKey := write("gw1-boot.key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n")
	oldKey := write("old-boot.key", "0f0e0d0c0b0a09080706050403020100\n")
	wrongKey := write("wrong.key", "ffffffffffffffffffffffffffffffff\n")
	credFile := write("in-credentials.yaml", "psk: []\n")
	enrolment := write("enrolment.yaml", `subscriptions:
  - name: acme
    expires: 2029-12-31T00:00:00Z
    nodes:
      - name: gw1
        node-id: urn:dev:ops:acme-gw-1
        cse-id: /id-mn1
        app-rules: [sensors]
app-rules:
  - name: sensors
    no-credential: true
    app-ids: ["Nsensor*"]
    ae-ids: ["C*"]
enrolees:
  - kpm-id: gw1@factory.onecse.example
    key-file: `+gwKey+`
    cse-id: /id-mn1
    subscription: acme
  - kpm-id: old@factory.onecse.example
    key-file: `+oldKey+`
    cse-id: /id-mn2
    not-after: 2020-01-01T00:00:00Z
`)
	in := startProc(t, bin, "--cse-id", "/id-in", "--data", filepath.Join(dir, "in"), "--http", "127.0.0.1:0", "--https-psk", "127.0.0.1:0",
		"--mef", "127.0.0.1:0", "--credentials", credFile, "--enrolment", enrolment, "--require-sa-for-cses")
	m := in.wait(regexp.MustCompile(`onecse started.* http=([0-9.:]+) .*mef=([0-9.:]+)`))
	inHTTP, mefURL := m[1], "https://"+m[2]

	mnArgs := func(id, key string) []string {
		return []string{"--cse-type", "MN", "--cse-name", "cse-mn", "--data", filepath.Join(dir, "mn"), "--http", "127.0.0.1:0",
			"--mef-url", mefURL, "--mef-bootstrap-psk-identity", id, "--mef-bootstrap-psk-key-file", key, "--liveness-interval", "200ms"}
	}
	mn := startProc(t, bin, mnArgs("gw1@factory.onecse.example", gwKey)...)
	keID := mn.wait(regexp.MustCompile(`enrolled at the MEF" .*cse-id=/id-mn1 subscription=acme ke-id=([0-9A-F]{32}@mef\.onecse\.example) registrar=/id-in`))[1]
	mnHTTP := mn.wait(regexp.MustCompile(`onecse started.* cse-id=/id-mn1 .*http=([0-9.:]+)`))[1]
	mn.wait(regexp.MustCompile(`registered with the registrar`))
	in.wait(regexp.MustCompile(`node enrolled" kpm-id=gw1@factory.onecse.example ke-id=` + keID + ` cse-id=/id-mn1`))

	// The IN-CSE holds the node's <remoteCSE> and the credential bound to
	// its CSE-ID; the node keeps its enrolment owner-only.
	get := func(url string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header["X-M2M-Origin"] = []string{"CAdmin"}
		req.Header["X-M2M-RI"] = []string{"get"}
		req.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-M2M-RSC") + " " + string(b)
	}
	if got := get("http://" + inHTTP + "/cse-in?fu=1&ty=16"); !strings.HasPrefix(got, "2000") || !strings.Contains(got, "id-mn1") {
		t.Fatalf("remoteCSE of the MN at the IN: %s", got)
	}
	creds, _ := os.ReadFile(credFile)
	if !strings.Contains(string(creds), keID) || !strings.Contains(string(creds), "/id-mn1") {
		t.Fatalf("credential file of the IN:\n%s", creds)
	}
	record := filepath.Join(dir, "mn", "mef-enrolment.json")
	if fi, err := os.Stat(record); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("enrolment record: %v %v", fi, err)
	}

	register := func(rn, api string) string {
		t.Helper()
		body := `{"m2m:ae":{"rn":"` + rn + `","api":"` + api + `","rr":false,"srv":["3"]}}`
		req, _ := http.NewRequest("POST", "http://"+mnHTTP+"/cse-mn", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json;ty=2")
		req.Header["X-M2M-Origin"] = []string{"C"}
		req.Header["X-M2M-RI"] = []string{rn}
		req.Header["X-M2M-RVI"] = []string{"3"}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-M2M-RSC")
	}
	if rsc := register("temp1", "Nsensor-temp"); rsc != "2001" {
		t.Fatalf("AE with an allowed App-ID through the enrolled MN: %s", rsc)
	}
	if rsc := register("cam1", "Ncamera"); rsc != "4126" {
		t.Fatalf("AE with a refused App-ID: %s", rsc)
	}

	stop := func(p *proc) {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	}
	// Restarted, the MN keeps its enrolment.
	stop(mn)
	mn = startProc(t, bin, mnArgs("gw1@factory.onecse.example", gwKey)...)
	mn.wait(regexp.MustCompile(`enrolment kept from an earlier start" .*ke-id=` + keID))
	mnHTTP = mn.wait(regexp.MustCompile(`onecse started.* cse-id=/id-mn1 .*http=([0-9.:]+)`))[1]
	// The node's rules come from the IN-CSE over the association (without
	// them the MN's allow-list would admit Ncamera).
	if rsc := register("cam2", "Ncamera"); rsc != "4126" {
		t.Fatalf("refused App-ID after the restart: %s", rsc)
	}

	// Its enrolment expired, it enrols again: a new KeID, the old one revoked.
	stop(mn)
	var rec map[string]any
	data, _ := os.ReadFile(record)
	json.Unmarshal(data, &rec)
	rec["not-after"] = "2020-01-01T00:00:00Z"
	data, _ = json.Marshal(rec)
	os.WriteFile(record, data, 0o600)
	mn = startProc(t, bin, mnArgs("gw1@factory.onecse.example", gwKey)...)
	mn.wait(regexp.MustCompile(`enrolment expired: enrolling again`))
	keID2 := mn.wait(regexp.MustCompile(`enrolled at the MEF" .*ke-id=([0-9A-F]{32}@mef\.onecse\.example)`))[1]
	mnHTTP = mn.wait(regexp.MustCompile(`onecse started.* cse-id=/id-mn1 .*http=([0-9.:]+)`))[1]
	if keID2 == keID {
		t.Fatal("re-enrolment kept the KeID")
	}
	creds, _ = os.ReadFile(credFile)
	if i := strings.Index(string(creds), keID); i < 0 || !strings.Contains(string(creds)[i:min(i+400, len(creds))], "revoked: true") {
		t.Fatalf("the first credential is not revoked:\n%s", creds)
	}
	if rsc := register("temp2", "Nsensor-hum"); rsc != "2001" {
		t.Fatalf("AE after re-enrolment: %s", rsc)
	}
	if rsc := register("cam3", "Ncamera"); rsc != "4126" {
		t.Fatalf("refused App-ID after re-enrolment: %s", rsc)
	}

	// Refused: an expired enrolee, an unknown one, a wrong bootstrap key.
	for _, tc := range []struct{ name, id, key, want string }{
		{"expired", "old@factory.onecse.example", oldKey, "4128"},
		{"unknown", "nobody@factory.onecse.example", oldKey, "handshake"},
		{"wrong key", "gw1@factory.onecse.example", wrongKey, "handshake"},
	} {
		args := mnArgs(tc.id, tc.key)
		args[5] = filepath.Join(dir, "mn-"+strings.ReplaceAll(tc.name, " ", "-")) // its own data
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "enrolment at the MEF") || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %v\n%s", tc.name, err, out)
		}
	}
}

// TestBinaryMEFStandalone: the MEF as its own process (onecse mef) next to
// the IN-CSE; it hands the credential over through the IN-CSE's credential
// file and SIGHUP, and the node registers with it.
func TestBinaryMEFStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := onecseBinary(t)
	write := func(name, content string) string { return writeFile(t, dir, name, content) }
	gwKey := write("gw1-boot.key", "00112233445566778899aabbccddeeff\n")
	credFile := write("in-credentials.yaml", "psk: []\n")
	enrolment := write("enrolment.yaml", `subscriptions:
  - name: acme
    expires: 2029-12-31T00:00:00Z
    nodes:
      - name: gw1
        node-id: urn:dev:ops:acme-gw-1
        cse-id: /id-mn1
        app-rules: [sensors]
app-rules:
  - name: sensors
    no-credential: true
    app-ids: ["Nsensor*"]
    ae-ids: ["C*"]
enrolees:
  - kpm-id: gw1@factory.onecse.example
    key-file: `+gwKey+`
    cse-id: /id-mn1
    subscription: acme
`)
	in := startProc(t, bin, "--cse-id", "/id-in", "--data", filepath.Join(dir, "in"), "--http", "127.0.0.1:0", "--https-psk", "127.0.0.1:0",
		"--credentials", credFile, "--enrolment", enrolment, "--require-sa-for-cses")
	inPSK := in.wait(regexp.MustCompile(`onecse started.* https-psk=([0-9.:]+)`))[1]
	mefProc := startProc(t, bin, "mef", "--listen", "127.0.0.1:0", "--enrolment", enrolment, "--credentials", credFile,
		"--pid", strconv.Itoa(in.cmd.Process.Pid), "--registrar-url", "https://"+inPSK)
	mefAddr := mefProc.wait(regexp.MustCompile(`MEF started" mef=([0-9.:]+)`))[1]

	mn := startProc(t, bin, "--cse-type", "MN", "--cse-name", "cse-mn", "--data", filepath.Join(dir, "mn"), "--http", "127.0.0.1:0",
		"--mef-url", "https://"+mefAddr, "--mef-bootstrap-psk-identity", "gw1@factory.onecse.example", "--mef-bootstrap-psk-key-file", gwKey)
	mn.wait(regexp.MustCompile(`enrolled at the MEF" .*cse-id=/id-mn1 `))
	mn.wait(regexp.MustCompile(`registered with the registrar" registrar=/id-in cse-id=/id-mn1`))
	in.wait(regexp.MustCompile(`credentials reloaded`))
	mefProc.wait(regexp.MustCompile(`node enrolled" kpm-id=gw1@factory.onecse.example`))
}
