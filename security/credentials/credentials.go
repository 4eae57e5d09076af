// Package credentials is the store of the credentials security associations
// are made with (TS-0003 6.1, 8.2.2.1; registration-security.md 6.3, 6.6,
// 7): pre-shared keys with their KpsaID, each bound to the identity the
// M2M Service Provider assigned to the entity that holds it (a CSE-ID, or
// AE-IDs and App-IDs) and valid until a not-after time.
//
// The store is loaded from a YAML file that must be readable by its owner
// only. Keys are held as Secret, whose String, GoString, LogValue and
// MarshalText never show the bytes, so that a key put into a log line or
// an error by mistake comes out as "[secret]".
package credentials

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// CredIDTypePSK is the sec:credIDTypeID of a symmetric key in a security
// association establishment framework: KpsaID or KcID (TS-0003 Table
// 12.3.2.1-1). The Credential-ID of a PSK is "12-<KpsaID>" (TS-0003 10.3.5).
const CredIDTypePSK = "12"

// CredentialID returns the Credential-ID of the PSK with this KpsaID.
func CredentialID(kpsaID string) string { return CredIDTypePSK + "-" + kpsaID }

// Secret is key material. It prints as "[secret]" in every form a logger,
// fmt or an encoder uses.
type Secret []byte

func (Secret) String() string               { return "[secret]" }
func (Secret) GoString() string             { return "[secret]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[secret]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[secret]"), nil }
func (Secret) MarshalYAML() (any, error)    { return "[secret]", nil }
func (s Secret) Format(f fmt.State, _ rune) { f.Write([]byte("[secret]")) }
func (s Secret) Equal(o Secret) bool        { return bytes.Equal(s, o) }

// Credential is one PSK credential and the identity bound to it.
type Credential struct {
	// KpsaID is the PSK identity the registree sends in the handshake
	// (RFC 4279 psk_identity), e.g. "mn1@in.example.com".
	KpsaID string
	Key    Secret
	// CSEID is the SP-relative CSE-ID of the CSE that holds the key, when
	// the holder is a CSE. Exactly one of CSEID and AEIDs is set.
	CSEID string
	// AEIDs are the AE-ID-Stems (C… or S…) an AE holding the key may use.
	AEIDs []string
	// AppIDs, when set, are the App-IDs an AE holding the key may register
	// with.
	AppIDs []string
	// NotAfter ends the credential; zero means no end.
	NotAfter time.Time
	// Revoked ends it now.
	Revoked bool
}

// ID returns the Credential-ID, "12-<KpsaID>".
func (c *Credential) ID() string { return CredentialID(c.KpsaID) }

// ValidAt reports whether the credential may be used at t.
func (c *Credential) ValidAt(t time.Time) bool {
	return !c.Revoked && (c.NotAfter.IsZero() || t.Before(c.NotAfter))
}

// Store holds the credentials, by KpsaID. It is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	byID map[string]*Credential // by KpsaID
	now  func() time.Time
}

