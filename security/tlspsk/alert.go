package tlspsk

import (
	"fmt"
	"strconv"
	"strings"
)

// Alert is a TLS alert description (RFC 5246 section 7.2, RFC 4279 section 2).
type Alert uint8

// The alerts this package sends, and the ones peers commonly send.
const (
	AlertCloseNotify            Alert = 0
	AlertUnexpectedMessage      Alert = 10
	AlertBadRecordMAC           Alert = 20
	AlertDecryptionFailed       Alert = 21
	AlertRecordOverflow         Alert = 22
	AlertDecompressionFailure   Alert = 30
	AlertHandshakeFailure       Alert = 40
	AlertBadCertificate         Alert = 42
	AlertUnsupportedCertificate Alert = 43
	AlertCertificateRevoked     Alert = 44
	AlertCertificateExpired     Alert = 45
	AlertCertificateUnknown     Alert = 46
	AlertIllegalParameter       Alert = 47
	AlertUnknownCA              Alert = 48
	AlertAccessDenied           Alert = 49
	AlertDecodeError            Alert = 50
	AlertDecryptError           Alert = 51
	AlertProtocolVersion        Alert = 70
	AlertInsufficientSecurity   Alert = 71
	AlertInternalError          Alert = 80
	AlertInappropriateFallback  Alert = 86
	AlertUserCanceled           Alert = 90
	AlertNoRenegotiation        Alert = 100
	AlertMissingExtension       Alert = 109
	AlertUnsupportedExtension   Alert = 110
	AlertUnrecognizedName       Alert = 112
	AlertUnknownPSKIdentity     Alert = 115
)

var alertNames = map[Alert]string{
	AlertCloseNotify:            "close_notify",
	AlertUnexpectedMessage:      "unexpected_message",
	AlertBadRecordMAC:           "bad_record_mac",
	AlertDecryptionFailed:       "decryption_failed",
	AlertRecordOverflow:         "record_overflow",
	AlertDecompressionFailure:   "decompression_failure",
	AlertHandshakeFailure:       "handshake_failure",
	AlertBadCertificate:         "bad_certificate",
	AlertUnsupportedCertificate: "unsupported_certificate",
	AlertCertificateRevoked:     "certificate_revoked",
	AlertCertificateExpired:     "certificate_expired",
	AlertCertificateUnknown:     "certificate_unknown",
	AlertIllegalParameter:       "illegal_parameter",
	AlertUnknownCA:              "unknown_ca",
	AlertAccessDenied:           "access_denied",
	AlertDecodeError:            "decode_error",
	AlertDecryptError:           "decrypt_error",
	AlertProtocolVersion:        "protocol_version",
	AlertInsufficientSecurity:   "insufficient_security",
	AlertInternalError:          "internal_error",
	AlertInappropriateFallback:  "inappropriate_fallback",
	AlertUserCanceled:           "user_canceled",
	AlertNoRenegotiation:        "no_renegotiation",
	AlertMissingExtension:       "missing_extension",
	AlertUnsupportedExtension:   "unsupported_extension",
	AlertUnrecognizedName:       "unrecognized_name",
	AlertUnknownPSKIdentity:     "unknown_psk_identity",
}

// String is the RFC name of the alert, or "alert(N)" for one this package
// does not know.
func (a Alert) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

// level is the alert level this package sends the alert with: the two
// alerts that do not end the connection by themselves are warnings (RFC 5246
// 7.2.1 and 7.2.2; no_renegotiation is "always a warning"), every other is
// fatal.
func (a Alert) level() byte {
	if a == AlertCloseNotify || a == AlertNoRenegotiation {
		return alertLevelWarning
	}
	return alertLevelFatal
}

const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

// AlertError is the error of a connection that ended with a TLS alert:
// either one this side sent because the peer did something wrong
// (Received false, Reason says what), or a fatal alert the peer sent
// (Received true).
//
//	var ae *tlspsk.AlertError
//	if errors.As(err, &ae) && ae.Alert == tlspsk.AlertUnknownPSKIdentity { ... }
type AlertError struct {
	Alert    Alert
	Received bool   // the peer sent it
	Reason   string // why this side sent it (empty when Received)
	Err      error  // the cause, when it was an error (GetKey's)
}

func (e *AlertError) Unwrap() error { return e.Err }

func (e *AlertError) Error() string {
	if e.Received {
		return "tlspsk: peer sent alert " + e.Alert.String()
	}
	var parts []string
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	if e.Err != nil {
		parts = append(parts, "("+e.Err.Error()+")")
	}
	if len(parts) == 0 {
		return "tlspsk: sent alert " + e.Alert.String()
	}
	return "tlspsk: " + strings.Join(parts, " ") + " (sent alert " + e.Alert.String() + ")"
}

// fail is the error for a local failure that is answered with the fatal
// alert a.
func fail(a Alert, format string, args ...any) error {
	return &AlertError{Alert: a, Reason: fmt.Sprintf(format, args...)}
}
