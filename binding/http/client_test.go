package http

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// rawRequest is one HTTP request as it came over a TCP connection, with the
// header names exactly as sent.
type rawRequest struct {
	line    string
	headers map[string]string // exact name → value
	body    []byte
}

// rawServer accepts one connection at a time, records each request, and
// answers with answer(request).
func rawServer(t *testing.T, answer func(r *rawRequest) string) (string, <-chan *rawRequest) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan *rawRequest, 16)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					r := &rawRequest{headers: map[string]string{}}
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					r.line = strings.TrimSpace(line)
					n := 0
					for {
						h, err := br.ReadString('\n')
						if err != nil {
							return
						}
						h = strings.TrimRight(h, "\r\n")
						if h == "" {
							break
						}
						name, v, _ := strings.Cut(h, ":")
						r.headers[name] = strings.TrimSpace(v)
						if strings.EqualFold(name, "Content-Length") {
							n, _ = strconv.Atoi(strings.TrimSpace(v))
						}
					}
					r.body = make([]byte, n)
					if _, err := io.ReadFull(br, r.body); err != nil {
						return
					}
					got <- r
					if _, err := io.WriteString(conn, answer(r)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String(), got
}

func notifyRequest() *primitive.Request {
	return &primitive.Request{Op: primitive.OpNotify, To: "Cae", From: "/id-in", RQI: "n-1", RVI: "3", EC: 4,
		Content: map[string]any{"m2m:sgn": map[string]any{"sur": "/id-in/sub1", "vrq": true}}}
}

// TestClientNotify: a NOTIFY goes out as TS-0009 says: POST to the URL as
// given, X-M2M-* headers spelled as the specification spells them, the
// content in the asked serialisation, without ty; the answer's status code
// is read from X-M2M-RSC.
func TestClientNotify(t *testing.T) {
	url, got := rawServer(t, func(r *rawRequest) string {
		return "HTTP/1.1 200 OK\r\nX-M2M-RSC: 2000\r\nX-M2M-RI: " + r.headers["X-M2M-RI"] + "\r\nContent-Length: 0\r\n\r\n"
	})
	c := NewClient(ClientOptions{})
	defer c.Close()
	for _, tc := range []struct {
		f    codec.Format
		ct   string
		path string
	}{{codec.FormatNone, "application/json", "/notify?a=1"}, {codec.JSON, "application/json", "/x"}, {codec.CBOR, "application/cbor", "/"}} {
		resp, err := c.Send(context.Background(), url+tc.path, tc.f, notifyRequest())
		if err != nil {
			t.Fatal(err)
		}
		if resp.RSC != primitive.RSCOK || resp.RQI != "n-1" {
			t.Errorf("answer %+v", resp)
		}
		r := <-got
		if r.line != "POST "+tc.path+" HTTP/1.1" {
			t.Errorf("request line %q", r.line)
		}
		for name, want := range map[string]string{"X-M2M-Origin": "/id-in", "X-M2M-RI": "n-1", "X-M2M-RVI": "3", "X-M2M-EC": "4", "Content-Type": tc.ct} {
			if r.headers[name] != want {
				t.Errorf("%s: %q, want %q (headers %v)", name, r.headers[name], want, r.headers)
			}
		}
		pc, err := codec.Decode(formatOf(tc.ct), r.body)
		if err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		if sgn, _ := pc["m2m:sgn"].(map[string]any); sgn["sur"] != "/id-in/sub1" || sgn["vrq"] != true {
			t.Errorf("body %v", pc)
		}
	}
}

func formatOf(ct string) codec.Format {
	if ct == "application/cbor" {
		return codec.CBOR
	}
	return codec.JSON
}

