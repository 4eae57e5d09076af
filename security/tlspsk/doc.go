// Package tlspsk is TLS 1.2 with pre-shared keys (RFC 4279), which Go's
// crypto/tls does not offer and oneM2M TS-0003 requires for its PSK
// security associations. A *Conn is a net.Conn, so HTTP, MQTT and
// WebSocket run over it unchanged, and it tells who the peer is: the PSK
// identity the client used (State.Identity), which onecse maps to a
// Credential-ID ("12-" + KpsaID, TS-0003 12.3.2.1).
//
// # What it speaks
//
// TLS 1.2 only, the plain PSK key exchange only, three suites, in this
// default order of preference:
//
//	TLS_PSK_WITH_AES_128_GCM_SHA256  0x00A8  RFC 5487
//	TLS_PSK_WITH_AES_128_CCM_8       0xC0A8  RFC 6655 (CCM implemented here, RFC 3610)
//	TLS_PSK_WITH_AES_128_CBC_SHA256  0x00AE  RFC 5487, the suite TS-0003 10.2 mandates
//
// with the extended master secret (RFC 7627) and, for the CBC suite,
// encrypt-then-MAC (RFC 7366): both offered and accepted by default, both
// optional, as OpenSSL and GnuTLS do. Secure renegotiation is signalled
// (RFC 5746), and renegotiation itself refused with a no_renegotiation
// warning. There are no certificates, no (EC)DHE-PSK, no compression, no
// session resumption (empty session IDs, no tickets), no TLS 1.3: a TLS 1.3
// client that also offers 1.2 (OpenSSL's and GnuTLS's defaults) gets 1.2,
// one that offers only 1.3 gets a protocol_version alert.
//
// Built on the standard library's primitives only (crypto/aes,
// crypto/cipher, crypto/hmac, crypto/sha256, crypto/subtle). MAC and
// padding checks run in constant time; CBC with MAC-then-encrypt hashes the
// same amount of data whatever the padding (the Lucky13 counter-measure of
// crypto/tls). Record and handshake parsing is strict, lengths are bounded
// (records 2^14+2048 bytes, handshake messages 64 KiB), and every failure
// ends in the alert RFC 5246 names for it.
//
// # Use
//
// A server looks up the key of the identity the client sends:
//
//	cfg := &tlspsk.Config{
//		GetKey: func(identity string) ([]byte, error) {
//			return keys[identity], nil // nil, nil: unknown_psk_identity
//		},
//		IdentityHint:     "onecse", // optional
//		HandshakeTimeout: 10 * time.Second,
//	}
//	l, err := tlspsk.Listen("tcp", ":8443", cfg)
//
// A client gives its identity and key:
//
//	conn, err := tlspsk.Dial("tcp", "in-cse.example:8443",
//		&tlspsk.Config{Identity: "dev42@provider.example", Key: key})
//
// As with crypto/tls, Server and Client wrap an existing connection and
// the handshake runs on the first Read or Write (or an explicit
// Handshake/HandshakeContext); Accept does not wait for it. Read and Write
// may run concurrently.
//
// # HTTP
//
// net/http only fills Request.TLS for crypto/tls connections. To give
// handlers the PSK identity, set http.Server.ConnContext to ConnContext
// and read it back with FromContext:
//
//	srv := &http.Server{Handler: h, ConnContext: tlspsk.ConnContext}
//	go srv.Serve(tlspsk.NewListener(l, cfg))
//
//	func (w http.ResponseWriter, r *http.Request) {
//		c, ok := tlspsk.FromContext(r.Context())
//		if ok {
//			id := c.ConnectionState().Identity // the client's KpsaID
//		}
//	}
//
// An HTTP client dials with DialContext in http.Transport.DialTLSContext
// (https URLs then run over TLS-PSK).
//
// # Errors
//
// A handshake or record failure is an *AlertError: the alert this side sent
// (Received false, with a reason) or the fatal alert the peer sent
// (Received true). A wrong key shows as bad_record_mac on both sides (the
// server cannot open the client's Finished), an unknown identity as
// unknown_psk_identity (or, with Config.HideUnknownIdentity, as a wrong
// key).
package tlspsk
