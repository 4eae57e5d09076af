package tlspsk

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	testIdentity = "onecse-ae-1"
	testKey      = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	testHint     = "onecse-hint"
)

func serverConfig() *Config {
	return &Config{
		GetKey: func(id string) ([]byte, error) {
			if id == testIdentity {
				return testKey, nil
			}
			return nil, nil
		},
		IdentityHint: testHint,
	}
}

func clientConfig() *Config {
	return &Config{Identity: testIdentity, Key: testKey}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// handshake runs both sides over loopback TCP and returns both ends and
// both handshake errors.
func handshake(t testing.TB, ccfg, scfg *Config) (c, s *Conn, cerr, serr error) {
	t.Helper()
	rc, rs := tcpPair(t)
	c, s = Client(rc, ccfg), Server(rs, scfg)
	done := make(chan error, 1)
	go func() { done <- s.Handshake() }()
	cerr = c.Handshake()
	if cerr != nil {
		// The server may wait for more from a client that gave up; let it
		// see the end.
		rc.Close()
	}
	select {
	case serr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("server handshake did not end")
	}
	return c, s, cerr, serr
}

func mustHandshake(t testing.TB, ccfg, scfg *Config) (*Conn, *Conn) {
	t.Helper()
	c, s, cerr, serr := handshake(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	return c, s
}

// alertOf returns the alert of err and whether it was received.
func alertOf(err error) (Alert, bool, bool) {
	var ae *AlertError
	if !errors.As(err, &ae) {
		return 0, false, false
	}
	return ae.Alert, ae.Received, true
}

func wantAlert(t *testing.T, who string, err error, a Alert, received bool) {
	t.Helper()
	got, rcv, ok := alertOf(err)
	if !ok || got != a || rcv != received {
		verb := "send"
		if received {
			verb = "receive"
		}
		t.Fatalf("%s: error %v; want it to %s %s", who, err, verb, a)
	}
}

// exchange sends a message each way and checks both arrive.
func exchange(t *testing.T, c, s *Conn) {
	t.Helper()
	for _, dir := range []struct {
		from, to *Conn
		msg      string
	}{{c, s, "ping from the client"}, {s, c, "pong from the server"}} {
		errc := make(chan error, 1)
		go func() {
			_, err := dir.from.Write([]byte(dir.msg))
			errc <- err
		}()
		buf := make([]byte, len(dir.msg))
		if _, err := io.ReadFull(dir.to, buf); err != nil || string(buf) != dir.msg {
			t.Fatalf("read %q, %v; want %q", buf, err, dir.msg)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// Every suite, with and without the extended master secret, and for the
// CBC suite with and without encrypt-then-MAC, whichever side declines it.
func TestHandshakeMatrix(t *testing.T) {
	type variant struct {
		name                   string
		cNoEMS, sNoEMS         bool
		cNoETM, sNoETM         bool
		wantEMS, wantETMForCBC bool
	}
	variants := []variant{
		{name: "defaults", wantEMS: true, wantETMForCBC: true},
		{name: "client without EMS", cNoEMS: true, wantETMForCBC: true},
		{name: "server without EMS", sNoEMS: true, wantETMForCBC: true},
		{name: "client without ETM", cNoETM: true, wantEMS: true},
		{name: "server without ETM", sNoETM: true, wantEMS: true},
		{name: "neither", cNoEMS: true, sNoEMS: true, cNoETM: true, sNoETM: true},
	}
	for _, id := range CipherSuites() {
		for _, v := range variants {
			t.Run(CipherSuiteName(id)+"/"+v.name, func(t *testing.T) {
				cc, sc := clientConfig(), serverConfig()
				cc.CipherSuites = []uint16{id}
				cc.DisableExtendedMasterSecret, sc.DisableExtendedMasterSecret = v.cNoEMS, v.sNoEMS
				cc.DisableEncryptThenMAC, sc.DisableEncryptThenMAC = v.cNoETM, v.sNoETM
				var clog, slog bytes.Buffer
				cc.KeyLogWriter, sc.KeyLogWriter = &clog, &slog
				c, s := mustHandshake(t, cc, sc)
				wantETM := v.wantETMForCBC && suiteByID(id).cbc
				for _, st := range []State{c.ConnectionState(), s.ConnectionState()} {
					if !st.HandshakeComplete || st.Version != 0x0303 || st.CipherSuite != id || st.Identity != testIdentity ||
						st.IdentityHint != testHint || st.ExtendedMasterSecret != v.wantEMS || st.EncryptThenMAC != wantETM ||
						!st.SecureRenegotiation {
						t.Fatalf("state %+v", st)
					}
				}
				exchange(t, c, s)
				if clog.String() != slog.String() || !strings.HasPrefix(clog.String(), "CLIENT_RANDOM ") {
					t.Fatalf("key logs differ:\n%s%s", clog.String(), slog.String())
				}
				ce, err1 := c.ExportKeyingMaterial("EXPORTER-oneM2M-Bootstrap", nil, 48)
				se, err2 := s.ExportKeyingMaterial("EXPORTER-oneM2M-Bootstrap", nil, 48)
				if err1 != nil || err2 != nil || !bytes.Equal(ce, se) {
					t.Fatalf("exporters differ: %x %v / %x %v", ce, err1, se, err2)
				}
				if withCtx, _ := c.ExportKeyingMaterial("EXPORTER-oneM2M-Bootstrap", []byte{}, 48); bytes.Equal(withCtx, ce) {
					t.Fatal("an empty context gives the same keying material as none")
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF || !s.closeNotifyReceived {
					t.Fatalf("after the client's Close, server Read = %d, %v (close_notify received: %v)", n, err, s.closeNotifyReceived)
				}
			})
		}
	}
}

func TestExporterLabels(t *testing.T) {
	c, _ := mustHandshake(t, clientConfig(), serverConfig())
	for _, l := range []string{"client finished", "server finished", "master secret", "key expansion", "extended master secret"} {
		if _, err := c.ExportKeyingMaterial(l, nil, 16); err == nil {
			t.Errorf("reserved label %q accepted", l)
		}
	}
	unstarted := Client(nil, clientConfig())
	if _, err := unstarted.ExportKeyingMaterial("x", nil, 16); err == nil {
		t.Error("exporter before the handshake")
	}
}

// The server picks by its own preference among the client's suites.
func TestSuiteSelection(t *testing.T) {
	for _, tc := range []struct {
		client, server []uint16
		want           uint16
	}{
		{[]uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_GCM_SHA256}, nil, TLS_PSK_WITH_AES_128_GCM_SHA256},
		{[]uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8}, nil, TLS_PSK_WITH_AES_128_CCM_8},
		{nil, []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256}, TLS_PSK_WITH_AES_128_CBC_SHA256},
		// Unknown values in a list are dropped, not an error.
		{[]uint16{0x1301, 0xc02b, TLS_PSK_WITH_AES_128_CCM_8}, []uint16{0x002f, TLS_PSK_WITH_AES_128_CCM_8}, TLS_PSK_WITH_AES_128_CCM_8},
	} {
		cc, sc := clientConfig(), serverConfig()
		cc.CipherSuites, sc.CipherSuites = tc.client, tc.server
		c, s := mustHandshake(t, cc, sc)
		if got := c.ConnectionState().CipherSuite; got != tc.want || s.ConnectionState().CipherSuite != tc.want {
			t.Errorf("client %x, server %x: chose %s, want %s", tc.client, tc.server, CipherSuiteName(got), CipherSuiteName(tc.want))
		}
	}
}

// Without a hint the server sends no ServerKeyExchange; the client copes.
func TestNoIdentityHint(t *testing.T) {
	sc := serverConfig()
	sc.IdentityHint = ""
	c, s := mustHandshake(t, clientConfig(), sc)
	if c.ConnectionState().IdentityHint != "" {
		t.Fatal("hint seen without one")
	}
	exchange(t, c, s)
}

// Identities are opaque strings: long ones (beyond RFC 4279's required 128
// bytes), with '@' as KpsaIDs have, and empty.
func TestIdentities(t *testing.T) {
	for _, id := range []string{"test@onem2m.com", strings.Repeat("x", 1000), ""} {
		sc := serverConfig()
		var seen string
		sc.GetKey = func(got string) ([]byte, error) { seen = got; return testKey, nil }
		cc := clientConfig()
		cc.Identity = id
		_, s := mustHandshake(t, cc, sc)
		if seen != id || s.ConnectionState().Identity != id {
			t.Errorf("identity of %d bytes: GetKey saw %d bytes, state has %d", len(id), len(seen), len(s.ConnectionState().Identity))
		}
	}
}

func TestServerName(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", serverConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	names := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if err := c.(*Conn).Handshake(); err != nil {
				names <- "error: " + err.Error()
			} else {
				names <- c.(*Conn).ConnectionState().ServerName
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for _, tc := range []struct{ addr, sni, want string }{
		{"localhost:" + port, "", "localhost"},
		{"127.0.0.1:" + port, "", ""},
		{"127.0.0.1:" + port, "id-in.onecse.example", "id-in.onecse.example"},
	} {
		cc := clientConfig()
		cc.ServerName = tc.sni
		c, err := Dial("tcp", tc.addr, cc)
		if err != nil {
			if strings.HasPrefix(tc.addr, "localhost") {
				t.Logf("localhost does not resolve to 127.0.0.1 here: %v", err)
				continue
			}
			t.Fatal(err)
		}
		if got := <-names; got != tc.want {
			t.Errorf("Dial %s (ServerName %q): server saw %q, want %q", tc.addr, tc.sni, got, tc.want)
		}
		c.Close()
	}
}

// recordLog wraps a net.Conn and keeps every record header written.
type recordLog struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
	sizes   []int
	types   []recordType
}

func (r *recordLog) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.pending = append(r.pending, b...)
	for len(r.pending) >= 5 {
		n := int(r.pending[3])<<8 | int(r.pending[4])
		if len(r.pending) < 5+n {
			break
		}
		r.sizes = append(r.sizes, n)
		r.types = append(r.types, recordType(r.pending[0]))
		r.pending = r.pending[5+n:]
	}
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// Large writes are cut into records of at most 2^14 bytes of plaintext
// and arrive intact, for every suite.
func TestLargeWrites(t *testing.T) {
	sizes := []int{1, maxPlaintext - 1, maxPlaintext, maxPlaintext + 1, 100000, 3<<20 + 12345}
	total := 0
	for _, n := range sizes {
		total += n
	}
	data := make([]byte, total)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	for _, id := range CipherSuites() {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			rc, rs := tcpPair(t)
			log := &recordLog{Conn: rc}
			cc := clientConfig()
			cc.CipherSuites = []uint16{id}
			c, s := Client(log, cc), Server(rs, serverConfig())
			go func() {
				io.Copy(s, s) // echo until the client's close_notify
				s.Close()
			}()
			werr := make(chan error, 1)
			go func() {
				off := 0
				for _, size := range sizes {
					n, err := c.Write(data[off : off+size])
					if err != nil || n != size {
						werr <- fmt.Errorf("Write of %d bytes = %d, %v", size, n, err)
						return
					}
					off += size
				}
				werr <- nil
			}()
			got := make([]byte, total)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("echoed data differs")
			}
			c.Close()
			log.mu.Lock()
			defer log.mu.Unlock()
			maxRec, appRecs := 0, 0
			for i, n := range log.sizes {
				if log.types[i] == recordApplicationData {
					appRecs++
					maxRec = max(maxRec, n)
				}
			}
			overhead := map[uint16]int{TLS_PSK_WITH_AES_128_GCM_SHA256: 24, TLS_PSK_WITH_AES_128_CCM_8: 16, TLS_PSK_WITH_AES_128_CBC_SHA256: 16 + 16 + 32}[id]
			if maxRec > maxPlaintext+overhead || appRecs < total/maxPlaintext {
				t.Fatalf("%d application records, the largest %d bytes (limit %d)", appRecs, maxRec, maxPlaintext+overhead)
			}
		})
	}
}

