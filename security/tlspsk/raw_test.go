package tlspsk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

var (
	certOnce sync.Once
	cert     tls.Certificate
)

// testCert is a throwaway self-signed certificate for crypto/tls peers.
func testCert(t testing.TB) tls.Certificate {
	certOnce.Do(func() {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"test"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return cert
}

// record frames a plaintext record.
func record(typ recordType, vers uint16, data []byte) []byte {
	b := []byte{byte(typ), byte(vers >> 8), byte(vers), byte(len(data) >> 8), byte(len(data))}
	return append(b, data...)
}

func hs(typ uint8, body []byte) []byte {
	return record(recordHandshake, versionTLS12, handshakeMessage(typ, body))
}

// goodClientHello is a ClientHello the test server accepts.
func goodClientHello(mod func(*clientHello)) []byte {
	ch := &clientHello{vers: versionTLS12, random: make([]byte, 32), compressions: []byte{0},
		suites: []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256},
		exts:   []extension{{typ: extRenegotiationInfo, data: []byte{0}}}}
	if mod != nil {
		mod(ch)
	}
	return record(recordHandshake, versionTLS10, ch.marshal())
}

// plaintextAlerts reads plaintext records from c until EOF and returns the
// alerts among them.
func plaintextAlerts(t *testing.T, c net.Conn) []Alert {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, _ := io.ReadAll(c)
	var alerts []Alert
	for len(all) >= 5 {
		n := int(all[3])<<8 | int(all[4])
		if len(all) < 5+n {
			break
		}
		if all[0] == byte(recordAlert) && n == 2 {
			alerts = append(alerts, Alert(all[6]))
		}
		all = all[5+n:]
	}
	return alerts
}

// A server fed crafted bytes answers each protocol violation with the
// right fatal alert (before any keys exist, so the alerts are readable).
func TestServerRejects(t *testing.T) {
	cke := hs(typeClientKeyExchange, appendVec16(nil, []byte(testIdentity)))
	ccs := record(recordChangeCipherSpec, versionTLS12, []byte{1})
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		input []byte
		want  Alert
	}{
		{"application data first", record(recordApplicationData, versionTLS12, []byte("x")), AlertUnexpectedMessage},
		{"ChangeCipherSpec first", ccs, AlertUnexpectedMessage},
		{"plain HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), AlertProtocolVersion},
		{"SSLv2 ClientHello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}, AlertProtocolVersion},
		{"record beyond 2^14 before encryption", []byte{22, 3, 1, 0x40, 0x01}, AlertRecordOverflow},
		{"empty handshake record", record(recordHandshake, versionTLS10, nil), AlertUnexpectedMessage},
		{"handshake message of 128 KiB", record(recordHandshake, versionTLS10, []byte{1, 2, 0, 0}), AlertDecodeError},
		{"unknown record type", record(24, versionTLS12, []byte{1, 0, 0}), AlertUnexpectedMessage},
		{"alert of three bytes", record(recordAlert, versionTLS12, []byte{1, 0, 0}), AlertDecodeError},
		{"alert of level 3", record(recordAlert, versionTLS12, []byte{3, 10}), AlertIllegalParameter},
		{"ServerHello sent to a server", hs(typeServerHello, make([]byte, 38)), AlertUnexpectedMessage},
		{"malformed ClientHello", hs(typeClientHello, []byte{3, 3, 0}), AlertDecodeError},
		{"ClientHello with trailing byte", hs(typeClientHello, append(goodClientHello(nil)[9:], 0)), AlertDecodeError},
		{"TLS 1.0 client", goodClientHello(func(ch *clientHello) { ch.vers = versionTLS10 }), AlertProtocolVersion},
		{"TLS 1.1 client", goodClientHello(func(ch *clientHello) { ch.vers = 0x0302 }), AlertProtocolVersion},
		{"TLS 1.3 only client", goodClientHello(func(ch *clientHello) {
			ch.exts = append(ch.exts, extension{typ: extSupportedVersions, data: []byte{2, 3, 4}})
		}), AlertProtocolVersion},
		{"no null compression", goodClientHello(func(ch *clientHello) { ch.compressions = []byte{1} }), AlertHandshakeFailure},
		{"non-empty renegotiation_info", goodClientHello(func(ch *clientHello) {
			ch.exts = []extension{{typ: extRenegotiationInfo, data: []byte{12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}
		}), AlertHandshakeFailure},
		{"no common suite", goodClientHello(func(ch *clientHello) { ch.suites = []uint16{0x002f, 0xc02b, 0x1301} }), AlertHandshakeFailure},
		{"Finished instead of ClientKeyExchange", cat(goodClientHello(nil), hs(typeFinished, make([]byte, 12))), AlertUnexpectedMessage},
		{"ClientKeyExchange with trailing byte", cat(goodClientHello(nil), hs(typeClientKeyExchange, append(appendVec16(nil, []byte(testIdentity)), 0))), AlertDecodeError},
		{"record version 0x0301 after the hello", cat(goodClientHello(nil), record(recordHandshake, versionTLS10, handshakeMessage(typeClientKeyExchange, appendVec16(nil, []byte(testIdentity))))), AlertProtocolVersion},
		{"application data instead of ChangeCipherSpec", cat(goodClientHello(nil), cke, record(recordApplicationData, versionTLS12, []byte("x"))), AlertUnexpectedMessage},
		{"handshake instead of ChangeCipherSpec", cat(goodClientHello(nil), cke, hs(typeFinished, make([]byte, 12))), AlertUnexpectedMessage},
		{"ChangeCipherSpec of two bytes", cat(goodClientHello(nil), cke, record(recordChangeCipherSpec, versionTLS12, []byte{1, 1})), AlertDecodeError},
		{"ChangeCipherSpec splitting a handshake message", cat(goodClientHello(nil), record(recordHandshake, versionTLS12, cke[5:8]), ccs), AlertUnexpectedMessage},
		{"plaintext Finished after ChangeCipherSpec", cat(goodClientHello(nil), cke, ccs, hs(typeFinished, make([]byte, 12))), AlertBadRecordMAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, rs := tcpPair(t)
			s := Server(rs, serverConfig())
			serr := make(chan error, 1)
			go func() {
				err := s.Handshake()
				rs.Close()
				serr <- err
			}()
			rc.Write(tc.input)
			alerts := plaintextAlerts(t, rc)
			err := <-serr
			wantAlert(t, "server", err, tc.want, false)
			if len(alerts) != 1 || alerts[0] != tc.want {
				t.Fatalf("alerts on the wire %v, want [%v]", alerts, tc.want)
			}
		})
	}
}

// A client talking to a crafted server refuses each bad answer with the
// right alert.
func TestClientRejects(t *testing.T) {
	sh := func(mod func(*serverHello)) []byte {
		m := &serverHello{vers: versionTLS12, random: make([]byte, 32), suite: TLS_PSK_WITH_AES_128_GCM_SHA256,
			exts: []extension{{typ: extRenegotiationInfo, data: []byte{0}}, {typ: extExtendedMasterSecret}}}
		if mod != nil {
			mod(m)
		}
		return record(recordHandshake, versionTLS12, m.marshal())
	}
	shd := hs(typeServerHelloDone, nil)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		input []byte
		want  Alert
	}{
		{"TLS 1.0 ServerHello", sh(func(m *serverHello) { m.vers = versionTLS10 }), AlertProtocolVersion},
		{"TLS 1.3 version in ServerHello", sh(func(m *serverHello) { m.vers = versionTLS13 }), AlertProtocolVersion},
		{"suite not offered", sh(func(m *serverHello) { m.suite = TLS_PSK_WITH_AES_128_CCM_8 }), AlertIllegalParameter},
		{"compression", sh(func(m *serverHello) { m.compression = 1 }), AlertIllegalParameter},
		{"no renegotiation_info", sh(func(m *serverHello) { m.exts = m.exts[1:] }), AlertHandshakeFailure},
		{"non-empty renegotiation_info", sh(func(m *serverHello) { m.exts[0].data = []byte{2, 1, 1} }), AlertHandshakeFailure},
		{"unsolicited session_ticket", sh(func(m *serverHello) { m.exts = append(m.exts, extension{typ: 35}) }), AlertUnsupportedExtension},
		{"encrypt_then_mac with GCM", sh(func(m *serverHello) { m.exts = append(m.exts, extension{typ: extEncryptThenMAC}) }), AlertIllegalParameter},
		{"malformed ServerHello", hs(typeServerHello, []byte{3, 3}), AlertDecodeError},
		{"Certificate", cat(sh(nil), hs(typeCertificate, []byte{0, 0, 0})), AlertUnexpectedMessage},
		{"malformed ServerKeyExchange", cat(sh(nil), hs(typeServerKeyExchange, []byte{0, 5, 'x'})), AlertDecodeError},
		{"ServerHelloDone with a body", cat(sh(nil), hs(typeServerHelloDone, []byte{0})), AlertDecodeError},
		{"application data in the handshake", cat(sh(nil), record(recordApplicationData, versionTLS12, []byte("x"))), AlertUnexpectedMessage},
		{"ClientHello sent to a client", hs(typeClientHello, make([]byte, 40)), AlertUnexpectedMessage},
		{"NewSessionTicket instead of ChangeCipherSpec", cat(sh(nil), shd, hs(typeNewSessionTicket, make([]byte, 6))), AlertUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, rs := tcpPair(t)
			cerr := make(chan error, 1)
			cc := clientConfig()
			cc.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CBC_SHA256}
			go func() {
				err := Client(rc, cc).Handshake()
				rc.Close()
				cerr <- err
			}()
			// Read the ClientHello, answer.
			buf := make([]byte, 4096)
			rs.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := rs.Read(buf); err != nil {
				t.Fatal(err)
			}
			rs.Write(tc.input)
			all, _ := io.ReadAll(rs)
			err := <-cerr
			wantAlert(t, "client", err, tc.want, false)
			// The alert is the last record the client sent; it is in
			// plaintext unless the client had already switched keys.
			var last []byte
			for len(all) >= 5 {
				n := int(all[3])<<8 | int(all[4])
				if len(all) < 5+n {
					t.Fatalf("truncated record in %x", all)
				}
				last, all = all[:5+n], all[5+n:]
			}
			if len(last) == 0 || last[0] != byte(recordAlert) {
				t.Fatalf("the last record %x is not an alert", last)
			}
			if len(last) == 7 && (last[5] != alertLevelFatal || Alert(last[6]) != tc.want) {
				t.Fatalf("alert %x on the wire, want fatal %v", last[5:], tc.want)
			}
		})
	}
}

