// Command pskdemo is a small TLS-PSK server and client built on
// security/tlspsk, for trying the package against OpenSSL and GnuTLS by
// hand (docs/security/tls-psk.md has the commands).
//
//	go run ./security/tlspsk/pskdemo serve -addr 127.0.0.1:8443 -psk onecse-ae-1=00112233445566778899aabbccddeeff -hint onecse-hint
//	go run ./security/tlspsk/pskdemo serve -http ...   # HTTPS-PSK: GET / answers with the client's identity
//	go run ./security/tlspsk/pskdemo dial -addr 127.0.0.1:8443 -identity onecse-ae-1 -key 00112233445566778899aabbccddeeff
//
// serve echoes every line it receives, prefixed with the client's PSK
// identity, and logs each handshake (suite, EMS, EtM) or its failure. dial
// sends standard input line by line and prints what comes back.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/onecse/onecse/security/tlspsk"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pskdemo:", err)
		os.Exit(1)
	}
}

// pskList collects -psk identity=hexkey flags.
type pskList map[string][]byte

func (p pskList) String() string { return fmt.Sprint(len(p), " keys") }

func (p pskList) Set(v string) error {
	id, h, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want identity=hexkey")
	}
	k, err := hex.DecodeString(h)
	if err != nil || len(k) == 0 {
		return fmt.Errorf("key of %q is not hex", id)
	}
	p[id] = k
	return nil
}

func suites(list string) ([]uint16, error) {
	if list == "" {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, id := range tlspsk.CipherSuites() {
		byName[tlspsk.CipherSuiteName(id)] = id
	}
	var ids []uint16
	for _, n := range strings.Split(list, ",") {
		id, ok := byName[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("unknown suite %q", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	if len(args) == 0 || (args[0] != "serve" && args[0] != "dial") {
		return errors.New("usage: pskdemo serve|dial [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on or dial")
	suiteList := fs.String("suites", "", "comma-separated suite names (default: all, GCM, CCM_8, CBC)")
	noEMS := fs.Bool("no-ems", false, "do not use the extended master secret")
	noETM := fs.Bool("no-etm", false, "do not use encrypt-then-MAC")
	keys := pskList{}
	fs.Var(keys, "psk", "serve: identity=hexkey (repeatable)")
	hint := fs.String("hint", "", "serve: identity hint to send")
	hide := fs.Bool("hide-unknown", false, "serve: answer unknown identities like wrong keys")
	httpMode := fs.Bool("http", false, "serve: HTTPS-PSK, GET / answers with the identity")
	identity := fs.String("identity", "", "dial: PSK identity")
	key := fs.String("key", "", "dial: PSK as hex")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ids, err := suites(*suiteList)
	if err != nil {
		return err
	}
	cfg := &tlspsk.Config{CipherSuites: ids, DisableExtendedMasterSecret: *noEMS, DisableEncryptThenMAC: *noETM,
		HandshakeTimeout: 10 * time.Second}

	if args[0] == "dial" {
		if cfg.Key, err = hex.DecodeString(*key); err != nil {
			return fmt.Errorf("-key: %v", err)
		}
		cfg.Identity = *identity
		c, err := tlspsk.DialContext(ctx, "tcp", *addr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintln(out, "connected:", describe(c.ConnectionState()))
		go io.Copy(out, c)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if _, err := fmt.Fprintln(c, sc.Text()); err != nil {
				return err
			}
		}
		time.Sleep(200 * time.Millisecond) // let the last answer arrive
		return nil
	}

	if len(keys) == 0 {
		return errors.New("serve needs at least one -psk identity=hexkey")
	}
	cfg.IdentityHint, cfg.HideUnknownIdentity = *hint, *hide
	cfg.GetKey = func(id string) ([]byte, error) { return keys[id], nil }
	l, err := tlspsk.Listen("tcp", *addr, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintln(out, "listening on", l.Addr())
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	if *httpMode {
		srv := &http.Server{ConnContext: tlspsk.ConnContext, ReadHeaderTimeout: 10 * time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := tlspsk.FromContext(r.Context())
				fmt.Fprintf(w, "hello %s\n", c.ConnectionState().Identity)
			})}
		err := srv.Serve(l)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer conn.Close()
			c := conn.(*tlspsk.Conn)
			if err := c.Handshake(); err != nil {
				fmt.Fprintf(out, "%s: handshake failed: %v\n", c.RemoteAddr(), err)
				return
			}
			st := c.ConnectionState()
			fmt.Fprintf(out, "%s: %s\n", c.RemoteAddr(), describe(st))
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s said: %s\n", st.Identity, sc.Text())
			}
			fmt.Fprintf(out, "%s: closed (%v)\n", c.RemoteAddr(), errOrEOF(sc.Err()))
		}()
	}
}

func describe(st tlspsk.State) string {
	return fmt.Sprintf("identity %q, %s, extended master secret %v, encrypt-then-MAC %v, SNI %q",
		st.Identity, tlspsk.CipherSuiteName(st.CipherSuite), st.ExtendedMasterSecret, st.EncryptThenMAC, st.ServerName)
}

func errOrEOF(err error) any {
	if err == nil {
		return "EOF"
	}
	return err
}

var _ net.Conn = (*tlspsk.Conn)(nil)
