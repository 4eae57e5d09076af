package console_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/console"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/resource"
)

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The console's files and API answers come with exact media types (a
// JavaScript module served as anything else is refused by the browser) and
// the page with a content security policy.
func TestFilesAndContentTypes(t *testing.T) {
	c := testcse.Start(t, nil) // 127.0.0.1: on by default
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/console/", "text/html; charset=utf-8", `<script type="module" src="js/app.js">`},
		{"/console/index.html", "text/html; charset=utf-8", "onecse console"},
		{"/console/console.css", "text/css; charset=utf-8", ".tree"},
		{"/console/js/app.js", "text/javascript; charset=utf-8", "import"},
		{"/console/js/forms.js", "text/javascript; charset=utf-8", "openForm"},
		{"/console/icon.svg", "image/svg+xml", "<svg"},
		{"/console/api/info", "application/json", `"cseName":"cse-in"`},
		{"/console/api/types", "application/json", `"m2m:cnt"`},
	} {
		resp, body := get(t, c.URL+tc.path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %q, body has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.contains, strings.Contains(body, tc.contains))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tc.path)
		}
	}
	resp, _ := get(t, c.URL+"/console/")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// A conditional request with the ETag gets 304.
	js, _ := get(t, c.URL+"/console/js/app.js")
	if r, _ := get(t, c.URL+"/console/js/app.js", "If-None-Match", js.Header.Get("ETag")); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", r.StatusCode)
	}
	// /console redirects to /console/; unknown files are 404; the API is read only.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noRedirect.Get(c.URL + "/console"); err != nil || r.StatusCode != 301 || r.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %v %v", r, err)
	}
	if r, _ := get(t, c.URL+"/console/nothing.js"); r.StatusCode != 404 {
		t.Errorf("unknown file: %d", r.StatusCode)
	}
	if r, err := http.Post(c.URL+"/console/api/types", "application/json", strings.NewReader("{}")); err != nil || r.StatusCode != 405 {
		t.Errorf("POST api/types: %v %v", r, err)
	}
	// The oneM2M API on the same listener is untouched.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in", From: "CAdmin"}).Must(t, 2000)
}

// The form description is the resource package's attribute tables: every
// registered type, every attribute with the presence rules the CSE enforces,
// and a long name for each.
func TestTypesDescribeTheAttributeTables(t *testing.T) {
	c := testcse.Start(t, nil)
	_, body := get(t, c.URL+"/console/api/types")
	var d console.Description
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Types) != len(resource.Supported()) {
		t.Fatalf("%d types, the CSE has %d", len(d.Types), len(resource.Supported()))
	}
	pres := map[resource.Presence]string{resource.M: "M", resource.O: "O", resource.NP: "NP"}
	for _, td := range d.Types {
		rt, ok := resource.Lookup(td.Ty)
		if !ok || rt.Key != td.Key || td.Creatable != rt.Creatable || td.Updatable != rt.Updatable || len(td.Children) != len(rt.Children) {
			t.Errorf("type %d: %+v", td.Ty, td)
			continue
		}
		if strings.HasPrefix(td.Name, "type ") {
			t.Errorf("type %d (%s) has no long name in console/names.go", td.Ty, td.Key)
		}
		if len(td.Attrs) != len(rt.Attrs) {
			t.Errorf("%s: %d attributes, the table has %d", td.Key, len(td.Attrs), len(rt.Attrs))
		}
		for _, a := range td.Attrs {
			ra := rt.Attrs[a.SN]
			if ra == nil || a.Create != pres[ra.Create] || a.Update != pres[ra.Update] {
				t.Errorf("%s %s: %+v", td.Key, a.SN, a)
			}
			if a.Kind == "" {
				t.Errorf("%s %s: kind %d has no name in console/types.go", td.Key, a.SN, ra.Kind)
			}
			if a.Name == a.SN {
				t.Errorf("%s %s: no long name in console/names.go", td.Key, a.SN)
			}
		}
	}
	if d.RSC["4103"] != "ORIGINATOR_HAS_NO_PRIVILEGE" || d.RSC["2001"] != "CREATED" {
		t.Errorf("rsc names: %v", d.RSC["4103"])
	}
	// Spot checks the forms rely on.
	cnt := find(d, 3)
	if a := attr(cnt, "mni"); a == nil || a.Kind != "int" || a.Create != "O" || a.Min == nil || *a.Min != 0 {
		t.Errorf("cnt mni: %+v", a)
	}
	if a := attr(find(d, 2), "api"); a == nil || a.Create != "M" || a.Update != "NP" {
		t.Errorf("ae api: %+v", a)
	}
	if a := attr(find(d, 23), "nct"); a == nil || len(a.Enum) == 0 {
		t.Errorf("sub nct: %+v", a)
	}
	if cnt.Attrs[0].SN != "rn" {
		t.Errorf("attributes do not start with rn: %v", cnt.Attrs[0])
	}
}

