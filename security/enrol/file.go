// Package enrol is the pre-provisioning of onecse (TS-0001 11.2, 11.3;
// registration-security.md 5.1): a declarative enrolment file names the M2M
// service subscriptions, their nodes, the application rules and the
// credentials with the identities bound to them, and Apply brings a CSE to
// that state idempotently — applied twice, the second run changes nothing.
//
// The subscription data becomes <m2mServiceSubscriptionProfile>,
// <serviceSubscribedNode> and <serviceSubscribedAppRule> resources on the
// IN-CSE, written by its administrator through the ordinary request path
// (in-process or over HTTP); the credentials go to the credential file
// (security/credentials), which the TLS layer reads.
package enrol

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
)

// File is an enrolment file:
//
//	subscriptions:
//	  - name: acme                    # rn of the <m2mServiceSubscriptionProfile>
//	    expires: 2027-12-31T00:00:00Z # et of the profile and its nodes; credentials end with it
//	    nodes:
//	      - name: gw1                 # rn of the <serviceSubscribedNode>
//	        node-id: urn:dev:ops:acme-gw-1
//	        cse-id: /id-mn1           # the CSE on the node (its registrar rules apply to AEs on it)
//	        device-ids: [urn:imei:490154203237518]
//	        app-rules: [sensors]      # names of app-rules below (ruleLinks)
//	app-rules:
//	  - name: sensors                 # rn of the <serviceSubscribedAppRule>
//	    credentials: [sensor1@sp.example]   # KpsaIDs: Credential-IDs 12-<KpsaID>
//	    credential-ids: ["32-..."]    # other Credential-IDs (certificates)
//	    no-credential: false          # true: for AEs without a security association (no apci)
//	    app-ids: ["Nsensor*"]
//	    ae-ids: ["C*"]
//	credentials:
//	  - kpsa-id: mn1@sp.example
//	    key: 00112233…                # hex; or key-file: FILE; or neither: generated, written to key-out
//	    key-out: mn1.key
//	    cse-id: /id-mn1               # or ae-ids: [...] and app-ids: [...]
//	    subscription: acme            # its lifetime ends with the subscription's
//	    not-after: 2027-06-30T00:00:00Z
//	enrolees:                         # nodes enrolled remotely through the MEF (security/mef)
//	  - kpm-id: gw1@factory.example   # bootstrap identity (KpmID)
//	    key-file: gw1-boot.key        # bootstrap key Kpm (hex); or key: <hex>
//	    cse-id: /id-mn1               # the CSE-ID the MEF assigns
//	    subscription: acme            # the enrolment ends with the subscription …
//	    not-after: 2027-06-30T00:00:00Z # … or earlier
type File struct {
	Subscriptions []Subscription `yaml:"subscriptions"`
	AppRules      []AppRule      `yaml:"app-rules"`
	Credentials   []Credential   `yaml:"credentials"`
	Enrolees      []Enrolee      `yaml:"enrolees"`
}

// Enrolee is a node the M2M Enrolment Function enrols (TS-0003 8.3.2.1):
// its bootstrap credential, the CSE-ID to assign and its subscription.
type Enrolee struct {
	KpmID        string    `yaml:"kpm-id"`
	Key          string    `yaml:"key"`
	KeyFile      string    `yaml:"key-file"`
	CSEID        string    `yaml:"cse-id"`
	Subscription string    `yaml:"subscription"`
	NotAfter     time.Time `yaml:"not-after"`
}

// EnroleeKey is the bootstrap key of an enrolee (key or key-file).
func EnroleeKey(e *Enrolee) (credentials.Secret, error) {
	if e.KeyFile != "" {
		k, err := credentials.ReadKeyFile(e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("enrolee %q: %w", e.KpmID, err)
		}
		return k, nil
	}
	k, err := hex.DecodeString(e.Key)
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("enrolee %q: the key must be at least 16 bytes in hex digits", e.KpmID)
	}
	return k, nil
}

// EnroleeNotAfter is the Enrolment Expiry of an enrolee: its own not-after
// or its subscription's expiry, whichever comes first.
func (f *File) EnroleeNotAfter(e *Enrolee) time.Time {
	return f.NotAfter(&Credential{Subscription: e.Subscription, NotAfter: e.NotAfter})
}

// Subscription is an M2M service subscription.
type Subscription struct {
	Name    string    `yaml:"name"`
	Expires time.Time `yaml:"expires"`
	Labels  []string  `yaml:"labels"`
	Nodes   []Node    `yaml:"nodes"`
}

