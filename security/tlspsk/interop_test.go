package tlspsk

// Interoperability with the TLS stacks onecse meets in the field, run as
// real processes over 127.0.0.1: OpenSSL (openssl s_server / s_client) and
// GnuTLS (gnutls-serv / gnutls-cli), both directions, every suite they
// support, with and without encrypt-then-MAC and the extended master
// secret, plus the failure cases. The commands are those verified in
// ../shared/spec/interop.md sections 1 and 2. A sub-test is skipped only
// when its program is not installed (CI installs openssl and gnutls-bin).
//
// Beyond application data flowing both ways, the tests compare the master
// secret (s_client prints it) and the RFC 5705 exporter (-keymatexport /
// --keymatexport) with what this package computes: a mismatch in the PRF,
// the session hash or the key schedule cannot pass them.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	exportLabel = "EXPORTER-oneM2M-Bootstrap"
	exportLen   = 48

	prioCBC  = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256"
	prioGCM  = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD"
	prioCCM8 = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD"
)

// OpenSSL has no command-line switch for EMS; this configuration (from
// interop.md 1.5) turns both EMS and EtM off for the process using it.
const noEMSConf = `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret,-EncryptThenMac
`

var opensslName = map[uint16]string{
	TLS_PSK_WITH_AES_128_CBC_SHA256: "PSK-AES128-CBC-SHA256",
	TLS_PSK_WITH_AES_128_GCM_SHA256: "PSK-AES128-GCM-SHA256",
	TLS_PSK_WITH_AES_128_CCM_8:      "PSK-AES128-CCM8",
}

var gnutlsPrio = map[uint16]string{
	TLS_PSK_WITH_AES_128_CBC_SHA256: prioCBC,
	TLS_PSK_WITH_AES_128_GCM_SHA256: prioGCM,
	TLS_PSK_WITH_AES_128_CCM_8:      prioCCM8,
}

func need(t *testing.T, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install openssl gnutls-bin); interop test skipped", p)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a tool run by a test: stdin is a pipe the test writes to (and
// keeps open: s_server quits at EOF), stdout and stderr are collected.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
	done  chan struct{}
	err   error
	// daemon: a server that never exits on its own; the cleanup ends it
	// at once instead of waiting for it.
	daemon bool
}

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		if p.daemon {
			cmd.Process.Kill()
		}
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// waitFor waits until the output matches re and returns the first
// submatch (or the whole match).
func (p *proc) waitFor(re string) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := rx.FindStringSubmatch(p.out.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.done:
			if m := rx.FindStringSubmatch(p.out.String()); m != nil {
				return m[len(m)-1]
			}
			p.t.Fatalf("%s exited (%v) without printing %q", p.name, p.err, re)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not print %q within 10 s", p.name, re)
		}
	}
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s did not exit", p.name)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

func (p *proc) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s); err != nil {
		p.t.Fatalf("writing to %s: %v", p.name, err)
	}
}

// readLine reads one line from c with a deadline.
func readLine(t *testing.T, c *Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %q, %v", line, err)
	}
	return line
}

func hexEqual(a string, b []byte) bool {
	x, err := hex.DecodeString(strings.TrimSpace(a))
	return err == nil && bytes.Equal(x, b)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var testKeyHex = hex.EncodeToString(testKey)

// acceptOne serves one connection of l: handshake, then the given
// function; it reports the handshake error.
func acceptOne(t *testing.T, l net.Listener, serve func(*Conn)) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := c.(*Conn)
		tc.SetDeadline(time.Now().Add(15 * time.Second))
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		serve(tc)
		done <- nil
	}()
	return done
}

