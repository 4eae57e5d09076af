// Package config is onecse's configuration: one struct with its defaults,
// loaded from a YAML file and overridden by command-line flags. The defaults
// start a working IN-CSE on the embedded store with no file at all.
package config

import (
	"bytes"
	"flag"
	"fmt"
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
	// Sync is the embedded store's durability: full (survives power loss) or normal (survives a process crash).
	Sync string `yaml:"sync"`
	// AllowedAEOriginators are the AE-ID patterns allowed to register when no service subscription applies.
	AllowedAEOriginators []string `yaml:"allowed-ae-originators"`
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
		AllowedAEOriginators: []string{"C*", "S*"},
		NotifyTimeout:        10 * time.Second,
		NotifyRetry:          time.Second,
		NotifyRetryMax:       time.Minute,
		NotifyAttempts:       10,
		BatchDuration:        time.Minute,
		LogLevel:             "info",
		LogFormat:            "text",
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
	fs.StringVar(&c.Sync, "sync", c.Sync, "store durability: full (survives power loss) or normal (survives a process crash)")
	fs.Func("allowed-ae-originators", "comma-separated AE-ID patterns allowed to register (default C*,S*)", func(s string) error {
		c.AllowedAEOriginators = strings.Split(s, ",")
		return nil
	})
	fs.DurationVar(&c.NotifyTimeout, "notify-timeout", c.NotifyTimeout, "time limit of one attempt to deliver a notification")
	fs.DurationVar(&c.NotifyRetry, "notify-retry", c.NotifyRetry, "wait after a failed delivery attempt (doubles up to --notify-retry-max)")
	fs.DurationVar(&c.NotifyRetryMax, "notify-retry-max", c.NotifyRetryMax, "longest wait between delivery attempts")
	fs.IntVar(&c.NotifyAttempts, "notify-attempts", c.NotifyAttempts, "attempts before a notification is dropped")
	fs.DurationVar(&c.BatchDuration, "notify-batch-duration", c.BatchDuration, "batchNotify duration of a subscription that gives none")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
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
	if c.NotifyTimeout <= 0 || c.NotifyRetry <= 0 || c.NotifyRetryMax < c.NotifyRetry || c.NotifyAttempts < 1 || c.BatchDuration <= 0 {
		return fmt.Errorf("notify-timeout, notify-retry and notify-batch-duration must be positive, notify-retry-max at least notify-retry, notify-attempts at least 1")
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		return fmt.Errorf("log-format %q must be text or json", c.LogFormat)
	}
	return nil
}
