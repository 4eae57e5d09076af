package tlspsk

import (
	"bytes"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// Fuzz targets for everything that parses peer input: the handshake
// message parsers, both handshake state machines fed arbitrary streams, and
// the record layer under each suite's protection. None may panic, loop or
// accept what it should not. Run one with an anchored pattern:
//
//	go test -run '^$' -fuzz '^FuzzServerHandshake$' -fuzztime 30s ./security/tlspsk

// memConn is a net.Conn that reads a fixed stream and swallows writes.
type memConn struct {
	r *bytes.Reader
}

func (m *memConn) Read(b []byte) (int, error)       { return m.r.Read(b) }
func (m *memConn) Write(b []byte) (int, error)      { return len(b), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// zeroRand makes randoms fixed, so a crasher reproduces.
type zeroRand struct{}

func (zeroRand) Read(b []byte) (int, error) { clear(b); return len(b), nil }

func captured(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"clienthello-openssl-tls12.bin", "clienthello-openssl-default.bin", "clienthello-gnutls-tls12.bin"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzClientHello(f *testing.F) {
	for _, raw := range captured(f) {
		f.Add(recordsPayload(f, raw)[4:])
	}
	f.Add(validClientHello())
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, ok := parseClientHello(body)
		if !ok {
			return
		}
		// What parses re-encodes to the same bytes and the same meaning.
		again := ch.marshal()[4:]
		if !bytes.Equal(again, body) {
			// The only legitimate difference: an empty extension block
			// written explicitly (two zero bytes) versus left out.
			if !(len(ch.exts) == 0 && len(body) == len(again)+2) {
				t.Fatalf("re-encoding differs:\n%x\n%x", body, again)
			}
		}
		ch2, ok := parseClientHello(again)
		if !ok || ch2.vers != ch.vers || !slices.Equal(ch2.suites, ch.suites) || ch2.serverName != ch.serverName ||
			ch2.ems != ch.ems || ch2.etm != ch.etm || ch2.hasRenegInfo != ch.hasRenegInfo || !slices.Equal(ch2.supportedVersions, ch.supportedVersions) {
			t.Fatal("re-parse differs")
		}
	})
}

func FuzzServerHello(f *testing.F) {
	sh := &serverHello{vers: versionTLS12, random: make([]byte, 32), suite: TLS_PSK_WITH_AES_128_CBC_SHA256,
		exts: []extension{{typ: extRenegotiationInfo, data: []byte{0}}, {typ: extEncryptThenMAC}, {typ: extExtendedMasterSecret}}}
	f.Add(sh.marshal()[4:])
	sh.exts = nil
	f.Add(sh.marshal()[4:])
	f.Fuzz(func(t *testing.T, body []byte) {
		m, ok := parseServerHello(body)
		if !ok {
			return
		}
		m2, ok := parseServerHello(m.marshal()[4:])
		if !ok || m2.suite != m.suite || m2.vers != m.vers || m2.ems != m.ems || m2.etm != m.etm || !bytes.Equal(m2.renegInfo, m.renegInfo) {
			t.Fatal("re-parse differs")
		}
	})
}

// FuzzPSKKeyExchange covers ClientKeyExchange and ServerKeyExchange, which
// share their encoding.
func FuzzPSKKeyExchange(f *testing.F) {
	f.Add(appendVec16(nil, []byte("onecse-ae-1")))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		s, ok := parsePSKString(body)
		if !ok {
			return
		}
		if !bytes.Equal(marshalPSKString(typeClientKeyExchange, s)[4:], body) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzServerHandshake feeds a server an arbitrary client stream.
func FuzzServerHandshake(f *testing.F) {
	for _, raw := range captured(f) {
		f.Add(raw)
	}
	cke := hs(typeClientKeyExchange, appendVec16(nil, []byte(testIdentity)))
	ccs := record(recordChangeCipherSpec, versionTLS12, []byte{1})
	f.Add(goodClientHello(nil))
	f.Add(slices.Concat(goodClientHello(nil), cke, ccs, record(recordHandshake, versionTLS12, make([]byte, 40))))
	f.Add(slices.Concat(goodClientHello(func(ch *clientHello) { ch.suites = []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256} }), cke, ccs,
		record(recordHandshake, versionTLS12, make([]byte, 80))))
	f.Fuzz(func(t *testing.T, stream []byte) {
		cfg := serverConfig()
		cfg.Rand = zeroRand{}
		c := Server(&memConn{r: bytes.NewReader(stream)}, cfg)
		if err := c.Handshake(); err == nil {
			t.Fatal("a handshake completed without the key being used")
		}
	})
}

// FuzzClientHandshake feeds a client an arbitrary server stream.
func FuzzClientHandshake(f *testing.F) {
	sh := &serverHello{vers: versionTLS12, random: make([]byte, 32), suite: TLS_PSK_WITH_AES_128_GCM_SHA256,
		exts: []extension{{typ: extRenegotiationInfo, data: []byte{0}}, {typ: extExtendedMasterSecret}}}
	shRec := record(recordHandshake, versionTLS12, sh.marshal())
	ske := hs(typeServerKeyExchange, appendVec16(nil, []byte(testHint)))
	shd := hs(typeServerHelloDone, nil)
	ccs := record(recordChangeCipherSpec, versionTLS12, []byte{1})
	f.Add(shRec)
	f.Add(slices.Concat(shRec, ske, shd))
	f.Add(slices.Concat(shRec, shd, ccs, record(recordHandshake, versionTLS12, make([]byte, 40))))
	f.Fuzz(func(t *testing.T, stream []byte) {
		cfg := clientConfig()
		cfg.Rand = zeroRand{}
		c := Client(&memConn{r: bytes.NewReader(stream)}, cfg)
		if err := c.Handshake(); err == nil {
			t.Fatal("a handshake completed without the key being used")
		}
	})
}

// FuzzRecordLayer runs Read over an arbitrary stream on a connection
// whose handshake is done, under each suite's protection (chosen by the
// first byte). Seeds are valid records, so mutations reach the decryption,
// padding and length checks.
func FuzzRecordLayer(f *testing.F) {
	cases := protCases()
	for i, pc := range cases {
		w, _ := protPair(f, pc.suite, pc.etm)
		var stream []byte
		seq := make([]byte, 8)
		for j, msg := range []string{"hello", "", "a longer message of some bytes"} {
			seq[7] = byte(j)
			frag, err := w.seal(nil, seq, hdrFor(recordApplicationData, len(msg)), []byte(msg), zeroRand{})
			if err != nil {
				f.Fatal(err)
			}
			stream = append(stream, record(recordApplicationData, versionTLS12, frag)...)
		}
		f.Add(append([]byte{byte(i)}, stream...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		pc := cases[int(data[0])%len(cases)]
		_, r := protPair(t, pc.suite, pc.etm)
		c := Server(&memConn{r: bytes.NewReader(data[1:])}, serverConfig())
		c.in.prot = r
		c.haveVers = true
		c.handshakeDone.Store(true)
		buf := make([]byte, 100)
		total := 0
		for range 1000 {
			n, err := c.Read(buf)
			total += n
			if err != nil {
				if total > len(data) {
					t.Fatalf("read %d bytes of plaintext from %d bytes of input", total, len(data))
				}
				return
			}
		}
		t.Fatal("Read kept returning without error")
	})
}