// Go client → openssl s_server.
func TestInteropOpenSSLServer(t *testing.T) {
	need(t, "openssl")
	type tc struct {
		name        string
		suite       uint16
		serverArgs  []string
		noEMSConf   bool // server runs with EMS and EtM off
		client      func(*Config)
		wantEMS     bool
		wantETM     bool
		wantFailure Alert // received by the Go client
	}
	var cases []tc
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8} {
		cbc := suiteByID(id).cbc
		cases = append(cases,
			tc{name: "defaults", suite: id, wantEMS: true, wantETM: cbc},
			tc{name: "server without EMS and EtM", suite: id, noEMSConf: true},
			tc{name: "client without EMS", suite: id, client: func(c *Config) { c.DisableExtendedMasterSecret = true }, wantETM: cbc},
		)
		if cbc {
			cases = append(cases,
				tc{name: "server -no_etm", suite: id, serverArgs: []string{"-no_etm"}, wantEMS: true},
				tc{name: "client without EtM", suite: id, client: func(c *Config) { c.DisableEncryptThenMAC = true }, wantEMS: true},
			)
		}
	}
	cases = append(cases,
		tc{name: "wrong key", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, client: func(c *Config) { c.Key = bytes.Repeat([]byte{0xee}, 16) }, wantFailure: AlertBadRecordMAC},
		tc{name: "no common suite", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, client: func(c *Config) { c.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256} }, wantFailure: AlertHandshakeFailure},
	)
	for _, c := range cases {
		t.Run(opensslName[c.suite]+"/"+c.name, func(t *testing.T) {
			args := []string{"s_server", "-accept", "127.0.0.1:0", "-nocert", "-tls1_2", "-cipher", opensslName[c.suite],
				"-psk", testKeyHex, "-psk_identity", testIdentity, "-psk_hint", testHint, "-naccept", "1",
				"-keymatexport", exportLabel, "-keymatexportlen", fmt.Sprint(exportLen)}
			args = append(args, c.serverArgs...)
			var env []string
			if c.noEMSConf {
				env = append(env, "OPENSSL_CONF="+writeFile(t, "noems.cnf", noEMSConf))
			}
			srv := startProc(t, env, "openssl", args...)
			addr := srv.waitFor(`ACCEPT (127\.0\.0\.1:\d+)`)

			cfg := clientConfig()
			if c.client != nil {
				c.client(cfg)
			}
			conn, err := Dial("tcp", addr, cfg)
			if c.wantFailure != 0 {
				wantAlert(t, "client", err, c.wantFailure, true)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			st := conn.ConnectionState()
			if st.CipherSuite != c.suite || st.ExtendedMasterSecret != c.wantEMS || st.EncryptThenMAC != c.wantETM || st.IdentityHint != testHint {
				t.Fatalf("state %+v; want suite %s, EMS %v, EtM %v", st, CipherSuiteName(c.suite), c.wantEMS, c.wantETM)
			}
			srv.waitFor("CIPHER is " + regexp.QuoteMeta(opensslName[c.suite]))
			if _, err := conn.Write([]byte("hello from go\n")); err != nil {
				t.Fatal(err)
			}
			srv.waitFor("(?m)^hello from go$")
			srv.send("hello from openssl\n")
			if got := readLine(t, conn); got != "hello from openssl\n" {
				t.Fatalf("client read %q", got)
			}
			ekm, _ := conn.ExportKeyingMaterial(exportLabel, nil, exportLen)
			if theirs := srv.waitFor(`Keying material: ([0-9A-F]+)`); !hexEqual(theirs, ekm) {
				t.Fatalf("exporter: openssl %s, ours %X", theirs, ekm)
			}
			conn.Close()
			if code := srv.exit(); code != 0 {
				t.Fatalf("s_server exit code %d", code)
			}
		})
	}
}