// New returns a store holding creds (checked as Load checks a file).
func New(creds ...Credential) (*Store, error) {
	s := &Store{byID: map[string]*Credential{}, now: time.Now}
	for i := range creds {
		if err := s.Add(creds[i]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Add adds a credential; a KpsaID may be there only once.
func (s *Store) Add(c Credential) error {
	if err := check(&c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byID[c.KpsaID]; dup {
		return fmt.Errorf("credential %q is listed twice", c.KpsaID)
	}
	c.Key = bytes.Clone(c.Key)
	s.byID[c.KpsaID] = &c
	return nil
}

// Revoke marks the credential with this KpsaID revoked: new handshakes
// with it fail and requests on associations made with it are no longer
// authenticated.
func (s *Store) Revoke(kpsaID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[kpsaID]
	if ok {
		c.Revoked = true
	}
	return ok
}

// validKpsaID is the alphabet of a Credential-ID value (TS-0003 10.3.5):
// letters, digits, '.', '_', '-', '@'.
func validKpsaID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
		default:
			return false
		}
	}
	return true
}

func isStem(s string) bool {
	return len(s) > 1 && (s[0] == 'C' || s[0] == 'S') && !strings.ContainsAny(s, "/ ")
}

func check(c *Credential) error {
	if !validKpsaID(c.KpsaID) {
		return fmt.Errorf("credential %q: the KpsaID must be letters, digits, '.', '_', '-' and '@' (TS-0003 10.3.5)", c.KpsaID)
	}
	if len(c.Key) < 16 {
		return fmt.Errorf("credential %q: the key must be at least 16 bytes (32 hex digits)", c.KpsaID)
	}
	if (c.CSEID == "") == (len(c.AEIDs) == 0) {
		return fmt.Errorf("credential %q: bind it to exactly one of cse-id and ae-ids", c.KpsaID)
	}
	if c.CSEID != "" && (!strings.HasPrefix(c.CSEID, "/") || strings.HasPrefix(c.CSEID, "//") || strings.Count(c.CSEID, "/") != 1 || len(c.CSEID) < 2) {
		return fmt.Errorf("credential %q: cse-id %q must be an SP-relative CSE-ID such as /id-mn", c.KpsaID, c.CSEID)
	}
	if c.CSEID != "" && len(c.AppIDs) > 0 {
		return fmt.Errorf("credential %q: app-ids go with ae-ids, not with a cse-id", c.KpsaID)
	}
	for _, a := range c.AEIDs {
		if !isStem(a) {
			return fmt.Errorf("credential %q: ae-id %q must be an AE-ID-Stem (C… or S…)", c.KpsaID, a)
		}
	}
	return nil
}

// Lookup returns the credential with this KpsaID when it is valid now. The
// returned value is a copy.
func (s *Store) Lookup(kpsaID string) (Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[kpsaID]
	if !ok || !c.ValidAt(s.now()) {
		return Credential{}, false
	}
	return *c, true
}

// ByCredentialID is Lookup by Credential-ID ("12-<KpsaID>").
func (s *Store) ByCredentialID(credID string) (Credential, bool) {
	kpsa, ok := strings.CutPrefix(credID, CredIDTypePSK+"-")
	if !ok {
		return Credential{}, false
	}
	return s.Lookup(kpsa)
}

// GetKey is a tlspsk server's Config.GetKey: the key of a valid credential,
// nil (unknown identity: the handshake fails) for an unknown, expired or
// revoked one.
func (s *Store) GetKey(identity string) ([]byte, error) {
	c, ok := s.Lookup(identity)
	if !ok {
		return nil, nil
	}
	return c.Key, nil
}

// All returns every credential, valid or not, with its key left out.
func (s *Store) All() []Credential {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Credential, 0, len(s.byID))
	for _, c := range s.byID {
		cc := *c
		cc.Key = nil
		out = append(out, cc)
	}
	return out
}

// file is the YAML form:
//
//	psk:
//	  - kpsa-id: mn1@in.example.com
//	    key: 000102…0f            # hex, at least 16 bytes
//	    cse-id: /id-mn-01
//	    not-after: 2027-01-01T00:00:00Z
//	  - kpsa-id: sensor7@in.example.com
//	    key: …
//	    ae-ids: [Csensor7]
//	    app-ids: [Nsensor]
type file struct {
	PSK []pskEntry `yaml:"psk"`
}

type pskEntry struct {
	KpsaID   string    `yaml:"kpsa-id"`
	Key      string    `yaml:"key"`
	CSEID    string    `yaml:"cse-id"`
	AEIDs    []string  `yaml:"ae-ids"`
	AppIDs   []string  `yaml:"app-ids"`
	NotAfter time.Time `yaml:"not-after"`
	Revoked  bool      `yaml:"revoked"`
}

// ErrPermissions is wrapped by the error of a secret file that others than
// its owner may read or write.
var ErrPermissions = errors.New("readable or writable by others than its owner")

// ReadSecretFile reads a file holding secrets after checking that only its
// owner may read or write it (mode 0600 or 0400).
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o: %w; it holds secrets: chmod 600 %s", path, fi.Mode().Perm(), ErrPermissions, path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadKeyFile reads a PSK in hex from a file readable by its owner only.
func ReadKeyFile(path string) (Secret, error) {
	data, err := ReadSecretFile(path)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: the key must be hex digits", path) // never echo the content
	}
	if len(k) < 16 {
		return nil, fmt.Errorf("%s: the key must be at least 16 bytes (32 hex digits)", path)
	}
	return k, nil
}

// Load reads a credential file (see file for its form). Its errors never
// contain key material.
func Load(path string) (*Store, error) {
	data, err := ReadSecretFile(path)
	if err != nil {
		return nil, err
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, fs.ErrNotExist) && err.Error() != "EOF" {
		// yaml's errors quote the offending line, which may be a key:
		// report the position only.
		return nil, fmt.Errorf("%s: not a valid credential file (%s)", path, yamlWhere(err))
	}
	s := &Store{byID: map[string]*Credential{}, now: time.Now}
	for i, p := range f.PSK {
		k, err := hex.DecodeString(p.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: psk entry %d (%q): the key must be hex digits", path, i+1, p.KpsaID)
		}
		c := Credential{KpsaID: p.KpsaID, Key: k, CSEID: p.CSEID, AEIDs: p.AEIDs, AppIDs: p.AppIDs, NotAfter: p.NotAfter, Revoked: p.Revoked}
		if err := s.Add(c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return s, nil
}

// yamlWhere keeps the "line N" part of a yaml error and drops the rest.
func yamlWhere(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i:]
		if j := strings.IndexAny(rest, ":"); j > 0 {
			return rest[:j]
		}
		return rest
	}
	return "syntax"
}
