package tlspsk

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

type protCase struct {
	name  string
	suite *suite
	etm   bool
}

func protCases() []protCase {
	var cs []protCase
	for _, s := range suites {
		if s.cbc {
			cs = append(cs, protCase{s.name + " MAC-then-encrypt", s, false}, protCase{s.name + " encrypt-then-MAC", s, true})
		} else {
			cs = append(cs, protCase{s.name, s, false})
		}
	}
	return cs
}

// protPair returns the sending and receiving protection of one direction.
func protPair(t testing.TB, s *suite, etm bool) (recordProtection, recordProtection) {
	t.Helper()
	kb := make([]byte, s.keyBlockLen())
	for i := range kb {
		kb[i] = byte(i * 7)
	}
	c, _ := splitKeyBlock(kb, s)
	w, err := s.protection(c, etm)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.protection(c, etm)
	if err != nil {
		t.Fatal(err)
	}
	return w, r
}

func hdrFor(typ recordType, n int) []byte {
	return []byte{byte(typ), 3, 3, byte(n >> 8), byte(n)}
}

func seal(t testing.TB, p recordProtection, seq []byte, typ recordType, pt []byte) []byte {
	t.Helper()
	out, err := p.seal(nil, seq, hdrFor(typ, len(pt)), pt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func open(p recordProtection, seq []byte, typ recordType, frag []byte) ([]byte, error) {
	return p.open(seq, hdrFor(typ, len(frag)), append([]byte(nil), frag...))
}

func isBadRecordMAC(err error) bool {
	var ae *AlertError
	return errors.As(err, &ae) && ae.Alert == AlertBadRecordMAC && !ae.Received
}

func TestRecordProtectionRoundTrip(t *testing.T) {
	seq := []byte{0, 0, 0, 0, 0, 0, 1, 2}
	for _, pc := range protCases() {
		w, r := protPair(t, pc.suite, pc.etm)
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 1000, maxPlaintext} {
			pt := bytes.Repeat([]byte{byte(n)}, n)
			frag := seal(t, w, seq, recordApplicationData, pt)
			if len(frag) > n+w.maxOverhead() {
				t.Fatalf("%s: %d bytes sealed into %d, more than the %d overhead", pc.name, n, len(frag), w.maxOverhead())
			}
			got, err := open(r, seq, recordApplicationData, frag)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%s len %d: open = %v", pc.name, n, err)
			}
			// The sequence number and the record type are authenticated.
			if _, err := open(r, []byte{0, 0, 0, 0, 0, 0, 1, 3}, recordApplicationData, frag); !isBadRecordMAC(err) {
				t.Fatalf("%s len %d: other sequence number: %v", pc.name, n, err)
			}
			if _, err := open(r, seq, recordHandshake, frag); !isBadRecordMAC(err) {
				t.Fatalf("%s len %d: other record type: %v", pc.name, n, err)
			}
		}
	}
}

// Every single-bit change and every truncation of a record is
// bad_record_mac.
func TestRecordProtectionTamper(t *testing.T) {
	seq := make([]byte, 8)
	for _, pc := range protCases() {
		w, r := protPair(t, pc.suite, pc.etm)
		for _, n := range []int{0, 5, 16, 40} {
			frag := seal(t, w, seq, recordApplicationData, bytes.Repeat([]byte{'x'}, n))
			for i := range len(frag) * 8 {
				bad := append([]byte(nil), frag...)
				bad[i/8] ^= 1 << (i % 8)
				if _, err := open(r, seq, recordApplicationData, bad); !isBadRecordMAC(err) {
					t.Fatalf("%s len %d: bit %d flipped: %v", pc.name, n, i, err)
				}
			}
			for cut := 0; cut < len(frag); cut++ {
				if _, err := open(r, seq, recordApplicationData, frag[:cut]); !isBadRecordMAC(err) {
					t.Fatalf("%s len %d: truncated to %d: %v", pc.name, n, cut, err)
				}
			}
			if _, err := open(r, seq, recordApplicationData, append(append([]byte(nil), frag...), 0)); !isBadRecordMAC(err) {
				t.Fatalf("%s len %d: one byte appended accepted", pc.name, n)
			}
		}
	}
}

// sealCBCPadded builds a CBC record by hand with a chosen padding length
// (RFC 5246 allows any up to 255 that fills whole blocks) and optionally a
// corrupted padding byte.
func sealCBCPadded(t *testing.T, p *cbcProtection, seq []byte, pt []byte, padLen int, corrupt int) []byte {
	t.Helper()
	hdr := hdrFor(recordApplicationData, len(pt))
	iv := make([]byte, blockSize)
	rand.Read(iv)
	body := append([]byte(nil), pt...)
	if !p.etm {
		body = append(body, p.macRecord(seq, hdr, len(pt), pt, nil)...)
	}
	for range padLen + 1 {
		body = append(body, byte(padLen))
	}
	if corrupt >= 0 {
		body[len(body)-1-corrupt] ^= 0x40
	}
	if len(body)%blockSize != 0 {
		t.Fatalf("padding %d does not fill blocks", padLen)
	}
	p.encrypter(iv).CryptBlocks(body, body)
	frag := append(iv, body...)
	if p.etm {
		frag = append(frag, p.macRecord(seq, hdr, len(frag), frag, nil)...)
	}
	return frag
}