// openssl s_client → Go server.
func TestInteropOpenSSLClient(t *testing.T) {
	need(t, "openssl")
	type tc struct {
		name       string
		suite      uint16 // 0: OpenSSL's default offer (TLS 1.3 hello)
		clientArgs []string
		noEMSConf  bool
		server     func(*Config)
		wantEMS    bool
		wantETM    bool
		wantSNI    string
		// failures
		wantServerErr Alert  // sent by the Go server
		wantOutput    string // in s_client's output
	}
	var cases []tc
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8} {
		cbc := suiteByID(id).cbc
		cases = append(cases,
			tc{name: "defaults", suite: id, wantEMS: true, wantETM: cbc},
			tc{name: "client without EMS and EtM", suite: id, noEMSConf: true},
			tc{name: "server without EMS", suite: id, server: func(c *Config) { c.DisableExtendedMasterSecret = true }, wantETM: cbc},
		)
		if cbc {
			cases = append(cases,
				tc{name: "client -no_etm", suite: id, clientArgs: []string{"-no_etm"}, wantEMS: true},
				tc{name: "server without EtM", suite: id, server: func(c *Config) { c.DisableEncryptThenMAC = true }, wantEMS: true},
			)
		}
	}
	cases = append(cases,
		// OpenSSL's default ClientHello is a TLS 1.3 one with a
		// pre_shared_key extension; the server must still agree on TLS 1.2.
		tc{name: "OpenSSL defaults (TLS 1.3 hello) with SNI", clientArgs: []string{"-servername", "id-in.onecse.example"},
			wantEMS: true, wantSNI: "id-in.onecse.example"},
		// Mosquitto sends the IP literal as SNI (interop.md 3.5); accepted.
		tc{name: "SNI with an IP literal", suite: TLS_PSK_WITH_AES_128_CCM_8, clientArgs: []string{"-servername", "127.0.0.1"},
			wantEMS: true, wantSNI: "127.0.0.1"},
		tc{name: "no ServerKeyExchange without a hint", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, server: func(c *Config) { c.IdentityHint = "" },
			wantEMS: true, wantETM: true},
		tc{name: "wrong key", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, clientArgs: []string{"-psk", "00112233445566778899aabbccddeefe"},
			wantServerErr: AlertBadRecordMAC, wantOutput: "alert bad record mac"},
		tc{name: "unknown identity", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, clientArgs: []string{"-psk_identity", "nobody"},
			wantServerErr: AlertUnknownPSKIdentity, wantOutput: "alert unknown psk identity"},
		tc{name: "unknown identity hidden", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, clientArgs: []string{"-psk_identity", "nobody"},
			server: func(c *Config) { c.HideUnknownIdentity = true }, wantServerErr: AlertBadRecordMAC, wantOutput: "alert bad record mac"},
		tc{name: "no common suite", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, server: func(c *Config) { c.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_GCM_SHA256} },
			wantServerErr: AlertHandshakeFailure, wantOutput: "alert handshake failure"},
		tc{name: "TLS 1.3 only client", clientArgs: []string{"-tls1_3"},
			wantServerErr: AlertProtocolVersion, wantOutput: "alert protocol version"},
	)
	for _, c := range cases {
		name := "default offer"
		if c.suite != 0 {
			name = opensslName[c.suite]
		}
		t.Run(name+"/"+c.name, func(t *testing.T) {
			scfg := serverConfig()
			if c.server != nil {
				c.server(scfg)
			}
			var keylog syncBuffer
			scfg.KeyLogWriter = &keylog
			l, err := Listen("tcp", "127.0.0.1:0", scfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var st State
			var ekm []byte
			var readErr error
			served := acceptOne(t, l, func(conn *Conn) {
				st = conn.ConnectionState()
				ekm, _ = conn.ExportKeyingMaterial(exportLabel, nil, exportLen)
				line := readLine(t, conn)
				if line != "hello from openssl\n" {
					readErr = fmt.Errorf("server read %q", line)
					return
				}
				conn.Write([]byte("hello from go\n"))
				// s_client closes with close_notify when its stdin ends.
				_, readErr = io.ReadAll(conn)
				if readErr == nil && !conn.closeNotifyReceived {
					readErr = errors.New("connection ended without close_notify")
				}
			})
			args := []string{"s_client", "-connect", l.Addr().String(), "-psk", testKeyHex, "-psk_identity", testIdentity,
				"-keymatexport", exportLabel, "-keymatexportlen", fmt.Sprint(exportLen)}
			if c.suite != 0 {
				args = append(args, "-tls1_2", "-cipher", opensslName[c.suite])
			}
			// Later options win: the cases may override -psk and -psk_identity.
			args = append(args, c.clientArgs...)
			var env []string
			if c.noEMSConf {
				env = append(env, "OPENSSL_CONF="+writeFile(t, "noems.cnf", noEMSConf))
			}
			cli := startProc(t, env, "openssl", args...)

			if c.wantServerErr != 0 {
				cli.stdin.Close()
				err := <-served
				wantAlert(t, "server", err, c.wantServerErr, false)
				if code := cli.exit(); code != 1 {
					t.Fatalf("s_client exit code %d, want 1", code)
				}
				cli.waitFor(regexp.QuoteMeta(c.wantOutput))
				return
			}
			cli.waitFor(`Verify return code`)
			cli.send("hello from openssl\n")
			cli.waitFor("(?m)^hello from go$")
			cli.stdin.Close()
			if code := cli.exit(); code != 0 {
				t.Fatalf("s_client exit code %d", code)
			}
			if err := <-served; err != nil || readErr != nil {
				t.Fatalf("server: %v / %v", err, readErr)
			}
			wantSuite := c.suite
			if wantSuite == 0 {
				wantSuite = TLS_PSK_WITH_AES_128_GCM_SHA256 // the server's first choice among OpenSSL's defaults
			}
			if st.CipherSuite != wantSuite || st.ExtendedMasterSecret != c.wantEMS || st.EncryptThenMAC != c.wantETM ||
				st.Identity != testIdentity || st.ServerName != c.wantSNI || st.Version != 0x0303 {
				t.Fatalf("server state %+v", st)
			}
			out := cli.out.String()
			for _, want := range []string{
				"Protocol  : TLSv1.2",
				"Cipher    : " + opensslName[wantSuite],
				"PSK identity: " + testIdentity,
				fmt.Sprintf("Extended master secret: %s", map[bool]string{true: "yes", false: "no"}[c.wantEMS]),
			} {
				if !strings.Contains(out, want) {
					t.Fatalf("s_client output lacks %q", want)
				}
			}
			if c.server == nil || scfg.IdentityHint != "" {
				if !strings.Contains(out, "PSK identity hint: "+testHint) {
					t.Fatal("s_client did not see the hint")
				}
			} else if !strings.Contains(out, "PSK identity hint: None") {
				t.Fatal("s_client saw a hint where none was sent")
			}
			// Master secret and exporter agree with OpenSSL's.
			ms := cli.waitFor(`Master-Key: ([0-9A-F]+)`)
			if fields := strings.Fields(keylog.String()); len(fields) != 3 || !strings.EqualFold(fields[2], ms) {
				t.Fatalf("master secret: openssl %s, key log %q", ms, keylog.String())
			}
			if theirs := cli.waitFor(`Keying material: ([0-9A-F]+)`); !hexEqual(theirs, ekm) {
				t.Fatalf("exporter: openssl %s, ours %X", theirs, ekm)
			}
		})
	}
}