func find(d console.Description, ty int) console.TypeDesc {
	for _, t := range d.Types {
		if t.Ty == ty {
			return t
		}
	}
	return console.TypeDesc{}
}

func attr(t console.TypeDesc, sn string) *console.AttrDesc {
	for i := range t.Attrs {
		if t.Attrs[i].SN == sn {
			return &t.Attrs[i]
		}
	}
	return nil
}

func TestEnabled(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	lo6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	pub := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 8080}
	for _, tc := range []struct {
		mode string
		addr net.Addr
		want bool
	}{
		{"auto", lo, true}, {"auto", lo6, true}, {"auto", any4, false}, {"auto", pub, false}, {"", pub, false},
		{"on", pub, true}, {"true", any4, true}, {"ON", pub, true},
		{"off", lo, false}, {"false", lo, false},
	} {
		if got := console.Enabled(tc.mode, tc.addr); got != tc.want {
			t.Errorf("Enabled(%q, %v) = %v", tc.mode, tc.addr, got)
		}
	}
}

// On a listener that is not a loopback address the console is off unless
// configured on; off, /console/ is an ordinary oneM2M address (not found).
func TestOffByDefaultOnNonLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen, mode string
		served       bool
	}{
		{"0.0.0.0:0", "auto", false},
		{"0.0.0.0:0", "on", true},
		{"127.0.0.1:0", "off", false},
		{"127.0.0.1:0", "auto", true},
	} {
		c := testcse.Start(t, func(cfg *config.Config) { cfg.HTTP, cfg.Console = tc.listen, tc.mode })
		_, port, _ := net.SplitHostPort(c.Addr())
		base := "http://127.0.0.1:" + port
		for _, p := range []string{"/console/", "/console/api/types", "/console/sink/x"} {
			resp, body := get(t, base+p)
			served := resp.StatusCode == 200 && resp.Header.Get("X-M2M-RSC") == ""
			if served != tc.served {
				t.Errorf("http %s console %s: %s answered %d %q (served %v, want %v)", tc.listen, tc.mode, p, resp.StatusCode, body, served, tc.served)
			}
		}
		c.Stop()
	}
}

// sse reads Server-Sent Events from a stream.
type sse struct {
	r    *bufio.Reader
	body io.Closer
	evs  chan map[string]string
}

