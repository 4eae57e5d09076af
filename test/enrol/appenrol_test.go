package enrol

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/credentials"
)

var (
	keyApp   = bytes.Repeat([]byte{0x71}, 32)
	keyOne   = bytes.Repeat([]byte{0x72}, 32)
	keyMulti = bytes.Repeat([]byte{0x73}, 32)
	keyOld   = bytes.Repeat([]byte{0x74}, 32)
)

// TestApplicationEnrolment: a credential tied to one AE, to several AEs
// of one App-ID, or to several App-IDs; revoking it ends the registrations
// made with it; an expired or revoked credential is refused.
func TestApplicationEnrolment(t *testing.T) {
	credFile := writeSecret(t, "credentials.yaml", fmt.Sprintf(`psk:
  - kpsa-id: app1@sp.example
    key: %x
    ae-ids: [Capp1a, Capp1b]
    app-ids: [Napp1]
  - kpsa-id: one@sp.example
    key: %x
    ae-ids: [Cone]
  - kpsa-id: multi@sp.example
    key: %x
    ae-ids: [Cmulti]
    app-ids: [Nx, Ny]
  - kpsa-id: old@sp.example
    key: %x
    ae-ids: [Cold]
    not-after: 2020-01-01T00:00:00Z
`, keyApp, keyOne, keyMulti, keyOld))
	in := testcse.Start(t, func(c *config.Config) { c.Credentials, c.HTTPSPSK = credFile, "127.0.0.1:0" })
	app := in.PSK("app1@sp.example", keyApp)
	one := in.PSK("one@sp.example", keyOne)
	multi := in.PSK("multi@sp.example", keyMulti)

	// Several AEs of one App-ID.
	register(app, "Capp1a", "a", "Napp1").Must(t, 2001)
	register(app, "Capp1b", "b", "Napp1").Must(t, 2001)
	del(in, admin, "/cse-in/b").Must(t, 2002)
	register(app, "Capp1b", "b2", "Napp2").Must(t, 4126) // App-ID not bound to the credential
	register(app, "Capp1b", "b", "Napp1").Must(t, 2001)
	// One AE.
	register(one, "Ctwo", "two", "Nany").Must(t, 4106) // AE-ID not bound to the credential
	register(one, "Cone", "one", "Nany").Must(t, 2001)
	// Several App-IDs.
	register(multi, "Cmulti", "m", "Nz").Must(t, 4126)
	register(multi, "Cmulti", "m", "Ny").Must(t, 2001)
	// An expired credential: no handshake.
	if resp, err := testcse.PSKClient("old@sp.example", keyOld).Get(in.PSK("old@sp.example", keyOld).URL + "/cse-in"); err == nil {
		resp.Body.Close()
		t.Fatalf("an expired credential made an association: HTTP %d", resp.StatusCode)
	}

	// Revoked in the credential file (onecse credentials revoke + SIGHUP):
	// both AEs of the application are deregistered, the others stay.
	if err := credentials.SetRevoked(credFile, "app1@sp.example"); err != nil {
		t.Fatal(err)
	}
	if err := in.Server.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	get(in, admin, "/cse-in/a").Must(t, 4004)
	get(in, admin, "/cse-in/b").Must(t, 4004)
	get(in, admin, "/cse-in/one").Must(t, 2000)
	get(in, admin, "/cse-in/m").Must(t, 2000)
	if _, err := testcse.PSKClient("app1@sp.example", keyApp).Get(app.URL + "/cse-in"); err == nil {
		t.Fatal("a revoked credential made an association")
	}
	// A request on an association whose credential is revoked meanwhile
	// gets 4107 (it no longer stands); the registration made with it ends.
	one.Do(testcse.Req{Method: "GET", Path: "/cse-in/one", From: "Cone"}).Must(t, 2000)
	in.Server.Credentials().Revoke("one@sp.example")
	one.Do(testcse.Req{Method: "GET", Path: "/cse-in/one", From: "Cone"}).Must(t, 4107)
	if !in.Server.RevokeCredential("multi@sp.example") {
		t.Fatal("multi not revoked")
	}
	get(in, admin, "/cse-in/m").Must(t, 4004)
	// Without an association the AE-ID is an unregistered AE now.
	in.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "Cmulti"}).Must(t, 4106)
}
