package http

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestReadLimited: readLimited reads what io.ReadAll(io.LimitReader) reads,
// whether the announced size is right, short, long or unknown.
func TestReadLimited(t *testing.T) {
	for _, n := range []int{0, 1, 80, 511, 512, 513, 2000} {
		data := bytes.Repeat([]byte("x"), n)
		for _, limit := range []int64{1, 80, 81, 600, 5000} {
			for _, size := range []int64{-1, 0, int64(n), int64(n) / 2, int64(n) + 7} {
				for _, half := range []bool{false, true} {
					var rd, want io.Reader = bytes.NewReader(data), bytes.NewReader(data)
					if half {
						rd = iotest.HalfReader(rd)
					}
					w, _ := io.ReadAll(io.LimitReader(want, limit))
					got, err := readLimited(rd, size, limit)
					if err != nil || !bytes.Equal(got, w) {
						t.Fatalf("n %d limit %d size %d: got %d bytes (%v), want %d", n, limit, size, len(got), err, len(w))
					}
				}
			}
		}
	}
	if _, err := readLimited(iotest.ErrReader(io.ErrUnexpectedEOF), 10, 100); err != io.ErrUnexpectedEOF {
		t.Fatalf("error %v", err)
	}
}
