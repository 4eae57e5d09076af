package tlspsk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"io"
)

// The cipher suites of this package (IANA values).
const (
	// TLS_PSK_WITH_AES_128_GCM_SHA256 is RFC 5487's AES-128-GCM suite.
	TLS_PSK_WITH_AES_128_GCM_SHA256 uint16 = 0x00A8
	// TLS_PSK_WITH_AES_128_CBC_SHA256 is RFC 5487's CBC suite, the one
	// oneM2M TS-0003 10.2 makes mandatory for TLS.
	TLS_PSK_WITH_AES_128_CBC_SHA256 uint16 = 0x00AE
	// TLS_PSK_WITH_AES_128_CCM_8 is RFC 6655's CCM suite with an 8-byte tag
	// (the one TS-0003 makes mandatory for DTLS).
	TLS_PSK_WITH_AES_128_CCM_8 uint16 = 0xC0A8
)

// scsvRenegotiation is the signalling value a client may put among its
// suites instead of the renegotiation_info extension (RFC 5746 3.3).
// (TLS_FALLBACK_SCSV, RFC 7507, needs no handling: a server that speaks
// only TLS 1.2 refuses any lower version anyway.)
const scsvRenegotiation uint16 = 0x00FF

type suite struct {
	id         uint16
	name       string // IANA name
	cbc        bool   // CBC with HMAC-SHA256; else AEAD
	keyLen     int
	macLen     int // HMAC key and tag length (CBC only)
	fixedIVLen int // the implicit nonce part from the key block (AEAD only)
	newAEAD    func(key []byte) (cipher.AEAD, error)
}

// suites lists what this package implements, in its default preference:
// the AEAD suites first (no MAC-then-encrypt, no padding), GCM before CCM_8
// (full-length tag, and faster), and the CBC suite TS-0003 mandates last.
var suites = []*suite{
	{
		id: TLS_PSK_WITH_AES_128_GCM_SHA256, name: "TLS_PSK_WITH_AES_128_GCM_SHA256",
		keyLen: 16, fixedIVLen: 4,
		newAEAD: func(key []byte) (cipher.AEAD, error) {
			b, err := aes.NewCipher(key)
			if err != nil {
				return nil, err
			}
			return cipher.NewGCM(b)
		},
	},
	{
		id: TLS_PSK_WITH_AES_128_CCM_8, name: "TLS_PSK_WITH_AES_128_CCM_8",
		keyLen: 16, fixedIVLen: 4,
		newAEAD: func(key []byte) (cipher.AEAD, error) {
			b, err := aes.NewCipher(key)
			if err != nil {
				return nil, err
			}
			return newCCM(b, 12, 8)
		},
	},
	{
		id: TLS_PSK_WITH_AES_128_CBC_SHA256, name: "TLS_PSK_WITH_AES_128_CBC_SHA256",
		cbc: true, keyLen: 16, macLen: 32,
	},
}

func suiteByID(id uint16) *suite {
	for _, s := range suites {
		if s.id == id {
			return s
		}
	}
	return nil
}

// CipherSuites returns the suites this package implements, in its default
// order of preference.
func CipherSuites() []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.id
	}
	return ids
}

// CipherSuiteName is the IANA name of a suite of this package, or the hex
// value for any other.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	const hexDigits = "0123456789ABCDEF"
	return "0x" + string([]byte{hexDigits[id>>12], hexDigits[id>>8&15], hexDigits[id>>4&15], hexDigits[id&15]})
}

// keyBlockLen is how much of the key block one connection uses.
func (s *suite) keyBlockLen() int { return 2 * (s.macLen + s.keyLen + s.fixedIVLen) }

// protection builds the record protection for one direction.
func (s *suite) protection(k sessionKeys, etm bool) (recordProtection, error) {
	if s.cbc {
		b, err := aes.NewCipher(k.key)
		if err != nil {
			return nil, err
		}
		zero := make([]byte, aes.BlockSize)
		return &cbcProtection{
			block: b,
			enc:   cipher.NewCBCEncrypter(b, zero),
			dec:   cipher.NewCBCDecrypter(b, zero),
			mac:   hmac.New(sha256.New, k.mac),
			etm:   etm,
		}, nil
	}
	a, err := s.newAEAD(k.key)
	if err != nil {
		return nil, err
	}
	p := &aeadProtection{aead: a}
	copy(p.nonce[:4], k.iv)
	return p, nil
}

