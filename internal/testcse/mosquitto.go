package testcse

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Mosquitto starts a private Mosquitto for the test (the program .ci/run
// installs) with n listeners on free ports of 127.0.0.1: conf gets the
// ports and returns the configuration to add to the common part (no
// persistence, anonymous clients allowed, log to stdout). The broker is
// stopped when the test ends; its log is shown when the test fails.
func Mosquitto(t testing.TB, n int, conf func(dir string, ports []int) string) []int {
	t.Helper()
	if _, err := exec.LookPath("mosquitto"); err != nil {
		t.Fatalf("mosquitto is missing (Debian package mosquitto; .ci/run installs it): %v", err)
	}
	dir := t.TempDir()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	common := "per_listener_settings false\nallow_anonymous true\npersistence false\nlog_dest stdout\nlog_type all\n"
	if u, err := user.Current(); err == nil {
		// Run as root, Mosquitto would drop to the user mosquitto, who
		// cannot read the test's files.
		common += "user " + u.Username + "\n"
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(common+conf(dir, ports)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mosquitto", "-c", path)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", out.String())
		}
	})
	// Ready when every listener accepts.
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		for i := 0; ; i++ {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				t.Fatalf("mosquitto exited:\n%s", out.String())
			case <-time.After(50 * time.Millisecond):
			}
			if i > 200 {
				t.Fatalf("mosquitto does not listen on %s:\n%s", addr, out.String())
			}
		}
	}
	return ports
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MosquittoURL is the URL of a listener of Mosquitto.
func MosquittoURL(scheme string, port int) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
}