// TestClientAnswers: what the client makes of an answer.
func TestClientAnswers(t *testing.T) {
	cases := []struct {
		name   string
		answer string
		rsc    primitive.RSC
		pc     bool
	}{
		{"RSC header wins", "HTTP/1.1 200 OK\r\nX-M2M-RSC: 4101\r\nContent-Length: 0\r\n\r\n", 4101, false},
		{"lower-case header", "HTTP/1.1 403 Forbidden\r\nx-m2m-rsc: 5205\r\nContent-Length: 0\r\n\r\n", 5205, false},
		{"plain 204", "HTTP/1.1 204 No Content\r\n\r\n", primitive.RSCOK, false},
		{"plain 200 with a body", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", primitive.RSCOK, false},
		{"plain 404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", primitive.RSCNotFound, false},
		{"plain 400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", primitive.RSCBadRequest, false},
		{"plain 500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", primitive.RSCInternalServerError, false},
		{"plain 501", "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n", primitive.RSCNotImplemented, false},
		{"with content", "HTTP/1.1 200 OK\r\nX-M2M-RSC: 2000\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"m2m:dbg\":\"hi\"}\n", primitive.RSCOK, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := rawServer(t, func(*rawRequest) string { return tc.answer })
			c := NewClient(ClientOptions{})
			defer c.Close()
			resp, err := c.Send(context.Background(), url, codec.JSON, notifyRequest())
			if err != nil {
				t.Fatal(err)
			}
			if resp.RSC != tc.rsc {
				t.Errorf("rsc %d, want %d", resp.RSC, tc.rsc)
			}
			if tc.pc && resp.PC["m2m:dbg"] != "hi" {
				t.Errorf("content %v", resp.PC)
			}
		})
	}
	// A non-numeric X-M2M-RSC is no answer.
	url, _ := rawServer(t, func(*rawRequest) string { return "HTTP/1.1 200 OK\r\nX-M2M-RSC: ok\r\nContent-Length: 0\r\n\r\n" })
	if _, err := NewClient(ClientOptions{}).Send(context.Background(), url, codec.JSON, notifyRequest()); err == nil {
		t.Error("X-M2M-RSC: ok accepted")
	}
}

// TestClientFailures: no answer is an error, within the context's time.
func TestClientFailures(t *testing.T) {
	c := NewClient(ClientOptions{})
	defer c.Close()
	// Nothing listens.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := c.Send(context.Background(), "http://"+addr+"/", codec.JSON, notifyRequest()); err == nil {
		t.Error("a closed port answered")
	}
	// A server that never answers: the context decides.
	url, _ := rawServer(t, func(*rawRequest) string { time.Sleep(5 * time.Second); return "" })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Send(ctx, url, codec.JSON, notifyRequest()); err == nil {
		t.Error("a silent server answered")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s", d)
	}
	// An operation without a method.
	req := notifyRequest()
	req.Op = 9
	if _, err := c.Send(context.Background(), url, codec.JSON, req); err == nil {
		t.Error("operation 9 sent")
	}
}

// TestClientCreate: a CREATE carries ty in its Content-Type (the client is
// not only for notifications).
func TestClientCreate(t *testing.T) {
	url, got := rawServer(t, func(*rawRequest) string {
		return "HTTP/1.1 201 Created\r\nX-M2M-RSC: 2001\r\nContent-Length: 0\r\n\r\n"
	})
	req := &primitive.Request{Op: primitive.OpCreate, Ty: 3, From: "/id-mn", RQI: "c1", RVI: "3", Content: map[string]any{"m2m:cnt": map[string]any{}}}
	resp, err := NewClient(ClientOptions{}).Send(context.Background(), url+"/~/id-in/cse-in", codec.JSON, req)
	if err != nil || resp.RSC != primitive.RSCCreated {
		t.Fatalf("%v %v", resp, err)
	}
	r := <-got
	if r.line != "POST /~/id-in/cse-in HTTP/1.1" || r.headers["Content-Type"] != "application/json;ty=3" {
		t.Errorf("%q %v", r.line, r.headers)
	}
	if _, ok := r.headers["X-M2M-EC"]; ok {
		t.Error("X-M2M-EC without an event category")
	}
}
