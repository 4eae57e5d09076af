package tlspsk

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"os"
	"strconv"
	"strings"
	"testing"
)

func newTestCCM(t testing.TB, key []byte, nonceSize, tagSize int) cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newCCM(b, nonceSize, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkAEADVector seals and opens one vector, both into fresh buffers and
// in place, and checks that any flipped bit in the output, the nonce or the
// additional data makes Open fail and clears what it decrypted.
func checkAEADVector(t *testing.T, name string, a cipher.AEAD, nonce, ad, msg, want []byte) {
	t.Helper()
	got := a.Seal(nil, nonce, msg, ad)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: Seal\n got %X\nwant %X", name, got, want)
	}
	buf := append([]byte(nil), msg...)
	if inPlace := a.Seal(buf[:0], nonce, buf, ad); !bytes.Equal(inPlace, want) {
		t.Fatalf("%s: Seal in place gives %X", name, inPlace)
	}
	pt, err := a.Open(nil, nonce, want, ad)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("%s: Open = %X, %v; want %X", name, pt, err, msg)
	}
	buf = append([]byte(nil), want...)
	if pt, err := a.Open(buf[:0], nonce, buf, ad); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("%s: Open in place = %X, %v", name, pt, err)
	}
	// Prefix kept: dst's existing bytes stay in front.
	if out := a.Seal([]byte("pre"), nonce, msg, ad); !bytes.Equal(out, append([]byte("pre"), want...)) {
		t.Fatalf("%s: Seal with a prefix: %X", name, out)
	}
	for i := range len(want) * 8 {
		bad := append([]byte(nil), want...)
		bad[i/8] ^= 1 << (i % 8)
		if pt, err := a.Open(bad[:0], nonce, bad, ad); err == nil {
			t.Fatalf("%s: Open accepted the output with bit %d flipped", name, i)
		} else if pt != nil || !bytes.Equal(bad[:len(msg)], make([]byte, len(msg))) && len(msg) > 0 {
			t.Fatalf("%s: failed Open left plaintext behind: %X", name, bad[:len(msg)])
		}
	}
	for i := range len(nonce) {
		n := append([]byte(nil), nonce...)
		n[i] ^= 0x80
		if _, err := a.Open(nil, n, want, ad); err == nil {
			t.Fatalf("%s: Open accepted a changed nonce byte %d", name, i)
		}
	}
	for i := range len(ad) {
		d := append([]byte(nil), ad...)
		d[i] ^= 0x01
		if _, err := a.Open(nil, nonce, want, d); err == nil {
			t.Fatalf("%s: Open accepted changed additional data byte %d", name, i)
		}
	}
	if _, err := a.Open(nil, nonce, want, append(append([]byte(nil), ad...), 0)); err == nil {
		t.Fatalf("%s: Open accepted longer additional data", name)
	}
	if _, err := a.Open(nil, nonce, want[:len(want)-1], ad); err == nil {
		t.Fatalf("%s: Open accepted a truncated message", name)
	}
}

// The 24 packet vectors of RFC 3610 section 8 (13-byte nonce; 8- and
// 10-byte tags), from testdata/ccm-rfc3610.txt.
func TestCCMRFC3610(t *testing.T) {
	f, err := os.Open("testdata/ccm-rfc3610.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 7 {
			t.Fatalf("bad vector line %q", line)
		}
		tag, _ := strconv.Atoi(fs[1])
		key, nonce, ad, msg, want := unhex(t, fs[2]), unhex(t, fs[3]), unhex(t, fs[4]), unhex(t, fs[5]), unhex(t, fs[6])
		checkAEADVector(t, "RFC 3610 packet vector #"+fs[0], newTestCCM(t, key, len(nonce), tag), nonce, ad, msg, want)
		n++
	}
	if n != 24 {
		t.Fatalf("read %d vectors, want 24", n)
	}
}