// A HelloRequest during the handshake is ignored (RFC 5246 7.4.1.1).
func TestClientIgnoresHelloRequestInHandshake(t *testing.T) {
	rc, rs := tcpPair(t)
	s := Server(&prefixWriter{Conn: rs, prefix: hs(typeHelloRequest, nil)}, serverConfig())
	go s.Handshake()
	if err := Client(rc, clientConfig()).Handshake(); err != nil {
		t.Fatal(err)
	}
}

// prefixWriter sends prefix before the first write.
type prefixWriter struct {
	net.Conn
	prefix []byte
	once   sync.Once
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.once.Do(func() { p.Conn.Write(p.prefix) })
	return p.Conn.Write(b)
}

// After the handshake, renegotiation is refused with a no_renegotiation
// warning and the connection carries on; a flood of requests ends it.
func TestRenegotiationRefused(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(), serverConfig())
	inject := func(from *Conn, msg []byte) {
		from.out.Lock()
		defer from.out.Unlock()
		if err := from.writeRecords(recordHandshake, msg); err != nil {
			t.Fatal(err)
		}
		if err := from.flush(); err != nil {
			t.Fatal(err)
		}
	}
	// The client asks to renegotiate; the server answers with a warning
	// when it reads the request, and carries on.
	got := make([]byte, 5)
	inject(c, goodClientHello(nil)[5:])
	c.Write([]byte("x"))
	if _, err := io.ReadFull(s, got[:1]); err != nil || got[0] != 'x' {
		t.Fatalf("server read %q, %v", got[:1], err)
	}
	s.Write([]byte("after"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "after" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if c.lastWarning != AlertNoRenegotiation {
		t.Fatalf("client's last warning %v, want no_renegotiation", c.lastWarning)
	}

	// The server asks (HelloRequest); the client refuses the same way.
	inject(s, handshakeMessage(typeHelloRequest, nil))
	s.Write([]byte("z"))
	if _, err := io.ReadFull(c, got[:1]); err != nil || got[0] != 'z' {
		t.Fatalf("client read after HelloRequest: %q %v", got[:1], err)
	}
	c.Write([]byte("w"))
	if _, err := io.ReadFull(s, got[:1]); err != nil || got[0] != 'w' || s.lastWarning != AlertNoRenegotiation {
		t.Fatalf("server read %q, %v, last warning %v", got[:1], err, s.lastWarning)
	}

	// Other handshake messages after the handshake are fatal.
	inject(c, handshakeMessage(typeFinished, make([]byte, 12)))
	_, err := s.Read(got)
	wantAlert(t, "server", err, AlertUnexpectedMessage, false)

	// Endless renegotiation requests end in unexpected_message.
	c2, s2 := mustHandshake(t, clientConfig(), serverConfig())
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		c2.out.Lock()
		defer c2.out.Unlock()
		for range maxUselessRecords + 2 {
			// Errors are expected once the server gives up.
			if c2.writeRecords(recordHandshake, goodClientHello(nil)[5:]) != nil || c2.flush() != nil {
				return
			}
		}
	}()
	go io.Copy(io.Discard, c2)
	_, err = s2.Read(got)
	wantAlert(t, "server after a flood", err, AlertUnexpectedMessage, false)
	<-flooded
}

// Empty application data records are allowed (some stacks send them) but
// not without end; the sequence number never wraps.
func TestEmptyRecords(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(), serverConfig())
	send := func(n int, data string) {
		c.out.Lock()
		defer c.out.Unlock()
		for range n {
			if err := c.appendRecord(recordApplicationData, nil); err != nil {
				t.Fatal(err)
			}
		}
		if data != "" {
			c.appendRecord(recordApplicationData, []byte(data))
		}
		if err := c.flush(); err != nil {
			t.Fatal(err)
		}
	}
	send(maxUselessRecords, "ok")
	buf := make([]byte, 2)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("after %d empty records: %q, %v", maxUselessRecords, buf, err)
	}
	send(maxUselessRecords+1, "no")
	_, err := s.Read(buf)
	wantAlert(t, "server", err, AlertUnexpectedMessage, false)

	var hc halfConn
	for i := range hc.seq {
		hc.seq[i] = 0xff
	}
	hc.seq[7] = 0xfe
	if err := hc.incSeq(); err != nil {
		t.Fatal("the last sequence number refused")
	}
	if err := hc.incSeq(); err == nil {
		t.Fatal("the sequence number wrapped")
	}
}
