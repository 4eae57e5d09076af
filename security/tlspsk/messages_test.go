package tlspsk

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// recordsPayload joins the fragments of the records in b (the captures in
// testdata are the raw bytes a client sent first).
func recordsPayload(t testing.TB, b []byte) []byte {
	t.Helper()
	var out []byte
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatal("truncated record header")
		}
		n := int(b[3])<<8 | int(b[4])
		out = append(out, b[5:5+n]...)
		b = b[5+n:]
	}
	return out
}

func readClientHello(t testing.TB, file string) (*clientHello, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	msg := recordsPayload(t, raw)
	typ, body, ok := splitHandshake(msg)
	if !ok || typ != typeClientHello {
		t.Fatalf("%s: not one ClientHello", file)
	}
	ch, ok := parseClientHello(body)
	if !ok {
		t.Fatalf("%s: parseClientHello failed", file)
	}
	return ch, body
}

func extTypes(exts []extension) []uint16 {
	var ts []uint16
	for _, e := range exts {
		ts = append(ts, e.typ)
	}
	return ts
}

// Real ClientHellos captured from the tools (interop.md 1.4, 2.4), parsed
// field by field.
func TestParseCapturedClientHellos(t *testing.T) {
	for _, tc := range []struct {
		file       string
		sessionID  int
		suites     []uint16 // a subset that must be there
		nSuites    int
		exts       []uint16
		scsv       bool
		renegInfo  bool
		ems, etm   bool
		versions   []uint16
		serverName string
	}{
		{
			file: "clienthello-openssl-tls12.bin", nSuites: 2,
			suites: []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, scsvRenegotiation},
			exts:   []uint16{35, 22, 23, 13}, scsv: true, ems: true, etm: true,
		},
		{
			// OpenSSL's default: a TLS 1.3 ClientHello with a pre_shared_key
			// extension (last) and SNI; CCM_8 is not in its default list.
			file: "clienthello-openssl-default.bin", sessionID: 32, nSuites: 57,
			suites: []uint16{0x1301, TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256, scsvRenegotiation},
			exts:   []uint16{0, 11, 10, 35, 22, 23, 13, 43, 45, 51, 41}, scsv: true, ems: true, etm: true,
			versions: []uint16{0x0304, 0x0303, 0x0302, 0x0301}, serverName: "cse.example",
		},
		{
			file: "clienthello-gnutls-tls12.bin", nSuites: 1,
			suites: []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256},
			exts:   []uint16{5, 13, 22, 23, 35, 65281, 28}, renegInfo: true, ems: true, etm: true,
		},
	} {
		ch, body := readClientHello(t, tc.file)
		if ch.vers != versionTLS12 || len(ch.random) != 32 || len(ch.sessionID) != tc.sessionID {
			t.Errorf("%s: version %#x, random %d bytes, session id %d bytes", tc.file, ch.vers, len(ch.random), len(ch.sessionID))
		}
		for _, s := range tc.suites {
			if !slices.Contains(ch.suites, s) {
				t.Errorf("%s: suite %#04x missing from %x", tc.file, s, ch.suites)
			}
		}
		if len(ch.suites) != tc.nSuites {
			t.Errorf("%s: %d suites, want %d", tc.file, len(ch.suites), tc.nSuites)
		}
		if got := extTypes(ch.exts); !slices.Equal(got, tc.exts) {
			t.Errorf("%s: extensions %v, want %v", tc.file, got, tc.exts)
		}
		if ch.hasSCSV() != tc.scsv || ch.hasRenegInfo != tc.renegInfo || ch.ems != tc.ems || ch.etm != tc.etm {
			t.Errorf("%s: scsv %v renegotiation_info %v ems %v etm %v", tc.file, ch.hasSCSV(), ch.hasRenegInfo, ch.ems, ch.etm)
		}
		if !slices.Equal(ch.supportedVersions, tc.versions) || ch.serverName != tc.serverName {
			t.Errorf("%s: supported_versions %x, server name %q", tc.file, ch.supportedVersions, ch.serverName)
		}
		if !bytes.Equal(ch.compressions, []byte{0}) {
			t.Errorf("%s: compressions %x", tc.file, ch.compressions)
		}
		// Marshalling what was parsed gives back the same bytes.
		if again := ch.marshal(); !bytes.Equal(again[4:], body) {
			t.Errorf("%s: marshal does not reproduce the message", tc.file)
		}
	}
}

// validClientHello is a small well-formed ClientHello body to break.
func validClientHello() []byte {
	ch := &clientHello{
		vers: versionTLS12, random: make([]byte, 32), compressions: []byte{0},
		suites: []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256},
		exts:   []extension{{typ: extExtendedMasterSecret}, {typ: extRenegotiationInfo, data: []byte{0}}},
	}
	return ch.marshal()[4:]
}

