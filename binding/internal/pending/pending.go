// Package pending matches the responses that arrive on a binding to the
// requests onecse sent on it, by request identifier (rqi): the MQTT and
// WebSocket bindings carry requests and responses on one channel and only
// rqi ties them together (TS-0010 6.4.3, TS-0020 6.1).
package pending

import (
	"sync"

	"github.com/onecse/onecse/primitive"
)

// Table holds the requests waiting for their response.
type Table struct {
	mu sync.Mutex
	m  map[string]chan *primitive.Response
}

// Add registers rqi and returns the channel its response arrives on and the
// function that forgets it (call it when done waiting). ok is false when a
// request with this rqi is already waiting: the two answers could not be told
// apart.
func (t *Table) Add(rqi string) (ch <-chan *primitive.Response, done func(), ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]chan *primitive.Response{}
	}
	if _, dup := t.m[rqi]; dup {
		return nil, nil, false
	}
	c := make(chan *primitive.Response, 1)
	t.m[rqi] = c
	return c, func() {
		t.mu.Lock()
		if t.m[rqi] == c {
			delete(t.m, rqi)
		}
		t.mu.Unlock()
	}, true
}

// Deliver hands resp to the request waiting for its rqi; false when none is
// (a late, duplicate or stray response).
func (t *Table) Deliver(resp *primitive.Response) bool {
	t.mu.Lock()
	c, ok := t.m[resp.RQI]
	if ok {
		delete(t.m, resp.RQI)
	}
	t.mu.Unlock()
	if ok {
		c <- resp // buffered, and delivered at most once
	}
	return ok
}
