package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Notifications: with Config.Subs, the run subscribes Subs times to its
// container (notificationEventType 3, contentInstances only) before the
// phases, so that every CREATE of the create phase causes Subs notifications.
// Their target is Config.NotifyURL, or else a receiver the load generator
// runs itself, which then also measures the notification latency: from the
// moment a CREATE was answered to the moment its notification arrived.

// NotifyResult describes the notifications of a run.
type NotifyResult struct {
	Subscriptions int    `json:"subscriptions"`
	Target        string `json:"target"`
	// Measured only with the built-in receiver:
	Expected uint64        `json:"expected,omitempty"` // creates × subscriptions (with the default criteria)
	Received uint64        `json:"received,omitempty"` // notifications of the create phase's instances
	Drained  time.Duration `json:"-"`                  // from the end of the create phase to the last one
	P50      time.Duration `json:"-"`
	P90      time.Duration `json:"-"`
	P99      time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
	Early    uint64        `json:"early,omitempty"` // arrived before their CREATE's answer
}

// MarshalJSON adds the durations, in milliseconds.
func (n NotifyResult) MarshalJSON() ([]byte, error) {
	type plain NotifyResult
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.Marshal(struct {
		plain
		Drained float64 `json:"drained_ms"`
		P50     float64 `json:"p50_ms"`
		P90     float64 `json:"p90_ms"`
		P99     float64 `json:"p99_ms"`
		Max     float64 `json:"max_ms"`
	}{plain(n), ms(n.Drained), ms(n.P50), ms(n.P90), ms(n.P99), ms(n.Max)})
}

// receiver is the built-in notification target.
type receiver struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	seen map[string][]time.Time // instance ri → arrival of each of its notifications
	n    uint64
	last time.Time
}

func startReceiver() (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + l.Addr().String() + "/notify", seen: map[string][]time.Time{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

var okRSC = []string{"2000"}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, io.LimitReader(req.Body, 1<<20))
	w.Header()["X-M2M-RSC"] = okRSC
	w.Header()["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusOK)
	// A verification request names no instance.
	if ri := extractRI(buf.Bytes()); ri != "" {
		r.mu.Lock()
		r.seen[ri] = append(r.seen[ri], now)
		r.n++
		r.last = now
		r.mu.Unlock()
	}
}

func (r *receiver) count() (uint64, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last
}

func (r *receiver) close() { r.srv.Close() }

// subscribe creates n subscriptions to cntURL notifying target, with the
// eventNotificationCriteria enc (JSON).
func subscribe(client *http.Client, cntURL, origin, target, enc string, n int) error {
	ct := []string{"application/json;ty=23"}
	for i := 0; i < n; i++ {
		body := []byte(fmt.Sprintf(`{"m2m:sub":{"nu":[%q],"enc":%s}}`, target, subsENC(enc, i)))
		status, rsc, resp, err := simple(client, http.MethodPost, cntURL, origin, ct, body)
		if err != nil {
			return fmt.Errorf("subscription %d: %w", i+1, err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("subscription %d: status %d, X-M2M-RSC %q: %s", i+1, status, rsc, snippet(resp))
		}
	}
	return nil
}

// subsENC is the criteria of the i-th subscription (from 0): enc with each
// "{i}" replaced by i, so that the subscriptions can ask different things
// (say {"net":[3],"sza":{i}}) and the CSE has to test each of them.
func subsENC(enc string, i int) string {
	return strings.ReplaceAll(enc, "{i}", strconv.Itoa(i))
}

// settle waits until the receiver has want notifications (0: unknown), or
// none came for quiet, or max passed.
func (r *receiver) settle(want uint64, quiet, max time.Duration) {
	start := time.Now()
	deadline := start.Add(max)
	for time.Now().Before(deadline) {
		n, last := r.count()
		if last.Before(start) {
			last = start
		}
		if (want > 0 && n >= want) || time.Since(last) > quiet {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result matches the notifications with the answers of the CREATEs (acks:
// instance ri → when its CREATE was answered).
func (r *receiver) result(acks map[string]time.Time, subs int, expect bool, end time.Time) *NotifyResult {
	res := &NotifyResult{Subscriptions: subs, Target: "built-in receiver " + r.url}
	if expect {
		res.Expected = uint64(len(acks)) * uint64(subs)
	}
	var h histogram
	r.mu.Lock()
	defer r.mu.Unlock()
	var last time.Time
	for ri, ack := range acks {
		for _, at := range r.seen[ri] {
			res.Received++
			if at.After(last) {
				last = at
			}
			d := at.Sub(ack)
			if d < 0 {
				// The notification can overtake the answer of its CREATE:
				// both leave once the write is committed.
				res.Early++
				d = 0
			}
			h.Record(d)
		}
	}
	if res.Received > 0 {
		res.P50, res.P90, res.P99, res.Max = h.Percentile(50), h.Percentile(90), h.Percentile(99), h.Max()
		if last.After(end) {
			res.Drained = last.Sub(end)
		}
	}
	return res
}