// Node is a node of a subscription.
type Node struct {
	Name      string   `yaml:"name"`
	NodeID    string   `yaml:"node-id"`
	CSEID     string   `yaml:"cse-id"`
	DeviceIDs []string `yaml:"device-ids"`
	// AppRules are the names of the app-rules its ruleLinks point to; nil
	// leaves rlk absent, an empty list lets no AE register.
	AppRules []string `yaml:"app-rules"`
	NIDD     bool     `yaml:"nidd-required"`
}

// AppRule is a <serviceSubscribedAppRule>.
type AppRule struct {
	Name          string    `yaml:"name"`
	Credentials   []string  `yaml:"credentials"`
	CredentialIDs []string  `yaml:"credential-ids"`
	NoCredential  bool      `yaml:"no-credential"`
	AppIDs        []string  `yaml:"app-ids"`
	AEIDs         []string  `yaml:"ae-ids"`
	Expires       time.Time `yaml:"expires"`
}

// Credential is a PSK credential and its binding.
type Credential struct {
	KpsaID       string    `yaml:"kpsa-id"`
	Key          string    `yaml:"key"`
	KeyFile      string    `yaml:"key-file"`
	KeyOut       string    `yaml:"key-out"`
	CSEID        string    `yaml:"cse-id"`
	AEIDs        []string  `yaml:"ae-ids"`
	AppIDs       []string  `yaml:"app-ids"`
	Subscription string    `yaml:"subscription"`
	NotAfter     time.Time `yaml:"not-after"`
}

// Parse reads and checks an enrolment file. Its errors name the entry and
// never contain key material.
func Parse(data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("not a valid enrolment file (%s)", where(err))
	}
	return &f, f.check()
}

// where keeps the position of a yaml error and drops the quoted text, which
// may be a key.
func where(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			return rest[:j]
		}
		return rest
	}
	return "syntax"
}

func (f *File) check() error {
	subs := map[string]*Subscription{}
	rules := map[string]bool{}
	names := map[string]string{} // rn under the CSEBase → what
	for i := range f.AppRules {
		r := &f.AppRules[i]
		if !primitive.ValidResourceName(r.Name) {
			return fmt.Errorf("app-rules entry %d: name %q is not a valid resource name", i+1, r.Name)
		}
		if w, dup := names[r.Name]; dup {
			return fmt.Errorf("app-rule %q: the name is used by %s too", r.Name, w)
		}
		names[r.Name] = "an app-rule"
		rules[r.Name] = true
		if len(r.AppIDs) == 0 || len(r.AEIDs) == 0 {
			return fmt.Errorf("app-rule %q: app-ids and ae-ids are needed (use [\"*\"] for any)", r.Name)
		}
		if r.NoCredential && (len(r.Credentials) > 0 || len(r.CredentialIDs) > 0) {
			return fmt.Errorf("app-rule %q: no-credential excludes credentials and credential-ids", r.Name)
		}
		if !r.NoCredential && len(r.Credentials) == 0 && len(r.CredentialIDs) == 0 {
			return fmt.Errorf("app-rule %q: name credentials or credential-ids, or set no-credential: true for AEs without a security association", r.Name)
		}
		for _, s := range slices.Concat(r.Credentials, r.CredentialIDs, r.AppIDs, r.AEIDs) {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				return fmt.Errorf("app-rule %q: %q is not a valid entry", r.Name, s)
			}
		}
	}
	for i := range f.Subscriptions {
		s := &f.Subscriptions[i]
		if !primitive.ValidResourceName(s.Name) {
			return fmt.Errorf("subscriptions entry %d: name %q is not a valid resource name", i+1, s.Name)
		}
		if w, dup := names[s.Name]; dup {
			return fmt.Errorf("subscription %q: the name is used by %s too", s.Name, w)
		}
		names[s.Name] = "a subscription"
		subs[s.Name] = s
		nodes := map[string]bool{}
		for j := range s.Nodes {
			n := &s.Nodes[j]
			if !primitive.ValidResourceName(n.Name) || nodes[n.Name] {
				return fmt.Errorf("subscription %q, node %d: name %q is not a valid resource name or is used twice", s.Name, j+1, n.Name)
			}
			nodes[n.Name] = true
			if n.NodeID == "" || strings.ContainsAny(n.NodeID, " \t\r\n") {
				return fmt.Errorf("subscription %q, node %q: node-id is needed", s.Name, n.Name)
			}
			if n.CSEID != "" && !spRelativeCSEID(n.CSEID) {
				return fmt.Errorf("subscription %q, node %q: cse-id %q must be an SP-relative CSE-ID such as /id-mn1", s.Name, n.Name, n.CSEID)
			}
			if n.AppRules != nil && n.CSEID == "" {
				return fmt.Errorf("subscription %q, node %q: app-rules need the node's cse-id", s.Name, n.Name)
			}
			for _, r := range n.AppRules {
				if !rules[r] {
					return fmt.Errorf("subscription %q, node %q: no app-rule named %q", s.Name, n.Name, r)
				}
			}
		}
	}
	kpsa := map[string]bool{}
	for i := range f.Credentials {
		c := &f.Credentials[i]
		if kpsa[c.KpsaID] {
			return fmt.Errorf("credential %q is listed twice", c.KpsaID)
		}
		kpsa[c.KpsaID] = true
		if c.Key != "" && c.KeyFile != "" {
			return fmt.Errorf("credential %q: key and key-file exclude each other", c.KpsaID)
		}
		if c.Key != "" {
			if _, err := hex.DecodeString(c.Key); err != nil {
				return fmt.Errorf("credential %q: the key must be hex digits", c.KpsaID)
			}
		}
		if c.Subscription != "" && subs[c.Subscription] == nil {
			return fmt.Errorf("credential %q: no subscription named %q", c.KpsaID, c.Subscription)
		}
		// The binding rules of the credential store (KpsaID alphabet, one
		// of cse-id and ae-ids, stems), with a stand-in key.
		if _, err := credentials.New(credentials.Credential{KpsaID: c.KpsaID, Key: make([]byte, 16), CSEID: c.CSEID, AEIDs: c.AEIDs, AppIDs: c.AppIDs}); err != nil {
			return err
		}
	}
	return f.checkEnrolees(subs, kpsa)
}

