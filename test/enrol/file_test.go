package enrol

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/enrol"
)

// enrolmentFile writes an enrolment file with one subscription whose node
// is the IN-CSE itself, two rules and two credentials (one with its key
// generated into keyOut).
func enrolmentFile(t *testing.T, dir string, expires time.Time) (path, keyOut string) {
	keyOut = filepath.Join(dir, "sensor2.key")
	path = writeSecret(t, "enrolment.yaml", fmt.Sprintf(`subscriptions:
  - name: acme
    expires: %s
    labels: [gold]
    nodes:
      - name: in-node
        node-id: urn:dev:ops:acme-in
        cse-id: /id-in
        app-rules: [sensors, plain]
      - name: gw1
        node-id: urn:dev:ops:acme-gw-1
        cse-id: /id-mn1
        device-ids: [urn:imei:490154203237518]
        app-rules: []
app-rules:
  - name: sensors
    credentials: [sensor1@sp.example, sensor2@sp.example]
    app-ids: ["Nsensor*"]
    ae-ids: ["Csensor*"]
  - name: plain
    no-credential: true
    app-ids: [Nplain]
    ae-ids: ["C*"]
credentials:
  - kpsa-id: sensor1@sp.example
    key: %x
    ae-ids: [Csensor1]
    subscription: acme
  - kpsa-id: sensor2@sp.example
    key-out: %s
    ae-ids: [Csensor2a, Csensor2b]
    app-ids: [Nsensor-b]
    subscription: acme
    not-after: 2099-01-01T00:00:00Z
`, expires.UTC().Format(time.RFC3339), keyGood, keyOut))
	return path, keyOut
}

// TestEnrolmentFileAtStart: the file applied at start provisions the
// resources and credentials; started again, nothing changes (ri and lt of
// every resource, the credential file byte for byte).
func TestEnrolmentFileAtStart(t *testing.T) {
	dir := t.TempDir()
	expires := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	file, keyOut := enrolmentFile(t, dir, expires)
	credFile := filepath.Join(dir, "credentials.yaml")
	in := testcse.Start(t, func(c *config.Config) {
		c.Enrolment, c.Credentials, c.HTTPSPSK = file, credFile, "127.0.0.1:0"
	})
	paths := []string{"/cse-in/acme", "/cse-in/acme/in-node", "/cse-in/acme/gw1", "/cse-in/sensors", "/cse-in/plain"}
	before := map[string]string{}
	for _, p := range paths {
		r := get(in, admin, p).Must(t, 2000)
		for _, v := range r.JSON {
			m := v.(map[string]any)
			before[p] = fmt.Sprint(m["ri"], " ", m["lt"], " ", m["et"])
		}
	}
	node := get(in, admin, "/cse-in/acme/in-node").Res("m2m:svsn")
	if fmt.Sprint(node["rlk"]) != "[cse-in/sensors cse-in/plain]" || node["csi"] != "/id-in" {
		t.Fatalf("svsn: %v", node)
	}
	rule := get(in, admin, "/cse-in/sensors").Res("m2m:asar")
	if fmt.Sprint(rule["apci"]) != "[12-sensor1@sp.example 12-sensor2@sp.example]" {
		t.Fatalf("asar: %v", rule)
	}
	// The rules apply: a credential from the file, the generated key.
	register(in.PSK("sensor1@sp.example", keyGood), "Csensor1", "s1", "Nsensor-temp").Must(t, 2001)
	key2, err := os.ReadFile(keyOut)
	if err != nil {
		t.Fatal(err)
	}
	var k2 []byte
	fmt.Sscanf(string(key2), "%x", &k2)
	register(in.PSK("sensor2@sp.example", k2), "Csensor2a", "s2", "Nsensor-b").Must(t, 2001)
	register(in.PSK("sensor2@sp.example", k2), "Csensor2b", "s3", "Nsensor-c").Must(t, 4126) // app-ids of the credential
	register(in, "C", "p1", "Nplain").Must(t, 2001)
	register(in, "C", "p2", "Nsensor-x").Must(t, 4126)

	// The credential ends with the subscription, before its own not-after.
	creds, err := os.ReadFile(credFile)
	if err != nil {
		t.Fatal(err)
	}
	want := "not-after: " + expires.UTC().Format(time.RFC3339)
	if n := countSub(string(creds), want); n != 2 {
		t.Fatalf("credential file: %d credentials end at %s, want 2:\n%s", n, want, creds)
	}

	// Started again with the same file: nothing changes.
	in.Stop()
	in2 := testcse.StartConfig(t, in.Config)
	for _, p := range paths {
		r := get(in2, admin, p).Must(t, 2000)
		for _, v := range r.JSON {
			m := v.(map[string]any)
			if got := fmt.Sprint(m["ri"], " ", m["lt"], " ", m["et"]); got != before[p] {
				t.Errorf("%s changed: %s → %s", p, before[p], got)
			}
		}
	}
	creds2, _ := os.ReadFile(credFile)
	if string(creds2) != string(creds) {
		t.Errorf("credential file changed:\n%s\n→\n%s", creds, creds2)
	}
}

