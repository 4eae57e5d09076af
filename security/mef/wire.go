package mef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Path is the MEF's resource (the <MEFBase> of TS-0001 8.3.3.2.1, 9.6.49)
// on its HTTPS endpoint. A registration is a POST (CREATE) to it.
const Path = "/MEFBase"

// The JSON names. TS-0032, where the Mmef resources are defined, is not
// public, so its short names are unknown: these are the long names TS-0003
// uses for the parameters (enrolment-mef.md 7.3, C1), in one place so that
// they can be swapped for the TS-0032 ones.
const (
	nameReg = "mefClientReg"
)

// Request is a MEF Client Registration (TS-0003 8.3.5.2.3): the
// administrating stakeholder's FQDN, and optionally a proposed expiration
// time and labels. The MEF-FQDN is the host of the request's URL.
type Request struct {
	AdminFQDN      string   `json:"adminFQDN"`
	ExpirationTime string   `json:"expirationTime,omitempty"`
	Labels         []string `json:"labels,omitempty"`
}

// Registrar is where an enrolled node registers.
type Registrar struct {
	CSEID   string `json:"CSE-ID"`        // SP-relative CSE-ID, e.g. /id-in
	CSEBase string `json:"CSEBase"`       // resource name of its CSEBase
	PoA     string `json:"pointOfAccess"` // https:// address of its TLS-PSK listener
}

// Config is the MEFClientCfg the node receives (TS-0003 8.3.5.2.4; its
// content is not defined publicly, enrolment-mef.md C2: the TS-0022
// [registration] names plus the subscription and the key parameters).
type Config struct {
	CSEID     string    `json:"CSE-ID"`     // the node's pre-assigned CSE-ID
	SubID     string    `json:"M2M-Sub-ID"` // its M2M service subscription
	Registrar Registrar `json:"registrar"`
	// KeID is the identity the node presents to the registrar (TLS-PSK
	// psk_identity); the key is UsageKey(Ke, SUID, TargetID), derived
	// on both sides, never sent.
	KeID     string `json:"KeID"`
	SUID     int    `json:"SUID"`
	TargetID string `json:"targetID"`
	// Lifetime is the end of the enrolment (the Enrolment Expiry): the
	// subscription's expiry or the enrolee's own, whichever is first.
	Lifetime string `json:"lifetime"`
}

// Response is the answer to a successful registration.
type Response struct {
	RegID          string   `json:"MEFClientRegID"`
	ClientID       string   `json:"MEFClientID"` // 10-<KpmID> (enrolment-mef.md C13)
	AdminFQDN      string   `json:"adminFQDN"`
	ExpirationTime string   `json:"expirationTime"`
	Labels         []string `json:"labels,omitempty"`
	Config         Config   `json:"MEFClientCfg"`
}

// Failure is the body of an error answer (the Gen-1 form of TS-0003
// 8.3.2.1: Status false and an ErrorString); the oneM2M status code is in
// X-M2M-RSC.
type Failure struct {
	Status      bool   `json:"Status"`
	ErrorString string `json:"ErrorString"`
}

// maxRequest bounds a request body.
const maxRequest = 8 << 10

// ParseRequest reads a registration: {"mefClientReg": {...}}, nothing else,
// no unknown member, adminFQDN a host name, expirationTime a oneM2M
// timestamp, labels without white space.
func ParseRequest(data []byte) (Request, error) {
	if len(data) > maxRequest {
		return Request{}, errors.New("request too large")
	}
	if !utf8.Valid(data) {
		return Request{}, errors.New("request is not UTF-8")
	}
	var wrap struct {
		Reg *Request `json:"mefClientReg"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wrap); err != nil {
		return Request{}, fmt.Errorf("not a %s request: %s", nameReg, jsonWhere(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, errors.New("data after the request")
	}
	if wrap.Reg == nil {
		return Request{}, fmt.Errorf("%s is missing", nameReg)
	}
	r := *wrap.Reg
	if !validFQDN(r.AdminFQDN) {
		return Request{}, fmt.Errorf("adminFQDN %q is not a host name", r.AdminFQDN)
	}
	if r.ExpirationTime != "" {
		if _, err := ParseTime(r.ExpirationTime); err != nil {
			return Request{}, fmt.Errorf("expirationTime %q is not a oneM2M timestamp (e.g. 20301231T000000)", r.ExpirationTime)
		}
	}
	if len(r.Labels) > 32 {
		return Request{}, errors.New("too many labels")
	}
	for _, l := range r.Labels {
		if l == "" || len(l) > 256 || strings.ContainsAny(l, " \t\r\n") {
			return Request{}, fmt.Errorf("label %q is not valid", l)
		}
	}
	return r, nil
}

// jsonWhere describes a decoding error without echoing the input.
func jsonWhere(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}

func validFQDN(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// timeLayout is the oneM2M basic ISO 8601 timestamp (m2m:timestamp), UTC.
const timeLayout = "20060102T150405"

// FormatTime writes t as a oneM2M timestamp.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTime reads a oneM2M timestamp (UTC, seconds).
func ParseTime(s string) (time.Time, error) {
	return time.ParseInLocation(timeLayout, s, time.UTC)
}