func TestParseClientHelloMalformed(t *testing.T) {
	good := validClientHello()
	if _, ok := parseClientHello(good); !ok {
		t.Fatal("the valid ClientHello does not parse")
	}
	// Every truncation fails, except cutting the whole extension block,
	// which leaves a valid extension-less hello.
	extStart := 2 + 32 + 1 + 2 + 2 + 1 + 1
	for n := 0; n < len(good); n++ {
		_, ok := parseClientHello(good[:n])
		if ok != (n == extStart) {
			t.Errorf("truncated to %d bytes: ok = %v", n, ok)
		}
	}
	mk := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"trailing byte", mk(func(b []byte) []byte { return append(b, 0) })},
		{"session id of 33 bytes", func() []byte {
			ch := &clientHello{vers: versionTLS12, random: make([]byte, 32), sessionID: make([]byte, 33), suites: []uint16{1}, compressions: []byte{0}}
			return ch.marshal()[4:]
		}()},
		{"odd suite list", mk(func(b []byte) []byte { b[35] = 0; b[36] = 3; return b })},
		{"empty suite list", func() []byte {
			b := appendU16(nil, versionTLS12)
			b = append(b, make([]byte, 32)...)
			b = append(b, 0, 0, 0, 1, 0)
			return b
		}()},
		{"empty compression list", func() []byte {
			b := appendU16(nil, versionTLS12)
			b = append(b, make([]byte, 32)...)
			b = append(b, 0, 0, 2, 0, 0xae, 0)
			return b
		}()},
		{"extension block longer than the message", mk(func(b []byte) []byte { b[extStart+1]++; return b })},
		{"extension block shorter than the message", mk(func(b []byte) []byte { b[extStart+1]--; return b })},
		{"duplicate extension", func() []byte {
			ch := &clientHello{vers: versionTLS12, random: make([]byte, 32), suites: []uint16{1}, compressions: []byte{0},
				exts: []extension{{typ: 99}, {typ: 99}}}
			return ch.marshal()[4:]
		}()},
		{"extended_master_secret with data", withExt(extExtendedMasterSecret, []byte{0})},
		{"encrypt_then_mac with data", withExt(extEncryptThenMAC, []byte{0})},
		{"renegotiation_info without its length", withExt(extRenegotiationInfo, nil)},
		{"renegotiation_info with trailing data", withExt(extRenegotiationInfo, []byte{0, 0})},
		{"supported_versions odd", withExt(extSupportedVersions, []byte{3, 3, 3, 3})},
		{"supported_versions empty", withExt(extSupportedVersions, []byte{0})},
		{"server_name empty list", withExt(extServerName, []byte{0, 0})},
		{"server_name empty host", withExt(extServerName, []byte{0, 3, 0, 0, 0})},
		{"server_name truncated", withExt(extServerName, []byte{0, 5, 0, 0, 9, 'a'})},
	} {
		if _, ok := parseClientHello(tc.body); ok {
			t.Errorf("%s: parsed", tc.name)
		}
	}
	// Unknown extensions, whatever their content, are skipped.
	if _, ok := parseClientHello(withExt(0x1234, []byte{1, 2, 3})); !ok {
		t.Error("unknown extension refused")
	}
	if ch, ok := parseClientHello(withExt(extServerName, []byte{0, 14, 0, 0, 11, '1', '2', '7', '.', '0', '.', '0', '.', '1', 'x', 'y'})); !ok || ch.serverName != "127.0.0.1xy" {
		t.Error("server_name not read")
	}
}

func withExt(typ uint16, data []byte) []byte {
	ch := &clientHello{vers: versionTLS12, random: make([]byte, 32), suites: []uint16{1}, compressions: []byte{0},
		exts: []extension{{typ: typ, data: data}}}
	return ch.marshal()[4:]
}

func TestParseServerHello(t *testing.T) {
	sh := &serverHello{vers: versionTLS12, random: bytes.Repeat([]byte{1}, 32), sessionID: []byte{9, 9}, suite: TLS_PSK_WITH_AES_128_CCM_8,
		exts: []extension{{typ: extRenegotiationInfo, data: []byte{0}}, {typ: extExtendedMasterSecret}, {typ: extEncryptThenMAC}, {typ: 35}}}
	body := sh.marshal()[4:]
	got, ok := parseServerHello(body)
	if !ok || got.suite != sh.suite || !got.ems || !got.etm || !got.hasRenegInfo || len(got.renegInfo) != 0 || !bytes.Equal(got.sessionID, sh.sessionID) {
		t.Fatalf("parse: %+v %v", got, ok)
	}
	extStart := 2 + 32 + 1 + 2 + 2 + 1
	for n := 0; n < len(body); n++ {
		if _, ok := parseServerHello(body[:n]); ok != (n == extStart) {
			t.Errorf("truncated to %d: ok = %v", n, ok)
		}
	}
	if _, ok := parseServerHello(append(append([]byte(nil), body...), 0)); ok {
		t.Error("trailing byte accepted")
	}
}

func TestPSKStrings(t *testing.T) {
	for _, s := range []string{"", "onecse-ae-1", "test@onem2m.com", string(bytes.Repeat([]byte{'a'}, 0xffff))} {
		msg := marshalPSKString(typeClientKeyExchange, s)
		typ, body, ok := splitHandshake(msg)
		if !ok || typ != typeClientKeyExchange {
			t.Fatal("framing")
		}
		got, ok := parsePSKString(body)
		if !ok || got != s {
			t.Fatalf("round trip of a %d-byte identity", len(s))
		}
	}
	for _, b := range [][]byte{nil, {0}, {0, 2, 'a'}, {0, 1, 'a', 'b'}} {
		if _, ok := parsePSKString(b); ok {
			t.Errorf("%x parsed", b)
		}
	}
}

func TestSplitHandshake(t *testing.T) {
	msg := handshakeMessage(typeFinished, make([]byte, 12))
	if typ, body, ok := splitHandshake(msg); !ok || typ != typeFinished || len(body) != 12 {
		t.Fatal("valid message")
	}
	for _, b := range [][]byte{nil, {20}, {20, 0, 0}, {20, 0, 0, 1}, append(append([]byte(nil), msg...), 0)} {
		if _, _, ok := splitHandshake(b); ok {
			t.Errorf("%x split", b)
		}
	}
}
