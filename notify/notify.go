// Package notify is the notification service: it delivers the notifications
// of <subscription> resources (TS-0001 9.6.8, 10.2.10; TS-0004 7.5.1).
//
// The core writes what changed into the store's outbox, in the transaction of
// the change (cse.Event). This service reads the outbox in order, matches each
// event against the subscriptions of the changed resource, and queues one
// notification per subscription and target. Each (subscription, target) queue
// is delivered in order by its own goroutine, through the core's Sender, with
// retries and exponential back-off; batchNotify, latestNotify, rateLimit and
// expirationCounter are applied there. An outbox entry is removed once every
// notification it caused is delivered or dropped, so what was not delivered
// when the CSE stops is delivered after it starts again.
//
// Delivery policy (the spec leaves it to the CSE; pendingNotification and
// missingData are not implemented):
//   - a failed attempt (no answer, or a 5xxx answer) is repeated after
//     Options.RetryInitial, doubling up to Options.RetryMax, at most
//     Options.Attempts times; the queue waits meanwhile, so order is kept;
//   - a 4xxx answer is final: retrying would get the same refusal;
//   - a notification that fails for good is dropped with a log line, and the
//     queue goes on; until a delivery succeeds again each further
//     notification of that queue gets a single attempt, so a dead target
//     costs little;
//   - a queue holds at most Options.QueueLimit notifications. When the
//     queue of a healthy target is full, the service reads no further in the
//     outbox until it has room: nothing is lost, a target that cannot keep up
//     with the events slows the others down, never the CREATEs (the outbox,
//     on disk, holds what waits). When the queue of a target in trouble (its
//     last attempt failed) is full, new notifications for it are dropped
//     (logged), and the other targets are unaffected;
//   - delivery is at least once: a notification sent just before a crash may
//     be sent again after the restart.
//
// One onecse process delivers the outbox of its store.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Options tune delivery. Zero values take the defaults.
type Options struct {
	Log *slog.Logger
	// Timeout bounds one attempt to send a notification (default 10 s).
	Timeout time.Duration
	// VerifyTimeout bounds a verification request (default 10 s).
	VerifyTimeout time.Duration
	// RetryInitial is the wait after the first failed attempt (default 1 s);
	// it doubles after each further failure up to RetryMax (default 1 min).
	RetryInitial, RetryMax time.Duration
	// Attempts is how often one notification is tried before it is dropped
	// (default 10).
	Attempts int
	// QueueLimit bounds the notifications waiting for one (subscription,
	// target) (default 10,000).
	QueueLimit int
	// MaxPending bounds the notifications held in memory in all: beyond it
	// the service reads no more of the outbox until some are delivered
	// (default 100,000).
	MaxPending int
	// Parallel bounds the notifications being sent at once (default 64).
	Parallel int
	// FlushInterval is how often delivered outbox entries are removed from
	// the store (default 20 ms); CursorInterval how often the progress of
	// each queue is saved (default 1 s): after a crash (not after a proper
	// shutdown) what was delivered since may be delivered again.
	FlushInterval, CursorInterval time.Duration
	// PollInterval is how often the outbox is read when nothing woke the
	// service (default 1 s).
	PollInterval time.Duration
}

func (o *Options) defaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.VerifyTimeout <= 0 {
		o.VerifyTimeout = 10 * time.Second
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = time.Second
	}
	if o.RetryMax < o.RetryInitial {
		o.RetryMax = max(time.Minute, o.RetryInitial)
	}
	if o.Attempts <= 0 {
		o.Attempts = 10
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = 10000
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100000
	}
	if o.Parallel <= 0 {
		o.Parallel = 64
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 20 * time.Millisecond
	}
	if o.CursorInterval < o.FlushInterval {
		o.CursorInterval = max(time.Second, o.FlushInterval)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
}

