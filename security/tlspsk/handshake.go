package tlspsk

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
)

// The full PSK handshake (RFC 5246 7.3 without certificates, RFC 4279 2):
//
//	Client                                Server
//	ClientHello          -------->
//	                                      ServerHello
//	                                      [ServerKeyExchange: hint]
//	                     <--------        ServerHelloDone
//	ClientKeyExchange: identity
//	ChangeCipherSpec
//	Finished             -------->
//	                                      ChangeCipherSpec
//	                     <--------        Finished
//
// No session is cached and no ticket offered or accepted, so there is no
// abbreviated handshake.

// serverHandshake runs the server side. The caller holds handshakeMu and in.
func (c *Conn) serverHandshake() error {
	cfg := c.config
	if err := cfg.checkServer(); err != nil {
		return &AlertError{Alert: AlertInternalError, Reason: "server configuration", Err: err}
	}

	msg, err := c.readHandshake()
	if err != nil {
		return err
	}
	typ, body, _ := splitHandshake(msg)
	if typ != typeClientHello {
		return fail(AlertUnexpectedMessage, "expected ClientHello, got handshake message type %d", typ)
	}
	ch, ok := parseClientHello(body)
	if !ok {
		return fail(AlertDecodeError, "malformed ClientHello")
	}
	c.transcript.Write(msg)

	// Version. A client that lists supported_versions (RFC 8446 4.2.1)
	// means that list; otherwise client_version is its highest version
	// (RFC 5246 E.1) and anything from 1.2 up gets 1.2.
	if ch.supportedVersions != nil {
		if !slices.Contains(ch.supportedVersions, versionTLS12) {
			return fail(AlertProtocolVersion, "client supports only %s", versionList(ch.supportedVersions))
		}
	} else if ch.vers < versionTLS12 {
		return fail(AlertProtocolVersion, "client offers at most %s, only TLS 1.2 is spoken", versionName(ch.vers))
	}
	c.haveVers = true

	if !slices.Contains(ch.compressions, 0) {
		return fail(AlertHandshakeFailure, "client does not offer null compression")
	}
	// RFC 5746 3.6: on an initial handshake renegotiation_info must be empty.
	if ch.hasRenegInfo && len(ch.renegInfo) != 0 {
		return fail(AlertHandshakeFailure, "non-empty renegotiation_info in an initial handshake")
	}
	secureReneg := ch.hasRenegInfo || ch.hasSCSV()

	var s *suite
	for _, cand := range cfg.suites() {
		if slices.Contains(ch.suites, cand.id) {
			s = cand
			break
		}
	}
	if s == nil {
		return fail(AlertHandshakeFailure, "no cipher suite in common (client offered %s)", suiteList(ch.suites))
	}
	ems := ch.ems && !cfg.DisableExtendedMasterSecret
	if !ems && cfg.RequireExtendedMasterSecret {
		return fail(AlertHandshakeFailure, "client does not use the extended master secret, which is required")
	}
	// RFC 7366 3: encrypt-then-MAC applies to block ciphers only; for an
	// AEAD suite the server does not echo it.
	etm := ch.etm && s.cbc && !cfg.DisableEncryptThenMAC

	c.clientRandom = slices.Clone(ch.random)
	c.serverRandom = make([]byte, randomLen)
	if _, err := io.ReadFull(cfg.rand(), c.serverRandom); err != nil {
		return &AlertError{Alert: AlertInternalError, Reason: "reading random", Err: err}
	}
	sh := &serverHello{vers: versionTLS12, random: c.serverRandom, suite: s.id}
	// An empty session_id: this session will not be resumed (RFC 5246
	// 7.4.1.3). Extensions only in answer to the client's.
	if secureReneg {
		sh.exts = append(sh.exts, extension{typ: extRenegotiationInfo, data: []byte{0}})
	}
	if etm {
		sh.exts = append(sh.exts, extension{typ: extEncryptThenMAC})
	}
	if ems {
		sh.exts = append(sh.exts, extension{typ: extExtendedMasterSecret})
	}
	if err := c.writeHandshake(sh.marshal()); err != nil {
		return err
	}
	if cfg.IdentityHint != "" {
		if err := c.writeHandshake(marshalPSKString(typeServerKeyExchange, cfg.IdentityHint)); err != nil {
			return err
		}
	}
	if err := c.writeHandshake(handshakeMessage(typeServerHelloDone, nil)); err != nil {
		return err
	}
	if err := c.flushHandshake(); err != nil {
		return err
	}

	msg, err = c.readHandshake()
	if err != nil {
		return err
	}
	typ, body, _ = splitHandshake(msg)
	if typ != typeClientKeyExchange {
		return fail(AlertUnexpectedMessage, "expected ClientKeyExchange, got handshake message type %d", typ)
	}
	identity, ok := parsePSKString(body)
	if !ok {
		return fail(AlertDecodeError, "malformed ClientKeyExchange")
	}
	c.transcript.Write(msg)

	key, err := cfg.GetKey(identity)
	if err != nil {
		return &AlertError{Alert: AlertInternalError, Reason: fmt.Sprintf("key lookup for identity %q", identity), Err: err}
	}
	unknown := len(key) == 0
	if unknown {
		if !cfg.HideUnknownIdentity {
			return fail(AlertUnknownPSKIdentity, "unknown PSK identity %q", identity)
		}
		// Carry on with a key nobody knows; the client's Finished will not
		// decrypt, exactly as with a wrong key.
		key = make([]byte, 32)
		if _, err := io.ReadFull(cfg.rand(), key); err != nil {
			return &AlertError{Alert: AlertInternalError, Reason: "reading random", Err: err}
		}
	}
	if err := c.establishKeys(s, key, ems, etm); err != nil {
		return err
	}

	if err := c.readChangeCipherSpec(); err != nil {
		return finishedReason(err, unknown, identity)
	}
	msg, err = c.readHandshake()
	if err != nil {
		return finishedReason(err, unknown, identity)
	}
	if err := c.checkFinished(msg, labelClientFinish); err != nil {
		return err
	}
	c.transcript.Write(msg)

	fin := handshakeMessage(typeFinished, finishedMAC(c.masterSecret, labelServerFinish, c.transcript.Sum(nil)))
	if err := c.writeChangeCipherSpec(); err != nil {
		return err
	}
	if err := c.writeHandshake(fin); err != nil {
		return err
	}
	if err := c.flushHandshake(); err != nil {
		return err
	}
	c.state = State{
		Version:              versionTLS12,
		CipherSuite:          s.id,
		Identity:             identity,
		IdentityHint:         cfg.IdentityHint,
		ServerName:           ch.serverName,
		ExtendedMasterSecret: ems,
		EncryptThenMAC:       etm,
		SecureRenegotiation:  secureReneg,
	}
	return nil
}

