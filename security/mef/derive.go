// Package mef is onecse's M2M Enrolment Function (MEF) and its client, the
// remote provisioning of a field node (TS-0003 8.3, Pre-Provisioned
// Symmetric Enrolee Key framework; enrolment-mef.md).
//
// A node holds only a bootstrap credential: a pre-provisioned enrolee key
// Kpm with its identifier KpmID. It opens TLS-PSK to the MEF with them (the
// MEF Handshake, TS-0003 8.3.5.2.2), and both sides export the enrolment
// key Ke and its identifier KeID from the session (10.3.1, 10.3.4). In
// the same session the node registers with the MEF (one request, the MEF
// Client Registration of 8.3.5.2.3 collapsed with the Client Configuration
// Retrieval of 8.3.5.2.4) and learns its CSE-ID, its M2M service
// subscription, its registrar and the lifetime of the enrolment. Both sides
// then derive the usage-constrained key for the registrar (10.3.7, SUID 22),
// which the node uses as its PSK with the registrar, with KeID as the PSK
// identity; the key itself never crosses the wire. The MEF hands it to the
// registrar bound to the node's CSE-ID (Provision); onecse does this by
// writing the registrar's credential file rather than by the registrar
// fetching it from the MEF (fetchCredentials): see docs/security/enrolment.md
// for every deviation.
package mef

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// ExporterLabel is the TLS exporter label of the MEF Handshake (TS-0003
// 10.3.1).
const ExporterLabel = "EXPORTER-oneM2M-Bootstrap"

// usageLabel is the derivation label of a usage-constrained symmetric key
// (TS-0003 10.3.7).
const usageLabel = "oneM2M Enrolment Key to Usage-Constrained Symmetric Key derivation"

// SUIDSAEF is the Security Usage Identifier of a symmetric key provisioned
// through a remote security provisioning framework for a security
// association establishment framework (TS-0004 6.3.4.2.39: 22), as it
// enters the derivation: ASCII decimal digits (enrolment-mef.md C4).
const SUIDSAEF = "22"

// Exporter is a TLS session's RFC 5705 exporter.
type Exporter interface {
	ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error)
}

// EnrolmentKey exports the enrolment key of a MEF Handshake: 48 bytes with
// ExporterLabel and no context, the 16 most significant (first) bytes the
// RelativeKeID, the 32 least significant the Ke (TS-0003 10.3.1).
func EnrolmentKey(x Exporter) (rel, ke []byte, err error) {
	out, err := x.ExportKeyingMaterial(ExporterLabel, nil, 48)
	if err != nil {
		return nil, nil, err
	}
	if len(out) != 48 {
		return nil, nil, errors.New("mef: exporter returned a short output")
	}
	return out[:16], out[16:], nil
}

// KeID is the enrolment key's identifier, hex(RelativeKeID)@MEF-FQDN
// (TS-0003 10.3.4), in upper case, the canonical form of hexBinary
// (enrolment-mef.md C7).
func KeID(rel []byte, mefFQDN string) string {
	return strings.ToUpper(hex.EncodeToString(rel)) + "@" + mefFQDN
}

// UsageKey is the usage-constrained symmetric key for suid and the
// Enrolment-Target-ID target (TS-0003 10.3.7): HMAC-SHA-256(Ke, label ||
// SUID || target).
func UsageKey(ke []byte, suid, target string) []byte {
	m := hmac.New(sha256.New, ke)
	m.Write([]byte(usageLabel))
	m.Write([]byte(suid))
	m.Write([]byte(target))
	return m.Sum(nil)
}

// TargetID is the Enrolment-Target-ID of a registrar: the public domain
// name of its CSE-ID, <CSE-ID>.<SP domain> (TS-0001 6.5.1.1), e.g. /id-in
// with SP-ID //onecse.example gives id-in.onecse.example.
func TargetID(cseID, spID string) string {
	return strings.TrimPrefix(cseID, "/") + "." + strings.Trim(spID, "/")
}
