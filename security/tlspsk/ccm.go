package tlspsk

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

// CCM mode (RFC 3610, NIST SP 800-38C) as a cipher.AEAD, which the standard
// library does not provide. TLS uses it with a 12-byte nonce (so L = 3, a
// 3-byte block counter) and an 8-byte tag for TLS_PSK_WITH_AES_128_CCM_8
// (RFC 6655 section 3); the RFC 3610 test vectors use a 13-byte nonce and 8-
// or 10-byte tags, so the nonce and tag sizes are parameters.
//
// Seal computes the CBC-MAC over the plaintext before encrypting, and Open
// decrypts before checking, so either may be called in place (dst =
// plaintext[:0] or ciphertext[:0]); on a failed check Open clears what it
// decrypted and returns errCCMOpen, like the standard library's GCM.

var errCCMOpen = errors.New("tlspsk: CCM message authentication failed")

type ccm struct {
	b         cipher.Block
	nonceSize int
	tagSize   int
	maxLen    uint64 // longest message: 2^(8L) - 1 bytes
}

// newCCM wraps a 16-byte block cipher. nonceSize is 7..13 (L = 15 -
// nonceSize), tagSize one of 4, 6, ..., 16 (RFC 3610 section 2).
func newCCM(b cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("tlspsk: CCM needs a 128-bit block cipher")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("tlspsk: CCM nonce size must be 7 to 13 bytes")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("tlspsk: CCM tag size must be 4, 6, ..., 16 bytes")
	}
	l := 15 - nonceSize
	max := ^uint64(0)
	if l < 8 {
		max = 1<<(8*uint(l)) - 1
	}
	return &ccm{b: b, nonceSize: nonceSize, tagSize: tagSize, maxLen: max}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// counterBlock is A_i of RFC 3610 2.3 with i = 0: flags (L-1), the nonce,
// and a zero counter in the last L bytes.
func (c *ccm) counterBlock(nonce []byte) (a [16]byte) {
	a[0] = byte(15 - c.nonceSize - 1)
	copy(a[1:], nonce)
	return a
}

// cbcMAC is T of RFC 3610 2.2 (all 16 bytes; the caller keeps tagSize):
// the CBC-MAC over B_0, the encoded length of the additional data and the
// data itself zero-padded to a block, and the message zero-padded.
func (c *ccm) cbcMAC(nonce, ad, msg []byte) (x [16]byte) {
	l := 15 - c.nonceSize
	var b0 [16]byte
	b0[0] = byte((c.tagSize-2)/2)<<3 | byte(l-1)
	if len(ad) > 0 {
		b0[0] |= 0x40
	}
	copy(b0[1:], nonce)
	for i, m := 15, uint64(len(msg)); i > c.nonceSize; i, m = i-1, m>>8 {
		b0[i] = byte(m)
	}
	c.b.Encrypt(x[:], b0[:])

	if len(ad) > 0 {
		// The length encoding of the additional data (RFC 3610 2.2) takes
		// 2, 6 or 10 bytes; the first block holds it and the first bytes of
		// the data.
		var first [16]byte
		n := 0
		a := uint64(len(ad))
		switch {
		case a < 0xff00:
			first[0], first[1] = byte(a>>8), byte(a)
			n = 2
		case a <= 0xffffffff:
			first[0], first[1] = 0xff, 0xfe
			for i := range 4 {
				first[2+i] = byte(a >> (24 - 8*i))
			}
			n = 6
		default:
			first[0], first[1] = 0xff, 0xff
			for i := range 8 {
				first[2+i] = byte(a >> (56 - 8*i))
			}
			n = 10
		}
		k := copy(first[n:], ad)
		subtle.XORBytes(x[:], x[:], first[:])
		c.b.Encrypt(x[:], x[:])
		c.absorb(&x, ad[k:])
	}
	c.absorb(&x, msg)
	return x
}

// absorb runs the CBC-MAC over data, zero-padding the last block.
func (c *ccm) absorb(x *[16]byte, data []byte) {
	for len(data) >= 16 {
		subtle.XORBytes(x[:], x[:], data[:16])
		c.b.Encrypt(x[:], x[:])
		data = data[16:]
	}
	if len(data) > 0 {
		subtle.XORBytes(x[:len(data)], x[:len(data)], data)
		c.b.Encrypt(x[:], x[:])
	}
}

// ctr XORs src into dst with the key stream S_1, S_2, ... and returns S_0,
// which masks the tag.
func (c *ccm) ctr(dst, src, nonce []byte) (s0 [16]byte) {
	a := c.counterBlock(nonce)
	c.b.Encrypt(s0[:], a[:])
	if len(src) > 0 {
		// Counter 1 onwards. cipher's CTR increments the whole block, but the
		// message limit (2^(8L) - 1 bytes) keeps the count inside the L-byte
		// counter field, so it never carries into the nonce.
		a[15] = 1
		cipher.NewCTR(c.b, a[:]).XORKeyStream(dst, src)
	}
	return s0
}

func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("tlspsk: CCM: wrong nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen {
		panic("tlspsk: CCM: message too long for the nonce size")
	}
	t := c.cbcMAC(nonce, ad, plaintext)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	s0 := c.ctr(out[:len(plaintext)], plaintext, nonce)
	subtle.XORBytes(out[len(plaintext):], t[:c.tagSize], s0[:c.tagSize])
	return ret
}

func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("tlspsk: CCM: wrong nonce length")
	}
	if len(ciphertext) < c.tagSize || uint64(len(ciphertext)-c.tagSize) > c.maxLen {
		return nil, errCCMOpen
	}
	n := len(ciphertext) - c.tagSize
	var tag [16]byte
	copy(tag[:], ciphertext[n:])
	ret, out := sliceForAppend(dst, n)
	s0 := c.ctr(out, ciphertext[:n], nonce)
	t := c.cbcMAC(nonce, ad, out)
	subtle.XORBytes(t[:c.tagSize], t[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(t[:c.tagSize], tag[:c.tagSize]) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, reallocating when the capacity is
// too small; head is the whole result, tail the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