// s_client's "R" command asks for a renegotiation: the Go server refuses
// it with a no_renegotiation warning, OpenSSL then gives up the connection
// with handshake_failure.
func TestInteropOpenSSLRenegotiation(t *testing.T) {
	need(t, "openssl")
	l, err := Listen("tcp", "127.0.0.1:0", serverConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var readErr error
	served := acceptOne(t, l, func(conn *Conn) {
		readLine(t, conn)
		conn.Write([]byte("ready\n"))
		_, readErr = io.ReadAll(conn)
	})
	cli := startProc(t, nil, "openssl", "s_client", "-connect", l.Addr().String(), "-tls1_2", "-psk", testKeyHex, "-psk_identity", testIdentity)
	cli.waitFor(`Verify return code`)
	cli.send("first\n")
	cli.waitFor("(?m)^ready$")
	cli.send("R\n")
	cli.waitFor("RENEGOTIATING")
	cli.waitFor("no renegotiation")
	cli.stdin.Close()
	cli.exit()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	wantAlert(t, "server read after the refusal", readErr, AlertHandshakeFailure, true)
}

// gnutlsServe starts gnutls-serv in echo mode with the given priority on a
// free port (it has no bind address and no port 0) and returns it and its
// port.
func gnutlsServe(t *testing.T, prio string, extra ...string) (*proc, string) {
	t.Helper()
	passwd := writeFile(t, "psk.passwd", testIdentity+":"+testKeyHex+"\n")
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l.Addr().String())
		l.Close()
		args := append([]string{"-p", port, "--pskpasswd", passwd, "--pskhint", testHint, "--priority", prio, "--echo",
			"--keymatexport", exportLabel, "--keymatexportsize", fmt.Sprint(exportLen)}, extra...)
		p := startProc(t, nil, "gnutls-serv", args...)
		p.daemon = true
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			out := p.out.String()
			if strings.Contains(out, "listening on IPv4 0.0.0.0 port "+port+"...done") {
				return p, port
			}
			select {
			case <-p.done:
				deadline = time.Time{}
			case <-time.After(10 * time.Millisecond):
			}
		}
		if attempt == 2 {
			t.Fatalf("gnutls-serv did not start:\n%s", p.out.String())
		}
		p.cmd.Process.Kill()
	}
}

