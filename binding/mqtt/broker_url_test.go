package mqtt

import (
	"net/url"
	"testing"
)

func TestBrokerURL(t *testing.T) {
	for in, want := range map[string]string{
		"mqtt://h":           "tcp://h:1883",
		"mqtts://h":          "ssl://h:8883",
		"tcp://127.0.0.1:18": "tcp://127.0.0.1:18",
		"ssl://[::1]":        "ssl://[::1]:8883",
		"mqtts://h:9/x":      "ssl://h:9",
	} {
		if got, err := brokerURL(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "h:1883", "http://h", "mqtt://"} {
		if got, err := brokerURL(in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
}

// FuzzBrokerURL: any string is refused or becomes tcp:// or ssl:// with a
// host and a port (ws:// and wss:// pass through).
func FuzzBrokerURL(f *testing.F) {
	for _, s := range []string{"mqtt://h", "mqtts://h:1", "ssl://[::1]", "ws://h/mqtt", "tcp://:0", "mqtt://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := brokerURL(s)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil {
			t.Fatalf("%q gave %q: %v", s, out, perr)
		}
		switch u.Scheme {
		case "tcp", "ssl":
			if u.Port() == "" {
				t.Fatalf("%q gave %q without a port", s, out)
			}
		case "ws", "wss":
		default:
			t.Fatalf("%q gave %q", s, out)
		}
	})
}