// recordProtection seals and opens the fragments of one direction once
// ChangeCipherSpec has switched it on. hdr is the 5-byte record header as it
// goes on the wire (for open) or with the plaintext length (for seal); seq
// the record's sequence number.
type recordProtection interface {
	// seal appends the protected fragment to out.
	seal(out []byte, seq, hdr, plaintext []byte, rand io.Reader) ([]byte, error)
	// open decrypts the fragment in place and returns the plaintext. Any
	// failure, whatever its cause, is bad_record_mac (RFC 5246 6.2.3.2,
	// 7.2.2: decryption_failed must not be sent).
	open(seq, hdr, fragment []byte) ([]byte, error)
	// maxOverhead is the most seal adds to a plaintext.
	maxOverhead() int
}

var errBadRecordMAC = &AlertError{Alert: AlertBadRecordMAC, Reason: "record authentication failed"}

// aeadProtection is GCM or CCM_8 as TLS 1.2 uses them (RFC 5288 section 3,
// RFC 6655 section 3): nonce = 4-byte implicit salt from the key block ||
// 8-byte explicit part carried in the record; the explicit part is the
// sequence number, unique per key as the RFCs require. Additional data =
// seq || type || version || plaintext length.
type aeadProtection struct {
	aead  cipher.AEAD
	nonce [12]byte
	ad    [13]byte
}

const explicitNonceLen = 8

func (p *aeadProtection) maxOverhead() int { return explicitNonceLen + p.aead.Overhead() }

func (p *aeadProtection) seal(out []byte, seq, hdr, plaintext []byte, _ io.Reader) ([]byte, error) {
	copy(p.nonce[4:], seq)
	out = append(out, seq...)
	copy(p.ad[:8], seq)
	copy(p.ad[8:], hdr[:3])
	p.ad[11], p.ad[12] = byte(len(plaintext)>>8), byte(len(plaintext))
	return p.aead.Seal(out, p.nonce[:], plaintext, p.ad[:]), nil
}

func (p *aeadProtection) open(seq, hdr, fragment []byte) ([]byte, error) {
	if len(fragment) < explicitNonceLen+p.aead.Overhead() {
		return nil, errBadRecordMAC
	}
	copy(p.nonce[4:], fragment[:explicitNonceLen])
	ct := fragment[explicitNonceLen:]
	n := len(ct) - p.aead.Overhead()
	copy(p.ad[:8], seq)
	copy(p.ad[8:], hdr[:3])
	p.ad[11], p.ad[12] = byte(n>>8), byte(n)
	pt, err := p.aead.Open(ct[:0], p.nonce[:], ct, p.ad[:])
	if err != nil {
		return nil, errBadRecordMAC
	}
	return pt, nil
}

// cbcProtection is AES-128-CBC with HMAC-SHA256 (RFC 5246 6.2.3.2), either
// MAC-then-encrypt or, when negotiated, encrypt-then-MAC (RFC 7366). Every
// record carries a fresh random IV.
type cbcProtection struct {
	block cipher.Block
	enc   cipher.BlockMode
	dec   cipher.BlockMode
	mac   hash.Hash
	etm   bool
	tag   [sha256.Size]byte
}

const blockSize = aes.BlockSize

func (p *cbcProtection) maxOverhead() int { return blockSize + p.mac.Size() + blockSize }

type ivSetter interface{ SetIV([]byte) }

func (p *cbcProtection) encrypter(iv []byte) cipher.BlockMode {
	if s, ok := p.enc.(ivSetter); ok {
		s.SetIV(iv)
		return p.enc
	}
	return cipher.NewCBCEncrypter(p.block, iv)
}

func (p *cbcProtection) decrypter(iv []byte) cipher.BlockMode {
	if s, ok := p.dec.(ivSetter); ok {
		s.SetIV(iv)
		return p.dec
	}
	return cipher.NewCBCDecrypter(p.block, iv)
}

// macRecord computes HMAC(seq || type || version || length || data) into
// p.tag, then feeds extra into the inner hash: see open for why.
func (p *cbcProtection) macRecord(seq, hdr []byte, length int, data, extra []byte) []byte {
	p.mac.Reset()
	p.mac.Write(seq)
	p.mac.Write(hdr[:3])
	p.mac.Write([]byte{byte(length >> 8), byte(length)})
	p.mac.Write(data)
	tag := p.mac.Sum(p.tag[:0])
	if len(extra) > 0 {
		p.mac.Write(extra)
	}
	return tag
}

