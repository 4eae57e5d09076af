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
// after it are dropped by collectUntil).
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
	to    string // the target of the request watched: another request in its context reports nothing
	mu    sync.Mutex
	total int              // members the fan-out waits for; 0 before the first answer
	got   []map[string]any // member entries (m2m:rsp) in the order they came
	sent  int              // got[:sent] were notified already
	wake  chan struct{}    // an answer came (buffered 1: wakes coalesce)
	done  chan struct{}    // the fan-out ended: the flusher stops
}

func newGroupProgress(to string) *groupProgress {
	return &groupProgress{to: to, wake: make(chan struct{}, 1), done: make(chan struct{})}
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
		if complete || len(all) == 0 {
			continue
		}
		partial := c.resultPrimitive(req, &primitive.Response{RSC: primitive.RSCOK, PC: aggregate(all)})
		if err := c.setRequestResult(ctx, ri, resource.RequestPartiallyCompleted, partial); err != nil {
			c.log.Debug("partial group result not stored", "ri", ri, "err", err)
		}
		if rt.RTV == primitive.RTNonBlockingAsynch && len(fresh) > 0 {
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

// flexFanOut is a flexBlocking (rt=4) fan-out (TS-0004 7.4.14.2.5): it
// waits FlexBlockingWait for the members. When all answered by then (or
// the result expiration time passed) it returns nil and f.out holds the
// answers, for a blocking response. Otherwise it creates a <request>,
// answers 1001 with the <request>'s address and the member answers so
// far, and keeps collecting in the background into the <request> (rs 5,
// then 1), as a nonBlockingRequestSynch would. It owns stopMembers when it
// answers 1001. When no <request> can be made (the CSE shuts down, too
// many under way) it waits for the members as a blocking request does.
func (c *CSE) flexFanOut(ctx context.Context, o *originator, f *fanOutRun, stopMembers func()) *primitive.Response {
	t := time.NewTimer(c.cfg.FlexBlockingWait)
	answered, early := c.collectUntil(f.req, f.results, f.out, nil, 0, t.C)
	t.Stop()
	if !early {
		return nil
	}
	now := c.now()
	created, j, err := c.createRequest(ctx, f.req, o, now)
	if err != nil {
		c.log.Debug("flexBlocking fan-out answered blocking: no <request>", "rqi", f.req.RQI, "err", err)
		c.collectUntil(f.req, f.results, f.out, nil, answered, nil)
		return nil
	}
	c.nb.start(j) // running: a DELETE of the <request> cannot recall it
	noContent := f.gs != nil && f.gs.noContent
	p := newGroupProgress(f.req.To)
	sofar := make([]map[string]any, 0, answered)
	for i, r := range f.out {
		if r != nil {
			e := memberEntry(f.req, f.mid[i], r, noContent)
			sofar = append(sofar, e)
			p.answer(len(f.mid), e)
		}
	}
	p.markSent(len(sofar)) // they go in the response
	go func() {
		defer c.nb.release(created.RI, j)
		defer stopMembers()
		flushed := make(chan struct{})
		go func() { defer close(flushed); c.flushPartial(j.ctx, created.RI, f.req, f.req.RT, p) }()
		n, _ := c.collectUntil(f.req, f.results, f.out, func(i int, r *primitive.Response) {
			p.answer(len(f.mid), memberEntry(f.req, f.mid[i], r, noContent))
		}, answered, nil)
		resp, err := c.finishFanOut(ctx, f, n)
		if err != nil {
			resp = primitive.ErrorResponse(f.req, err)
		}
		close(p.done)
		<-flushed
		c.storeResult(created.RI, c.resultPrimitive(f.req, resp), resp.RSC)
	}()
	pc := aggregate(sofar)
	// The reference and the answers so far (TS-0004 7.4.14.2.5): the
	// address is in pc too, for bindings without a Location header.
	pc["m2m:uri"] = created.Path
	return &primitive.Response{RSC: primitive.RSCAcceptedNonBlockingSynch, OT: primitive.FormatTime(now), PC: pc, Location: created.Path}
}