// finishedReason names the likely cause when the client's Finished does not
// authenticate: a key that differs from the client's, or, with
// HideUnknownIdentity, an unknown identity (the client is not told, the
// server's caller is).
func finishedReason(err error, unknown bool, identity string) error {
	var ae *AlertError
	if !errors.As(err, &ae) || ae.Received || ae.Alert != AlertBadRecordMAC {
		return err
	}
	reason := fmt.Sprintf("the client's Finished did not authenticate: not the key of identity %q", identity)
	if unknown {
		reason = fmt.Sprintf("unknown PSK identity %q (hidden from the client)", identity)
	}
	return &AlertError{Alert: ae.Alert, Reason: reason}
}

// clientHandshake runs the client side. The caller holds handshakeMu and in.
func (c *Conn) clientHandshake() error {
	cfg := c.config
	if err := cfg.checkClient(); err != nil {
		return err
	}
	offered := cfg.suites()
	c.clientRandom = make([]byte, randomLen)
	if _, err := io.ReadFull(cfg.rand(), c.clientRandom); err != nil {
		return err
	}
	ch := &clientHello{vers: versionTLS12, random: c.clientRandom, compressions: []byte{0}}
	offerETM := false
	for _, s := range offered {
		ch.suites = append(ch.suites, s.id)
		offerETM = offerETM || (s.cbc && !cfg.DisableEncryptThenMAC)
	}
	// Secure renegotiation is signalled with the empty extension (RFC 5746
	// 3.4); this package never renegotiates, but servers (OpenSSL's) and
	// the RFC expect the signal. No session_ticket: never resumed.
	sni := cfg.ServerName != "" && net.ParseIP(cfg.ServerName) == nil
	if sni {
		var name []byte
		name = append(name, 0) // host_name
		name = appendVec16(name, []byte(cfg.ServerName))
		ch.exts = append(ch.exts, extension{typ: extServerName, data: appendVec16(nil, name)})
	}
	if offerETM {
		ch.exts = append(ch.exts, extension{typ: extEncryptThenMAC})
	}
	if !cfg.DisableExtendedMasterSecret {
		ch.exts = append(ch.exts, extension{typ: extExtendedMasterSecret})
	}
	ch.exts = append(ch.exts, extension{typ: extRenegotiationInfo, data: []byte{0}})
	if err := c.writeHandshake(ch.marshal()); err != nil {
		return err
	}
	if err := c.flushHandshake(); err != nil {
		return err
	}

	msg, err := c.readHandshake()
	if err != nil {
		return err
	}
	typ, body, _ := splitHandshake(msg)
	if typ != typeServerHello {
		return fail(AlertUnexpectedMessage, "expected ServerHello, got handshake message type %d", typ)
	}
	sh, ok := parseServerHello(body)
	if !ok {
		return fail(AlertDecodeError, "malformed ServerHello")
	}
	if sh.vers != versionTLS12 {
		return fail(AlertProtocolVersion, "server chose %s, only TLS 1.2 is spoken", versionName(sh.vers))
	}
	c.haveVers = true
	var s *suite
	for _, cand := range offered {
		if cand.id == sh.suite {
			s = cand
		}
	}
	if s == nil {
		return fail(AlertIllegalParameter, "server chose cipher suite %s, which was not offered", CipherSuiteName(sh.suite))
	}
	if sh.compression != 0 {
		return fail(AlertIllegalParameter, "server chose compression method %d", sh.compression)
	}
	for _, e := range sh.exts {
		// RFC 5246 7.4.1.4: a server may only answer extensions offered.
		if !slices.ContainsFunc(ch.exts, func(o extension) bool { return o.typ == e.typ }) {
			return fail(AlertUnsupportedExtension, "server sent extension %d, which was not offered", e.typ)
		}
		if e.typ == extServerName && len(e.data) != 0 {
			return fail(AlertDecodeError, "non-empty server_name in ServerHello")
		}
	}
	// RFC 5746 3.4: without renegotiation_info the server may allow
	// insecure renegotiation, which puts other clients at risk of the
	// prefix attack; like OpenSSL 3, refuse such a server.
	if !sh.hasRenegInfo {
		return fail(AlertHandshakeFailure, "server does not support secure renegotiation (RFC 5746)")
	}
	if len(sh.renegInfo) != 0 {
		return fail(AlertHandshakeFailure, "non-empty renegotiation_info in an initial handshake")
	}
	if sh.etm && !s.cbc {
		return fail(AlertIllegalParameter, "server chose encrypt-then-MAC with an AEAD suite")
	}
	if !sh.ems && cfg.RequireExtendedMasterSecret {
		return fail(AlertHandshakeFailure, "server does not use the extended master secret, which is required")
	}
	c.serverRandom = slices.Clone(sh.random)
	c.transcript.Write(msg)

	msg, err = c.readHandshake()
	if err != nil {
		return err
	}
	hint := ""
	if msg[0] == typeServerKeyExchange {
		_, body, _ = splitHandshake(msg)
		if hint, ok = parsePSKString(body); !ok {
			return fail(AlertDecodeError, "malformed ServerKeyExchange")
		}
		c.transcript.Write(msg)
		if msg, err = c.readHandshake(); err != nil {
			return err
		}
	}
	typ, body, _ = splitHandshake(msg)
	if typ != typeServerHelloDone {
		// A Certificate or CertificateRequest is unexpected too: the PSK
		// suites use neither.
		return fail(AlertUnexpectedMessage, "expected ServerHelloDone, got handshake message type %d", typ)
	}
	if len(body) != 0 {
		return fail(AlertDecodeError, "malformed ServerHelloDone")
	}
	c.transcript.Write(msg)

	if err := c.writeHandshake(marshalPSKString(typeClientKeyExchange, cfg.Identity)); err != nil {
		return err
	}
	if err := c.establishKeys(s, cfg.Key, sh.ems, sh.etm); err != nil {
		return err
	}
	fin := handshakeMessage(typeFinished, finishedMAC(c.masterSecret, labelClientFinish, c.transcript.Sum(nil)))
	if err := c.writeChangeCipherSpec(); err != nil {
		return err
	}
	if err := c.writeHandshake(fin); err != nil {
		return err
	}
	if err := c.flushHandshake(); err != nil {
		return err
	}

	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	msg, err = c.readHandshake()
	if err != nil {
		return err
	}
	if err := c.checkFinished(msg, labelServerFinish); err != nil {
		return err
	}
	c.state = State{
		Version:              versionTLS12,
		CipherSuite:          s.id,
		Identity:             cfg.Identity,
		IdentityHint:         hint,
		ServerName:           cfg.ServerName,
		ExtendedMasterSecret: sh.ems,
		EncryptThenMAC:       sh.etm,
		SecureRenegotiation:  sh.hasRenegInfo,
	}
	return nil
}

