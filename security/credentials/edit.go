package credentials

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Operator edits of a credential file ("onecse credentials"): the file is
// read as a YAML node tree, so that comments and the order of entries
// survive, changed, checked by loading the result, and replaced atomically
// by a file of mode 0600.

// NewKey returns a random 32-byte PSK (TS-0003 asks for at least 128 bits
// of entropy; 256 matches the HMAC-SHA-256 the suites use).
func NewKey() Secret {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return k
}

// readTree reads the file (an absent file is an empty one) and returns its
// document node and the "psk" sequence inside it.
func readTree(path string) (*yaml.Node, *yaml.Node, error) {
	data, err := ReadSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: not a valid credential file (%s)", path, yamlWhere(err))
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: not a valid credential file (the top level is not a mapping)", path)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "psk" {
			seq := root.Content[i+1]
			if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
				*seq = yaml.Node{Kind: yaml.SequenceNode}
			}
			if seq.Kind != yaml.SequenceNode {
				return nil, nil, fmt.Errorf("%s: psk is not a list", path)
			}
			return &doc, seq, nil
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "psk"}, seq)
	return &doc, seq, nil
}

// writeTree checks the new content by loading it and replaces the file.
func writeTree(path string, doc *yaml.Node) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	enc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if _, err := Load(tmp.Name()); err != nil {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), tmp.Name()+": "))
	}
	return os.Rename(tmp.Name(), path)
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func flowList(vs []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

// AddPSK adds a credential to the file, creating it (mode 0600) when it
// does not exist.
func AddPSK(path string, c Credential) error {
	if err := check(&c); err != nil {
		return err
	}
	doc, seq, err := readTree(path)
	if err != nil {
		return err
	}
	seq.Content = append(seq.Content, entryNode(&c))
	return writeTree(path, doc) // refuses a KpsaID listed twice
}

// entryNode is the YAML form of one credential.
func entryNode(c *Credential) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, scalar(k), v) }
	add("kpsa-id", scalar(c.KpsaID))
	add("key", scalar(hex.EncodeToString(c.Key)))
	if c.CSEID != "" {
		add("cse-id", scalar(c.CSEID))
	}
	if len(c.AEIDs) > 0 {
		add("ae-ids", flowList(c.AEIDs))
	}
	if len(c.AppIDs) > 0 {
		add("app-ids", flowList(c.AppIDs))
	}
	if !c.NotAfter.IsZero() {
		add("not-after", scalar(c.NotAfter.UTC().Format(time.RFC3339)))
	}
	if c.Revoked {
		add("revoked", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	return m
}

// What PutPSK did.
const (
	PutUnchanged = iota
	PutCreated
	PutUpdated
)

// PutPSK makes the file hold c (the enrolment file's declarative form): a
// credential that is not there is added, with c.Key or, when c has none,
// the key newKey returns; one that is there is rewritten when its binding,
// not-after or (when c has one) key differ, and left alone — the file not
// even rewritten — when they are the same. A revoked credential stays
// revoked.
func PutPSK(path string, c Credential, newKey func() (Secret, error)) (int, error) {
	probe := c
	if len(probe.Key) == 0 {
		probe.Key = make([]byte, 16)
	}
	if err := check(&probe); err != nil {
		return 0, err
	}
	doc, seq, err := readTree(path)
	if err != nil {
		return 0, err
	}
	for i, m := range seq.Content {
		var e pskEntry
		if m.Kind != yaml.MappingNode || m.Decode(&e) != nil || e.KpsaID != c.KpsaID {
			continue
		}
		old, err := hex.DecodeString(e.Key)
		if err != nil {
			return 0, fmt.Errorf("%s: credential %q: the key must be hex digits", path, c.KpsaID)
		}
		if len(c.Key) == 0 {
			c.Key = old
		}
		c.Revoked = e.Revoked
		if Secret(old).Equal(c.Key) && e.CSEID == c.CSEID && slices.Equal(e.AEIDs, c.AEIDs) && slices.Equal(e.AppIDs, c.AppIDs) && e.NotAfter.Equal(c.NotAfter) {
			return PutUnchanged, nil
		}
		seq.Content[i] = entryNode(&c)
		return PutUpdated, writeTree(path, doc)
	}
	if len(c.Key) == 0 {
		if c.Key, err = newKey(); err != nil {
			return 0, err
		}
	}
	seq.Content = append(seq.Content, entryNode(&c))
	return PutCreated, writeTree(path, doc)
}

// SetRevoked marks the credential with this KpsaID revoked in the file.
func SetRevoked(path, kpsaID string) error {
	doc, seq, err := readTree(path)
	if err != nil {
		return err
	}
	for _, m := range seq.Content {
		if m.Kind != yaml.MappingNode {
			continue
		}
		id, revoked := "", -1
		for i := 0; i+1 < len(m.Content); i += 2 {
			switch m.Content[i].Value {
			case "kpsa-id":
				id = m.Content[i+1].Value
			case "revoked":
				revoked = i + 1
			}
		}
		if id != kpsaID {
			continue
		}
		if revoked >= 0 {
			m.Content[revoked] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
		} else {
			m.Content = append(m.Content, scalar("revoked"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		}
		return writeTree(path, doc)
	}
	return fmt.Errorf("%s: no credential %q", path, kpsaID)
}

// WriteKeyFile writes a key in hex to a new file of mode 0600, for the
// holder of the credential (--registrar-psk-key-file). It does not
// overwrite an existing file.
func WriteKeyFile(path string, k Secret) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Replace makes s hold the credentials of o (a reloaded file).
func (s *Store) Replace(o *Store) {
	o.mu.RLock()
	m := make(map[string]*Credential, len(o.byID))
	for k, v := range o.byID {
		m[k] = v
	}
	o.mu.RUnlock()
	s.mu.Lock()
	s.byID = m
	s.mu.Unlock()
}
