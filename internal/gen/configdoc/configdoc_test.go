package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onecse/onecse/config"
)

var root = filepath.Join("..", "..", "..")

// TestGeneratedFilesUpToDate fails when docs/configuration.md or
// packaging/onecse.yaml differ from what config.Config generates: change
// the struct, then run go generate ./config.
func TestGeneratedFilesUpToDate(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "config", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		want []byte
	}{
		{filepath.Join(root, "docs", "configuration.md"), markdown(ks)},
		{filepath.Join(root, "packaging", "onecse.yaml"), sample(ks)},
	} {
		got, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s is out of date: run go generate ./config", c.file)
		}
	}
	// Every key of the struct is documented and is in the sample.
	n := reflect.TypeOf(config.Config{}).NumField()
	if len(ks) != n {
		t.Errorf("%d keys documented, Config has %d fields", len(ks), n)
	}
	yml := string(sample(ks))
	for _, k := range ks {
		if strings.TrimSuffix(k.doc, ".") == "" {
			t.Errorf("key %s has no description", k.name)
		}
		if !strings.Contains(yml, "\n"+k.name+":") {
			t.Errorf("key %s is not in the sample file", k.name)
		}
	}
}

// TestSampleLoads: the sample file loads (no unknown key, every value of
// the right type), validates, and is the defaults but for data.
func TestSampleLoads(t *testing.T) {
	c := config.Default()
	if err := c.LoadFile(filepath.Join(root, "packaging", "onecse.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Data = "/var/lib/onecse"
	// Empty lists in the file are empty, not absent.
	want.PoA, c.PoA = nil, nil
	want.CredentialBindings, c.CredentialBindings = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the sample file gives\n%+v\nwant the defaults with data /var/lib/onecse\n%+v", c, want)
	}
}
