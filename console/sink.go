package console

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/onecse/onecse/codec"
)

// A sink is a notification target the page offers (/console/sink/<id>): the
// user puts its URL in a subscription's nu, the CSE delivers there like to
// any HTTP receiver, the sink answers 2000 OK and passes what arrived to the
// pages watching /console/events/<id>. Sinks live in memory only; the id is
// chosen by the page (a random one, kept in the browser), which makes it the
// capability to watch the sink.

// Event is one request that arrived at a sink.
type Event struct {
	Seq    int64               `json:"seq"`
	Time   string              `json:"time"` // RFC 3339 with milliseconds
	Method string              `json:"method"`
	Path   string              `json:"path"` // with the query string
	Remote string              `json:"remote"`
	Header map[string][]string `json:"header"`
	// Body is the body as text: JSON as it came, CBOR decoded to JSON
	// (Format "cbor"), other text as is, anything else in base64 (Format
	// "base64").
	Body   string `json:"body"`
	Format string `json:"format"` // json, cbor, text, base64 or "" (no body)
	Size   int    `json:"size"`   // bytes received
}

type hub struct {
	mu      sync.Mutex
	sinks   map[string]*sink
	max     int
	backlog int
	tick    int64 // use counter: the sink with the smallest used goes first
	closed  bool
}

type sink struct {
	seq    int64
	used   int64
	events []Event // the last backlog events
	subs   map[*watcher]struct{}
}

// watcher is one event stream. ch carries new events; done is closed when
// the stream must end (shutdown, eviction, or a watcher too slow to keep
// up, which reconnects and catches up from the backlog).
type watcher struct {
	ch   chan Event
	done chan struct{}
	once sync.Once
}

func (w *watcher) stop() { w.once.Do(func() { close(w.done) }) }

func newHub(max, backlog int) *hub {
	return &hub{sinks: map[string]*sink{}, max: max, backlog: backlog}
}

// get returns the sink id, creating it (and dropping the sink unused longest
// when there are too many). Called with h.mu held.
func (h *hub) get(id string) *sink {
	h.tick++
	if s, ok := h.sinks[id]; ok {
		s.used = h.tick
		return s
	}
	if len(h.sinks) >= h.max {
		var oldID string
		var old *sink
		for k, s := range h.sinks {
			if old == nil || evictFirst(s, old) {
				oldID, old = k, s
			}
		}
		for w := range old.subs {
			w.stop()
		}
		delete(h.sinks, oldID)
	}
	s := &sink{used: h.tick, subs: map[*watcher]struct{}{}}
	h.sinks[id] = s
	return s
}

// evictFirst orders sinks for eviction: unwatched ones before watched ones,
// then the one unused longest.
func evictFirst(a, b *sink) bool {
	if aw, bw := len(a.subs) > 0, len(b.subs) > 0; aw != bw {
		return !aw
	}
	return a.used < b.used
}

func (h *hub) publish(id string, e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(id)
	s.seq++
	e.Seq = s.seq
	s.events = append(s.events, e)
	if len(s.events) > h.backlog {
		s.events = slices.Delete(s.events, 0, len(s.events)-h.backlog)
	}
	for w := range s.subs {
		select {
		case w.ch <- e:
		default:
			w.stop() // too slow: it reconnects and reads the backlog
			delete(s.subs, w)
		}
	}
	return e
}

// watch registers a watcher of sink id and returns the kept events after
// seq after; nil when the hub is closed.
func (h *hub) watch(id string, after int64) (*watcher, []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil
	}
	s := h.get(id)
	if after > s.seq {
		after = 0 // the sink was dropped and made anew since: all it has is new
	}
	var past []Event
	for _, e := range s.events {
		if e.Seq > after {
			past = append(past, e)
		}
	}
	w := &watcher{ch: make(chan Event, 64), done: make(chan struct{})}
	s.subs[w] = struct{}{}
	return w, past
}