// Service is the notification service. It implements cse.Notifier.
type Service struct {
	core *cse.CSE
	st   store.Store
	send cse.Sender
	opt  Options
	log  *slog.Logger

	wake      chan struct{}
	sem       chan struct{}
	rqiPrefix string
	rqi       atomic.Uint64

	// subs is the subscription index: the subscriptions of a subscribed-to
	// resource; only the dispatcher uses it.
	subs map[string]*subjectSubs

	mu       sync.Mutex
	cond     *sync.Cond // signalled when pending goes down
	entries  map[int64]*entry
	pending  int              // notifications queued and not yet delivered or dropped
	cursors  map[string]int64 // mark key → Seq of the last entry delivered to it
	dirty    map[string]bool
	done     []int64 // entries fully handled, to delete from the outbox
	queues   map[string]*queue
	exc      map[string]*excState
	gone     map[string]bool // deleted subscriptions whose notifications may still be queued
	runCtx   context.Context
	workers  sync.WaitGroup
	stopping bool

	// Counters for Stats.
	sent, failedAttempts, delivered, dropped atomic.Int64
}

// Stats are the service's counters, for metrics.
type Stats struct {
	// Pending is the number of notifications read from the outbox and not
	// yet delivered or dropped.
	Pending int
	// Sent counts NOTIFY requests sent (every attempt, batches count once);
	// FailedAttempts those that got no answer or an unsuccessful one.
	Sent, FailedAttempts int64
	// Delivered and Dropped count notifications (a batch counts each one it
	// carries): delivered with a successful answer, dropped after the last
	// failed attempt.
	Delivered, Dropped int64
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Pending: s.pending, Sent: s.sent.Load(), FailedAttempts: s.failedAttempts.Load(), Delivered: s.delivered.Load(), Dropped: s.dropped.Load()}
}

// entry is an outbox entry being delivered.
type entry struct {
	seq     int64
	pending int // its notifications not yet delivered or dropped, +1 while it is being expanded
}

// excState counts what a subscription's expirationCounter still allows.
type excState struct {
	left     int64 // notifications it may still send, reservations deducted
	inflight int64 // reserved, not yet confirmed
	gone     bool
}

// marksPrefix is the prefix of the store marks of this service.
const marksPrefix = "n/"

func markKey(subRI, target string) string { return marksPrefix + subRI + "/" + target }

// New returns the service for core, sending through send.
func New(core *cse.CSE, send cse.Sender, opt Options) *Service {
	opt.defaults()
	s := &Service{
		core: core, st: core.Store(), send: send, opt: opt, log: opt.Log,
		wake:      make(chan struct{}, 1),
		sem:       make(chan struct{}, opt.Parallel),
		rqiPrefix: fmt.Sprintf("n%08x", rand.Uint32()),
		subs:      map[string]*subjectSubs{},
		entries:   map[int64]*entry{},
		cursors:   map[string]int64{},
		dirty:     map[string]bool{},
		queues:    map[string]*queue{},
		exc:       map[string]*excState{},
		gone:      map[string]bool{},
	}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Wake tells the service that an outbox entry was committed.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) newRQI() string {
	return fmt.Sprintf("%s-%d", s.rqiPrefix, s.rqi.Add(1))
}

// Run delivers until ctx ends, then writes what was delivered to the store
// and returns. What is still undelivered stays in the outbox for the next
// Run.
func (s *Service) Run(ctx context.Context) error {
	err := s.st.View(ctx, func(tx store.Tx) error {
		m, err := tx.Marks(marksPrefix)
		for k, v := range m {
			s.cursors[k] = v
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: reading delivery progress: %w", err)
	}
	s.mu.Lock()
	s.runCtx = ctx
	s.stopping = false
	s.mu.Unlock()
	// Whoever waits for room (the dispatcher, under back-pressure) learns
	// of the end at once.
	stopWaiting := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.stopping = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stopWaiting()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		t := time.NewTicker(s.opt.FlushInterval)
		defer t.Stop()
		lastCursors := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				cursors := time.Since(lastCursors) >= s.opt.CursorInterval
				if cursors {
					lastCursors = time.Now()
				}
				if err := s.flush(context.WithoutCancel(ctx), cursors); err != nil {
					s.log.Warn("notify: saving delivery progress", "err", err)
				}
			}
		}
	}()
	s.dispatch(ctx)
	// Stop: the workers see ctx and leave what they did not deliver.
	s.mu.Lock()
	s.stopping = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.workers.Wait()
	<-flushDone
	if err := s.flush(context.WithoutCancel(ctx), true); err != nil {
		s.log.Warn("notify: saving delivery progress at shutdown", "err", err)
	}
	return nil
}

