package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

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

func waitFor(t *testing.T, b *syncBuffer, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := rx.FindStringSubmatch(b.String()); m != nil {
			return m[len(m)-1]
		}
	}
	t.Fatalf("no %q in:\n%s", re, b.String())
	return ""
}

// The demo's server and client talk to each other, in echo and HTTP mode.
func TestDemo(t *testing.T) {
	const key = "00112233445566778899aabbccddeeff"
	for _, httpMode := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		var srvOut syncBuffer
		args := []string{"serve", "-addr", "127.0.0.1:0", "-psk", "onecse-ae-1=" + key, "-hint", "onecse-hint"}
		if httpMode {
			args = append(args, "-http")
		}
		srvDone := make(chan error, 1)
		go func() { srvDone <- run(ctx, args, nil, &srvOut) }()
		addr := waitFor(t, &srvOut, `listening on (\S+)`)

		if httpMode {
			// The HTTP mode is exercised with the dial client speaking raw HTTP.
			var cliOut syncBuffer
			req := "GET / HTTP/1.1\nHost: x\n\n"
			if err := run(ctx, []string{"dial", "-addr", addr, "-identity", "onecse-ae-1", "-key", key}, strings.NewReader(req), &cliOut); err != nil {
				t.Fatal(err)
			}
			waitFor(t, &cliOut, `hello onecse-ae-1`)
		} else {
			var cliOut syncBuffer
			if err := run(ctx, []string{"dial", "-addr", addr, "-identity", "onecse-ae-1", "-key", key, "-suites", "TLS_PSK_WITH_AES_128_CBC_SHA256"},
				strings.NewReader("hi there\n"), &cliOut); err != nil {
				t.Fatal(err)
			}
			waitFor(t, &cliOut, `onecse-ae-1 said: hi there`)
			waitFor(t, &srvOut, `identity "onecse-ae-1", TLS_PSK_WITH_AES_128_CBC_SHA256, extended master secret true, encrypt-then-MAC true`)
			// A wrong key is reported by both.
			var badOut syncBuffer
			err := run(ctx, []string{"dial", "-addr", addr, "-identity", "onecse-ae-1", "-key", "ff" + key[2:]}, strings.NewReader(""), &badOut)
			if err == nil || !strings.Contains(err.Error(), "bad_record_mac") {
				t.Fatalf("wrong key: %v", err)
			}
			waitFor(t, &srvOut, `handshake failed: .*bad_record_mac`)
		}
		cancel()
		if err := <-srvDone; err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0"}, nil, io.Discard); err == nil {
		t.Fatal("serve without keys")
	}
}
