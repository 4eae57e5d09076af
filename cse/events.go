package cse

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/onecse/onecse/codec"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Events: what a transaction changed that subscriptions may be told about
// (TS-0001 9.6.8, TS-0004 7.5.1.2.2). The core does not match subscriptions
// nor send anything itself. It writes one outbox entry (an Event) in the very
// transaction that makes the change, so that the change and the duty to
// notify are committed together and survive a crash; the notification
// service (package notify, a Notifier) reads the outbox after the commit,
// matches the subscriptions and delivers.
//
// The write path stays cheap: every resource carries the number of its
// <subscription> children (Resource.Subs, kept here), so a change under a
// resource nobody subscribed to costs one integer test and writes nothing.

// Notifier is the notification service as the core sees it.
type Notifier interface {
	// Verify sends the subscription verification request of TS-0004
	// 7.5.1.2.3 to target for the subscription sur (its SP-relative ID)
	// created by creator, and returns nil only when the target answered OK.
	Verify(ctx context.Context, sur, creator, target string) error
	// Wake reports that an outbox entry has been committed.
	Wake()
	// Forward re-targets a NOTIFY addressed to the <AE> aei of this CSE to
	// that AE through its pointOfAccess (TS-0004 7.3.3.9.1) and returns the
	// AE's answer; when the AE cannot be reached, a 5103 error.
	Forward(ctx context.Context, req *primitive.Request, aei string) (*primitive.Response, error)
	// NotifyBlocking sends the NOTIFY with content pc to target (a oneM2M
	// ID) at once, within the notification timeout, and returns the
	// answer: the blocking update notification of TS-0004 7.5.1.2.19,
	// which the UPDATE waits for. An error means no answer.
	NotifyBlocking(ctx context.Context, target string, pc map[string]any) (*primitive.Response, error)
}

// SetNotifier connects the notification service. Without one the core
// writes no outbox entries and verifies no notification targets.
func (c *CSE) SetNotifier(n Notifier) { c.notifier = n }

// NoteKind says what a Note is about.
type NoteKind int

const (
	// NoteUpdated: Subject was updated (notificationEventType 1). Res holds
	// its attributes after the update, Mod the names of those the update
	// changed or set (absent from Res when removed).
	NoteUpdated NoteKind = 1
	// NoteChildCreated: a direct child of Subject was created (net 3); Res is
	// the child.
	NoteChildCreated NoteKind = 3
	// NoteChildDeleted: a direct child of Subject was deleted (net 4); Res is
	// the child as it was.
	NoteChildDeleted NoteKind = 4
	// NoteRetrieveNoInstance: the <container> Subject was retrieved (its
	// latest or oldest instance, or with its children) while it held no
	// contentInstance (net 5); Res is the container.
	NoteRetrieveNoInstance NoteKind = 5
	// NoteSubDeleted: the subscription Sub (its attributes as they were) of
	// Subject was deleted: its subscriber is told (TS-0004 7.5.1.2.4). When
	// SubjectGone, Subject was deleted with it (net 2) and Res is Subject as
	// it was.
	NoteSubDeleted NoteKind = 100
	// NoteSubsChanged: a subscription of Subject was created or updated
	// (Sub: its attributes now) or deleted (Deleted, Sub holds its ri);
	// later notes are matched against the new set.
	NoteSubsChanged NoteKind = 101
	// NoteGroupNotify: Res is a notification (m2m:sgn) that a member
	// subscription sent to the group Subject, which aggregates it (TS-0004
	// 7.5.1.2.6): Sub describes the batch it joins as a subscription would
	// (ri: the group subscription, nu: where the aggregated notification
	// goes, bn: the group's notifyAggregation).
	NoteGroupNotify NoteKind = 102
)

// Note is one thing that happened.
type Note struct {
	Kind        NoteKind       `cbor:"k"`
	Subject     string         `cbor:"s"`           // resource ID of the subscribed-to resource
	Ty          int            `cbor:"y,omitempty"` // resource type of Res
	Res         map[string]any `cbor:"r,omitempty"`
	Mod         []string       `cbor:"m,omitempty"`
	Sub         map[string]any `cbor:"b,omitempty"`
	SubjectGone bool           `cbor:"g,omitempty"`
	Deleted     bool           `cbor:"d,omitempty"`
}

// Event is one outbox entry: the notes of one transaction, in order.
type Event struct {
	// Time is when the transaction ran (in the writer): a subscription
	// created later is not told about it.
	Time  time.Time `cbor:"t"`
	Notes []Note    `cbor:"n"`
}

var (
	eventEnc cbor.EncMode
)

func init() {
	var err error
	if eventEnc, err = (cbor.EncOptions{Time: cbor.TimeRFC3339Nano}).EncMode(); err != nil {
		panic(err)
	}
}

// EncodeEvent serialises an event for the outbox.
func EncodeEvent(e *Event) ([]byte, error) { return eventEnc.Marshal(e) }

