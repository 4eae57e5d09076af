package tlspsk

import (
	"crypto/hmac"
	"crypto/sha256"
)

// The TLS 1.2 key schedule for the three suites of this package, which all
// use the SHA-256 PRF (RFC 5246 section 5, RFC 5487 section 3, RFC 6655
// section 3).

const (
	masterSecretLen   = 48
	finishedLen       = 12 // verify_data_length of every suite here
	randomLen         = 32
	labelMaster       = "master secret"
	labelExtMaster    = "extended master secret" // RFC 7627 section 4
	labelKeyExpansion = "key expansion"
	labelClientFinish = "client finished"
	labelServerFinish = "server finished"
)

// prf fills out with PRF(secret, label, seed) = P_SHA256(secret, label+seed).
func prf(out, secret []byte, label string, seed ...[]byte) {
	h := hmac.New(sha256.New, secret)
	// A(1) = HMAC(secret, label+seed); A(i) = HMAC(secret, A(i-1)).
	h.Write([]byte(label))
	for _, s := range seed {
		h.Write(s)
	}
	a := h.Sum(nil)
	var block []byte
	for len(out) > 0 {
		h.Reset()
		h.Write(a)
		h.Write([]byte(label))
		for _, s := range seed {
			h.Write(s)
		}
		block = h.Sum(block[:0])
		out = out[copy(out, block):]
		h.Reset()
		h.Write(a)
		a = h.Sum(a[:0])
	}
}

// pskPremaster is the premaster secret of the plain PSK key exchange (RFC
// 4279 section 2): the "other secret" is N zero bytes for an N-byte key.
//
//	uint16 N || N zero bytes || uint16 N || psk
func pskPremaster(psk []byte) []byte {
	n := len(psk)
	b := make([]byte, 0, 4+2*n)
	b = appendU16(b, uint16(n))
	b = append(b, make([]byte, n)...)
	b = appendU16(b, uint16(n))
	return append(b, psk...)
}

// masterSecret derives the RFC 5246 master secret from the randoms.
func masterSecret(pms, clientRandom, serverRandom []byte) []byte {
	ms := make([]byte, masterSecretLen)
	prf(ms, pms, labelMaster, clientRandom, serverRandom)
	return ms
}

// extendedMasterSecret derives the RFC 7627 master secret from the session
// hash: the hash of the handshake messages up to and including
// ClientKeyExchange.
func extendedMasterSecret(pms, sessionHash []byte) []byte {
	ms := make([]byte, masterSecretLen)
	prf(ms, pms, labelExtMaster, sessionHash)
	return ms
}

// keyBlock expands the master secret into n bytes of key material (RFC 5246
// section 6.3); note the seed order, server random first.
func keyBlock(ms, clientRandom, serverRandom []byte, n int) []byte {
	kb := make([]byte, n)
	prf(kb, ms, labelKeyExpansion, serverRandom, clientRandom)
	return kb
}

// finishedMAC is verify_data for the Finished message (RFC 5246 7.4.9) over
// the transcript hash of every handshake message before it.
func finishedMAC(ms []byte, label string, transcriptHash []byte) []byte {
	out := make([]byte, finishedLen)
	prf(out, ms, label, transcriptHash)
	return out
}

// sessionKeys is one direction's keys from the key block.
type sessionKeys struct {
	mac, key, iv []byte
}

// splitKeyBlock cuts the key block in the order RFC 5246 6.3 fixes:
// client MAC, server MAC, client key, server key, client IV, server IV.
func splitKeyBlock(kb []byte, s *suite) (client, server sessionKeys) {
	take := func(n int) []byte {
		v := kb[:n:n]
		kb = kb[n:]
		return v
	}
	client.mac, server.mac = take(s.macLen), take(s.macLen)
	client.key, server.key = take(s.keyLen), take(s.keyLen)
	client.iv, server.iv = take(s.fixedIVLen), take(s.fixedIVLen)
	return client, server
}
