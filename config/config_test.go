package config

import (
	"flag"
	"io"
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

// TestSAModeSettings: require-sa-for-* default to auto, take on/off/auto or
// a YAML boolean in the file, stand alone as a flag (on) or take a value, and
// refuse anything else.
func TestSAModeSettings(t *testing.T) {
	c := Default()
	if c.RequireSAForCSEs != SAAuto || c.RequireSAForAEs != SAAuto {
		t.Fatalf("defaults %q %q, want auto", c.RequireSAForCSEs, c.RequireSAForAEs)
	}
	for _, tc := range []struct {
		yaml     string
		cses, ae SAMode
		bad      bool
	}{
		{"require-sa-for-cses: true\nrequire-sa-for-aes: false\n", SAOn, SAOff, false},
		{"require-sa-for-cses: off\nrequire-sa-for-aes: on\n", SAOff, SAOn, false},
		{"require-sa-for-cses: auto\n", SAAuto, SAAuto, false},
		{"require-sa-for-aes: sometimes\n", "", "", true},
		{"require-sa-for-aes: [on]\n", "", "", true},
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o600)
		c := Default()
		err := c.LoadFile(p)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted", tc.yaml)
			}
			continue
		}
		if err != nil || c.RequireSAForCSEs != tc.cses || c.RequireSAForAEs != tc.ae {
			t.Errorf("%q: %v, %q %q", tc.yaml, err, c.RequireSAForCSEs, c.RequireSAForAEs)
		}
	}
	for _, tc := range []struct {
		args     []string
		cses, ae SAMode
		bad      bool
	}{
		{[]string{"--require-sa-for-cses", "--require-sa-for-aes"}, SAOn, SAOn, false},
		{[]string{"--require-sa-for-cses=off", "--require-sa-for-aes=false"}, SAOff, SAOff, false},
		{[]string{"--require-sa-for-aes=auto"}, SAAuto, SAAuto, false},
		{[]string{"--require-sa-for-aes=maybe"}, "", "", true},
	} {
		c := Default()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.Flags(fs)
		err := fs.Parse(tc.args)
		if tc.bad {
			if err == nil {
				t.Errorf("%v: accepted", tc.args)
			}
			continue
		}
		if err != nil || c.RequireSAForCSEs != tc.cses || c.RequireSAForAEs != tc.ae {
			t.Errorf("%v: %v, %q %q", tc.args, err, c.RequireSAForCSEs, c.RequireSAForAEs)
		}
	}
}

func TestMEFSettingsValidate(t *testing.T) {
	mn := func(c *Config) {
		c.CSEType, c.CSEID = "MN", ""
		c.MEFURL, c.MEFBootstrapPSKIdentity, c.MEFBootstrapPSKKeyFile = "https://mef.example:8444", "gw1@f.example", "gw1.key"
	}
	in := func(c *Config) {
		c.MEF, c.Enrolment, c.Credentials, c.HTTPSPSK = "127.0.0.1:0", "e.yaml", "c.yaml", "127.0.0.1:0"
	}
	for name, tc := range map[string]struct {
		mod func(*Config)
		ok  bool
	}{
		"enrolee":                  {mn, true},
		"MEF in the IN-CSE":        {in, true},
		"enrolee without key file": {func(c *Config) { mn(c); c.MEFBootstrapPSKKeyFile = "" }, false},
		"enrolee with http MEF":    {func(c *Config) { mn(c); c.MEFURL = "http://mef.example" }, false},
		"enrolee with a registrar": {func(c *Config) {
			mn(c)
			c.RegistrarURL, c.RegistrarID, c.RegistrarName = "https://x", "/id-in", "cse-in"
		}, false},
		"IN-CSE enrolee":             {func(c *Config) { mn(c); c.CSEType, c.CSEID = "IN", "/id-in" }, false},
		"MEF without https-psk":      {func(c *Config) { in(c); c.HTTPSPSK = "" }, false},
		"MEF without enrolment":      {func(c *Config) { in(c); c.Enrolment = "" }, false},
		"MEF in an MN-CSE":           {func(c *Config) { in(c); c.CSEType = "MN" }, false},
		"MEF with a bad address":     {func(c *Config) { in(c); c.MEF = "8444" }, false},
		"MEF with a plain registrar": {func(c *Config) { in(c); c.MEFRegistrarURL = "http://x" }, false},
	} {
		c := Default()
		tc.mod(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", name, err)
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
