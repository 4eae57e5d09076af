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

func TestCoAPSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "coap.yaml")
	os.WriteFile(p, []byte("coap: 127.0.0.1:5683\ncoaps-psk: 127.0.0.1:5684\ncredentials: creds.yaml\n"), 0o600)
	c := Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.CoAP != "127.0.0.1:5683" || c.CoAPSPSK != "127.0.0.1:5684" {
		t.Fatalf("loaded %q %q: %v", c.CoAP, c.CoAPSPSK, err)
	}
	for name, mod := range map[string]func(*Config){
		"coap not host:port":        func(c *Config) { c.CoAP = "5683" },
		"coaps-psk without creds":   func(c *Config) { c.CoAPSPSK = "127.0.0.1:5684" },
		"coaps-cert without a cert": func(c *Config) { c.CoAPSCert = "127.0.0.1:5685" },
		"coaps registrar, no creds": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName = "MN", "coaps://x", "/id-in", "cse-in"
		},
		"registrar PSK with coap://": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName, c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = "MN", "coap://x", "/id-in", "cse-in", "id", "k"
		},
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPprofLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true, "127.0.0.1:0": true,
		"0.0.0.0:6060": false, ":6060": false, "10.1.2.3:6060": false, "example.com:6060": false, "127.0.0.1": false,
	} {
		c := Default()
		c.Pprof = addr
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("pprof %q: Validate() = %v", addr, err)
		}
	}
}