// Longer paddings are accepted; a wrong byte anywhere in the padding is
// bad_record_mac, with MAC-then-encrypt (where it must not be told apart
// from a bad MAC) and with encrypt-then-MAC.
func TestCBCPadding(t *testing.T) {
	s := suiteByID(TLS_PSK_WITH_AES_128_CBC_SHA256)
	seq := make([]byte, 8)
	for _, etm := range []bool{false, true} {
		w, r := protPair(t, s, etm)
		wp := w.(*cbcProtection)
		pt := []byte("0123456789") // 10 bytes; +32 MAC (MtE) = 42
		base := 10
		if !etm {
			base += 32
		}
		for padLen := 0; padLen < 256; padLen++ {
			if (base+padLen+1)%blockSize != 0 {
				continue
			}
			frag := sealCBCPadded(t, wp, seq, pt, padLen, -1)
			got, err := open(r, seq, recordApplicationData, frag)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("etm=%v padding %d: %v", etm, padLen, err)
			}
			for _, corrupt := range []int{1, padLen / 2, padLen} {
				if corrupt == 0 {
					continue // the length byte itself: another valid-looking length
				}
				bad := sealCBCPadded(t, wp, seq, pt, padLen, corrupt)
				if _, err := open(r, seq, recordApplicationData, bad); !isBadRecordMAC(err) {
					t.Fatalf("etm=%v padding %d, byte %d from the end corrupted: %v", etm, padLen, corrupt, err)
				}
			}
		}
	}
}

// A MAC-then-encrypt record whose last byte claims padding that is not
// there is refused even when a valid MAC sits where a one-byte padding
// would put it (the fallback extractPadding uses for bad padding must not
// turn a bad record into a good one).
func TestCBCBadPaddingWithValidMAC(t *testing.T) {
	s := suiteByID(TLS_PSK_WITH_AES_128_CBC_SHA256)
	w, r := protPair(t, s, false)
	wp := w.(*cbcProtection)
	seq := make([]byte, 8)
	pt := []byte("fifteen bytes!!") // 15 + 32 + 1 = 48, whole blocks
	for _, last := range []byte{0, 5, 31, 255} {
		hdr := hdrFor(recordApplicationData, len(pt))
		body := append(append([]byte(nil), pt...), wp.macRecord(seq, hdr, len(pt), pt, nil)...)
		body = append(body, last)
		iv := make([]byte, blockSize)
		wp.encrypter(iv).CryptBlocks(body, body)
		_, err := open(r, seq, recordApplicationData, append(iv, body...))
		if last == 0 {
			if err != nil {
				t.Fatalf("a genuine one-byte padding refused: %v", err)
			}
			continue
		}
		if !isBadRecordMAC(err) {
			t.Fatalf("last byte %d: a record with inconsistent padding was accepted (%v)", last, err)
		}
	}
}

// refExtractPadding is the obvious, branching version.
func refExtractPadding(p []byte) (int, byte) {
	if len(p) == 0 {
		return 0, 0
	}
	n := int(p[len(p)-1])
	if n+1 > len(p) {
		return 1, 0
	}
	for i := 1; i <= n; i++ {
		if p[len(p)-1-i] != byte(n) {
			return 1, 0
		}
	}
	return n + 1, 0xff
}

func TestExtractPaddingMatchesReference(t *testing.T) {
	buf := make([]byte, 300)
	for size := 0; size <= len(buf); size++ {
		p := buf[:size]
		for padLen := 0; padLen < 256; padLen++ {
			for _, variant := range []string{"good", "short", "wrongbyte"} {
				for i := range p {
					p[i] = 0xee
				}
				if size == 0 {
					continue
				}
				p[size-1] = byte(padLen)
				for i := 1; i <= padLen && i < size; i++ {
					p[size-1-i] = byte(padLen)
				}
				switch variant {
				case "short":
					if padLen >= 2 && padLen < size {
						p[size-1-padLen] = byte(padLen + 1)
					}
				case "wrongbyte":
					if padLen >= 1 && padLen < size {
						p[size-1-(padLen+1)/2] ^= 1
					}
				}
				gr, gg := extractPadding(p)
				wr, wg := refExtractPadding(p)
				if gr != wr || gg != wg {
					t.Fatalf("size %d pad %d %s: extractPadding = (%d, %#x), reference (%d, %#x)", size, padLen, variant, gr, gg, wr, wg)
				}
			}
		}
	}
	if n, g := extractPadding(nil); n != 0 || g != 0 {
		t.Fatal("empty payload")
	}
}

// A MAC-then-encrypt record too short to hold a MAC and a padding byte, or
// not a whole number of blocks, is refused before decryption.
func TestCBCLengthChecks(t *testing.T) {
	s := suiteByID(TLS_PSK_WITH_AES_128_CBC_SHA256)
	for _, etm := range []bool{false, true} {
		_, r := protPair(t, s, etm)
		for n := 0; n <= 96; n++ {
			frag := make([]byte, n)
			if _, err := r.open(make([]byte, 8), hdrFor(recordApplicationData, n), frag); !isBadRecordMAC(err) {
				t.Fatalf("etm=%v: %d zero bytes: %v", etm, n, err)
			}
		}
	}
}

func ExampleCipherSuiteName() {
	for _, id := range CipherSuites() {
		fmt.Printf("%#04x %s\n", id, CipherSuiteName(id))
	}
	fmt.Println(CipherSuiteName(0x1301))
	// Output:
	// 0x00a8 TLS_PSK_WITH_AES_128_GCM_SHA256
	// 0xc0a8 TLS_PSK_WITH_AES_128_CCM_8
	// 0x00ae TLS_PSK_WITH_AES_128_CBC_SHA256
	// 0x1301
}
