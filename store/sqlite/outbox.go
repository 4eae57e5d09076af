package sqlite

import (
	"math"
	"slices"
	"sync"

	"github.com/onecse/onecse/store"
)

// outboxTail keeps the newest committed outbox entries in memory, so that the
// notification service, which reads each entry right after its commit, gets
// it without a query: with a thousand subscriptions on a container, that
// query per commit cost as much as the notifier's matching.
//
// Invariant: the tail holds exactly the committed entries with Seq > base,
// in Seq order. Outbox reads with after >= base are answered from it; older
// ones (a backlog after a restart, or after the tail dropped entries to stay
// within max) go to the database. Only the writer appends and deletes, at
// commit, so the tail sees entries in the order they become visible.
type outboxTail struct {
	mu       sync.RWMutex
	base     int64 // math.MaxInt64: not known, every read goes to the database
	entries  []store.OutboxEntry
	max      int // entries
	bytes    int // of Data in entries
	maxBytes int
}

// defaultOutboxTail and defaultOutboxTailBytes bound what the tail keeps:
// enough for the notification service's pages, small next to the resource
// cache (an entry holds the representation of the changed resource, which
// may be large).
const (
	defaultOutboxTail      = 4096
	defaultOutboxTailBytes = 16 << 20
)

func newOutboxTail(max, maxBytes int) *outboxTail {
	return &outboxTail{base: math.MaxInt64, max: max, maxBytes: maxBytes}
}

// reset empties the tail and starts it after base, the highest Seq the
// database has handed out (sqlite_sequence, which also counts entries already
// deleted; no later entry can be below it), read on the writer's connection so
// that nothing uncommitted is counted. It is called at open and after a failed
// commit; with err set, reads go to the database until the next reset.
func (t *outboxTail) reset(base int64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries, t.bytes = t.entries[:0], 0
	if err != nil {
		t.base = math.MaxInt64
		return
	}
	t.base = base
}

// outboxSeqQuery reads what reset needs.
const outboxSeqQuery = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)"

// apply records a committed group's appended and deleted entries.
func (t *outboxTail) apply(added []store.OutboxEntry, deleted []int64) {
	if len(added) == 0 && len(deleted) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.base == math.MaxInt64 {
		return
	}
	if len(deleted) > 0 && len(t.entries) > 0 {
		gone := make(map[int64]bool, len(deleted))
		for _, s := range deleted {
			gone[s] = true
		}
		t.entries = slices.DeleteFunc(t.entries, func(e store.OutboxEntry) bool {
			if gone[e.Seq] {
				t.bytes -= len(e.Data)
				return true
			}
			return false
		})
	}
	t.entries = append(t.entries, added...)
	for _, e := range added {
		t.bytes += len(e.Data)
	}
	// Forget the oldest beyond the bounds: reads that far back go to the
	// database.
	n := 0
	for bytes := t.bytes; n < len(t.entries) && (len(t.entries)-n > t.max || bytes > t.maxBytes); n++ {
		bytes -= len(t.entries[n].Data)
	}
	if n > 0 {
		t.base = t.entries[n-1].Seq
		for _, e := range t.entries[:n] {
			t.bytes -= len(e.Data)
		}
		t.entries = slices.Delete(t.entries, 0, n)
	}
}

// read returns up to limit (<= 0: all) entries with Seq > after, and false
// when the tail cannot answer (after is older than what it covers).
func (t *outboxTail) read(after int64, limit int) ([]store.OutboxEntry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if after < t.base {
		return nil, false
	}
	i, _ := slices.BinarySearchFunc(t.entries, after, func(e store.OutboxEntry, seq int64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	if i < len(t.entries) && t.entries[i].Seq == after {
		i++
	}
	rest := t.entries[i:]
	if limit > 0 && len(rest) > limit {
		rest = rest[:limit]
	}
	if len(rest) == 0 {
		return nil, true
	}
	return slices.Clone(rest), true
}