// NIST SP 800-38C appendix C, examples 1 to 4: nonce lengths 7, 8, 12
// (the TLS case: 12-byte nonce, 8-byte tag) and 13, and in example 4 a
// 65536-byte associated data, which takes the 6-byte length encoding.
func TestCCMSP800_38C(t *testing.T) {
	key := unhex(t, "404142434445464748494a4b4c4d4e4f")
	ex4AD := make([]byte, 65536)
	for i := range ex4AD {
		ex4AD[i] = byte(i)
	}
	for _, tc := range []struct {
		name              string
		tag               int
		nonce, ad, msg, c string
	}{
		{"example 1", 4, "10111213141516", "0001020304050607", "20212223", "7162015b4dac255d"},
		{"example 2", 6, "1011121314151617", "000102030405060708090a0b0c0d0e0f", "202122232425262728292a2b2c2d2e2f", "d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd"},
		{"example 3", 8, "101112131415161718191a1b", "000102030405060708090a0b0c0d0e0f10111213", "202122232425262728292a2b2c2d2e2f3031323334353637", "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"},
		{"example 4", 14, "101112131415161718191a1b1c", "", "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72b4ac6bec93e8598e7f0dadbcea5b"},
	} {
		ad := unhex(t, tc.ad)
		if tc.name == "example 4" {
			ad = ex4AD
			want := unhex(t, tc.c)
			a := newTestCCM(t, key, 13, tc.tag)
			if got := a.Seal(nil, unhex(t, tc.nonce), unhex(t, tc.msg), ad); !bytes.Equal(got, want) {
				t.Fatalf("%s: got %x", tc.name, got)
			}
			if _, err := a.Open(nil, unhex(t, tc.nonce), want, ad[1:]); err == nil {
				t.Fatalf("%s: opened with shortened associated data", tc.name)
			}
			continue
		}
		nonce := unhex(t, tc.nonce)
		checkAEADVector(t, tc.name, newTestCCM(t, key, len(nonce), tc.tag), nonce, ad, unhex(t, tc.msg), unhex(t, tc.c))
	}
}

// Round trips over lengths around the block size with the TLS parameters,
// including the empty message and empty additional data.
func TestCCMRoundTrip(t *testing.T) {
	a := newTestCCM(t, bytes.Repeat([]byte{7}, 16), 12, 8)
	nonce := bytes.Repeat([]byte{3}, 12)
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 1000, 16384} {
		for _, adLen := range []int{0, 13, 14, 40} {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			ad := bytes.Repeat([]byte{0xad}, adLen)
			ct := a.Seal(nil, nonce, msg, ad)
			if len(ct) != n+8 {
				t.Fatalf("len %d: sealed %d bytes", n, len(ct))
			}
			pt, err := a.Open(nil, nonce, ct, ad)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("len %d ad %d: round trip failed: %v", n, adLen, err)
			}
		}
	}
}

func TestCCMParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, tc := range []struct {
		nonce, tag int
		ok         bool
	}{
		{12, 8, true}, {13, 10, true}, {7, 16, true}, {13, 4, true},
		{6, 8, false}, {14, 8, false}, {12, 3, false}, {12, 9, false}, {12, 18, false},
	} {
		_, err := newCCM(b, tc.nonce, tc.tag)
		if (err == nil) != tc.ok {
			t.Errorf("newCCM(nonce %d, tag %d): err = %v, want ok = %v", tc.nonce, tc.tag, err, tc.ok)
		}
	}
	// L = 2 (13-byte nonce) allows at most 65535 bytes.
	a, _ := newCCM(b, 13, 8)
	if _, err := a.Open(nil, make([]byte, 13), make([]byte, 65536+8), nil); err == nil {
		t.Fatal("Open accepted a message longer than the counter allows")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Seal of an over-long message did not panic")
		}
	}()
	a.Seal(nil, make([]byte, 13), make([]byte, 65536), nil)
}

// The additional data length takes 2 bytes below 0xff00 and 6 from there
// (RFC 3610 2.2). Expected outputs computed with an independent CCM (the
// Python cryptography package's AESCCM, OpenSSL underneath).
func TestCCMAdditionalDataLengthEncoding(t *testing.T) {
	a := newTestCCM(t, bytes.Repeat([]byte{7}, 16), 12, 8)
	nonce := bytes.Repeat([]byte{3}, 12)
	for _, tc := range []struct {
		adLen int
		want  string
	}{
		{300, "2c2e5a80925d60109dd28b1157c004cf"},
		{0xfeff, "2c2e5a80925d6010148f4973f0c563db"},
		{0xff00, "2c2e5a80925d6010a45cf5cfb227f2dc"},
	} {
		ad := make([]byte, tc.adLen)
		for i := range ad {
			ad[i] = byte(i % 251)
		}
		if got := a.Seal(nil, nonce, []byte("boundary"), ad); !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("additional data of %d bytes: got %x, want %s", tc.adLen, got, tc.want)
		}
	}
}