// Go client → gnutls-serv --echo.
func TestInteropGnuTLSServer(t *testing.T) {
	need(t, "gnutls-serv")
	type tc struct {
		name        string
		suite       uint16
		prioSuffix  string
		client      func(*Config)
		wantEMS     bool
		wantETM     bool
		wantFailure Alert
	}
	var cases []tc
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8} {
		cbc := suiteByID(id).cbc
		cases = append(cases,
			tc{name: "defaults", suite: id, wantEMS: true, wantETM: cbc},
			tc{name: "server %NO_SESSION_HASH", suite: id, prioSuffix: ":%NO_SESSION_HASH", wantETM: cbc},
			tc{name: "client without EMS", suite: id, client: func(c *Config) { c.DisableExtendedMasterSecret = true }, wantETM: cbc},
		)
		if cbc {
			cases = append(cases,
				tc{name: "server %NO_ETM", suite: id, prioSuffix: ":%NO_ETM", wantEMS: true},
				tc{name: "server %NO_ETM:%NO_SESSION_HASH", suite: id, prioSuffix: ":%NO_ETM:%NO_SESSION_HASH"},
				tc{name: "client without EtM", suite: id, client: func(c *Config) { c.DisableEncryptThenMAC = true }, wantEMS: true},
			)
		}
	}
	cases = append(cases,
		tc{name: "wrong key", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, client: func(c *Config) { c.Key = bytes.Repeat([]byte{0xee}, 16) }, wantFailure: AlertBadRecordMAC},
		// GnuTLS hides unknown identities behind a random key.
		tc{name: "unknown identity", suite: TLS_PSK_WITH_AES_128_CBC_SHA256, client: func(c *Config) { c.Identity = "nobody" }, wantFailure: AlertBadRecordMAC},
	)
	for _, c := range cases {
		t.Run(opensslName[c.suite]+"/"+c.name, func(t *testing.T) {
			srv, port := gnutlsServe(t, gnutlsPrio[c.suite]+c.prioSuffix)
			cfg := clientConfig()
			if c.client != nil {
				c.client(cfg)
			}
			conn, err := Dial("tcp", "127.0.0.1:"+port, cfg)
			if c.wantFailure != 0 {
				wantAlert(t, "client", err, c.wantFailure, true)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			st := conn.ConnectionState()
			if st.CipherSuite != c.suite || st.ExtendedMasterSecret != c.wantEMS || st.EncryptThenMAC != c.wantETM || st.IdentityHint != testHint {
				t.Fatalf("state %+v; want suite %s, EMS %v, EtM %v", st, CipherSuiteName(c.suite), c.wantEMS, c.wantETM)
			}
			msg := "hello from go over " + CipherSuiteName(c.suite) + "\n"
			if _, err := conn.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			if got := readLine(t, conn); got != msg {
				t.Fatalf("echo %q", got)
			}
			ekm, _ := conn.ExportKeyingMaterial(exportLabel, nil, exportLen)
			if theirs := srv.waitFor(`- Key material: ([0-9a-f]+)`); !hexEqual(theirs, ekm) {
				t.Fatalf("exporter: gnutls %s, ours %x", theirs, ekm)
			}
			// A large echo crosses many records both ways.
			big := bytes.Repeat([]byte("0123456789abcdef"), 20000)
			big = append(big, '\n')
			go conn.Write(big)
			back := make([]byte, len(big))
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(conn, back); err != nil || !bytes.Equal(back, big) {
				t.Fatalf("large echo: %v", err)
			}
		})
	}
}

