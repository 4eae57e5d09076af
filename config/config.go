// Package config is onecse's configuration: one struct with its defaults,
// loaded from a YAML file and overridden by command-line flags. The defaults
// start a working IN-CSE on the embedded store with no file at all.
package config

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is every setting of a onecse process.
type Config struct {
	// HTTP is the listen address of the HTTP binding.
	HTTP string `yaml:"http"`
	// CSEID is the SP-relative CSE-ID of this CSE.
	CSEID string `yaml:"cse-id"`
	// CSEName is the resource name of the CSEBase.
	CSEName string `yaml:"cse-name"`
	// SPID is the M2M Service Provider ID.
	SPID string `yaml:"sp-id"`
	// CSEType is IN, MN or ASN.
	CSEType string `yaml:"cse-type"`
	// Data is the directory of the embedded store.
	Data string `yaml:"data"`
	// Admin is the originator that has every right.
	Admin string `yaml:"admin"`
	// PoA are the points of access announced in the CSEBase (default: derived from http).
	PoA []string `yaml:"poa"`
	// DefaultExpiration is the lifetime of resources created without et.
	DefaultExpiration time.Duration `yaml:"default-expiration"`
	// MaxExpiration caps every et.
	MaxExpiration time.Duration `yaml:"max-expiration"`
	// MaxBody is the largest request body in bytes.
	MaxBody int64 `yaml:"max-body"`
	// Postgres is the DSN of a PostgreSQL database to keep the resources in
	// instead of the embedded store (several onecse nodes with one CSE-ID
	// may share it; see docs/scale-out.md). Empty: the embedded store in Data.
	// A search_path parameter in the DSN names the schema (default public).
	Postgres string `yaml:"postgres"`
	// PostgresCache is how many resources each node keeps decoded in memory
	// with the PostgreSQL store (0: none, every read asks the database, so a
	// change through one node is seen through every other at once).
	PostgresCache int `yaml:"postgres-cache"`
	// Sync is the embedded store's durability: full (survives power loss) or normal (survives a process crash).
	Sync string `yaml:"sync"`
	// AllowedAEOriginators are the AE-ID patterns allowed to register when no service subscription applies.
	AllowedAEOriginators []string `yaml:"allowed-ae-originators"`
	// WebSocket serves the WebSocket binding (TS-0020) on the HTTP listener.
	WebSocket bool `yaml:"websocket"`
	// Console serves the web console (console/) under /console/ on the HTTP
	// listener: on, off, or auto (on only when the listener's address is a
	// loopback address).
	Console string `yaml:"console"`
	// MQTTBroker is the URL of the MQTT broker onecse connects to
	// (tcp://127.0.0.1:1883); empty leaves the MQTT binding off.
	MQTTBroker string `yaml:"mqtt-broker"`
	// MQTTEmbedded is the listen address of an MQTT broker embedded in
	// onecse (empty: none); without MQTTBroker, onecse connects to it.
	MQTTEmbedded string `yaml:"mqtt-embedded"`
	// MQTTTopicPrefix is put before every oneM2M topic (TS-0010 6.6).
	MQTTTopicPrefix string `yaml:"mqtt-topic-prefix"`
	// MQTTUsername and MQTTPassword are sent to the broker when set.
	MQTTUsername string `yaml:"mqtt-username"`
	MQTTPassword string `yaml:"mqtt-password"`
	// CoAP is the UDP listen address of the CoAP binding (TS-0008), e.g.
	// 127.0.0.1:5683; empty leaves it off.
	CoAP string `yaml:"coap"`
	// CoAPSPSK is the UDP listen address of CoAP over DTLS 1.2 with the PSKs
	// of the credential file (TLS_PSK_WITH_AES_128_CCM_8); needs Credentials.
	CoAPSPSK string `yaml:"coaps-psk"`
	// CoAPSCert is the UDP listen address of CoAP over DTLS 1.2 with mutual
	// certificate authentication; needs TLSCert, TLSKey and TLSClientCA.
	CoAPSCert string `yaml:"coaps-cert"`
	// MQTTCA, MQTTCert and MQTTKey secure an mqtts:// broker connection
	// with certificates: the CAs of the broker's certificate (empty: the
	// system's) and this CSE's client certificate and key (when the broker
	// requires one).
	MQTTCA   string `yaml:"mqtt-ca"`
	MQTTCert string `yaml:"mqtt-cert"`
	MQTTKey  string `yaml:"mqtt-key"`
	// MQTTPSKIdentity and MQTTPSKKeyFile make the mqtts:// broker
	// connection TLS-PSK instead: the identity and the file with the hex
	// key (readable by its owner only) the broker's psk_file lists.
	MQTTPSKIdentity string `yaml:"mqtt-psk-identity"`
	MQTTPSKKeyFile  string `yaml:"mqtt-psk-key-file"`
	// NotifyTimeout bounds one attempt to deliver a notification (and a verification request).
	NotifyTimeout time.Duration `yaml:"notify-timeout"`
	// NotifyRetry is the wait after a failed delivery attempt; it doubles up to NotifyRetryMax.
	NotifyRetry    time.Duration `yaml:"notify-retry"`
	NotifyRetryMax time.Duration `yaml:"notify-retry-max"`
	// NotifyAttempts is how often a notification is tried before it is dropped.
	NotifyAttempts int `yaml:"notify-attempts"`
	// BatchDuration is the batchNotify duration of a subscription that gives none.
	BatchDuration time.Duration `yaml:"notify-batch-duration"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// LogFormat is text or json.
	LogFormat string `yaml:"log-format"`
	// Metrics serves Prometheus metrics at /metrics on the HTTP listener
	// (/healthz and /readyz are always served).
	Metrics bool `yaml:"metrics"`
	// Pprof serves net/http/pprof on this loopback address (empty: off), for
	// heap and CPU profiles of a running onecse.
	Pprof string `yaml:"pprof"`

	// RegistrarURL is the point of access of the registrar this MN- or
	// ASN-CSE registers with on start-up (empty: no registrar).
	RegistrarURL string `yaml:"registrar-url"`
	// RegistrarID is the registrar's SP-relative CSE-ID.
	RegistrarID string `yaml:"registrar-id"`
	// RegistrarName is the resource name of the registrar's CSEBase.
	RegistrarName string `yaml:"registrar-name"`
	// INCSEID is the CSE-ID of the IN-CSE (default: the registrar's).
	INCSEID string `yaml:"in-cse-id"`
	// CredentialID is this CSE's credential, declared to the registrar
	// (stand-in until security associations exist).
	CredentialID string `yaml:"credential-id"`
	// LivenessInterval is how often a registree checks its registration.
	LivenessInterval time.Duration `yaml:"liveness-interval"`
	// RegistreeTimeout removes a registered CSE unreachable for this long (0: never).
	RegistreeTimeout time.Duration `yaml:"registree-timeout"`
	// DeregisterOnShutdown ends the registration when the process stops.
	DeregisterOnShutdown bool `yaml:"deregister-on-shutdown"`
	// RequireSAForCSEs refuses CSE registration and requests of other CSEs
	// without a security association (4107): "on" always, "off" never,
	// "auto" (the default) when they come from another host (a peer address
	// that is not loopback; MQTT requests, whose sender only the broker
	// knows, are left to the broker's authentication).
	RequireSAForCSEs SAMode `yaml:"require-sa-for-cses"`
	// CredentialBindings pre-assign CSE-IDs to credentials (registrar side).
	CredentialBindings []CredentialBinding `yaml:"credential-bindings"`
	// AcceptDeclaredCredentials lets a registree without a security
	// association name its credential in a "Credential-ID:" label
	// (development and tests only; proves nothing).
	AcceptDeclaredCredentials bool `yaml:"accept-declared-credentials"`

	// Credentials is the credential file (PSKs and the identities bound to
	// them; security/credentials). It must be readable by its owner only.
	Credentials string `yaml:"credentials"`
	// Enrolment is an enrolment file (security/enrol: subscriptions, nodes,
	// application rules, credentials) applied at start, idempotently. IN-CSE
	// only; readable by its owner only.
	Enrolment string `yaml:"enrolment"`
	// HTTPSPSK is the listen address of HTTPS over TLS-PSK (TLS 1.2,
	// RFC 4279), a second listener next to HTTP; it needs Credentials.
	HTTPSPSK string `yaml:"https-psk"`
	// RequireSAForAEs refuses AE registration and requests of this CSE's AEs
	// without a security association (4107): "on" always, "off" never,
	// "auto" (the default) on an IN-CSE when they come from another host (as
	// for require-sa-for-cses), never on an MN- or ASN-CSE (TS-0003 makes
	// the association mandatory between an AE and an IN-CSE only).
	RequireSAForAEs SAMode `yaml:"require-sa-for-aes"`
	// RegistrarPSKIdentity and RegistrarPSKKeyFile are the KpsaID and the
	// file holding the hex key this CSE uses to reach an https://
	// registrar-url over TLS-PSK.
	RegistrarPSKIdentity string `yaml:"registrar-psk-identity"`
	RegistrarPSKKeyFile  string `yaml:"registrar-psk-key-file"`

	// HTTPSCert is the listen address of HTTPS with mutual certificate
	// authentication (TS-0003 8.2.2.2): TLSCert/TLSKey are this CSE's
	// certificate chain and key (PEM; the key file readable by its owner
	// only), TLSClientCA the trust anchors of peer certificates, and
	// CSEDomain the domain under which CSE-ID certificates name CSEs
	// ("id-mn.<domain>" is /id-mn; default: the SP-ID without "//").
	HTTPSCert   string `yaml:"https-cert"`
	TLSCert     string `yaml:"tls-cert"`
	TLSKey      string `yaml:"tls-key"`
	TLSClientCA string `yaml:"tls-client-ca"`
	CSEDomain   string `yaml:"cse-domain"`
	// TLSCRL is a file of PEM CRLs of the tls-client-ca CAs; revoked
	// client certificates are refused (reloaded on SIGHUP).
	TLSCRL string `yaml:"tls-crl"`
	// RegistrarCert, RegistrarKey and RegistrarCA are this CSE's CSE-ID
	// certificate and key and the trust anchors of the registrar's
	// certificate, for an https:// registrar-url with certificates; the
	// registrar's certificate must name registrar-id (TS-0003 8.2.1: the
	// registree binds the association to the registrar's CSE-ID).
	RegistrarCert string `yaml:"registrar-cert"`
	RegistrarKey  string `yaml:"registrar-key"`
	RegistrarCA   string `yaml:"registrar-ca"`

	// MEF is the listen address of the M2M Enrolment Function (security/mef,
	// TS-0003 8.3) run inside this IN-CSE: HTTPS over TLS-PSK with the
	// bootstrap keys of the enrolment file's enrolees. It needs Enrolment,
	// Credentials and HTTPSPSK (where enrolled nodes register).
	MEF string `yaml:"mef"`
	// MEFFQDN is the MEF's FQDN, the suffix of the identities it issues
	// (KeID, hex@<mef-fqdn>); default "mef." and the SP-ID without "//".
	MEFFQDN string `yaml:"mef-fqdn"`
	// MEFLifetime caps an enrolment whose enrolee and subscription have no
	// end.
	MEFLifetime time.Duration `yaml:"mef-lifetime"`
	// MEFRegistrarURL is the https:// address of the HTTPS-PSK listener the
	// MEF tells enrolled nodes to register at (default: that listener's
	// address).
	MEFRegistrarURL string `yaml:"mef-registrar-url"`
	// MEFURL is the https:// address of the MEF an MN- or ASN-CSE enrols at
	// before it registers (remote provisioning): it presents the bootstrap
	// credential MEFBootstrapPSKIdentity / MEFBootstrapPSKKeyFile (KpmID and
	// the file with the hex Kpm), receives its CSE-ID, registrar and PSK,
	// keeps them in data (mef-enrolment.json, mode 0600) and enrols again
	// when they have expired. The registrar settings come from the MEF.
	MEFURL                  string `yaml:"mef-url"`
	MEFBootstrapPSKIdentity string `yaml:"mef-bootstrap-psk-identity"`
	MEFBootstrapPSKKeyFile  string `yaml:"mef-bootstrap-psk-key-file"`
}

// CredentialBinding is one CSE-ID pre-assigned by the M2M Service Provider to
// the credential a registree authenticates with (the change request to
// TS-0001 10.1.1.2.1).
type CredentialBinding struct {
	CredentialID string `yaml:"credential-id"`
	CSEID        string `yaml:"cse-id"`
}

// Bindings returns the credential bindings as a map.
func (c *Config) Bindings() map[string]string {
	m := map[string]string{}
	for _, b := range c.CredentialBindings {
		m[b.CredentialID] = b.CSEID
	}
	return m
}

// Default returns the defaults.
func Default() Config {
	return Config{
		HTTP:                 "127.0.0.1:8080",
		CSEID:                "/id-in",
		CSEName:              "cse-in",
		SPID:                 "//onecse.example",
		CSEType:              "IN",
		Data:                 "./data",
		Admin:                "CAdmin",
		DefaultExpiration:    365 * 24 * time.Hour,
		MaxExpiration:        5 * 365 * 24 * time.Hour,
		MaxBody:              1 << 20,
		Sync:                 "full",
		PostgresCache:        100000,
		WebSocket:            true,
		Console:              "auto",
		RequireSAForCSEs:     SAAuto,
		RequireSAForAEs:      SAAuto,
		AllowedAEOriginators: []string{"C*", "S*"},
		NotifyTimeout:        10 * time.Second,
		NotifyRetry:          time.Second,
		NotifyRetryMax:       time.Minute,
		NotifyAttempts:       10,
		BatchDuration:        time.Minute,
		LogLevel:             "info",
		LogFormat:            "text",
		Metrics:              true,
		LivenessInterval:     time.Minute,
		MEFLifetime:          90 * 24 * time.Hour,
	}
}

// CSETypeNumber converts CSEType to m2m:cseTypeID.
func (c *Config) CSETypeNumber() (int, error) {
	switch strings.ToUpper(c.CSEType) {
	case "IN", "IN-CSE", "1":
		return 1, nil
	case "MN", "MN-CSE", "2":
		return 2, nil
	case "ASN", "ASN-CSE", "3":
		return 3, nil
	}
	return 0, fmt.Errorf("cse-type %q must be IN, MN or ASN", c.CSEType)
}

// Flags registers a flag for every setting on fs, writing into c.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTP, "http", c.HTTP, "listen address of the HTTP binding")
	fs.StringVar(&c.CSEID, "cse-id", c.CSEID, "SP-relative CSE-ID of this CSE")
	fs.StringVar(&c.CSEName, "cse-name", c.CSEName, "resource name of the CSEBase")
	fs.StringVar(&c.SPID, "sp-id", c.SPID, "M2M Service Provider ID")
	fs.StringVar(&c.CSEType, "cse-type", c.CSEType, "CSE type: IN, MN or ASN")
	fs.StringVar(&c.Data, "data", c.Data, "directory of the embedded store")
	fs.StringVar(&c.Admin, "admin", c.Admin, "originator with every right")
	fs.Func("poa", "point of access announced in the CSEBase (repeatable; default derived from --http)", func(s string) error {
		c.PoA = append(c.PoA, s)
		return nil
	})
	fs.DurationVar(&c.DefaultExpiration, "default-expiration", c.DefaultExpiration, "lifetime of resources created without et")
	fs.DurationVar(&c.MaxExpiration, "max-expiration", c.MaxExpiration, "longest expiration a client may ask for")
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "largest request body in bytes")
	fs.StringVar(&c.Postgres, "postgres", c.Postgres, "PostgreSQL DSN to keep the resources in instead of the embedded store, e.g. postgres://onecse@db:5432/onecse (several nodes may share it)")
	fs.IntVar(&c.PostgresCache, "postgres-cache", c.PostgresCache, "resources each node keeps decoded in memory with --postgres (0: none, every read sees every node's commits at once)")
	fs.StringVar(&c.Sync, "sync", c.Sync, "store durability: full (survives power loss) or normal (survives a process crash)")
	fs.Func("allowed-ae-originators", "comma-separated AE-ID patterns allowed to register (default C*,S*)", func(s string) error {
		c.AllowedAEOriginators = strings.Split(s, ",")
		return nil
	})
	fs.BoolVar(&c.WebSocket, "websocket", c.WebSocket, "serve the WebSocket binding (subprotocols oneM2M.json, oneM2M.cbor) on the HTTP listener")
	fs.StringVar(&c.Console, "console", c.Console, "web console under /console/ on the HTTP listener: on, off, or auto (on only when --http is a loopback address)")
	fs.StringVar(&c.MQTTBroker, "mqtt-broker", c.MQTTBroker, "URL of the MQTT broker to serve the MQTT binding through, e.g. tcp://127.0.0.1:1883 (empty: MQTT off)")
	fs.StringVar(&c.MQTTEmbedded, "mqtt-embedded", c.MQTTEmbedded, "run an MQTT broker inside onecse on this address, e.g. 127.0.0.1:1883 (accepts every client: for one host or a trusted network); without --mqtt-broker onecse uses it")
	fs.StringVar(&c.MQTTTopicPrefix, "mqtt-topic-prefix", c.MQTTTopicPrefix, "prefix of every oneM2M MQTT topic (the path of an mqtt:// point of access)")
	fs.StringVar(&c.MQTTUsername, "mqtt-username", c.MQTTUsername, "user name for the MQTT broker")
	fs.StringVar(&c.MQTTPassword, "mqtt-password", c.MQTTPassword, "password for the MQTT broker")
	fs.StringVar(&c.CoAP, "coap", c.CoAP, "UDP listen address of the CoAP binding, e.g. 127.0.0.1:5683 (empty: CoAP off)")
	fs.StringVar(&c.CoAPSPSK, "coaps-psk", c.CoAPSPSK, "UDP listen address of CoAP over DTLS-PSK, e.g. 127.0.0.1:5684 (needs --credentials)")
	fs.StringVar(&c.CoAPSCert, "coaps-cert", c.CoAPSCert, "UDP listen address of CoAP over DTLS with mutual certificate authentication (needs --tls-cert, --tls-key, --tls-client-ca)")
	fs.StringVar(&c.MQTTCA, "mqtt-ca", c.MQTTCA, "PEM file of the CAs of an mqtts:// broker's certificate (empty: the system's)")
	fs.StringVar(&c.MQTTCert, "mqtt-cert", c.MQTTCert, "PEM client certificate for an mqtts:// broker that requires one (with --mqtt-key)")
	fs.StringVar(&c.MQTTKey, "mqtt-key", c.MQTTKey, "PEM private key of --mqtt-cert")
	fs.StringVar(&c.MQTTPSKIdentity, "mqtt-psk-identity", c.MQTTPSKIdentity, "TLS-PSK identity for an mqtts:// broker (with --mqtt-psk-key-file)")
	fs.StringVar(&c.MQTTPSKKeyFile, "mqtt-psk-key-file", c.MQTTPSKKeyFile, "file with the hex TLS-PSK key for an mqtts:// broker (mode 0600)")
	fs.DurationVar(&c.NotifyTimeout, "notify-timeout", c.NotifyTimeout, "time limit of one attempt to deliver a notification")
	fs.DurationVar(&c.NotifyRetry, "notify-retry", c.NotifyRetry, "wait after a failed delivery attempt (doubles up to --notify-retry-max)")
	fs.DurationVar(&c.NotifyRetryMax, "notify-retry-max", c.NotifyRetryMax, "longest wait between delivery attempts")
	fs.IntVar(&c.NotifyAttempts, "notify-attempts", c.NotifyAttempts, "attempts before a notification is dropped")
	fs.DurationVar(&c.BatchDuration, "notify-batch-duration", c.BatchDuration, "batchNotify duration of a subscription that gives none")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.BoolVar(&c.Metrics, "metrics", c.Metrics, "serve Prometheus metrics at /metrics on the HTTP listener")
	fs.StringVar(&c.Pprof, "pprof", c.Pprof, "serve Go profiles (net/http/pprof, /debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
	fs.StringVar(&c.RegistrarURL, "registrar-url", c.RegistrarURL, "point of access of the registrar CSE to register with (MN, ASN)")
	fs.StringVar(&c.RegistrarID, "registrar-id", c.RegistrarID, "SP-relative CSE-ID of the registrar, e.g. /id-in")
	fs.StringVar(&c.RegistrarName, "registrar-name", c.RegistrarName, "resource name of the registrar's CSEBase, e.g. cse-in")
	fs.StringVar(&c.INCSEID, "in-cse-id", c.INCSEID, "CSE-ID of the IN-CSE, which assigns S-type AE-IDs (default: the registrar's)")
	fs.StringVar(&c.CredentialID, "credential-id", c.CredentialID, "this CSE's credential ID, declared to the registrar (stand-in until security associations)")
	fs.DurationVar(&c.LivenessInterval, "liveness-interval", c.LivenessInterval, "how often a registree checks its registration")
	fs.DurationVar(&c.RegistreeTimeout, "registree-timeout", c.RegistreeTimeout, "registrar: remove a registered CSE unreachable for this long (0: never)")
	fs.BoolVar(&c.DeregisterOnShutdown, "deregister-on-shutdown", c.DeregisterOnShutdown, "deregister from the registrar when stopping")
	fs.Var(&c.RequireSAForCSEs, "require-sa-for-cses", "refuse CSE registration and CSE requests without a security association (4107): on, off, or auto (from other hosts); the flag alone means on")
	fs.BoolVar(&c.AcceptDeclaredCredentials, "accept-declared-credentials", c.AcceptDeclaredCredentials, "registrar: take a registree's credential from its Credential-ID label when it has no security association (development only, proves nothing)")
	fs.StringVar(&c.Credentials, "credentials", c.Credentials, "credential file (PSKs and their bound CSE-ID / AE-IDs), readable by its owner only")
	fs.StringVar(&c.Enrolment, "enrolment", c.Enrolment, "enrolment file (service subscriptions, nodes, application rules, credentials) applied at start; IN-CSE only")
	fs.StringVar(&c.HTTPSPSK, "https-psk", c.HTTPSPSK, "listen address of HTTPS over TLS-PSK (needs --credentials)")
	fs.Var(&c.RequireSAForAEs, "require-sa-for-aes", "refuse AE registration and AE requests without a security association (4107): on, off, or auto (on an IN-CSE, from other hosts); the flag alone means on")
	fs.StringVar(&c.RegistrarPSKIdentity, "registrar-psk-identity", c.RegistrarPSKIdentity, "KpsaID this CSE uses with an https:// registrar (TLS-PSK)")
	fs.StringVar(&c.HTTPSCert, "https-cert", c.HTTPSCert, "listen address of HTTPS with mutual certificate authentication (needs --tls-cert, --tls-key, --tls-client-ca)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "this CSE's certificate chain (PEM) for --https-cert")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "this CSE's private key (PEM), readable by its owner only")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", c.TLSClientCA, "trust anchors (PEM) of CSE-ID and AE-ID certificates of peers")
	fs.StringVar(&c.TLSCRL, "tls-crl", c.TLSCRL, "PEM CRLs of the --tls-client-ca CAs: revoked client certificates are refused (reread on SIGHUP)")
	fs.StringVar(&c.CSEDomain, "cse-domain", c.CSEDomain, "domain of CSE-ID certificates: dNSName <id>.<domain> is the CSE /<id> (default: the SP-ID)")
	fs.StringVar(&c.RegistrarCert, "registrar-cert", c.RegistrarCert, "this CSE's CSE-ID certificate (PEM) for an https:// registrar with certificates")
	fs.StringVar(&c.RegistrarKey, "registrar-key", c.RegistrarKey, "the key of --registrar-cert (PEM), readable by its owner only")
	fs.StringVar(&c.RegistrarCA, "registrar-ca", c.RegistrarCA, "trust anchors (PEM) of the registrar's CSE-ID certificate")
	fs.StringVar(&c.RegistrarPSKKeyFile, "registrar-psk-key-file", c.RegistrarPSKKeyFile, "file with the hex PSK for the registrar, readable by its owner only")
	fs.StringVar(&c.MEF, "mef", c.MEF, "listen address of the M2M Enrolment Function in this IN-CSE (needs --enrolment with enrolees, --credentials, --https-psk)")
	fs.StringVar(&c.MEFFQDN, "mef-fqdn", c.MEFFQDN, "FQDN of the MEF, suffix of the PSK identities it issues (default mef.<SP domain>)")
	fs.DurationVar(&c.MEFLifetime, "mef-lifetime", c.MEFLifetime, "longest enrolment the MEF gives when neither the enrolee nor its subscription ends")
	fs.StringVar(&c.MEFRegistrarURL, "mef-registrar-url", c.MEFRegistrarURL, "https:// address enrolled nodes register at (default: the --https-psk listener)")
	fs.StringVar(&c.MEFURL, "mef-url", c.MEFURL, "https:// address of the MEF to enrol at before registering (MN, ASN); the registrar settings come from it")
	fs.StringVar(&c.MEFBootstrapPSKIdentity, "mef-bootstrap-psk-identity", c.MEFBootstrapPSKIdentity, "bootstrap identity (KpmID) presented to --mef-url")
	fs.StringVar(&c.MEFBootstrapPSKKeyFile, "mef-bootstrap-psk-key-file", c.MEFBootstrapPSKKeyFile, "file with the hex bootstrap key (Kpm), readable by its owner only")
}

// LoadFile reads a YAML file over c. Unknown keys are an error, so that a typo
// does not silently leave a default in place.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Validate checks values the core does not check itself.
func (c *Config) Validate() error {
	if _, err := c.CSETypeNumber(); err != nil {
		return err
	}
	switch strings.ToLower(c.Sync) {
	case "full", "normal":
	default:
		return fmt.Errorf("sync %q must be full or normal", c.Sync)
	}
	if c.MaxBody <= 0 {
		return fmt.Errorf("max-body must be positive")
	}
	if c.Pprof != "" {
		host, _, err := net.SplitHostPort(c.Pprof)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Errorf("pprof %q must be a loopback address such as 127.0.0.1:6060 (profiles reveal the process's memory)", c.Pprof)
		}
	}
	if c.MQTTBroker != "" {
		u, err := url.Parse(c.MQTTBroker)
		if err != nil || u.Host == "" {
			return fmt.Errorf("mqtt-broker %q must be a URL such as tcp://127.0.0.1:1883", c.MQTTBroker)
		}
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		default:
			return fmt.Errorf("mqtt-broker %q: scheme %q is not one of tcp, mqtt, ssl, mqtts, ws, wss", c.MQTTBroker, u.Scheme)
		}
	}
	mqttTLS := c.MQTTCA != "" || c.MQTTCert != "" || c.MQTTKey != ""
	mqttPSK := c.MQTTPSKIdentity != "" || c.MQTTPSKKeyFile != ""
	if mqttTLS || mqttPSK {
		switch u, _ := url.Parse(c.MQTTBroker); {
		case c.MQTTBroker == "" || u == nil:
			return fmt.Errorf("mqtt-ca, mqtt-cert, mqtt-key and mqtt-psk-* need an mqtts:// mqtt-broker")
		case u.Scheme != "mqtts" && u.Scheme != "ssl" && u.Scheme != "tls":
			return fmt.Errorf("mqtt-ca, mqtt-cert, mqtt-key and mqtt-psk-* need an mqtts:// mqtt-broker, not %q", c.MQTTBroker)
		}
	}
	if mqttTLS && mqttPSK {
		return fmt.Errorf("the mqtts:// broker connection uses either certificates (mqtt-ca, mqtt-cert, mqtt-key) or a PSK (mqtt-psk-identity, mqtt-psk-key-file), not both")
	}
	if (c.MQTTCert == "") != (c.MQTTKey == "") {
		return fmt.Errorf("mqtt-cert and mqtt-key go together")
	}
	if (c.MQTTPSKIdentity == "") != (c.MQTTPSKKeyFile == "") {
		return fmt.Errorf("mqtt-psk-identity and mqtt-psk-key-file go together")
	}
	if c.MQTTEmbedded != "" {
		if _, _, err := net.SplitHostPort(c.MQTTEmbedded); err != nil {
			return fmt.Errorf("mqtt-embedded %q must be host:port, e.g. 127.0.0.1:1883", c.MQTTEmbedded)
		}
	}
	if c.RegistrarURL != "" || c.RegistrarID != "" || c.RegistrarName != "" {
		if c.RegistrarURL == "" || c.RegistrarID == "" || c.RegistrarName == "" {
			return fmt.Errorf("registrar-url, registrar-id and registrar-name go together")
		}
		if n, _ := c.CSETypeNumber(); n == 1 {
			return fmt.Errorf("an IN-CSE has no registrar in its service provider")
		}
	}
	if n, _ := c.CSETypeNumber(); c.Enrolment != "" && n != 1 {
		return fmt.Errorf("enrolment: the service subscription resources live on the IN-CSE; this CSE is an %s-CSE", strings.ToUpper(c.CSEType))
	}
	if err := c.validateMEF(); err != nil {
		return err
	}
	if c.CSEID == "" && c.RegistrarURL == "" && c.MEFURL == "" {
		return fmt.Errorf("cse-id may only be empty for a CSE with a registrar, which assigns it")
	}
	for _, b := range c.CredentialBindings {
		if b.CredentialID == "" || !strings.HasPrefix(b.CSEID, "/") {
			return fmt.Errorf("credential-bindings: each entry needs credential-id and an SP-relative cse-id")
		}
	}
	if c.NotifyTimeout <= 0 || c.NotifyRetry <= 0 || c.NotifyRetryMax < c.NotifyRetry || c.NotifyAttempts < 1 || c.BatchDuration <= 0 {
		return fmt.Errorf("notify-timeout, notify-retry and notify-batch-duration must be positive, notify-retry-max at least notify-retry, notify-attempts at least 1")
	}
	if c.HTTPSPSK != "" {
		if _, _, err := net.SplitHostPort(c.HTTPSPSK); err != nil {
			return fmt.Errorf("https-psk %q must be host:port, e.g. 127.0.0.1:8443", c.HTTPSPSK)
		}
		if c.Credentials == "" {
			return fmt.Errorf("https-psk needs a credentials file (credentials)")
		}
	}
	for _, a := range []struct{ name, v string }{{"coap", c.CoAP}, {"coaps-psk", c.CoAPSPSK}, {"coaps-cert", c.CoAPSCert}} {
		if a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("%s %q must be host:port, e.g. 127.0.0.1:5683", a.name, a.v)
		}
	}
	if c.CoAPSPSK != "" && c.Credentials == "" {
		return fmt.Errorf("coaps-psk needs a credentials file (credentials)")
	}
	if c.CoAPSCert != "" && (c.TLSCert == "" || c.TLSKey == "" || c.TLSClientCA == "") {
		return fmt.Errorf("coaps-cert needs tls-cert, tls-key and tls-client-ca")
	}
	if c.HTTPSCert != "" {
		if _, _, err := net.SplitHostPort(c.HTTPSCert); err != nil {
			return fmt.Errorf("https-cert %q must be host:port, e.g. 127.0.0.1:8444", c.HTTPSCert)
		}
		if c.TLSCert == "" || c.TLSKey == "" || c.TLSClientCA == "" {
			return fmt.Errorf("https-cert needs tls-cert, tls-key and tls-client-ca")
		}
	}
	if (c.RegistrarPSKIdentity == "") != (c.RegistrarPSKKeyFile == "") {
		return fmt.Errorf("registrar-psk-identity and registrar-psk-key-file go together")
	}
	certReg := c.RegistrarCert != "" || c.RegistrarKey != "" || c.RegistrarCA != ""
	if certReg && (c.RegistrarCert == "" || c.RegistrarKey == "" || c.RegistrarCA == "") {
		return fmt.Errorf("registrar-cert, registrar-key and registrar-ca go together")
	}
	if certReg && c.RegistrarPSKIdentity != "" {
		return fmt.Errorf("use either a registrar PSK or a registrar certificate, not both")
	}
	// A registrar over TLS: https:// or wss:// (TS-0020 7), coaps://
	// (DTLS), and for MQTT the broker's TLS (mqtt-ca, mqtt-psk-*).
	secure := false
	for _, p := range []string{"https://", "wss://", "coaps://"} {
		secure = secure || strings.HasPrefix(c.RegistrarURL, p)
	}
	if certReg && !secure {
		return fmt.Errorf("registrar-cert needs an https://, wss:// or coaps:// registrar-url")
	}
	if secure && c.RegistrarPSKIdentity == "" && !certReg {
		return fmt.Errorf("an https://, wss:// or coaps:// registrar-url needs registrar-psk-identity and registrar-psk-key-file (TLS-PSK, DTLS-PSK), or registrar-cert, registrar-key and registrar-ca")
	}
	if c.RegistrarPSKIdentity != "" && !secure {
		return fmt.Errorf("registrar-psk-identity needs an https://, wss:// or coaps:// registrar-url")
	}
	switch strings.ToLower(c.Console) {
	case "auto", "on", "off", "true", "false":
	default:
		return fmt.Errorf("console %q must be auto, on or off", c.Console)
	}
	if c.RegistrarURL != "" {
		switch u, err := url.Parse(c.RegistrarURL); {
		case err != nil || u.Host == "":
			return fmt.Errorf("registrar-url %q is not a URL", c.RegistrarURL)
		case u.Scheme == "ws" || u.Scheme == "wss":
			if !c.WebSocket {
				return fmt.Errorf("a %s:// registrar-url needs the WebSocket binding (websocket: true)", u.Scheme)
			}
		}
		if u, _ := url.Parse(c.RegistrarURL); c.CSEID == "" && (u.Scheme == "ws" || u.Scheme == "wss" || strings.HasPrefix(u.Scheme, "mqtt")) {
			// The binding connections are made once the CSE-ID is known
			// (MQTT topics name it).
			return fmt.Errorf("a CSE without cse-id gets it from its registrar over http(s):// or coap(s):// only, not %s://", u.Scheme)
		}
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		return fmt.Errorf("log-format %q must be text or json", c.LogFormat)
	}
	return nil
}

// SAMode says when a security association is required (require-sa-for-cses,
// require-sa-for-aes). As a flag it may stand alone (meaning on); in the file
// it may also be a YAML boolean.
type SAMode string

// The values of SAMode.
const (
	SAAuto SAMode = "auto" // from other hosts (see the keys)
	SAOn   SAMode = "on"   // always
	SAOff  SAMode = "off"  // never
)

func (m *SAMode) String() string {
	if m == nil || *m == "" {
		return string(SAAuto)
	}
	return string(*m)
}

// Set takes on, off, auto, or a boolean (true, false, 1, 0).
func (m *SAMode) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		*m = SAOn
	case "off", "false", "0", "no":
		*m = SAOff
	case "auto", "":
		*m = SAAuto
	default:
		return fmt.Errorf("%q is not on, off or auto", v)
	}
	return nil
}

// IsBoolFlag lets --require-sa-for-aes stand alone, meaning on.
func (m *SAMode) IsBoolFlag() bool { return true }

// UnmarshalYAML takes a YAML boolean or one of on, off, auto.
func (m *SAMode) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: on, off or auto expected", n.Line)
	}
	if err := m.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

func (c *Config) validateMEF() error {
	n, _ := c.CSETypeNumber()
	if c.MEF != "" {
		if _, _, err := net.SplitHostPort(c.MEF); err != nil {
			return fmt.Errorf("mef %q must be host:port, e.g. 127.0.0.1:8444", c.MEF)
		}
		if n != 1 || c.Enrolment == "" || c.Credentials == "" || c.HTTPSPSK == "" {
			return fmt.Errorf("mef runs in an IN-CSE with enrolment (its enrolees), credentials and https-psk (where enrolled nodes register)")
		}
		if c.MEFLifetime <= 0 {
			return fmt.Errorf("mef-lifetime must be positive")
		}
	}
	if c.MEFRegistrarURL != "" && !strings.HasPrefix(c.MEFRegistrarURL, "https://") {
		return fmt.Errorf("mef-registrar-url %q must be an https:// URL", c.MEFRegistrarURL)
	}
	if c.MEFURL == "" && c.MEFBootstrapPSKIdentity == "" && c.MEFBootstrapPSKKeyFile == "" {
		return nil
	}
	if c.MEFURL == "" || c.MEFBootstrapPSKIdentity == "" || c.MEFBootstrapPSKKeyFile == "" {
		return fmt.Errorf("mef-url, mef-bootstrap-psk-identity and mef-bootstrap-psk-key-file go together")
	}
	if u, err := url.Parse(c.MEFURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("mef-url %q must be https://host:port", c.MEFURL)
	}
	if n == 1 {
		return fmt.Errorf("mef-url: an IN-CSE is not enrolled by a MEF (MN and ASN are)")
	}
	if c.RegistrarURL != "" || c.RegistrarPSKIdentity != "" || c.RegistrarCert != "" {
		return fmt.Errorf("mef-url: the registrar and its credential come from the MEF; leave registrar-url, registrar-psk-* and registrar-cert out")
	}
	if c.Data == "" {
		return fmt.Errorf("mef-url: the enrolment is kept in data, which must be set")
	}
	return nil
}
