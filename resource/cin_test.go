package resource

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckCNF: checkCNF decides as splitting on ':' does.
func TestCheckCNF(t *testing.T) {
	split := func(s string) error {
		parts := strings.Split(s, ":")
		if len(parts) > 3 || !strings.Contains(parts[0], "/") {
			return fmt.Errorf("bad")
		}
		if len(parts) >= 2 && parts[1] != "0" && parts[1] != "1" && parts[1] != "2" {
			return fmt.Errorf("bad encoding")
		}
		return nil
	}
	for _, s := range []string{"", ":", "::", ":::", "text/plain", "text/plain:", "text/plain:0", "text/plain:1", "text/plain:2",
		"text/plain:3", "text/plain:0:", "text/plain:0:1", "text/plain:0:1:", "text/plain:00", "textplain:0", ":text/plain",
		"text/plain::1", "a/b:2:x", "a/b:2:x:y", "/"} {
		got, want := checkCNF(s), split(s)
		if (got == nil) != (want == nil) {
			t.Errorf("%q: checkCNF %v, split %v", s, got, want)
		}
	}
}
