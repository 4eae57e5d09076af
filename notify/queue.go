package notify

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// item is one notification waiting in a queue.
type item struct {
	en      *entry
	sub     *sub           // the subscription as it was when the event was matched
	sgn     map[string]any // the m2m:sgn
	arrived time.Time
	// counted: a notification of an event, which counts against the
	// expirationCounter, may be batched or collapsed by latestNotify, and is
	// dropped once the subscription is deleted (TS-0004 7.4.8.2.4). The
	// others (the deletion of the subscribed-to resource, the subscription's
	// own deletion) are sent alone, after the subscription is gone.
	counted bool
}

// queue holds the notifications of one subscription for one target, in the
// order of the events, and is delivered by one goroutine at a time.
type queue struct {
	key    string // markKey
	target string
	poke   chan struct{}

	// Owned by Service.mu:
	items   []*item
	running bool
	// troubled: an attempt failed and no delivery succeeded since. A full
	// queue of a target in trouble drops new notifications; a full queue of
	// a healthy target makes the dispatcher wait (the outbox keeps the rest).
	troubled bool

	// Owned by the delivering goroutine:
	failing  bool // the last notification was dropped after its attempts
	winStart time.Time
	winCount int
	rateWin  time.Duration
	dropped  int // dropped for the queue limit since the last log line
}

// enqueue queues a notification of en for target; it is skipped when a run
// before a restart delivered it already.
func (s *Service) enqueue(en *entry, sb *sub, target string, it *item) {
	key := markKey(sb.ri, target)
	it.en, it.sub, it.arrived = en, sb, time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cursors[key]; ok && c >= en.seq {
		return
	}
	var q *queue
	for {
		// Looked up again after each wait: an idle queue leaves the map, and
		// a second queue for the same key would break the order.
		q = s.queues[key]
		if q == nil {
			q = &queue{key: key, target: target, poke: make(chan struct{}, 1)}
			s.queues[key] = q
		}
		if len(q.items) < s.opt.QueueLimit {
			break
		}
		if s.stopping {
			// Left undelivered: the entry stays in the outbox for the next start.
			en.pending++
			return
		}
		if q.troubled {
			// Not counted in the entry; the cursor stays, so the queue's
			// order is not disturbed (after a restart it would be sent
			// after all).
			q.dropped++
			if q.dropped == 1 || q.dropped%1000 == 0 {
				s.log.Warn("notification dropped: its target is failing and its queue is full", "sub", sb.ri, "target", target, "limit", s.opt.QueueLimit, "dropped", q.dropped)
			}
			return
		}
		s.cond.Wait() // back-pressure: until the target catches up
	}
	en.pending++
	s.pending++
	q.items = append(q.items, it)
	select {
	case q.poke <- struct{}{}:
	default:
	}
	if !q.running && s.runCtx != nil && !s.stopping {
		q.running = true
		s.workers.Add(1)
		go s.work(s.runCtx, q)
	}
}

// advance moves the cursor of q to seq; s.mu is held.
func (s *Service) advance(q *queue, seq int64) {
	if seq > s.cursors[q.key] {
		s.cursors[q.key] = seq
		s.dirty[q.key] = true
	}
}