func (f *File) checkEnrolees(subs map[string]*Subscription, kpsa map[string]bool) error {
	seen := map[string]bool{}
	cses := map[string]string{}
	for i := range f.Enrolees {
		e := &f.Enrolees[i]
		if seen[e.KpmID] {
			return fmt.Errorf("enrolee %q is listed twice", e.KpmID)
		}
		seen[e.KpmID] = true
		if kpsa[e.KpmID] {
			return fmt.Errorf("enrolee %q: the identity is a credential's kpsa-id too", e.KpmID)
		}
		if (e.Key == "") == (e.KeyFile == "") {
			return fmt.Errorf("enrolee %q: give its bootstrap key with key or key-file", e.KpmID)
		}
		if e.Key != "" {
			if k, err := hex.DecodeString(e.Key); err != nil || len(k) < 16 {
				return fmt.Errorf("enrolee %q: the key must be at least 16 bytes in hex digits", e.KpmID)
			}
		}
		if !spRelativeCSEID(e.CSEID) {
			return fmt.Errorf("enrolee %q: cse-id %q must be an SP-relative CSE-ID such as /id-mn1", e.KpmID, e.CSEID)
		}
		if w, dup := cses[e.CSEID]; dup {
			return fmt.Errorf("enrolee %q: cse-id %s is assigned to enrolee %q too", e.KpmID, e.CSEID, w)
		}
		cses[e.CSEID] = e.KpmID
		// The identity alphabet and binding rules of a credential.
		if _, err := credentials.New(credentials.Credential{KpsaID: e.KpmID, Key: make([]byte, 16), CSEID: e.CSEID}); err != nil {
			return fmt.Errorf("enrolee: %w", err)
		}
		if e.Subscription != "" {
			s := subs[e.Subscription]
			if s == nil {
				return fmt.Errorf("enrolee %q: no subscription named %q", e.KpmID, e.Subscription)
			}
			found := false
			for _, n := range s.Nodes {
				found = found || n.CSEID == e.CSEID
			}
			if !found {
				return fmt.Errorf("enrolee %q: subscription %q has no node with cse-id %s", e.KpmID, e.Subscription, e.CSEID)
			}
		}
	}
	return nil
}

func spRelativeCSEID(s string) bool {
	return len(s) > 1 && s[0] == '/' && !strings.Contains(s[1:], "/")
}

// NotAfter is the end of a credential: its own not-after or its
// subscription's expiry, whichever comes first (TS-0001 11.2.1: provisioned
// credentials live as long as the subscription at most).
func (f *File) NotAfter(c *Credential) time.Time {
	t := c.NotAfter
	for _, s := range f.Subscriptions {
		if s.Name == c.Subscription && !s.Expires.IsZero() && (t.IsZero() || s.Expires.Before(t)) {
			t = s.Expires
		}
	}
	return t
}
