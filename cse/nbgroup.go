package cse

import (
	"context"
	"sync"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// Partial results of a non-blocking request to a <fanOutPoint> (TS-0004
// 7.4.14.2.5). While members are still answering, the <request> holds the
// answers received so far with requestStatus 5 PARTIALLY_COMPLETED; with
// rt=2 the new answers are also NOTIFYed as they come, each notification
// holding member answers no earlier one held ("Each notification shall
// contain different member responses"). The last notification, and the
// final operationResult with requestStatus 1, come when the fan-out ends:
// all members answered, or the Result Expiration Timestamp passed (answers
// after it are dropped by collectMembers).
//
// The store is written, and a notification sent, at most once per
// partialInterval: a group of thousands of members does not rewrite its
// <request> for every answer.

// partialInterval is the least time between two partial updates.
const partialInterval = 100 * time.Millisecond

// progressKey is the context key of the groupProgress a fan-out reports to.
type progressKey struct{}

func progressOf(ctx context.Context) *groupProgress {
	p, _ := ctx.Value(progressKey{}).(*groupProgress)
	return p
}

func withProgress(ctx context.Context, p *groupProgress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// groupProgress collects the member answers of one fan-out as they arrive.
type groupProgress struct {
	mu    sync.Mutex
	total int              // members the fan-out waits for; 0 before the first answer
	got   []map[string]any // member entries (m2m:rsp) in the order they came
	sent  int              // got[:sent] were notified already
	wake  chan struct{}    // an answer came (buffered 1: wakes coalesce)
	done  chan struct{}    // the fan-out ended: the flusher stops
}

func newGroupProgress() *groupProgress {
	return &groupProgress{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// answer records one member's entry of a fan-out to total members.
func (p *groupProgress) answer(total int, e map[string]any) {
	p.mu.Lock()
	p.total = total
	p.got = append(p.got, e)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// snapshot returns all entries so far, those not yet notified, and whether
// every member answered.
func (p *groupProgress) snapshot() (all, fresh []map[string]any, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[:len(p.got):len(p.got)], p.got[p.sent:len(p.got):len(p.got)], len(p.got) == p.total
}

func (p *groupProgress) markSent(n int) {
	p.mu.Lock()
	p.sent += n
	p.mu.Unlock()
}

// aggregate is the pc of an aggregated response holding entries.
func aggregate(entries []map[string]any) map[string]any {
	l := make([]any, len(entries))
	for i, e := range entries {
		l[i] = e
	}
	return map[string]any{"m2m:agr": map[string]any{"m2m:rsp": l}}
}

// flushPartial keeps the <request> ri (and, for rt=2, the notification
// targets) up to date with p until p.done is closed. The answer that
// completes the group is left to the final result, so that the last
// notification is never empty.
func (c *CSE) flushPartial(ctx context.Context, ri string, req *primitive.Request, rt *primitive.ResponseType, p *groupProgress) {
	for {
		select {
		case <-p.wake:
		case <-p.done:
			return
		}
		all, fresh, complete := p.snapshot()
		if complete || len(fresh) == 0 {
			continue
		}
		partial := c.resultPrimitive(req, &primitive.Response{RSC: primitive.RSCOK, PC: aggregate(all)})
		if err := c.setRequestResult(ctx, ri, resource.RequestPartiallyCompleted, partial); err != nil {
			c.log.Debug("partial group result not stored", "ri", ri, "err", err)
		}
		if rt.RTV == primitive.RTNonBlockingAsynch {
			c.notifyResult(ctx, req, rt, c.resultPrimitive(req, &primitive.Response{RSC: primitive.RSCOK, PC: aggregate(fresh)}))
			p.markSent(len(fresh))
		}
		t := time.NewTimer(partialInterval)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			return
		}
	}
}

// finalNotification is what the last rt=2 notification of a fan-out holds:
// the member answers not notified yet, or rsp itself when no member answer
// was notified (a fan-out that failed, or a target that was no
// fanOutPoint).
func (p *groupProgress) finalNotification(c *CSE, req *primitive.Request, resp *primitive.Response, rsp map[string]any) map[string]any {
	_, fresh, _ := p.snapshot()
	p.mu.Lock()
	sent := p.sent
	p.mu.Unlock()
	if sent == 0 || !resp.RSC.Success() {
		return rsp
	}
	return c.resultPrimitive(req, &primitive.Response{RSC: resp.RSC, PC: aggregate(fresh)})
}