// gnutls-cli → Go server.
func TestInteropGnuTLSClient(t *testing.T) {
	need(t, "gnutls-cli")
	type tc struct {
		name       string
		prio       string
		wantSuite  uint16
		server     func(*Config)
		user, key  string
		wantEMS    bool
		wantETM    bool
		wantServer Alert
		wantOutput string
	}
	var cases []tc
	for _, id := range []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_GCM_SHA256, TLS_PSK_WITH_AES_128_CCM_8} {
		cbc := suiteByID(id).cbc
		cases = append(cases,
			tc{name: "defaults", prio: gnutlsPrio[id], wantSuite: id, wantEMS: true, wantETM: cbc},
			tc{name: "client %NO_SESSION_HASH", prio: gnutlsPrio[id] + ":%NO_SESSION_HASH", wantSuite: id, wantETM: cbc},
			tc{name: "server without EMS", prio: gnutlsPrio[id], wantSuite: id, server: func(c *Config) { c.DisableExtendedMasterSecret = true }, wantETM: cbc},
		)
		if cbc {
			cases = append(cases,
				tc{name: "client %NO_ETM", prio: gnutlsPrio[id] + ":%NO_ETM", wantSuite: id, wantEMS: true},
				tc{name: "client %NO_ETM:%NO_SESSION_HASH", prio: gnutlsPrio[id] + ":%NO_ETM:%NO_SESSION_HASH", wantSuite: id},
				tc{name: "server without EtM", prio: gnutlsPrio[id], wantSuite: id, server: func(c *Config) { c.DisableEncryptThenMAC = true }, wantEMS: true},
			)
		}
	}
	cases = append(cases,
		// NORMAL:+PSK offers TLS 1.3 as well; TLS 1.2 is agreed.
		tc{name: "NORMAL:+PSK", prio: "NORMAL:+PSK", wantSuite: TLS_PSK_WITH_AES_128_GCM_SHA256, wantEMS: true},
		tc{name: "wrong key", prio: prioCBC, key: "00112233445566778899aabbccddeefe", wantServer: AlertBadRecordMAC, wantOutput: "Received alert [20]"},
		tc{name: "unknown identity", prio: prioCBC, user: "nobody", wantServer: AlertUnknownPSKIdentity, wantOutput: "Received alert [115]"},
		tc{name: "TLS 1.3 only", prio: "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK", wantServer: AlertProtocolVersion, wantOutput: "Received alert [70]"},
	)
	for _, c := range cases {
		t.Run(CipherSuiteName(c.wantSuite)+"/"+c.name, func(t *testing.T) {
			scfg := serverConfig()
			if c.server != nil {
				c.server(scfg)
			}
			l, err := Listen("tcp", "127.0.0.1:0", scfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var st State
			var ekm []byte
			var serveErr error
			served := acceptOne(t, l, func(conn *Conn) {
				st = conn.ConnectionState()
				ekm, _ = conn.ExportKeyingMaterial(exportLabel, nil, exportLen)
				line := readLine(t, conn)
				if line != "hello from gnutls\n" {
					serveErr = fmt.Errorf("server read %q", line)
					return
				}
				conn.Write([]byte("hello from go\n"))
				_, serveErr = io.ReadAll(conn)
			})
			_, port, _ := net.SplitHostPort(l.Addr().String())
			user, key := testIdentity, testKeyHex
			if c.user != "" {
				user = c.user
			}
			if c.key != "" {
				key = c.key
			}
			cli := startProc(t, nil, "gnutls-cli", "127.0.0.1", "-p", port, "--pskusername", user, "--pskkey", key,
				"--priority", c.prio, "--keymatexport", exportLabel, "--keymatexportsize", fmt.Sprint(exportLen))
			if c.wantServer != 0 {
				err := <-served
				wantAlert(t, "server", err, c.wantServer, false)
				cli.waitFor(regexp.QuoteMeta(c.wantOutput))
				cli.stdin.Close()
				cli.exit()
				return
			}
			cli.waitFor("Handshake was completed")
			cli.send("hello from gnutls\n")
			cli.waitFor("(?m)^hello from go$")
			cli.stdin.Close() // gnutls-cli sends close_notify at EOF
			if code := cli.exit(); code != 0 {
				t.Fatalf("gnutls-cli exit code %d", code)
			}
			if err := <-served; err != nil || serveErr != nil {
				t.Fatalf("server: %v / %v", err, serveErr)
			}
			if st.CipherSuite != c.wantSuite || st.ExtendedMasterSecret != c.wantEMS || st.EncryptThenMAC != c.wantETM || st.Identity != testIdentity {
				t.Fatalf("server state %+v", st)
			}
			out := cli.out.String()
			opts := cli.waitFor(`- Options: (.*)`)
			if strings.Contains(opts, "extended master secret") != c.wantEMS || strings.Contains(opts, "EtM") != c.wantETM ||
				!strings.Contains(opts, "safe renegotiation") {
				t.Fatalf("gnutls-cli options %q", opts)
			}
			if !strings.Contains(out, "PSK hint '"+testHint+"'") || !strings.Contains(out, "(TLS1.2-") {
				t.Fatal("gnutls-cli did not report TLS 1.2 with the hint")
			}
			if theirs := cli.waitFor(`- Key material: ([0-9a-f]+)`); !hexEqual(theirs, ekm) {
				t.Fatalf("exporter: gnutls %s, ours %x", theirs, ekm)
			}
		})
	}
}
