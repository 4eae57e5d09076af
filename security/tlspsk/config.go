package tlspsk

import (
	"crypto/rand"
	"errors"
	"io"
	"time"
)

// Config configures a client or a server. A Config may be shared by many
// connections and must not be modified once in use.
type Config struct {
	// GetKey returns the key for the identity a client sent (server only,
	// required). It is called once per handshake, after the client's
	// ClientKeyExchange, from the goroutine running the handshake. A nil
	// key and a nil error mean "unknown identity": the handshake fails with
	// an unknown_psk_identity alert (or, with HideUnknownIdentity, as if the
	// key were wrong). An error fails it with internal_error, and the
	// error is returned from Handshake.
	GetKey func(identity string) ([]byte, error)

	// IdentityHint is sent to clients in a ServerKeyExchange (server,
	// optional; RFC 4279 section 2: without a hint no ServerKeyExchange is
	// sent, as OpenSSL and GnuTLS do).
	IdentityHint string

	// HideUnknownIdentity makes a server continue an unknown identity's
	// handshake with a random key, so that the client sees bad_record_mac
	// exactly as for a wrong key and cannot probe which identities exist
	// (what GnuTLS does). Off by default: unknown_psk_identity is easier to
	// diagnose.
	HideUnknownIdentity bool

	// Identity and Key are the client's PSK identity (KpsaID; at most
	// 65535 bytes, RFC 4279 requires peers to accept 128) and key (client,
	// required; at least one byte).
	Identity string
	Key      []byte

	// ServerName is sent as SNI (client, optional; Dial fills it from the
	// address when it is a host name, never for an IP address as RFC 6066
	// says). A server records the name the client sent in State.
	ServerName string

	// CipherSuites lists the suites to offer (client) or accept (server)
	// in order of preference; a server picks by its own order. Nil means
	// CipherSuites(): GCM, CCM_8, CBC-SHA256.
	CipherSuites []uint16

	// DisableExtendedMasterSecret leaves out RFC 7627 (not offered by a
	// client, not accepted by a server). RequireExtendedMasterSecret fails
	// a handshake with a peer that does not use it (handshake_failure).
	// By default it is offered and accepted but not required.
	DisableExtendedMasterSecret bool
	RequireExtendedMasterSecret bool

	// DisableEncryptThenMAC leaves out RFC 7366 for the CBC suite (the
	// classic MAC-then-encrypt records are used). By default it is offered
	// and accepted, as OpenSSL and GnuTLS do.
	DisableEncryptThenMAC bool

	// HandshakeTimeout bounds Handshake (and the implicit handshake of the
	// first Read or Write) when no context says otherwise; 0 means no
	// bound. On expiry the underlying connection is closed.
	HandshakeTimeout time.Duration

	// Rand is the source of randoms and IVs; nil means crypto/rand.
	Rand io.Reader

	// KeyLogWriter, if set, receives a line "CLIENT_RANDOM <client random>
	// <master secret>" (hex, NSS key log format) per handshake, for
	// Wireshark and for tests that compare with another implementation.
	// It compromises the connections it logs: debugging only.
	KeyLogWriter io.Writer
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

// suites resolves the configured list to supported suites in order,
// silently dropping values this package does not implement (so a list
// shared with other code does not break it).
func (c *Config) suites() []*suite {
	if c.CipherSuites == nil {
		return suites
	}
	var out []*suite
	for _, id := range c.CipherSuites {
		if s := suiteByID(id); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (c *Config) checkClient() error {
	if c == nil {
		return errors.New("tlspsk: nil Config")
	}
	if len(c.Key) == 0 {
		return errors.New("tlspsk: client Config has no Key")
	}
	if len(c.Key) > 0xffff || len(c.Identity) > 0xffff {
		return errors.New("tlspsk: Key or Identity longer than 65535 bytes")
	}
	if len(c.ServerName) > 0xffff-5 {
		return errors.New("tlspsk: ServerName too long")
	}
	if len(c.suites()) == 0 {
		return errors.New("tlspsk: no supported cipher suite in Config.CipherSuites")
	}
	return nil
}

func (c *Config) checkServer() error {
	if c == nil {
		return errors.New("tlspsk: nil Config")
	}
	if c.GetKey == nil {
		return errors.New("tlspsk: server Config has no GetKey")
	}
	if len(c.IdentityHint) > 0xffff {
		return errors.New("tlspsk: IdentityHint longer than 65535 bytes")
	}
	if len(c.suites()) == 0 {
		return errors.New("tlspsk: no supported cipher suite in Config.CipherSuites")
	}
	return nil
}