// One goroutine reads while another writes, on both ends at once, with
// more data in flight than the socket buffers hold (a writer-only design
// would deadlock), under the race detector.
func TestConcurrentReadWrite(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(), serverConfig())
	const total = 8 << 20
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, conn := range []*Conn{c, s} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			chunk := bytes.Repeat([]byte{0x5a}, 70000)
			for sent := 0; sent < total; sent += len(chunk) {
				if _, err := conn.Write(chunk[:min(len(chunk), total-sent)]); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 50000)
			got := 0
			for got < total {
				n, err := conn.Read(buf)
				for _, b := range buf[:n] {
					if b != 0x5a {
						errs <- errors.New("corrupted byte")
						return
					}
				}
				got += n
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// ConnectionState is safe alongside, too.
	_ = c.ConnectionState()
}

// Both ends start the handshake implicitly from Read and Write at once.
func TestImplicitHandshakeConcurrent(t *testing.T) {
	rc, rs := tcpPair(t)
	c, s := Client(rc, clientConfig()), Server(rs, serverConfig())
	var wg sync.WaitGroup
	for _, conn := range []*Conn{c, s} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := conn.Write([]byte("x")); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			if _, err := io.ReadFull(conn, b); err != nil || b[0] != 'x' {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// A read deadline interrupts a Read and can be lifted, even in the middle
// of a record; a write deadline ends writing for good.
func TestDeadlines(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(), serverConfig())
	buf := make([]byte, 10)

	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("Read with nothing to read: %v, want a timeout", err)
	}
	// Half a record arrives, then the deadline, then the rest.
	s.out.Lock()
	if err := s.appendRecord(recordApplicationData, []byte("late")); err != nil {
		t.Fatal(err)
	}
	rec := append([]byte(nil), s.outBuf...)
	s.outBuf = s.outBuf[:0]
	s.out.Unlock()
	s.conn.Write(rec[:7])
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("Read of half a record: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	s.conn.Write(rec[7:])
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read after lifting the deadline: %q, %v", buf[:n], err)
	}
	exchange(t, c, s)

	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("Write past its deadline: %v", err)
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("Write after a timed-out Write: %v, want the same error", err)
	}
}

