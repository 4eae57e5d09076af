package tlspsk

// A small reader and writer for the TLS presentation language (RFC 5246
// section 4): big-endian integers and length-prefixed vectors. The reader
// never panics: every method reports whether enough bytes were there, and a
// parser checks at the end that nothing is left over.

type reader []byte

func (r *reader) u8(v *uint8) bool {
	if len(*r) < 1 {
		return false
	}
	*v = (*r)[0]
	*r = (*r)[1:]
	return true
}

func (r *reader) u16(v *uint16) bool {
	if len(*r) < 2 {
		return false
	}
	*v = uint16((*r)[0])<<8 | uint16((*r)[1])
	*r = (*r)[2:]
	return true
}

func (r *reader) u24(v *uint32) bool {
	if len(*r) < 3 {
		return false
	}
	*v = uint32((*r)[0])<<16 | uint32((*r)[1])<<8 | uint32((*r)[2])
	*r = (*r)[3:]
	return true
}

// bytes takes the next n bytes; the result aliases the input.
func (r *reader) bytes(n int, out *[]byte) bool {
	if n < 0 || len(*r) < n {
		return false
	}
	*out = (*r)[:n:n]
	*r = (*r)[n:]
	return true
}

// vec8 and vec16 take a vector with a one- or two-byte length prefix.
func (r *reader) vec8(out *[]byte) bool {
	var n uint8
	return r.u8(&n) && r.bytes(int(n), out)
}

func (r *reader) vec16(out *[]byte) bool {
	var n uint16
	return r.u16(&n) && r.bytes(int(n), out)
}

func (r *reader) empty() bool { return len(*r) == 0 }

// Appenders. Callers keep lengths within the prefix's range (the messages
// this package builds are small; Config validation bounds the identity).

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func appendU24(b []byte, v int) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }

func appendVec8(b, v []byte) []byte { return append(append(b, byte(len(v))), v...) }

func appendVec16(b, v []byte) []byte { return append(appendU16(b, uint16(len(v))), v...) }
