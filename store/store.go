// Package store defines how the core keeps resources: a Store runs functions in
// transactions over a Tx. Every backend (store/sqlite, the embedded default, and
// later store/postgres) must pass the shared conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/onecse/onecse/resource"
)

var (
	// ErrNotFound: no resource with that ID or path.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a resource with the same ri, or the same name under the same
	// parent, already exists.
	ErrExists = errors.New("store: already exists")
	// ErrReadOnly: a write was attempted in a View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Store runs transactions.
type Store interface {
	// View runs fn with read access. Each read sees committed data.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. If fn returns an error (or
	// panics) nothing it wrote is kept, and Update returns that error. When
	// Update returns nil the transaction is durably committed: it survives a
	// crash of the process or the machine. Updates are serialisable, and one
	// caller's failure never affects another's, even when a backend commits
	// several callers together. Once fn has started, ctx no longer interrupts
	// it: the outcome is all or nothing either way.
	//
	// fn may be called more than once (a backend that commits callers together
	// runs the group again without a caller that failed after writing), so it
	// must not act outside the transaction except by setting variables that it
	// sets anew on every call; whatever the last call set is what was committed.
	// fn must not call Update itself.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close commits what is queued and closes the store; View and Update
	// then return ErrClosed. Closing again is harmless.
	Close() error
}

// ChildQuery selects direct children. Offset and Limit apply after the type
// filter, in the order asked for.
type ChildQuery struct {
	Types  []int // empty: every type
	Limit  int   // 0: no limit
	Offset int   // skip this many
	Newest bool  // newest first (default: oldest first, i.e. creation order)
}

// Peeker is implemented by a Tx that can lend a resource without copying it
// (see Peek).
type Peeker interface {
	// Peek is Get for a caller that only reads the resource, and only while
	// the transaction's function runs: the resource may be the store's own
	// copy, shared with other readers, which nobody may change.
	Peek(ri string) (*resource.Resource, error)
}

// Peek returns the resource ri through tx's Peek when it has one, else
// through Get. The result must be treated as Peeker.Peek says.
func Peek(tx Tx, ri string) (*resource.Resource, error) {
	if p, ok := tx.(Peeker); ok {
		return p.Peek(ri)
	}
	return tx.Get(ri)
}

// OwnedPutter is implemented by a Tx that can keep the caller's resource on a
// Put instead of a copy (see PutOwned).
type OwnedPutter interface {
	// PutOwned is Put that keeps r itself: r becomes the store's, and the
	// caller must not change it (nor its Attrs or Private maps) afterwards.
	PutOwned(r *resource.Resource) error
}

// PutOwned puts r through tx's PutOwned when it has one, else through Put.
// The caller must treat r as OwnedPutter.PutOwned says.
func PutOwned(tx Tx, r *resource.Resource) error {
	if p, ok := tx.(OwnedPutter); ok {
		return p.PutOwned(r)
	}
	return tx.Put(r)
}

// Tx is what a transaction can do. Resources read are the caller's to change;
// attribute values round-trip exactly in the canonical shape of package codec.
type Tx interface {
	Get(ri string) (*resource.Resource, error)
	GetByPath(path string) (*resource.Resource, error)
	// Create inserts r and sets r.Seq, which is greater than any Seq handed
	// out before (never reused, not even after deletions). ErrExists when
	// r.RI or r.Path is taken; the transaction stays usable after it. A
	// backend may set r.Seq only when Update returns (store/postgres sends a
	// group's inserts together), so fn must not rely on it.
	Create(r *resource.Resource) error
	// Put replaces the stored r (same RI; Path, PI, Ty and Seq do not change).
	// ErrNotFound when it does not exist.
	Put(r *resource.Resource) error
	// DeleteTree deletes r and every resource below it (by path: r.Path and
	// the paths that start with r.Path+"/"); it returns how many resources
	// were deleted, ErrNotFound when r does not exist.
	DeleteTree(r *resource.Resource) (int, error)
	// Children returns direct children of the resource pi in creation order.
	Children(pi string, q ChildQuery) ([]*resource.Resource, error)
	// Walk calls fn for every resource below path (not path itself), in path
	// order, optionally only those of the given types, until fn returns false.
	Walk(path string, types []int, fn func(*resource.Resource) bool) error
	// WalkLabeled is Walk restricted to the resources whose lbl attribute
	// holds at least one of labels (equal strings), each once. Backends find
	// them through an index of the labels, so that discovery with a label
	// condition costs what it finds rather than the size of the subtree.
	WalkLabeled(path string, labels []string, types []int, fn func(*resource.Resource) bool) error
	// Expired returns up to limit resources whose expiration time is before t
	// (strictly), earliest first. A zero expiration time never expires.
	Expired(t time.Time, limit int) ([]*resource.Resource, error)

	// The outbox is the durable queue between a change and the notifications
	// it causes: the core appends an entry in the transaction that makes the
	// change, so both are kept or neither is, and the notification service
	// reads and removes entries once they are delivered.
	//
	// AppendOutbox adds an entry and returns its Seq, which is greater than
	// the Seq of any entry committed before (never reused, not even after
	// deletions or a restart). Committed entries become visible in Seq order:
	// a reader that has seen Seq n never finds a new entry below n later.
	AppendOutbox(data []byte) (int64, error)
	// Outbox returns up to limit entries with Seq > after, in Seq order.
	Outbox(after int64, limit int) ([]OutboxEntry, error)
	// DeleteOutbox removes the entries with these Seqs; unknown ones are ignored.
	DeleteOutbox(seqs []int64) error

	// Marks are named numbers the notification service keeps its delivery
	// progress in. Keys are UTF-8. SetMark stores v under key, Marks returns
	// those whose key starts with prefix, DeleteMarks removes them.
	SetMark(key string, v int64) error
	Marks(prefix string) (map[string]int64, error)
	DeleteMarks(prefix string) error
}

// OutboxEntry is one entry of the outbox: Data is opaque to the store.
type OutboxEntry struct {
	Seq  int64
	Data []byte
}
