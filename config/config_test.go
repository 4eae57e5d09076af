package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRegistrationSettingsFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mn.yaml")
	os.WriteFile(p, []byte(`cse-type: MN
cse-id: ""
registrar-url: http://127.0.0.1:8080
registrar-id: /id-in
registrar-name: cse-in
credential-id: cred-mn
liveness-interval: 10s
registree-timeout: 5m
credential-bindings:
  - credential-id: cred-asn
    cse-id: /id-asn
accept-declared-credentials: true
require-sa-for-cses: false
deregister-on-shutdown: true
`), 0o600)
	c := Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.CSEID != "" || c.RegistrarURL != "http://127.0.0.1:8080" || c.RegistrarID != "/id-in" || c.RegistrarName != "cse-in" ||
		c.CredentialID != "cred-mn" || c.LivenessInterval.Seconds() != 10 || c.RegistreeTimeout.Minutes() != 5 ||
		!c.AcceptDeclaredCredentials || !c.DeregisterOnShutdown || c.Bindings()["cred-asn"] != "/id-asn" {
		t.Errorf("loaded %+v", c)
	}
}

func TestRegistrationSettingsValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"registrar without name":  func(c *Config) { c.CSEType, c.RegistrarURL, c.RegistrarID = "MN", "http://x", "/id-in" },
		"IN with a registrar":     func(c *Config) { c.RegistrarURL, c.RegistrarID, c.RegistrarName = "http://x", "/id-in", "cse-in" },
		"no CSE-ID, no registrar": func(c *Config) { c.CSEID = "" },
		"binding without CSE-ID":  func(c *Config) { c.CredentialBindings = []CredentialBinding{{CredentialID: "x"}} },
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