// HandshakeTimeout and a context both bound a handshake with a peer that
// never answers; the connection is closed.
func TestHandshakeTimeout(t *testing.T) {
	rc, _ := tcpPair(t) // nobody speaks on the other end
	cc := clientConfig()
	cc.HandshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	err := Client(rc, cc).Handshake()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Handshake = %v after %v", err, time.Since(start))
	}
	if _, err := rc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("underlying connection not closed: %v", err)
	}

	_, rs := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	s := Server(rs, serverConfig())
	if err := s.HandshakeContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("HandshakeContext = %v", err)
	}
	// The failure sticks.
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after a cancelled handshake: %v", err)
	}

	// DialContext too.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := DialContext(ctx2, "tcp", l.Addr().String(), clientConfig()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialContext = %v", err)
	}
}

// close_notify: Close sends it, the peer reads io.EOF after the data sent
// before it; CloseWrite sends it and keeps reading; writes after it fail.
func TestCloseNotify(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(), serverConfig())
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("more")); err == nil {
		t.Fatal("Write after CloseWrite succeeded")
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "last words" || !s.closeNotifyReceived {
		t.Fatalf("server read %q, %v (close_notify %v)", got, err, s.closeNotifyReceived)
	}
	// The client still reads what the server answers.
	if _, err := s.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(c)
	if err != nil || string(got) != "reply" || !c.closeNotifyReceived {
		t.Fatalf("client read %q, %v", got, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after CloseWrite: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}

	// A bare TCP close at a record boundary reads as io.EOF too, but is
	// told apart internally.
	c2, s2 := mustHandshake(t, clientConfig(), serverConfig())
	c2.conn.Close()
	if _, err := s2.Read(make([]byte, 1)); err != io.EOF || s2.closeNotifyReceived {
		t.Fatalf("bare close: %v, close_notify %v", err, s2.closeNotifyReceived)
	}
	// In the middle of a record it is an error.
	c3, s3 := mustHandshake(t, clientConfig(), serverConfig())
	c3.conn.Write([]byte{23, 3, 3, 0, 40, 1, 2, 3})
	c3.conn.Close()
	if _, err := s3.Read(make([]byte, 1)); err != io.ErrUnexpectedEOF {
		t.Fatalf("close inside a record: %v", err)
	}
}

// writeWatch counts the bytes written through a connection and the Writes
// in progress on it.
type writeWatch struct {
	net.Conn
	inflight atomic.Int32
	n        atomic.Int64
}

func (w *writeWatch) Write(b []byte) (int, error) {
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	n, err := w.Conn.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// blocked reports whether a Write is in progress on w and has not moved
// for a while: the peer does not read and the socket buffers are full.
func (w *writeWatch) blocked() bool {
	before := w.n.Load()
	if w.inflight.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
		return false
	}
	time.Sleep(50 * time.Millisecond)
	return w.inflight.Load() != 0 && w.n.Load() == before
}

// Close while a Write is blocked (the peer does not read) does not hang.
// The Write is first seen blocked in the underlying connection (not
// guessed from a sleep: under load the 64 MiB buffer alone may take
// longer to allocate than any fixed pause), then Close must return and the
// Write end with an error. A hang is forever, so the bounds are generous.
func TestCloseDuringBlockedWrite(t *testing.T) {
	rc, rs := tcpPair(t)
	w := &writeWatch{Conn: rc}
	c, s := Client(w, clientConfig()), Server(rs, serverConfig())
	herr := make(chan error, 1)
	go func() { herr <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-herr; err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<20) // far more than loopback socket buffers hold
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		werr <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !w.blocked() {
		select {
		case err := <-werr:
			t.Fatalf("the Write ended before Close (the peer reads nothing): %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the Write never blocked")
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close blocked behind a Write")
	}
	select {
	case err := <-werr:
		if err == nil {
			t.Fatal("the blocked Write succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked Write did not end")
	}
}

// A wrong key fails on both sides with bad_record_mac: the server cannot
// open the client's Finished (as OpenSSL and GnuTLS report it).
func TestWrongKey(t *testing.T) {
	for _, id := range CipherSuites() {
		for _, etm := range []bool{false, true} {
			if etm && !suiteByID(id).cbc {
				continue
			}
			cc := clientConfig()
			cc.Key = append([]byte(nil), testKey...)
			cc.Key[15] ^= 1
			cc.CipherSuites = []uint16{id}
			cc.DisableEncryptThenMAC = !etm
			_, _, cerr, serr := handshake(t, cc, serverConfig())
			wantAlert(t, "server "+CipherSuiteName(id), serr, AlertBadRecordMAC, false)
			wantAlert(t, "client "+CipherSuiteName(id), cerr, AlertBadRecordMAC, true)
			if !strings.Contains(serr.Error(), `not the key of identity "onecse-ae-1"`) {
				t.Errorf("server error does not say what went wrong: %v", serr)
			}
		}
	}
}

func TestUnknownIdentity(t *testing.T) {
	cc := clientConfig()
	cc.Identity = "nobody"
	_, _, cerr, serr := handshake(t, cc, serverConfig())
	wantAlert(t, "server", serr, AlertUnknownPSKIdentity, false)
	wantAlert(t, "client", cerr, AlertUnknownPSKIdentity, true)
	if !strings.Contains(serr.Error(), `"nobody"`) {
		t.Errorf("server error does not name the identity: %v", serr)
	}

	// Hidden: the client sees a wrong key, the server's caller the truth.
	sc := serverConfig()
	sc.HideUnknownIdentity = true
	_, _, cerr, serr = handshake(t, cc, sc)
	wantAlert(t, "client (hidden)", cerr, AlertBadRecordMAC, true)
	wantAlert(t, "server (hidden)", serr, AlertBadRecordMAC, false)
	if !strings.Contains(serr.Error(), "unknown PSK identity") {
		t.Errorf("server error hides the cause from its caller: %v", serr)
	}

	// An empty key counts as unknown.
	sc = serverConfig()
	sc.GetKey = func(string) ([]byte, error) { return []byte{}, nil }
	_, _, _, serr = handshake(t, clientConfig(), sc)
	wantAlert(t, "server (empty key)", serr, AlertUnknownPSKIdentity, false)

	// A failing lookup is internal_error, and its error is kept.
	lookupErr := errors.New("credential store unavailable")
	sc.GetKey = func(string) ([]byte, error) { return nil, lookupErr }
	_, _, cerr, serr = handshake(t, clientConfig(), sc)
	wantAlert(t, "server (lookup error)", serr, AlertInternalError, false)
	wantAlert(t, "client (lookup error)", cerr, AlertInternalError, true)
	if !errors.Is(serr, lookupErr) {
		t.Errorf("server error %v does not wrap the lookup error", serr)
	}
}

func TestNoCommonSuite(t *testing.T) {
	cc, sc := clientConfig(), serverConfig()
	cc.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256}
	sc.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8}
	_, _, cerr, serr := handshake(t, cc, sc)
	wantAlert(t, "server", serr, AlertHandshakeFailure, false)
	wantAlert(t, "client", cerr, AlertHandshakeFailure, true)
}

func TestRequireExtendedMasterSecret(t *testing.T) {
	cc, sc := clientConfig(), serverConfig()
	cc.DisableExtendedMasterSecret = true
	sc.RequireExtendedMasterSecret = true
	_, _, cerr, serr := handshake(t, cc, sc)
	wantAlert(t, "server", serr, AlertHandshakeFailure, false)
	wantAlert(t, "client", cerr, AlertHandshakeFailure, true)

	cc, sc = clientConfig(), serverConfig()
	cc.RequireExtendedMasterSecret = true
	sc.DisableExtendedMasterSecret = true
	_, _, cerr, serr = handshake(t, cc, sc)
	wantAlert(t, "client", cerr, AlertHandshakeFailure, false)
	wantAlert(t, "server", serr, AlertHandshakeFailure, true)

	cc, sc = clientConfig(), serverConfig()
	cc.RequireExtendedMasterSecret, sc.RequireExtendedMasterSecret = true, true
	c, _ := mustHandshake(t, cc, sc)
	if !c.ConnectionState().ExtendedMasterSecret {
		t.Fatal("EMS not used")
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Listen("tcp", "127.0.0.1:0", &Config{}); err == nil {
		t.Error("Listen without GetKey")
	}
	if _, err := Listen("tcp", "127.0.0.1:0", nil); err == nil {
		t.Error("Listen with a nil Config")
	}
	for _, cfg := range []*Config{nil, {Identity: "x"}, {Identity: "x", Key: testKey, CipherSuites: []uint16{0x1301}}} {
		if _, err := Dial("tcp", "127.0.0.1:1", cfg); err == nil {
			t.Errorf("Dial with %+v", cfg)
		}
	}
	// A server built with a bad Config fails its handshake.
	_, _, cerr, serr := handshake(t, clientConfig(), &Config{})
	wantAlert(t, "server", serr, AlertInternalError, false)
	wantAlert(t, "client", cerr, AlertInternalError, true)
}

// Peers that do not speak TLS 1.2: Go's crypto/tls as a TLS 1.3-only and
// as a TLS 1.0-only client and server.
func TestProtocolVersionWithCryptoTLS(t *testing.T) {
	for _, v := range []struct {
		name     string
		min, max uint16
	}{{"TLS 1.3 only", tls.VersionTLS13, tls.VersionTLS13}, {"TLS 1.0 only", tls.VersionTLS10, tls.VersionTLS10}} {
		t.Run("client "+v.name, func(t *testing.T) {
			rc, rs := tcpPair(t)
			s := Server(rs, serverConfig())
			serr := make(chan error, 1)
			go func() { serr <- s.Handshake() }()
			tc := tls.Client(rc, &tls.Config{MinVersion: v.min, MaxVersion: v.max, InsecureSkipVerify: true})
			cerr := tc.Handshake()
			wantAlert(t, "server", <-serr, AlertProtocolVersion, false)
			if cerr == nil || !strings.Contains(cerr.Error(), "protocol version") {
				t.Fatalf("crypto/tls client: %v", cerr)
			}
		})
		t.Run("server "+v.name, func(t *testing.T) {
			rc, rs := tcpPair(t)
			go tls.Server(rs, &tls.Config{MinVersion: v.min, MaxVersion: v.max, Certificates: []tls.Certificate{testCert(t)}}).Handshake()
			err := Client(rc, clientConfig()).Handshake()
			// A TLS 1.3-only server refuses the version; a TLS 1.0 one
			// would go down to 1.0 but finds no suite first (a ServerHello
			// with TLS 1.0 is tested in TestClientRejects).
			want := AlertProtocolVersion
			if v.max == tls.VersionTLS10 {
				want = AlertHandshakeFailure
			}
			wantAlert(t, "client", err, want, true)
		})
	}
	// A TLS 1.2 crypto/tls server has no PSK suite.
	rc, rs := tcpPair(t)
	go tls.Server(rs, &tls.Config{Certificates: []tls.Certificate{testCert(t)}}).Handshake()
	wantAlert(t, "client vs crypto/tls", Client(rc, clientConfig()).Handshake(), AlertHandshakeFailure, true)
}
