package tlspsk

import (
	"slices"
)

// Handshake messages of a PSK handshake (RFC 5246 7.4, RFC 4279 section 2)
// and the extensions this package understands. Parsers are strict: every
// length is checked, trailing bytes are an error, and a parser returns false
// for anything malformed (the caller answers decode_error). Semantic checks
// (versions, suites, which extensions are allowed) are the handshake's.

// Handshake message types.
const (
	typeHelloRequest       uint8 = 0
	typeClientHello        uint8 = 1
	typeServerHello        uint8 = 2
	typeNewSessionTicket   uint8 = 4
	typeCertificate        uint8 = 11
	typeServerKeyExchange  uint8 = 12
	typeCertificateRequest uint8 = 13
	typeServerHelloDone    uint8 = 14
	typeCertificateVerify  uint8 = 15
	typeClientKeyExchange  uint8 = 16
	typeFinished           uint8 = 20
)

// Extension types.
const (
	extServerName           uint16 = 0     // RFC 6066 3
	extEncryptThenMAC       uint16 = 22    // RFC 7366
	extExtendedMasterSecret uint16 = 23    // RFC 7627
	extSupportedVersions    uint16 = 43    // RFC 8446 4.2.1, only read to spot TLS 1.3-only clients
	extRenegotiationInfo    uint16 = 65281 // RFC 5746
)

const (
	versionTLS10 uint16 = 0x0301
	versionTLS12 uint16 = 0x0303
	versionTLS13 uint16 = 0x0304
)

// maxSessionID is the longest session_id (RFC 5246 7.4.1.2).
const maxSessionID = 32

// handshakeMessage frames a body as a handshake message: type, uint24
// length, body.
func handshakeMessage(typ uint8, body []byte) []byte {
	m := make([]byte, 0, 4+len(body))
	m = append(m, typ)
	m = appendU24(m, len(body))
	return append(m, body...)
}

// splitHandshake checks the framing of one whole handshake message and
// returns its type and body.
func splitHandshake(msg []byte) (typ uint8, body []byte, ok bool) {
	r := reader(msg)
	var n uint32
	if !r.u8(&typ) || !r.u24(&n) || !r.bytes(int(n), &body) || !r.empty() {
		return 0, nil, false
	}
	return typ, body, true
}

type extension struct {
	typ  uint16
	data []byte
}

// parseExtensions reads the optional extensions block at the end of a hello
// (RFC 5246 7.4.1.2: absent entirely, or a uint16-prefixed list that fills
// the rest of the message). Duplicates are an error (7.4.1.4).
func parseExtensions(r *reader) ([]extension, bool) {
	if r.empty() {
		return nil, true
	}
	var block []byte
	if !r.vec16(&block) || !r.empty() {
		return nil, false
	}
	var exts []extension
	br := reader(block)
	for !br.empty() {
		var e extension
		if !br.u16(&e.typ) || !br.vec16(&e.data) {
			return nil, false
		}
		for _, prev := range exts {
			if prev.typ == e.typ {
				return nil, false
			}
		}
		exts = append(exts, e)
	}
	return exts, true
}

func appendExtensions(b []byte, exts []extension) []byte {
	if len(exts) == 0 {
		return b
	}
	var block []byte
	for _, e := range exts {
		block = appendU16(block, e.typ)
		block = appendVec16(block, e.data)
	}
	return appendVec16(b, block)
}

// clientHello is what this package reads from a ClientHello.
type clientHello struct {
	vers         uint16
	random       []byte
	sessionID    []byte
	suites       []uint16
	compressions []byte
	exts         []extension // all of them, in order

	// From the extensions.
	serverName        string // host_name of server_name, "" if none
	hasRenegInfo      bool
	renegInfo         []byte // renegotiated_connection
	ems               bool
	etm               bool
	supportedVersions []uint16 // nil when the extension is absent
}

// hasSCSV reports whether the suites carry the renegotiation SCSV.
func (m *clientHello) hasSCSV() bool { return slices.Contains(m.suites, scsvRenegotiation) }