func countSub(s, sub string) int {
	n := 0
	for i := 0; ; {
		j := indexFrom(s, sub, i)
		if j < 0 {
			return n
		}
		n++
		i = j + len(sub)
	}
}

func indexFrom(s, sub string, i int) int {
	for k := i; k+len(sub) <= len(s); k++ {
		if s[k:k+len(sub)] == sub {
			return k
		}
	}
	return -1
}

// TestEnrolmentApplyRemote: the same through HTTP to a running CSE (the
// admin CLI's way): the first run creates, the second reports no change,
// an edited file updates only what changed, and an attribute that cannot
// change is an error that changes nothing.
func TestEnrolmentApplyRemote(t *testing.T) {
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(credFile, []byte("psk: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := testcse.Start(t, func(c *config.Config) { c.Credentials, c.HTTPSPSK = credFile, "127.0.0.1:0" })
	file, _ := enrolmentFile(t, dir, time.Now().Add(48*time.Hour).Truncate(time.Second))
	apply := func(path string) (*enrol.Report, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := enrol.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		var rep enrol.Report
		err = enrol.Apply(context.Background(), f, enrol.Target{
			CSE: enrol.Remote{Sender: httpb.NewClient(httpb.ClientOptions{}), URL: in.URL}, CSEName: "cse-in", Admin: admin, CredentialFile: credFile,
		}, &rep)
		return &rep, err
	}
	rep, err := apply(file)
	if err != nil || len(rep.Created) != 7 || len(rep.Updated) != 0 {
		t.Fatalf("first apply: %v %+v", err, rep)
	}
	lt := get(in, admin, "/cse-in/sensors").Res("m2m:asar")["lt"]
	rep, err = apply(file)
	if err != nil || rep.Changed() || len(rep.Unchanged) != 7 {
		t.Fatalf("second apply: %v %+v", err, rep)
	}
	if got := get(in, admin, "/cse-in/sensors").Res("m2m:asar")["lt"]; got != lt {
		t.Fatalf("lt changed by a second apply: %v → %v", lt, got)
	}
	// Edit: one rule's App-IDs.
	data, _ := os.ReadFile(file)
	edited := writeSecret(t, "edited.yaml", string(replaceOnce(data, "app-ids: [Nplain]", "app-ids: [Nplain, Nplain2]")))
	rep, err = apply(edited)
	if err != nil || len(rep.Updated) != 1 || len(rep.Created) != 0 {
		t.Fatalf("edited apply: %v %+v", err, rep)
	}
	if aai := get(in, admin, "/cse-in/plain").Res("m2m:asar")["aai"]; fmt.Sprint(aai) != "[Nplain Nplain2]" {
		t.Fatalf("aai %v", aai)
	}
	// A node-id cannot change.
	bad := writeSecret(t, "bad.yaml", string(replaceOnce(data, "urn:dev:ops:acme-gw-1", "urn:dev:ops:other")))
	if _, err := apply(bad); err == nil {
		t.Fatal("a changed node-id was accepted")
	}
	if ni := get(in, admin, "/cse-in/acme/gw1").Res("m2m:svsn")["ni"]; ni != "urn:dev:ops:acme-gw-1" {
		t.Fatalf("ni %v", ni)
	}
}

func replaceOnce(data []byte, old, new string) []byte {
	s := string(data)
	i := indexFrom(s, old, 0)
	if i < 0 {
		panic("not found: " + old)
	}
	return []byte(s[:i] + new + s[i+len(old):])
}
