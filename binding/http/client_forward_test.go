package http

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// rawServer accepts one connection, records the request head as sent on
// the wire (header spelling included) and answers with resp.
func rawForwardServer(t *testing.T, resp string) (string, <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		var head strings.Builder
		n := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if l := strings.ToLower(line); strings.HasPrefix(l, "content-length:") {
				n = atoiOrZero(strings.TrimSpace(line[len("content-length:"):]))
			}
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, n)
		r.Read(body)
		head.Write(body)
		got <- head.String()
		conn.Write([]byte(resp))
	}()
	return "http://" + l.Addr().String(), got
}

func TestClientSendsTS0009Request(t *testing.T) {
	body := `{"m2m:cnt":{"rn":"data","ri":"cnt1"}}`
	poa, got := rawForwardServer(t, "HTTP/1.1 201 Created\r\nX-M2M-RSC: 2001\r\nX-M2M-RI: rq1\r\nX-M2M-RVI: 3\r\n"+
		"Content-Location: /cse-in/shared/data\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
	ret := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	req := &primitive.Request{Op: primitive.OpCreate, Ty: 3, To: "/id-in/cse-in/shared", From: "/id-asn/Cae1", RQI: "rq1", RVI: "3",
		RQET: ret, RCN: 1, Content: map[string]any{"m2m:cnt": map[string]any{"rn": "data"}}}
	resp, err := NewClient(ClientOptions{}).Send(context.Background(), poa, codec.FormatNone, req)
	if err != nil {
		t.Fatal(err)
	}
	head := <-got
	for _, want := range []string{
		"POST /~/id-in/cse-in/shared?rcn=1 HTTP/1.1\r\n",
		"X-M2M-Origin: /id-asn/Cae1\r\n", "X-M2M-RI: rq1\r\n", "X-M2M-RVI: 3\r\n", "X-M2M-RET: 20300102T030405",
		"Content-Type: application/json;ty=3\r\n", "Accept: application/json, application/cbor;q=0.9\r\n",
		`{"m2m:cnt":{"rn":"data"}}`,
	} {
		if !strings.Contains(head, want) {
			t.Errorf("request lacks %q:\n%s", want, head)
		}
	}
	if resp.RSC != primitive.RSCCreated || resp.RQI != "rq1" || resp.Location != "cse-in/shared/data" {
		t.Errorf("response %+v", resp)
	}
	if cnt, _ := resp.PC["m2m:cnt"].(map[string]any); cnt["ri"] != "cnt1" {
		t.Errorf("content %v", resp.PC)
	}
}

func TestClientPathsAndFailures(t *testing.T) {
	for to, want := range map[string]string{
		"/id-in/cse-in/a":      "/~/id-in/cse-in/a",
		"//sp.example/id-in/x": "/_/sp.example/id-in/x",
		"cse-in/a":             "/cse-in/a",
		"/id-in/cse-in/a b":    "/~/id-in/cse-in/a%20b",
	} {
		if _, esc := pathOf(to); esc != want {
			t.Errorf("%s → %s, want %s", to, esc, want)
		}
	}
	c := NewClient(ClientOptions{Timeout: time.Second})
	req := &primitive.Request{Op: primitive.OpRetrieve, To: "/id-in", From: "/id-mn", RQI: "r", RCN: primitive.RCNAbsent}
	// Nobody listens: a transport error, for the core to answer 5103.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := c.Send(context.Background(), "http://"+addr, codec.FormatNone, req); err == nil {
		t.Error("no error from a closed port")
	}
	if _, err := c.Send(context.Background(), "mqtt://x", codec.FormatNone, req); err == nil {
		t.Error("no error for a non-http poa")
	}
	// An HTTP server that is not a CSE (no X-M2M-RSC) is no answer either.
	poa, _ := rawForwardServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if _, err := c.Send(context.Background(), poa, codec.FormatNone, req); err == nil {
		t.Error("accepted an answer without X-M2M-RSC")
	}
}

func atoiOrZero(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// FuzzResponseOf: whatever another CSE answers, mapping it is an error or a
// response, never a panic.
func FuzzResponseOf(f *testing.F) {
	f.Add("2001", "application/json", "/cse-in/x", []byte(`{"m2m:cnt":{"ri":"x"}}`))
	f.Add("2000", "application/cbor", "", []byte{0xa1, 0x61, 0x61, 0x01})
	f.Add("x", "text/plain", "", []byte("hello"))
	f.Add("4004", "", "", []byte{})
	f.Fuzz(func(t *testing.T, rsc, ct, loc string, body []byte) {
		h := http.Header{}
		h[hRSC] = []string{rsc}
		h.Set("Content-Type", ct)
		h.Set("Content-Location", loc)
		resp, err := responseOf("http://x", 200, h, body)
		if err == nil && (resp == nil || resp.RSC < 1000) {
			t.Fatalf("accepted %q as %+v", rsc, resp)
		}
	})
}