func (h *hub) unwatch(id string, w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sinks[id]; ok {
		delete(s.subs, w)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, s := range h.sinks {
		for w := range s.subs {
			w.stop()
		}
		clear(s.subs)
	}
}

// validSinkID: 1 to 64 of [A-Za-z0-9_-].
func validSinkID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// serveSink receives a notification (any method but GET and HEAD) and
// answers it as a oneM2M receiver does: 200 with X-M2M-RSC 2000 and the
// request's X-M2M-RI.
func (c *Console) serveSink(w http.ResponseWriter, r *http.Request, id string) {
	if !validSinkID(id) {
		http.Error(w, "a sink id is 1 to 64 letters, digits, '-' or '_'", http.StatusNotFound)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "onecse console notification sink %s: requests sent here are shown live at %sevents/%s\n", id, Prefix, id)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, c.opt.MaxBody+1))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	h := w.Header()
	if ri := r.Header.Get("X-M2M-RI"); ri != "" {
		h["X-M2M-RI"] = []string{ri}
	}
	if rvi := r.Header.Get("X-M2M-RVI"); rvi != "" {
		h["X-M2M-RVI"] = []string{rvi}
	}
	if int64(len(data)) > c.opt.MaxBody {
		h["X-M2M-RSC"] = []string{"4000"}
		http.Error(w, "the body is larger than "+strconv.FormatInt(c.opt.MaxBody, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	e := Event{
		Time: time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), Method: r.Method, Path: r.URL.RequestURI(),
		Remote: r.RemoteAddr, Header: r.Header.Clone(), Size: len(data),
	}
	e.Body, e.Format = bodyText(r.Header.Get("Content-Type"), data)
	e = c.sinks.publish(id, e)
	c.opt.Log.Debug("console sink received", "seq", e.Seq, "method", r.Method, "bytes", len(data), "from", r.Header.Get("X-M2M-Origin"))
	h["X-M2M-RSC"] = []string{"2000"}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// bodyText renders a body for the page: JSON and text as they are, CBOR as
// JSON, the rest as base64.
func bodyText(ctype string, data []byte) (string, string) {
	if len(data) == 0 {
		return "", ""
	}
	if mi, err := codec.ParseMediaType(ctype); err == nil && mi.Format == codec.CBOR {
		if v, err := codec.Decode(codec.CBOR, data); err == nil {
			if j, err := json.Marshal(v); err == nil {
				return string(j), "cbor"
			}
		}
		return base64.StdEncoding.EncodeToString(data), "base64"
	}
	if !utf8.Valid(data) {
		return base64.StdEncoding.EncodeToString(data), "base64"
	}
	if json.Valid(data) {
		return string(data), "json"
	}
	return string(data), "text"
}

// keepAlive is the interval of SSE comments that keep idle proxies and the
// browser from dropping a quiet stream.
const keepAlive = 20 * time.Second

// serveEvents streams what arrives at sink id as Server-Sent Events
// ("notification" events whose data is an Event in JSON, with the event's
// sequence number as id). A reconnecting EventSource sends Last-Event-ID and
// gets what it missed, as far as the backlog reaches.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request, id string) {
	if !validSinkID(id) {
		http.Error(w, "a sink id is 1 to 64 letters, digits, '-' or '_'", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	after, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	wt, past := c.sinks.watch(id, after)
	if wt == nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer c.sinks.unwatch(id, wt)
	rc := http.NewResponseController(w)
	// The server's write timeout is for answers, not for a stream.
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(e Event) error {
		data, _ := json.Marshal(e)
		_, err := fmt.Fprintf(w, "id: %d\nevent: notification\ndata: %s\n\n", e.Seq, data)
		return err
	}
	if _, err := io.WriteString(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	for _, e := range past {
		if send(e) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case e := <-wt.ch:
			if send(e) != nil || rc.Flush() != nil {
				return
			}
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-wt.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