// ack marks items of q as done: delivered or dropped (counted in the given
// counter, nil for neither), or no longer due. The counter moves under s.mu
// together with pending, so that Stats never counts a notification both as
// pending and as delivered or dropped.
func (s *Service) ack(q *queue, items []*item, outcome *atomic.Int64) {
	s.mu.Lock()
	if outcome != nil {
		outcome.Add(int64(len(items)))
	}
	for _, it := range items {
		s.advance(q, it.en.seq)
		s.release(it.en, 1)
	}
	s.pending -= len(items)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// work delivers q until it is empty or ctx ends.
func (s *Service) work(ctx context.Context, q *queue) {
	defer s.workers.Done()
	for {
		batch, ok := s.next(ctx, q)
		if !ok {
			return
		}
		s.deliverBatch(ctx, q, batch)
		if ctx.Err() != nil {
			s.mu.Lock()
			q.running = false
			s.mu.Unlock()
			return
		}
	}
}

// next waits for what q sends next: its first notification, or a batch
// (TS-0001 10.2.10.7: num notifications, or what arrived within dur of the
// first), reduced to the newest under latestNotify; then for the rateLimit
// window to allow it. It returns false when q is empty (the goroutine ends)
// or ctx ended.
func (s *Service) next(ctx context.Context, q *queue) ([]*item, bool) {
	s.mu.Lock()
	if len(q.items) == 0 {
		q.running = false
		// An idle queue is forgotten, unless it still has a state to keep:
		// a rate window under way, or a target that keeps failing.
		if !q.failing && time.Since(q.winStart) >= q.rateWin {
			delete(s.queues, q.key)
		}
		s.mu.Unlock()
		return nil, false
	}
	head := q.items[0]
	s.mu.Unlock()
	sb := head.sub
	if sb.batch && head.counted {
		deadline := head.arrived.Add(sb.batchDur)
		for {
			s.mu.Lock()
			n, all := batchable(q.items), len(q.items)
			s.mu.Unlock()
			if (sb.batchNum > 0 && n >= sb.batchNum) || !time.Now().Before(deadline) || n < all {
				break // full, due, or something that cannot join is waiting
			}
			if !wait(ctx, q.poke, time.Until(deadline)) {
				return s.stop(q)
			}
		}
	}
	if sb.rateMax > 0 {
		q.rateWin = sb.rateWin
		now := time.Now()
		if now.Sub(q.winStart) >= sb.rateWin {
			q.winStart, q.winCount = now, 0
		}
		if q.winCount >= sb.rateMax {
			// Non-rolling windows: the next one starts when this one ends.
			if !wait(ctx, nil, time.Until(q.winStart.Add(sb.rateWin))) {
				return s.stop(q)
			}
			q.winStart, q.winCount = time.Now(), 0
		}
		q.winCount++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var take []*item
	switch {
	case sb.batch && head.counted:
		n := batchable(q.items)
		if sb.batchNum > 0 && n > sb.batchNum {
			n = sb.batchNum
		}
		take = q.items[:n]
	case sb.latest && head.counted:
		// Several waiting: only the newest is sent (TS-0004 7.5.1.2.2 step 2.3).
		take = q.items[:batchable(q.items)]
	default:
		take = q.items[:1]
	}
	take = append([]*item(nil), take...)
	q.items = q.items[len(take):]
	s.cond.Broadcast() // room in q: a dispatcher may be waiting for it
	return take, true
}

// batchable counts the leading items that may go together: notifications of
// events (not the deletion notices, which go alone, in order).
func batchable(items []*item) int {
	n := 0
	for _, it := range items {
		if !it.counted {
			break
		}
		n++
	}
	return n
}

func (s *Service) stop(q *queue) ([]*item, bool) {
	s.mu.Lock()
	q.running = false
	s.mu.Unlock()
	return nil, false
}

// wait sleeps for d or until poke, reporting false when ctx ended.
func wait(ctx context.Context, poke <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-poke:
	case <-t.C:
	}
	return true
}

// deliverBatch sends items (taken off q) as one NOTIFY and acknowledges them
// whatever the outcome, unless ctx ended first: then they are put back, to
// be delivered after the next start from the outbox.
func (s *Service) deliverBatch(ctx context.Context, q *queue, items []*item) {
	sb := items[0].sub
	counted := items[0].counted
	send := items
	if sb.latest && counted && len(items) > 1 {
		send = items[len(items)-1:]
	}
	var pc map[string]any
	if sb.batch && counted && !sb.latest {
		l := make([]any, len(send))
		for i, it := range send {
			l[i] = it.sgn
		}
		pc = map[string]any{"m2m:agn": map[string]any{"m2m:sgn": l}}
	} else {
		pc = map[string]any{"m2m:sgn": send[0].sgn}
	}
	if counted && s.isGone(sb.ri) {
		s.ack(q, items, nil) // deleted meanwhile: its pending notifications go too
		return
	}
	limited := counted && sb.hasExc
	if limited && !s.reserve(sb) {
		s.ack(q, items, nil) // the expirationCounter ran out: nothing more to send
		return
	}
	err := s.attempts(ctx, q, pc, sb.ec)
	outcome := &s.delivered
	if err != nil && ctx.Err() != nil {
		// Stopping: not delivered, so it is sent after the restart. (One
		// that was delivered just before the stop is acknowledged below.)
		if limited {
			s.unreserve(sb)
		}
		s.mu.Lock()
		q.items = append(items, q.items...)
		s.mu.Unlock()
		return
	}
	if err != nil {
		if limited {
			s.unreserve(sb)
		}
		outcome = &s.dropped
		s.log.Warn("notification dropped", "sub", sb.ri, "target", q.target, "notifications", len(items), "err", err)
	}
	if err == nil && limited {
		gone, err := s.core.SubscriptionNotified(context.WithoutCancel(ctx), sb.ri)
		if err != nil {
			s.log.Warn("notify: counting a notification against expirationCounter", "sub", sb.ri, "err", err)
		}
		s.confirm(sb, gone)
	}
	s.ack(q, items, outcome)
}

// attempts sends pc to q's target until it is answered with success, with
// exponential back-off between attempts; a queue that just dropped a
// notification tries once.
func (s *Service) attempts(ctx context.Context, q *queue, pc map[string]any, ec int) error {
	tries := s.opt.Attempts
	if q.failing {
		tries = 1
	}
	backoff := s.opt.RetryInitial
	var err error
	for i := 0; i < tries; i++ {
		if i > 0 {
			if !wait(ctx, nil, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, s.opt.RetryMax)
		}
		var final bool
		final, err = s.attempt(ctx, q.target, pc, ec)
		if err == nil {
			q.failing = false
			s.setTroubled(q, false)
			return nil
		}
		if ctx.Err() == nil {
			s.setTroubled(q, true)
		}
		if final || ctx.Err() != nil {
			break
		}
		s.log.Debug("notification attempt failed", "target", q.target, "attempt", i+1, "err", err)
	}
	q.failing = true
	return err
}

func (s *Service) setTroubled(q *queue, v bool) {
	s.mu.Lock()
	if q.troubled != v {
		q.troubled = v
		s.cond.Broadcast() // a dispatcher waiting for q's room decides again
	}
	s.mu.Unlock()
}

// attempt sends once. final reports a refusal that retrying would not change.
func (s *Service) attempt(ctx context.Context, target string, pc map[string]any, ec int) (final bool, err error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.sem }()
	s.sent.Add(1)
	resp, err := s.deliver(ctx, target, pc, ec)
	if err == nil && !resp.RSC.Success() || err != nil && ctx.Err() == nil {
		s.failedAttempts.Add(1)
	}
	if err != nil {
		return false, err
	}
	switch {
	case resp.RSC.Success():
		return false, nil
	case resp.RSC >= 4000 && resp.RSC < 5000:
		return true, fmt.Errorf("the target answered %s", resp.RSC)
	}
	return false, fmt.Errorf("the target answered %s", resp.RSC)
}

func (s *Service) isGone(ri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone[ri]
}

// reserve takes one notification from sb's expirationCounter.
func (s *Service) reserve(sb *sub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.excFor(sb)
	if st.gone || st.left <= 0 {
		return false
	}
	st.left--
	st.inflight++
	return true
}

func (s *Service) unreserve(sb *sub) {
	s.mu.Lock()
	st := s.excFor(sb)
	st.left++
	st.inflight--
	s.mu.Unlock()
}

func (s *Service) confirm(sb *sub, gone bool) {
	s.mu.Lock()
	st := s.excFor(sb)
	st.inflight--
	if gone {
		st.gone = true
		s.gone[sb.ri] = true
	}
	s.mu.Unlock()
}
