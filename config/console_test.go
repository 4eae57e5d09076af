package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

func TestConsoleSetting(t *testing.T) {
	if c := Default(); c.Console != "auto" {
		t.Errorf("default console = %q, want auto", c.Console)
	}
	// YAML 1.2 reads on/off as strings: both spellings work in the file.
	for _, v := range []string{"on", "off", "auto", "true", "false"} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte("console: "+v+"\n"), 0o600)
		c := Default()
		if err := c.LoadFile(p); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if c.Console != v {
			t.Errorf("console: %s loaded as %q", v, c.Console)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("console: %s: %v", v, err)
		}
	}
	c := Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--console", "on"}); err != nil || c.Console != "on" {
		t.Errorf("--console on: %v, %q", err, c.Console)
	}
	c.Console = "sometimes"
	if err := c.Validate(); err == nil {
		t.Error("console: sometimes accepted")
	}
}