func (p *cbcProtection) seal(out []byte, seq, hdr, plaintext []byte, rand io.Reader) ([]byte, error) {
	start := len(out)
	var iv [blockSize]byte
	if _, err := io.ReadFull(rand, iv[:]); err != nil {
		return nil, err
	}
	out = append(out, iv[:]...)
	body := len(out)
	out = append(out, plaintext...)
	if !p.etm {
		out = append(out, p.macRecord(seq, hdr, len(plaintext), plaintext, nil)...)
	}
	// Padding: padLen+1 bytes of value padLen, to a whole number of blocks.
	padLen := blockSize - 1 - (len(out)-body)%blockSize
	for range padLen + 1 {
		out = append(out, byte(padLen))
	}
	p.encrypter(iv[:]).CryptBlocks(out[body:], out[body:])
	if p.etm {
		// RFC 7366 3: the MAC covers IV || ciphertext, with their length
		// in the pseudo-header.
		ivct := out[start:]
		out = append(out, p.macRecord(seq, hdr, len(ivct), ivct, nil)...)
	}
	return out, nil
}

func (p *cbcProtection) open(seq, hdr, fragment []byte) ([]byte, error) {
	macLen := p.mac.Size()
	if p.etm {
		// IV || ciphertext (at least one block) || MAC. The MAC is checked
		// before anything is decrypted, so the padding check after it
		// leaks nothing an attacker could not compute.
		if len(fragment) < blockSize+blockSize+macLen || (len(fragment)-macLen)%blockSize != 0 {
			return nil, errBadRecordMAC
		}
		ivct := fragment[:len(fragment)-macLen]
		tag := p.macRecord(seq, hdr, len(ivct), ivct, nil)
		if subtle.ConstantTimeCompare(tag, fragment[len(ivct):]) != 1 {
			return nil, errBadRecordMAC
		}
		body := ivct[blockSize:]
		p.decrypter(ivct[:blockSize]).CryptBlocks(body, body)
		toRemove, good := extractPadding(body)
		if good != 0xff {
			return nil, errBadRecordMAC
		}
		return body[:len(body)-toRemove], nil
	}

	// MAC-then-encrypt: IV || E(plaintext || MAC || padding). The smallest
	// valid body holds the MAC and one padding byte, rounded up to blocks.
	minBody := (macLen + 1 + blockSize - 1) / blockSize * blockSize
	if len(fragment) < blockSize+minBody || len(fragment)%blockSize != 0 {
		return nil, errBadRecordMAC
	}
	body := fragment[blockSize:]
	p.decrypter(fragment[:blockSize]).CryptBlocks(body, body)

	// From here the padding length is secret: a timing difference between
	// bad padding and a bad MAC is the Lucky13 / padding-oracle leak. The
	// padding is checked in constant time, a bad one is treated as a
	// one-byte padding so the MAC is still computed over almost all of the
	// record, and the bytes past the data (the padding) are fed to the MAC's
	// inner hash after the tag is taken, so the hashing work stays about
	// the same whatever the padding length (the approach of Go's
	// crypto/tls). The result is one bad_record_mac for either failure.
	toRemove, good := extractPadding(body)
	n := len(body) - macLen - toRemove
	// n < 0 only with a (bad) long padding; clamp to 0 without branching on
	// the secret.
	n &^= n >> (strconvIntSize - 1)
	remoteMAC := body[n : n+macLen]
	localMAC := p.macRecord(seq, hdr, n, body[:n], body[n+macLen:])
	if subtle.ConstantTimeCompare(localMAC, remoteMAC)&int(good&1) != 1 {
		return nil, errBadRecordMAC
	}
	return body[:n], nil
}

const strconvIntSize = 32 << (^uint(0) >> 63)

// extractPadding checks the CBC padding of payload (its last byte is the
// padding length, and that many bytes before it must all carry the same
// value) in time that depends only on len(payload). It returns how many
// bytes to strip (padding length + 1; 1 when the padding is bad) and 0xff
// for good padding, 0 for bad.
func extractPadding(payload []byte) (toRemove int, good byte) {
	if len(payload) < 1 {
		return 0, 0
	}
	padLen := payload[len(payload)-1]
	// good starts as 0xff when the padding fits in the payload.
	fits := uint(len(payload)-1) - uint(padLen) // top bit set when it does not fit
	good = byte(int(^fits) >> (strconvIntSize - 1))

	// Inspect the last 256 bytes (or all): the padding can be no longer.
	toCheck := min(256, len(payload))
	for i := 1; i < toCheck; i++ {
		// inPad is 0xff when byte i from the end is part of the padding
		// (i <= padLen).
		inPad := byte(int(^(uint(padLen) - uint(i))) >> (strconvIntSize - 1))
		b := payload[len(payload)-1-i]
		good &^= inPad & (padLen ^ b)
	}
	// Fold: any cleared bit in good makes the whole byte 0.
	good &= good >> 4
	good &= good >> 2
	good &= good >> 1
	good = -(good & 1) // 0xff or 0x00
	toRemove = int(padLen&good) + 1
	return toRemove, good
}