// establishKeys derives the master secret (RFC 7627 when ems: the session
// hash is the transcript up to ClientKeyExchange, which both sides have just
// added) and prepares both directions' record protection.
func (c *Conn) establishKeys(s *suite, key []byte, ems, etm bool) error {
	pms := pskPremaster(key)
	if ems {
		c.masterSecret = extendedMasterSecret(pms, c.transcript.Sum(nil))
	} else {
		c.masterSecret = masterSecret(pms, c.clientRandom, c.serverRandom)
	}
	clear(pms)
	if w := c.config.KeyLogWriter; w != nil {
		fmt.Fprintf(w, "CLIENT_RANDOM %x %x\n", c.clientRandom, c.masterSecret)
	}
	kb := keyBlock(c.masterSecret, c.clientRandom, c.serverRandom, s.keyBlockLen())
	defer clear(kb)
	client, server := splitKeyBlock(kb, s)
	mine, theirs := server, client
	if c.isClient {
		mine, theirs = client, server
	}
	var err error
	if c.in.next, err = s.protection(theirs, etm); err != nil {
		return &AlertError{Alert: AlertInternalError, Err: err}
	}
	// The writer's state is guarded by out; the handshake goroutine is the
	// only one that touches it now, but take the lock for the race detector.
	c.out.Lock()
	c.out.next, err = s.protection(mine, etm)
	c.out.Unlock()
	if err != nil {
		return &AlertError{Alert: AlertInternalError, Err: err}
	}
	return nil
}

// checkFinished verifies the peer's Finished against the transcript so far
// (RFC 5246 7.4.9: decrypt_error when it does not match), and that no more
// handshake data follows it.
func (c *Conn) checkFinished(msg []byte, label string) error {
	typ, body, _ := splitHandshake(msg)
	if typ != typeFinished {
		return fail(AlertUnexpectedMessage, "expected Finished, got handshake message type %d", typ)
	}
	if len(body) != finishedLen {
		return fail(AlertDecodeError, "malformed Finished")
	}
	want := finishedMAC(c.masterSecret, label, c.transcript.Sum(nil))
	if !hmac.Equal(body, want) {
		return fail(AlertDecryptError, "peer's Finished does not verify")
	}
	if len(c.hand) > 0 {
		return fail(AlertUnexpectedMessage, "handshake data after Finished")
	}
	return nil
}

func versionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case versionTLS10:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case versionTLS12:
		return "TLS 1.2"
	case versionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("version %#04x", v)
}

func versionList(vs []uint16) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = versionName(v)
	}
	return strings.Join(names, ", ")
}

func suiteList(ids []uint16) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, CipherSuiteName(id))
	}
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("... (%d in all)", len(ids)))
	}
	return strings.Join(names, ", ")
}
