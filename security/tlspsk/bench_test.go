package tlspsk

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// Handshake cost: both sides of a full handshake in one process, over
// net.Pipe (CPU only) and over loopback TCP (with the connect).
//
//	go test -run '^$' -bench . -benchmem ./security/tlspsk
func BenchmarkHandshake(b *testing.B) {
	for _, id := range CipherSuites() {
		b.Run(CipherSuiteName(id)+"/pipe", func(b *testing.B) {
			cc := clientConfig()
			cc.CipherSuites = []uint16{id}
			sc := serverConfig()
			b.ReportAllocs()
			for b.Loop() {
				rc, rs := net.Pipe()
				c, s := Client(rc, cc), Server(rs, sc)
				done := make(chan error, 1)
				go func() { done <- s.Handshake() }()
				if err := c.Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				rc.Close()
				rs.Close()
			}
		})
	}
	b.Run("TLS_PSK_WITH_AES_128_CBC_SHA256/tcp", func(b *testing.B) {
		l, err := Listen("tcp", "127.0.0.1:0", serverConfig())
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					c.(*Conn).Handshake()
					io.Copy(io.Discard, c)
					c.Close()
				}()
			}
		}()
		cc := clientConfig()
		cc.CipherSuites = []uint16{TLS_PSK_WITH_AES_128_CBC_SHA256}
		b.ReportAllocs()
		for b.Loop() {
			c, err := Dial("tcp", l.Addr().String(), cc)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}

// Bulk throughput, client to server over loopback TCP, 32 KiB writes; with
// plain TCP and crypto/tls (TLS 1.2 ECDHE-ECDSA AES-128-GCM) for scale.
func BenchmarkThroughput(b *testing.B) {
	const chunk = 32 << 10
	run := func(b *testing.B, client, server net.Conn) {
		go io.Copy(io.Discard, server)
		buf := make([]byte, chunk)
		b.SetBytes(chunk)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		client.Close()
	}
	type variant struct {
		name  string
		id    uint16
		noETM bool
	}
	for _, v := range []variant{
		{"TLS_PSK_WITH_AES_128_GCM_SHA256", TLS_PSK_WITH_AES_128_GCM_SHA256, false},
		{"TLS_PSK_WITH_AES_128_CCM_8", TLS_PSK_WITH_AES_128_CCM_8, false},
		{"TLS_PSK_WITH_AES_128_CBC_SHA256/EtM", TLS_PSK_WITH_AES_128_CBC_SHA256, false},
		{"TLS_PSK_WITH_AES_128_CBC_SHA256/MtE", TLS_PSK_WITH_AES_128_CBC_SHA256, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			cc := clientConfig()
			cc.CipherSuites = []uint16{v.id}
			cc.DisableEncryptThenMAC = v.noETM
			c, s := mustHandshake(b, cc, serverConfig())
			run(b, c, s)
		})
	}
	b.Run("plain TCP", func(b *testing.B) {
		c, s := tcpPair(b)
		run(b, c, s)
	})
	b.Run("crypto/tls ECDHE-ECDSA-AES128-GCM", func(b *testing.B) {
		rc, rs := tcpPair(b)
		c := tls.Client(rc, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
		s := tls.Server(rs, &tls.Config{Certificates: []tls.Certificate{testCert(b)}})
		go s.Handshake()
		if err := c.Handshake(); err != nil {
			b.Fatal(err)
		}
		run(b, c, s)
	})
}
