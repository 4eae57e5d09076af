package perf

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// BenchmarkHTTPCreateCIN sends CREATE contentInstance requests one after the
// other over one kept-alive connection to an in-process onecse, as the load
// generator writes them. Its allocs/op and B/op (client and server together;
// the client's share is constant) are the figures to watch for the write path:
//
//	go test -run '^$' -bench BenchmarkHTTPCreateCIN -benchmem ./test/perf/
func BenchmarkHTTPCreateCIN(b *testing.B) {
	c := testcse.Start(b, nil)
	aei := c.RegisterAE("bench")
	c.Create(aei, "/cse-in/bench", 3, "m2m:cnt", map[string]any{"rn": "data"})
	u, err := url.Parse(c.URL + "/cse-in/bench/data")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	body := []byte(`{"m2m:cin":{"cnf":"text/plain:0","con":"0123456789abcdef0123456789abcdef"}}`)
	origin, rvi := []string{aei}, []string{"3"}
	accept, ctype := []string{"application/json"}, []string{"application/json;ty=4"}
	var buf bytes.Buffer
	send := func(i int) {
		h := http.Header{"X-M2M-Origin": origin, "X-M2M-RI": {strconv.Itoa(i)}, "X-M2M-RVI": rvi,
			"Accept": accept, "Content-Type": ctype}
		req := &http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: h, Host: u.Host, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: HTTP %d: %s", resp.StatusCode, buf.Bytes())
		}
	}
	for i := range 100 { // warm up the connection and the caches
		send(-i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send(i)
	}
}