// dispatch reads the outbox in order until ctx ends.
func (s *Service) dispatch(ctx context.Context) {
	var after int64
	const page = 256
	for ctx.Err() == nil {
		// Back-pressure: the outbox keeps what memory cannot.
		s.mu.Lock()
		for s.pending >= s.opt.MaxPending && !s.stopping && ctx.Err() == nil {
			s.cond.Wait()
		}
		s.mu.Unlock()
		var es []store.OutboxEntry
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			es, err = tx.Outbox(after, page)
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("notify: reading the outbox", "err", err)
		}
		for _, e := range es {
			s.process(ctx, e)
			after = e.Seq
		}
		if len(es) == page {
			continue
		}
		t := time.NewTimer(s.opt.PollInterval)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// process turns one outbox entry into notifications.
func (s *Service) process(ctx context.Context, e store.OutboxEntry) {
	en := &entry{seq: e.Seq, pending: 1}
	s.mu.Lock()
	s.entries[e.Seq] = en
	s.mu.Unlock()
	ev, err := cse.DecodeEvent(e.Data)
	if err != nil {
		s.log.Error("notify: unreadable outbox entry dropped", "seq", e.Seq, "err", err)
	} else {
		for i := range ev.Notes {
			s.note(ctx, en, ev.Time, &ev.Notes[i])
		}
	}
	s.mu.Lock()
	s.release(en, 1)
	s.mu.Unlock()
}

func (s *Service) note(ctx context.Context, en *entry, at time.Time, n *cse.Note) {
	switch n.Kind {
	case cse.NoteSubsChanged:
		s.subsChanged(n)
	case cse.NoteUpdated, cse.NoteChildCreated, cse.NoteChildDeleted, cse.NoteRetrieveNoInstance:
		net := int64(n.Kind)
		child, _ := n.Res["ri"].(string)
		for _, sb := range s.subscriptions(ctx, n.Subject).matching(net, at, child, n.Ty, n.Res, n.Mod) {
			sgn := sb.notification(s.core, net, sb.content(s.core, n.Ty, n.Res, n.Mod))
			for _, t := range sb.targets {
				s.enqueue(en, sb, t, &item{sgn: sgn, counted: true})
			}
		}
	case cse.NoteGroupNotify:
		// A member's notification that the group host aggregates: Sub is
		// the group subscription as a batching subscription, so the batch
		// (nar) goes out as one m2m:agn, in order, with retries.
		sb := parseSub(n.Sub)
		for _, t := range sb.targets {
			s.enqueue(en, sb, t, &item{sgn: n.Res, counted: true})
		}
	case cse.NoteSubDeleted:
		sb := parseSub(n.Sub)
		if n.SubjectGone {
			delete(s.subs, n.Subject)
			if sb.matches(2, newEventRes(n.Ty, n.Res), nil) {
				// The subscribed-to resource was deleted (net 2): the last
				// notification of this subscription.
				sgn := sb.notification(s.core, 2, sb.content(s.core, n.Ty, n.Res, nil))
				for _, t := range sb.targets {
					s.enqueue(en, sb, t, &item{sgn: sgn})
				}
			}
		}
		s.mu.Lock()
		s.gone[sb.ri] = true
		delete(s.exc, sb.ri)
		s.mu.Unlock()
		if sb.su != "" {
			s.enqueue(en, sb, sb.su, &item{sgn: sb.deletion(s.core)})
		}
	}
}

// subjectSubs are the subscriptions of one resource, also by the event
// types they want (1 to 5), so that an event costs in proportion to the
// subscriptions that want it.
type subjectSubs struct {
	all   []*sub
	byNet [6][]hotSub
	// crits is the number of distinct eventNotificationCriteria among all;
	// sub.crit numbers them, so that an event is tested once per distinct
	// criteria rather than once per subscription (a thousand applications
	// subscribed to the same container usually ask the same).
	crits int
}

func newSubjectSubs(l []*sub) *subjectSubs {
	ss := &subjectSubs{all: l}
	ids := map[string]int{}
	for _, sb := range l {
		k := sb.critKey()
		id, ok := ids[k]
		if !ok {
			id = len(ids)
			ids[k] = id
		}
		sb.crit = id
	}
	ss.crits = len(ids)
	for _, sb := range l {
		h := hotSub{ct: math.MinInt64, et: math.MaxInt64, crit: sb.crit, sb: sb}
		if !sb.ct.IsZero() {
			h.ct = unixNano(sb.ct)
		}
		if !sb.et.IsZero() {
			h.et = unixNano(sb.et)
		}
		var added [6]bool
		for _, n := range sb.nets {
			if n >= 1 && n <= 5 && !added[n] {
				added[n] = true
				ss.byNet[n] = append(ss.byNet[n], h)
			}
		}
	}
	return ss
}

// unixNano is t.UnixNano, clamped to the int64 range (an expirationTime may
// be far beyond 2262).
func unixNano(t time.Time) int64 {
	switch sec := t.Unix(); {
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case sec <= math.MinInt64/int64(time.Second):
		return math.MinInt64
	}
	return t.UnixNano()
}

// hotSub is what matching reads of every subscription, side by side in one
// slice: with a thousand subscriptions, following a pointer to each cost
// more than testing it.
type hotSub struct {
	ct, et int64 // UnixNano; math.MinInt64 and math.MaxInt64 when absent
	crit   int
	sb     *sub
}

// matching returns the subscriptions that an event of type net at time at
// about res (of type ty; child: its ri) concerns, in their order.
func (ss *subjectSubs) matching(net int64, at time.Time, child string, ty int, res map[string]any, mod []string) []*sub {
	var out []*sub
	var ev *eventRes    // parsed when the first subscription needs it
	var verdicts []int8 // by sub.crit: 0 not tested yet, 1 met, 2 not met
	atN := unixNano(at)
	for _, h := range ss.byNet[net] {
		if h.ct > atN || h.et <= atN {
			// created after the event (it was loaded later), or expired
			// and not yet removed
			continue
		}
		if ev == nil {
			ev = newEventRes(ty, res)
			verdicts = make([]int8, ss.crits)
		}
		v := verdicts[h.crit]
		if v == 0 {
			v = 2
			if h.sb.qualifies(net, ev, mod) { // byNet[net]: it wants net
				v = 1
			}
			verdicts[h.crit] = v
		}
		if v == 1 && !(net == 3 && h.sb.ri == child) { // not its own creation
			out = append(out, h.sb)
		}
	}
	return out
}

// subscriptions returns the subscriptions of subject, loading them when
// they are not known. Loaded later than the event being matched, they may
// include subscriptions created after it: note checks their ct.
func (s *Service) subscriptions(ctx context.Context, subject string) *subjectSubs {
	if ss, ok := s.subs[subject]; ok {
		return ss
	}
	var l []*sub
	err := s.st.View(ctx, func(tx store.Tx) error {
		rs, err := tx.Children(subject, store.ChildQuery{Types: []int{resource.TySubscription}})
		for _, r := range rs {
			l = append(l, parseSub(r.Attrs))
		}
		return err
	})
	if err != nil {
		s.log.Warn("notify: loading subscriptions", "subject", subject, "err", err)
		return &subjectSubs{}
	}
	if len(s.subs) >= 100000 {
		clear(s.subs) // a crude bound; the hot ones come back at once
	}
	ss := newSubjectSubs(l)
	s.subs[subject] = ss
	s.mu.Lock()
	for _, sb := range l {
		if st, ok := s.exc[sb.ri]; ok && sb.hasExc {
			// The stored counter has every confirmed notification deducted.
			st.left = sb.exc - st.inflight
		}
	}
	s.mu.Unlock()
	return ss
}

// subsChanged brings the index up to date with one created, updated or
// deleted subscription, in place: a subject with a thousand subscriptions is
// not read again because one of them changed.
func (s *Service) subsChanged(n *cse.Note) {
	ss, ok := s.subs[n.Subject]
	if !ok {
		return // not loaded: it will be, as it is then
	}
	ri, _ := n.Sub["ri"].(string)
	i := slices.IndexFunc(ss.all, func(sb *sub) bool { return sb.ri == ri })
	l := slices.Clone(ss.all)
	switch {
	case n.Deleted && i >= 0:
		l = slices.Delete(l, i, i+1)
	case n.Deleted:
	case i >= 0:
		l[i] = parseSub(n.Sub)
	default:
		l = append(l, parseSub(n.Sub))
	}
	s.subs[n.Subject] = newSubjectSubs(l)
	if !n.Deleted {
		s.mu.Lock()
		if st, ok := s.exc[ri]; ok {
			sb := parseSub(n.Sub)
			st.left = sb.exc - st.inflight
		}
		s.mu.Unlock()
	}
}

// excFor returns the expirationCounter state of sb; s.mu is held.
func (s *Service) excFor(sb *sub) *excState {
	st, ok := s.exc[sb.ri]
	if !ok {
		st = &excState{left: sb.exc}
		s.exc[sb.ri] = st
	}
	return st
}

// release marks n notifications of en as delivered or dropped; s.mu is held.
func (s *Service) release(en *entry, n int) {
	en.pending -= n
	if en.pending == 0 {
		delete(s.entries, en.seq)
		s.done = append(s.done, en.seq)
	}
}

// flush writes delivery progress: the removal of the outbox entries that are
// fully handled and, with cursors, the cursors of the queues. When nothing
// read from the outbox is pending any more, no cursor is needed (every entry
// a cursor could skip is gone) and all are removed.
func (s *Service) flush(ctx context.Context, cursors bool) error {
	s.mu.Lock()
	drained := len(s.entries) == 0
	if len(s.done) == 0 && (len(s.dirty) == 0 || !cursors && !drained) {
		s.mu.Unlock()
		return nil
	}
	done := s.done
	s.done = nil
	var dirty map[string]bool
	var marks map[string]int64
	if cursors || drained {
		dirty = s.dirty
		s.dirty = map[string]bool{}
		marks = make(map[string]int64, len(dirty))
		for k := range dirty {
			marks[k] = s.cursors[k]
		}
	}
	var oldCursors map[string]int64
	if drained {
		oldCursors = s.cursors
		s.cursors = map[string]int64{}
		// Nothing is queued: what was kept about deleted subscriptions for
		// their queued notifications is needed no more.
		clear(s.gone)
	}
	s.mu.Unlock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteOutbox(done); err != nil {
			return err
		}
		if drained {
			return tx.DeleteMarks(marksPrefix)
		}
		for k, v := range marks {
			if err := tx.SetMark(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.mu.Lock()
		s.done = append(s.done, done...)
		for k := range dirty {
			s.dirty[k] = true
		}
		for k, v := range oldCursors {
			if v > s.cursors[k] {
				s.cursors[k] = v
			}
		}
		s.mu.Unlock()
	}
	return err
}
