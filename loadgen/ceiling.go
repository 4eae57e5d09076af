package loadgen

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ceilingBody is the constant answer of the ceiling server: 70 bytes of JSON
// shaped like a small contentInstance, so that the load generator does the
// same work (read, scan for "ri") on it as on a real CSE answer.
const ceilingBody = `{"m2m:cin":{"ri":"cin000000000","cnf":"text/plain:0","con":"ceiling"}}`

var (
	ceilingBytes = []byte(ceilingBody)
	ceilingCT    = []string{"application/json"}
	ceilingCL    = []string{strconv.Itoa(len(ceilingBody))}
)

// CeilingHandler returns the handler of the ceiling reference server: it
// answers every request, whatever its method, path or body, with 200,
// Content-Type application/json and a constant 70-byte JSON body. It is the
// fastest thing a net/http server can do while still speaking HTTP/JSON, so a
// CSE's throughput divided by the ceiling's is the share of the achievable
// request rate (on this machine, with this client) the CSE reaches.
func CeilingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = ceilingCT
		h["Content-Length"] = ceilingCL
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(ceilingBytes)
	})
}

// StartCeiling starts a plain net/http server (default settings) with
// CeilingHandler on addr (e.g. "127.0.0.1:0") and returns its base URL
// ("http://127.0.0.1:PORT") and a function that shuts it down.
func StartCeiling(addr string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: CeilingHandler()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}
