package mqtt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/server"
)

// TLS to the broker (TS-0010 7, TS-0003 8.2.1): onecse connects to a
// private Mosquitto over TLS-PSK and over TLS with certificates, and an AE
// on a plain listener of the same broker does CRUD through it.

// crud registers an AE and writes and reads a container through cl.
func crud(t *testing.T, cl testcse.Client) {
	t.Helper()
	aei := cl.Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "C", Ty: 2, PC: map[string]any{"m2m:ae": map[string]any{"rn": "tls", "api": "Ntls", "rr": false, "srv": []any{"3"}}}}).Must(t, 2001).Res("m2m:ae")["aei"].(string)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/tls", From: aei, Ty: 3, PC: map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}}).Must(t, 2001)
	cl.Send(t, testcse.Msg{Op: 1, To: "cse-in/tls/c", From: aei, Ty: 4, PC: map[string]any{"m2m:cin": map[string]any{"con": "over TLS"}}}).Must(t, 2001)
	if la := cl.Send(t, testcse.Msg{Op: 2, To: "cse-in/tls/c/la", From: aei}).Must(t, 2000).Res("m2m:cin"); la["con"] != "over TLS" {
		t.Fatalf("la %v", la)
	}
	cl.Send(t, testcse.Msg{Op: 4, To: "cse-in/tls", From: aei}).Must(t, 2002)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrokerPSK: TLS-PSK to Mosquitto's psk_file, with the suites
// Mosquitto offers by default and with only TLS_PSK_WITH_AES_128_CBC_SHA256
// (the suite TS-0003 requires); a wrong key or an unknown identity fails
// the start with an error that says so.
func TestBrokerPSK(t *testing.T) {
	const identity = "onecse-mqtt-1"
	key := "00112233445566778899aabbccddeeff"
	dir := t.TempDir()
	ports := testcse.Mosquitto(t, 3, func(mdir string, p []int) string {
		psk := writeFile(t, mdir, "psk.txt", identity+":"+key+"\n")
		return fmt.Sprintf("psk_file %s\n"+
			"listener %d 127.0.0.1\n"+
			"listener %d 127.0.0.1\npsk_hint onecse\nuse_identity_as_username true\ntls_version tlsv1.2\n"+
			"listener %d 127.0.0.1\npsk_hint onecse\nuse_identity_as_username true\ntls_version tlsv1.2\nciphers PSK-AES128-CBC-SHA256\n",
			psk, p[0], p[1], p[2])
	})
	plain := testcse.MosquittoURL("tcp", ports[0])
	keyFile := writeFile(t, dir, "mqtt.key", key+"\n")
	for i, port := range ports[1:] {
		t.Run([]string{"default suites", "CBC-SHA256 only"}[i], func(t *testing.T) {
			c := testcse.Start(t, func(cfg *config.Config) {
				cfg.CSEID = testcse.UniqueCSEID()
				cfg.MQTTBroker = testcse.MosquittoURL("mqtts", port)
				cfg.MQTTPSKIdentity, cfg.MQTTPSKKeyFile = identity, keyFile
			})
			crud(t, testcse.DialMQTTAt(t, c, plain, "json"))
		})
	}
	bad := map[string]struct{ identity, key string }{
		"wrong key":        {identity, "ffeeddccbbaa99887766554433221100"},
		"unknown identity": {"nobody", key},
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.HTTP, cfg.Data, cfg.CSEID = "127.0.0.1:0", t.TempDir(), testcse.UniqueCSEID()
			cfg.MQTTBroker = testcse.MosquittoURL("mqtts", ports[1])
			cfg.MQTTPSKIdentity, cfg.MQTTPSKKeyFile = b.identity, writeFile(t, t.TempDir(), "k", b.key)
			srv, err := server.New(context.Background(), cfg, nil)
			if err == nil {
				srv.Shutdown(context.Background())
				t.Fatal("started with a bad PSK")
			}
			if msg := err.Error(); !strings.Contains(msg, "TLS-PSK handshake with the broker") || !strings.Contains(msg, b.identity) || strings.Contains(msg, b.key) {
				t.Fatalf("error: %v", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// certs makes a CA, a server certificate for 127.0.0.1 and a client
// certificate signed by it, as PEM files in dir.
func certs(t *testing.T, dir string) (ca, srvCert, srvKey, cliCert, cliKey string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "onecse test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, ip bool) (string, string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalPKCS8PrivateKey(k)
		return writeFile(t, dir, name+".crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
			writeFile(t, dir, name+".key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})))
	}
	ca = writeFile(t, dir, "ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	srvCert, srvKey = leaf("broker", 2, x509.ExtKeyUsageServerAuth, true)
	cliCert, cliKey = leaf("C"+hex.EncodeToString([]byte("cse")), 3, x509.ExtKeyUsageClientAuth, false)
	return
}

// TestBrokerCertificates: TLS with a client certificate to a Mosquitto that
// requires one; without the certificate, or trusting another CA, the start
// fails.
func TestBrokerCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, srvCert, srvKey, cliCert, cliKey := certs(t, dir)
	ports := testcse.Mosquitto(t, 2, func(_ string, p []int) string {
		return fmt.Sprintf("listener %d 127.0.0.1\n"+
			"listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nuse_identity_as_username true\n",
			p[0], p[1], ca, srvCert, srvKey)
	})
	broker := testcse.MosquittoURL("mqtts", ports[1])
	c := testcse.Start(t, func(cfg *config.Config) {
		cfg.CSEID = testcse.UniqueCSEID()
		cfg.MQTTBroker = broker
		cfg.MQTTCA, cfg.MQTTCert, cfg.MQTTKey = ca, cliCert, cliKey
	})
	crud(t, testcse.DialMQTTAt(t, c, testcse.MosquittoURL("tcp", ports[0]), "cbor"))

	otherCA, _, _, _, _ := certs(t, t.TempDir())
	for name, mod := range map[string]func(*config.Config){
		"no client certificate": func(cfg *config.Config) { cfg.MQTTCA = ca },
		"broker not trusted":    func(cfg *config.Config) { cfg.MQTTCA, cfg.MQTTCert, cfg.MQTTKey = otherCA, cliCert, cliKey },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.HTTP, cfg.Data, cfg.CSEID = "127.0.0.1:0", t.TempDir(), testcse.UniqueCSEID()
			cfg.MQTTBroker = broker
			mod(&cfg)
			srv, err := server.New(context.Background(), cfg, nil)
			if err == nil {
				srv.Shutdown(context.Background())
				t.Fatal("connected")
			}
			t.Logf("refused: %v", err)
		})
	}
}
