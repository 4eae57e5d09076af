package cse

import (
	"math/rand/v2"
	"strings"
	"time"
)

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randomID returns n characters from [0-9a-zA-Z]. IDs need to be unique, not
// secret: uniqueness is enforced by the store, a clash is simply retried.
func randomID(n int) string {
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		b.WriteByte(idAlphabet[rand.IntN(len(idAlphabet))])
	}
	return b.String()
}

// typePrefix gives generated resource IDs a readable prefix ("cnt…", "cin…").
var typePrefix = map[int]string{1: "acp", 3: "cnt", 4: "cin", 9: "grp", 11: "mssp", 15: "pch", 16: "csr", 17: "req", 19: "asar", 20: "svsn", 23: "sub"}

// sortAlphabet is in ASCII order, so that IDs drawn later sort later.
const sortAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newRI returns a resource ID: the type prefix, nine characters of the
// creation time in microseconds (sortable), and five random characters.
// Time-ordered IDs (and with them the generated names of contentInstances)
// land at the end of the store's indexes instead of at random places, which
// keeps the pages one commit rewrites few.
func newRI(ty int) string {
	p, ok := typePrefix[ty]
	if !ok {
		p = "r"
	}
	var b [9]byte
	us := time.Now().UnixMicro()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = sortAlphabet[us%62]
		us /= 62
	}
	return p + string(b[:]) + randomID(5)
}

// matchWildcard matches s against a pattern where '*' stands for any run of
// characters.
func matchWildcard(p, s string) bool {
	for {
		i := strings.IndexByte(p, '*')
		if i < 0 {
			return p == s
		}
		if !strings.HasPrefix(s, p[:i]) {
			return false
		}
		s, p = s[i:], p[i+1:]
		if p == "" {
			return true
		}
		for j := 0; j <= len(s); j++ {
			if matchWildcard(p, s[j:]) {
				return true
			}
		}
		return false
	}
}