// DecodeEvent reads an outbox entry back, with attribute values in the
// canonical shape of package codec.
func DecodeEvent(data []byte) (*Event, error) {
	var e Event
	if err := codec.StoredDecMode.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("outbox entry: %w", err)
	}
	for i := range e.Notes {
		n := &e.Notes[i]
		canonicalMap(n.Res)
		canonicalMap(n.Sub)
	}
	return &e, nil
}

func canonicalMap(m map[string]any) {
	for k, v := range m {
		m[k] = canonicalValue(v)
	}
}

// canonicalValue turns CBOR's unsigned integers back into int64 where they fit.
func canonicalValue(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case map[string]any:
		canonicalMap(x)
	case []any:
		for i, e := range x {
			x[i] = canonicalValue(e)
		}
	}
	return v
}

// events collects the notes of one transaction.
type events struct {
	c     *CSE
	now   time.Time
	notes []Note
	wrote bool
}

// write runs fn in a store transaction with a collector for its events, and
// appends what was collected to the outbox in that same transaction.
func (c *CSE) write(ctx context.Context, fn func(tx store.Tx, ev *events) error) error {
	ev := &events{c: c}
	err := c.st.Update(ctx, func(tx store.Tx) error {
		*ev = events{c: c, now: c.now()} // afresh on each run (a replay runs fn again)
		if err := fn(tx, ev); err != nil {
			return err
		}
		return ev.flush(tx)
	})
	if err == nil && ev.wrote {
		c.notifier.Wake()
	}
	return err
}

func (e *events) add(n Note) { e.notes = append(e.notes, n) }

func (e *events) flush(tx store.Tx) error {
	if len(e.notes) == 0 || e.c.notifier == nil {
		return nil
	}
	data, err := EncodeEvent(&Event{Time: e.now, Notes: e.notes})
	if err != nil {
		return err
	}
	if _, err := tx.AppendOutbox(data); err != nil {
		return err
	}
	e.wrote = true
	return nil
}

// created records that child was created under p (both read or written in
// this transaction). A new subscription is counted in p, which is then
// stored.
func (e *events) created(tx store.Tx, p, child *resource.Resource) error {
	if wants(p, NoteChildCreated) {
		e.add(Note{Kind: NoteChildCreated, Subject: p.RI, Ty: child.Ty, Res: maps.Clone(child.Attrs)})
	}
	if child.Ty == resource.TySubscription {
		p.Subs++
		p.SubEvents |= eventBits(child.Attrs)
		e.add(Note{Kind: NoteSubsChanged, Subject: p.RI, Sub: maps.Clone(child.Attrs)})
		return tx.Put(p)
	}
	return nil
}

// wants reports whether a subscription of r may want events of kind k
// (Resource.SubEvents): the cheap test that spares an outbox entry.
func wants(r *resource.Resource, k NoteKind) bool {
	return r.Subs > 0 && r.SubEvents&(1<<int(k)) != 0
}

// eventBits returns the SubEvents bits of a subscription's attributes: its
// notificationEventTypes, 1 when it names none.
func eventBits(sub map[string]any) int {
	enc, _ := sub["enc"].(map[string]any)
	nets, _ := enc["net"].([]any)
	if len(nets) == 0 {
		return 1 << 1
	}
	bits := 0
	for _, v := range nets {
		if n, ok := v.(int64); ok && n >= 0 && n < 32 {
			bits |= 1 << n
		}
	}
	return bits
}

// updated records an UPDATE of r: before are its attributes ahead of it,
// requested those the request set (or removed with null).
func (e *events) updated(tx store.Tx, r *resource.Resource, before, requested map[string]any) error {
	if r.Ty == resource.TySubscription {
		e.add(Note{Kind: NoteSubsChanged, Subject: r.PI, Sub: maps.Clone(r.Attrs)})
		if p, err := tx.Get(r.PI); err != nil {
			return err
		} else if bits := eventBits(r.Attrs); p.SubEvents|bits != p.SubEvents {
			p.SubEvents |= bits
			if err := tx.Put(p); err != nil {
				return err
			}
		}
	}
	if !wants(r, NoteUpdated) {
		return nil
	}
	var mod []string
	for k, v := range r.Attrs {
		if _, asked := requested[k]; asked {
			mod = append(mod, k)
		} else if ov, ok := before[k]; !ok || !equalValue(ov, v) {
			mod = append(mod, k)
		}
	}
	for k := range before {
		if _, still := r.Attrs[k]; !still {
			mod = append(mod, k)
		}
	}
	e.add(Note{Kind: NoteUpdated, Subject: r.RI, Ty: r.Ty, Res: maps.Clone(r.Attrs), Mod: mod})
	return nil
}

