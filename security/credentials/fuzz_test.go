package credentials

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any file content either loads into credentials that pass the
// checks, or is refused with an error that quotes no value given as a
// key (identities may be named, keys never).
func FuzzLoad(f *testing.F) {
	k := strings.Repeat("ab", 16)
	f.Add("psk:\n  - kpsa-id: a@b\n    key: " + k + "\n    cse-id: /x\n")
	f.Add("psk:\n  - kpsa-id: a@b\n    key: zz" + k + "\n    ae-ids: [Cx]\n")
	f.Add("psk: [\n  key: " + k + "\n")
	f.Add("psk:\n  - {kpsa-id: a@b, key: " + k + ", cse-id: /x, not-after: 2020-01-01T00:00:00Z}\n")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Load(p)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), p)
			for _, v := range valuesOf(content, "key:") {
				if len(v) >= 8 && !strings.Contains(content, "kpsa-id: "+v) && strings.Contains(msg, v) {
					t.Fatalf("error quotes the key %q: %v", v, err)
				}
			}
			return
		}
		for _, c := range s.All() {
			c.Key = make(Secret, 16) // All leaves keys out; check the rest
			if err := check(&c); err != nil {
				t.Fatalf("loaded an invalid credential: %v", err)
			}
		}
	})
}

// valuesOf returns what follows each occurrence of field, up to the end of
// the line or a flow separator, trimmed.
func valuesOf(s, field string) []string {
	var out []string
	for rest := s; ; {
		i := strings.Index(rest, field)
		if i < 0 {
			return out
		}
		rest = rest[i+len(field):]
		v := rest
		if j := strings.IndexAny(v, "\n,}]"); j >= 0 {
			v = v[:j]
		}
		out = append(out, strings.Trim(v, " \t'\""))
	}
}