func parseClientHello(body []byte) (*clientHello, bool) {
	m := &clientHello{}
	r := reader(body)
	var suites []byte
	if !r.u16(&m.vers) || !r.bytes(randomLen, &m.random) || !r.vec8(&m.sessionID) ||
		len(m.sessionID) > maxSessionID || !r.vec16(&suites) || len(suites) < 2 || len(suites)%2 != 0 ||
		!r.vec8(&m.compressions) || len(m.compressions) < 1 {
		return nil, false
	}
	for i := 0; i < len(suites); i += 2 {
		m.suites = append(m.suites, uint16(suites[i])<<8|uint16(suites[i+1]))
	}
	var ok bool
	if m.exts, ok = parseExtensions(&r); !ok {
		return nil, false
	}
	for _, e := range m.exts {
		d := reader(e.data)
		switch e.typ {
		case extServerName:
			name, ok := parseServerName(d)
			if !ok {
				return nil, false
			}
			m.serverName = name
		case extRenegotiationInfo:
			if !d.vec8(&m.renegInfo) || !d.empty() {
				return nil, false
			}
			m.hasRenegInfo = true
		case extExtendedMasterSecret:
			if !d.empty() {
				return nil, false
			}
			m.ems = true
		case extEncryptThenMAC:
			if !d.empty() {
				return nil, false
			}
			m.etm = true
		case extSupportedVersions:
			var list []byte
			if !d.vec8(&list) || !d.empty() || len(list) < 2 || len(list)%2 != 0 {
				return nil, false
			}
			m.supportedVersions = []uint16{}
			for i := 0; i < len(list); i += 2 {
				m.supportedVersions = append(m.supportedVersions, uint16(list[i])<<8|uint16(list[i+1]))
			}
		}
		// Everything else (session_ticket, signature_algorithms,
		// supported_groups, key_share, pre_shared_key, status_request,
		// record_size_limit, padding, ...) is ignored: RFC 5246 7.4.1.4 lets
		// a server ignore extensions it does not know, and none of them
		// apply to a TLS 1.2 PSK handshake without resumption.
	}
	return m, true
}

// parseServerName reads the server_name extension (RFC 6066 3) and returns
// the first host_name. Names of other types are skipped. The host name is
// kept as sent, IP literals included (Mosquitto sends them).
func parseServerName(d reader) (string, bool) {
	var list []byte
	if !d.vec16(&list) || !d.empty() || len(list) == 0 {
		return "", false
	}
	lr := reader(list)
	name := ""
	for !lr.empty() {
		var typ uint8
		var n []byte
		if !lr.u8(&typ) || !lr.vec16(&n) {
			return "", false
		}
		if typ == 0 && name == "" {
			if len(n) == 0 {
				return "", false
			}
			name = string(n)
		}
	}
	return name, true
}

func (m *clientHello) marshal() []byte {
	b := appendU16(nil, m.vers)
	b = append(b, m.random...)
	b = appendVec8(b, m.sessionID)
	var suites []byte
	for _, s := range m.suites {
		suites = appendU16(suites, s)
	}
	b = appendVec16(b, suites)
	b = appendVec8(b, m.compressions)
	b = appendExtensions(b, m.exts)
	return handshakeMessage(typeClientHello, b)
}

// serverHello is a ServerHello.
type serverHello struct {
	vers        uint16
	random      []byte
	sessionID   []byte
	suite       uint16
	compression uint8
	exts        []extension

	hasRenegInfo bool
	renegInfo    []byte
	ems          bool
	etm          bool
}

func parseServerHello(body []byte) (*serverHello, bool) {
	m := &serverHello{}
	r := reader(body)
	if !r.u16(&m.vers) || !r.bytes(randomLen, &m.random) || !r.vec8(&m.sessionID) ||
		len(m.sessionID) > maxSessionID || !r.u16(&m.suite) || !r.u8(&m.compression) {
		return nil, false
	}
	var ok bool
	if m.exts, ok = parseExtensions(&r); !ok {
		return nil, false
	}
	for _, e := range m.exts {
		d := reader(e.data)
		switch e.typ {
		case extRenegotiationInfo:
			if !d.vec8(&m.renegInfo) || !d.empty() {
				return nil, false
			}
			m.hasRenegInfo = true
		case extExtendedMasterSecret:
			if !d.empty() {
				return nil, false
			}
			m.ems = true
		case extEncryptThenMAC:
			if !d.empty() {
				return nil, false
			}
			m.etm = true
		}
		// The client checks that every extension here is one it offered.
	}
	return m, true
}

func (m *serverHello) marshal() []byte {
	b := appendU16(nil, m.vers)
	b = append(b, m.random...)
	b = appendVec8(b, m.sessionID)
	b = appendU16(b, m.suite)
	b = append(b, m.compression)
	b = appendExtensions(b, m.exts)
	return handshakeMessage(typeServerHello, b)
}

// The PSK key exchange messages (RFC 4279 section 2) each carry one
// uint16-prefixed string: the identity hint in ServerKeyExchange, the
// identity in ClientKeyExchange. RFC 4279 5.3 requires support for up to
// 128 bytes; the encoding allows 2^16-1, and so does this package.

func parsePSKString(body []byte) (string, bool) {
	r := reader(body)
	var s []byte
	if !r.vec16(&s) || !r.empty() {
		return "", false
	}
	return string(s), true
}

func marshalPSKString(typ uint8, s string) []byte {
	return handshakeMessage(typ, appendVec16(nil, []byte(s)))
}