// deleting records the deletion of r and its subtree, before it happens: p
// is r's parent (nil when there is none). Every subscription in the subtree
// is deleted with it (its subscriber is told, and it gets the deletion of
// its subscribed-to resource when that goes too); p's subscriptions learn
// that a child went. Expiry counts as deletion.
func (e *events) deleting(tx store.Tx, r, p *resource.Resource) error {
	var subs []*resource.Resource
	switch r.Ty {
	case resource.TySubscription:
		subs = append(subs, r)
	case resource.TyCIN:
		// A contentInstance has nothing below it.
	default:
		err := tx.Walk(r.Path, []int{resource.TySubscription}, func(s *resource.Resource) bool {
			subs = append(subs, s)
			return true
		})
		if err != nil {
			return err
		}
	}
	subjects := map[string]*resource.Resource{r.RI: r}
	for _, s := range subs {
		n := Note{Kind: NoteSubDeleted, Subject: s.PI, Sub: maps.Clone(s.Attrs)}
		if s != r {
			subj, ok := subjects[s.PI]
			if !ok {
				var err error
				if subj, err = tx.Get(s.PI); err != nil {
					return err
				}
				subjects[s.PI] = subj
			}
			n.SubjectGone, n.Ty, n.Res = true, subj.Ty, maps.Clone(subj.Attrs)
		}
		e.add(n)
	}
	if p != nil && wants(p, NoteChildDeleted) {
		e.add(Note{Kind: NoteChildDeleted, Subject: p.RI, Ty: r.Ty, Res: maps.Clone(r.Attrs)})
	}
	if p != nil && r.Ty == resource.TySubscription {
		e.add(Note{Kind: NoteSubsChanged, Subject: p.RI, Sub: map[string]any{"ri": r.RI}, Deleted: true})
	}
	return nil
}

// recountSubscriptions sets Resource.Subs and SubEvents of each resource
// that has subscriptions from those subscriptions, as stored. Every write
// keeps them; this repairs data written before they existed. It reads only
// the subscriptions (the store finds them by type).
func (c *CSE) recountSubscriptions(ctx context.Context) error {
	type count struct{ n, bits int }
	counts := map[string]*count{}
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Walk(c.base.Path, []int{resource.TySubscription}, func(s *resource.Resource) bool {
			ct := counts[s.PI]
			if ct == nil {
				ct = &count{}
				counts[s.PI] = ct
			}
			ct.n++
			ct.bits |= eventBits(s.Attrs)
			return true
		})
	})
	if err != nil || len(counts) == 0 {
		return err
	}
	fixed := 0
	err = c.st.Update(ctx, func(tx store.Tx) error {
		fixed = 0
		for pi, ct := range counts {
			p, err := tx.Get(pi)
			if err != nil {
				continue // gone meanwhile
			}
			if p.Subs == ct.n && p.SubEvents&ct.bits == ct.bits {
				continue
			}
			p.Subs, p.SubEvents = ct.n, p.SubEvents|ct.bits
			if err := tx.Put(p); err != nil {
				return err
			}
			fixed++
		}
		return nil
	})
	if err == nil && fixed > 0 {
		c.log.InfoContext(ctx, "subscription counts repaired", "resources", fixed)
	}
	return err
}

// SubscriptionNotified counts one notification that was sent for the
// subscription ri against its expirationCounter (TS-0004 7.5.1.2.2 step
// 5.0): the counter goes down by one, and at zero the subscription is
// deleted (its subscriber is told, as for any deletion). It reports whether
// the subscription is gone. A subscription without expirationCounter is left
// alone.
func (c *CSE) SubscriptionNotified(ctx context.Context, ri string) (gone bool, err error) {
	err = c.write(context.WithoutCancel(ctx), func(tx store.Tx, ev *events) error {
		gone = false
		s, err := tx.Get(ri)
		if err != nil {
			return err
		}
		if s.Ty != resource.TySubscription {
			return fmt.Errorf("%s is not a subscription", ri)
		}
		exc, ok := s.Int("exc")
		if !ok {
			return nil
		}
		if exc > 1 {
			// The CSE's own bookkeeping: not an UPDATE, so lt stays.
			s.Attrs["exc"] = exc - 1
			return tx.Put(s)
		}
		gone = true
		return c.deleteInTx(tx, ev, s)
	})
	if err != nil {
		return false, storeErr(err, "subscription "+ri)
	}
	return gone, nil
}

// SPRelativeID returns the SP-relative form of the resource ID ri of this
// CSE ("/id-in/cin123"): the subscriptionReference (sur) of a notification,
// and the resource ID it carries with notificationContentType 3.
func (c *CSE) SPRelativeID(ri string) string { return c.cfg.CSEID + "/" + ri }

// LocalID converts an ID that names something of this CSE into its
// CSE-relative form ("/id-in/Cabc" → "Cabc"); other IDs come back as they
// are, with ok=false.
func (c *CSE) LocalID(id string) (string, bool) { return c.localID(id) }

// Now is the core's clock.
func (c *CSE) Now() time.Time { return c.now() }

// Store is the core's store.
func (c *CSE) Store() store.Store { return c.st }