func openEvents(t *testing.T, url string, lastID string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{r: bufio.NewReader(resp.Body), body: resp.Body, evs: make(chan map[string]string, 100)}
	go func() {
		defer close(s.evs)
		ev := map[string]string{}
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			if line == "" {
				if len(ev) > 0 {
					s.evs <- ev
				}
				ev = map[string]string{}
				continue
			}
			if strings.HasPrefix(line, ":") {
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			ev[k] = strings.TrimPrefix(v, " ")
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next returns the next notification event (the retry line comes first).
func (s *sse) next(t *testing.T) (map[string]string, console.Event) {
	t.Helper()
	for {
		select {
		case ev, ok := <-s.evs:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if ev["event"] != "notification" {
				continue
			}
			var e console.Event
			if err := json.Unmarshal([]byte(ev["data"]), &e); err != nil {
				t.Fatalf("event data %q: %v", ev["data"], err)
			}
			return ev, e
		case <-time.After(30 * time.Second):
			t.Fatal("no event within 30 s")
		}
	}
}

// A sink answers like a oneM2M receiver and streams what it got; a
// subscription through the CSE's API with the sink as nu delivers its
// verification request and notifications there.
func TestSinkStreamsNotifications(t *testing.T) {
	c := testcse.Start(t, nil)
	s := openEvents(t, c.URL+"/console/events/test-sink_1", "")

	// A plain request.
	req, _ := http.NewRequest("POST", c.URL+"/console/sink/test-sink_1?ct=json", strings.NewReader(`{"m2m:sgn":{"sur":"x"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-M2M-RI", "ri-42")
	req.Header.Set("X-M2M-Origin", "/id-in")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-M2M-RSC") != "2000" || resp.Header.Get("X-M2M-RI") != "ri-42" {
		t.Fatalf("sink answered %d %v", resp.StatusCode, resp.Header)
	}
	raw, e := s.next(t)
	if raw["id"] != "1" || e.Seq != 1 || e.Method != "POST" || e.Path != "/console/sink/test-sink_1?ct=json" || e.Format != "json" ||
		e.Body != `{"m2m:sgn":{"sur":"x"}}` || e.Header["X-M2m-Origin"][0] != "/id-in" || e.Size != len(e.Body) {
		t.Fatalf("event %v %+v", raw, e)
	}

	// Through the CSE: AE, container, subscription to the sink, a contentInstance.
	aei := c.RegisterAE("sinkAE")
	c.Create(aei, "/cse-in/sinkAE", 3, "m2m:cnt", map[string]any{"rn": "cnt"})
	c.Create(aei, "/cse-in/sinkAE/cnt", 23, "m2m:sub", map[string]any{"rn": "sub",
		"nu": []string{c.URL + "/console/sink/test-sink_1"}, "enc": map[string]any{"net": []int{3}}})
	_, e = s.next(t)
	if !strings.Contains(e.Body, `"vrq":true`) || e.Header["X-M2m-Origin"][0] != "/id-in" {
		t.Fatalf("verification request %+v", e)
	}
	c.Create(aei, "/cse-in/sinkAE/cnt", 4, "m2m:cin", map[string]any{"con": "21.5"})
	_, e = s.next(t)
	if e.Seq != 3 || !strings.Contains(e.Body, `"con":"21.5"`) || !strings.Contains(e.Body, `"net":3`) {
		t.Fatalf("notification %+v", e)
	}

	// CBOR arrives shown as JSON.
	req, _ = http.NewRequest("POST", c.URL+"/console/sink/test-sink_1", strings.NewReader("\xa1\x61\x61\x01")) // {"a": 1}
	req.Header.Set("Content-Type", "application/cbor")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if _, e = s.next(t); e.Format != "cbor" || e.Body != `{"a":1}` || e.Size != 4 {
		t.Fatalf("cbor event %+v", e)
	}

	// A page that reconnects gets what it missed after its Last-Event-ID.
	s2 := openEvents(t, c.URL+"/console/events/test-sink_1", "2")
	if _, e = s2.next(t); e.Seq != 3 {
		t.Fatalf("replay after 2 starts at %d", e.Seq)
	}
	if _, e = s2.next(t); e.Seq != 4 {
		t.Fatalf("replay: %d", e.Seq)
	}

	// Bad ids and a body over the limit.
	if r, _ := get(t, c.URL+"/console/events/no%20spaces"); r.StatusCode != 404 {
		t.Errorf("bad sink id: %d", r.StatusCode)
	}
	big := strings.Repeat("x", int(c.Config.MaxBody)+1)
	if r, err := http.Post(c.URL+"/console/sink/test-sink_1", "text/plain", strings.NewReader(big)); err != nil || r.StatusCode != 413 || r.Header.Get("X-M2M-RSC") != "4000" {
		t.Errorf("too large: %v %v", r, err)
	}

	// Shutting down ends open streams instead of waiting for them.
	done := make(chan struct{})
	go func() {
		for range s.evs {
		}
		close(done)
	}()
	c.Stop() // fails the test when the shutdown does not finish in time
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream is still open after shutdown")
	}
}
