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
		"no CSE-ID over MQTT": func(c *Config) {
			c.CSEType, c.CSEID, c.RegistrarURL, c.RegistrarID, c.RegistrarName = "MN", "", "mqtt://b:1883", "/id-in", "cse-in"
		},
		"ws registrar without WebSocket": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName, c.WebSocket = "MN", "ws://x/", "/id-in", "cse-in", false
		},
		"wss registrar without TLS settings": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName = "MN", "wss://x/", "/id-in", "cse-in"
		},
		"MQTT PSK without mqtts": func(c *Config) { c.MQTTBroker, c.MQTTPSKIdentity, c.MQTTPSKKeyFile = "tcp://b:1883", "id", "k" },
		"MQTT PSK and certificates": func(c *Config) {
			c.MQTTBroker, c.MQTTPSKIdentity, c.MQTTPSKKeyFile, c.MQTTCA = "mqtts://b", "id", "k", "ca"
		},
		"MQTT PSK without key file": func(c *Config) { c.MQTTBroker, c.MQTTPSKIdentity = "mqtts://b", "id" },
		"MQTT cert without key":     func(c *Config) { c.MQTTBroker, c.MQTTCert = "mqtts://b", "c.pem" },
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// And what is fine.
	for name, mod := range map[string]func(*Config){
		"MN with a ws registrar": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName = "MN", "ws://x/", "/id-in", "cse-in"
		},
		"MN with an mqtt registrar": func(c *Config) {
			c.CSEType, c.RegistrarURL, c.RegistrarID, c.RegistrarName = "MN", "mqtt://b", "/id-in", "cse-in"
		},
		"MQTT over PSK":          func(c *Config) { c.MQTTBroker, c.MQTTPSKIdentity, c.MQTTPSKKeyFile = "mqtts://b", "id", "k" },
		"MQTT with certificates": func(c *Config) { c.MQTTBroker, c.MQTTCA, c.MQTTCert, c.MQTTKey = "ssl://b:8883", "ca", "c", "k" },
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
