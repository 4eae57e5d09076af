package tlspsk

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// The TLS 1.2 PRF with SHA-256. The vector (secret, seed, label "test
// label", 100 bytes) is the one circulated on the IETF TLS list; the output
// was reproduced with OpenSSL 3.0.19:
//
//	openssl kdf -keylen 100 -kdfopt digest:SHA256 \
//	  -kdfopt hexsecret:9bbe436ba940f017b17652849a71db35 \
//	  -kdfopt hexseed:$(printf 'test label' | xxd -p)a0ba9f936cda311827a6f796ffd5198c TLS1-PRF
func TestPRFVector(t *testing.T) {
	secret := unhex(t, "9bbe436ba940f017b17652849a71db35")
	seed := unhex(t, "a0ba9f936cda311827a6f796ffd5198c")
	want := unhex(t, `e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
		6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
		4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
		87347b66`)
	got := make([]byte, len(want))
	prf(got, secret, "test label", seed)
	if !bytes.Equal(got, want) {
		t.Fatalf("PRF:\n got %x\nwant %x", got, want)
	}
	// The seed may come in pieces; the result is the same.
	got2 := make([]byte, len(want))
	prf(got2, secret, "test label", seed[:5], nil, seed[5:])
	if !bytes.Equal(got2, want) {
		t.Fatalf("PRF over split seed:\n got %x\nwant %x", got2, want)
	}
	// Every prefix length is a prefix of the output (P_hash is a stream).
	for _, n := range []int{0, 1, 31, 32, 33, 64, 99} {
		p := make([]byte, n)
		prf(p, secret, "test label", seed)
		if !bytes.Equal(p, want[:n]) {
			t.Fatalf("PRF prefix of %d bytes differs", n)
		}
	}
}

// TestPRFOpenSSL cross-checks master secret, extended master secret and
// key expansion derivations, as used by the handshake, against OpenSSL's
// TLS1-PRF with random-looking inputs (skipped without openssl).
func TestPRFOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	pms := pskPremaster(unhex(t, "00112233445566778899aabbccddeeff"))
	cr := bytes.Repeat([]byte{0xc1}, 32)
	sr := bytes.Repeat([]byte{0x5e}, 32)
	sessionHash := bytes.Repeat([]byte{0x77}, 32)
	ms := masterSecret(pms, cr, sr)
	ems := extendedMasterSecret(pms, sessionHash)
	kb := keyBlock(ms, cr, sr, 88)
	for _, tc := range []struct {
		name   string
		secret []byte
		seed   []byte
		got    []byte
	}{
		{"master secret", pms, append(append([]byte(labelMaster), cr...), sr...), ms},
		{"extended master secret", pms, append([]byte(labelExtMaster), sessionHash...), ems},
		{"key expansion", ms, append(append([]byte(labelKeyExpansion), sr...), cr...), kb},
	} {
		out, err := exec.Command("openssl", "kdf", "-keylen", itoa(len(tc.got)), "-kdfopt", "digest:SHA256",
			"-kdfopt", "hexsecret:"+hex.EncodeToString(tc.secret), "-kdfopt", "hexseed:"+hex.EncodeToString(tc.seed),
			"TLS1-PRF").Output()
		if err != nil {
			t.Fatalf("%s: openssl kdf: %v", tc.name, err)
		}
		want := unhex(t, strings.ReplaceAll(string(out), ":", ""))
		if !bytes.Equal(tc.got, want) {
			t.Errorf("%s:\n got %x\nwant %x (openssl)", tc.name, tc.got, want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// RFC 4279 section 2: N, N zeros, N, the key.
func TestPSKPremaster(t *testing.T) {
	got := pskPremaster([]byte{0xaa, 0xbb, 0xcc})
	want := []byte{0, 3, 0, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc}
	if !bytes.Equal(got, want) {
		t.Fatalf("premaster %x, want %x", got, want)
	}
	if got := pskPremaster(make([]byte, 300)); len(got) != 604 || got[0] != 1 || got[1] != 44 || got[302] != 1 || got[303] != 44 {
		t.Fatalf("premaster of a 300-byte key: length %d, prefix %x", len(got), got[:2])
	}
}

// The key block is cut in RFC 5246 6.3 order; the AEAD suites have no MAC
// keys and a 4-byte implicit IV, the CBC suite 32-byte MAC keys and no IV.
func TestSplitKeyBlock(t *testing.T) {
	for _, tc := range []struct {
		id                               uint16
		n                                int
		cmac, smac, ckey, skey, civ, siv [2]int
	}{
		{TLS_PSK_WITH_AES_128_GCM_SHA256, 40, [2]int{0, 0}, [2]int{0, 0}, [2]int{0, 16}, [2]int{16, 32}, [2]int{32, 36}, [2]int{36, 40}},
		{TLS_PSK_WITH_AES_128_CCM_8, 40, [2]int{0, 0}, [2]int{0, 0}, [2]int{0, 16}, [2]int{16, 32}, [2]int{32, 36}, [2]int{36, 40}},
		{TLS_PSK_WITH_AES_128_CBC_SHA256, 96, [2]int{0, 32}, [2]int{32, 64}, [2]int{64, 80}, [2]int{80, 96}, [2]int{96, 96}, [2]int{96, 96}},
	} {
		s := suiteByID(tc.id)
		if s.keyBlockLen() != tc.n {
			t.Fatalf("%s: key block %d bytes, want %d", s.name, s.keyBlockLen(), tc.n)
		}
		kb := make([]byte, tc.n)
		for i := range kb {
			kb[i] = byte(i)
		}
		c, sv := splitKeyBlock(kb, s)
		check := func(what string, got []byte, r [2]int) {
			if !bytes.Equal(got, kb[r[0]:r[1]]) {
				t.Errorf("%s %s = %x, want bytes %d..%d", s.name, what, got, r[0], r[1])
			}
		}
		check("client MAC", c.mac, tc.cmac)
		check("server MAC", sv.mac, tc.smac)
		check("client key", c.key, tc.ckey)
		check("server key", sv.key, tc.skey)
		check("client IV", c.iv, tc.civ)
		check("server IV", sv.iv, tc.siv)
	}
}
