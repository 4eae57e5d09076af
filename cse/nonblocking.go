package cse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/codec/wire"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Non-blocking requests (TS-0001 8.2.2; TS-0004 7.3.2.2-7.3.2.5, 7.5.1.2.5;
// protocol.md 12). A request with rt=1 (nonBlockingRequestSynch) or rt=2
// (nonBlockingRequestAsynch) gets a <request> under the <CSEBase> and an
// acknowledgement at once; the request itself then runs in the background,
// as a blocking request of the same originator through Handle (so the
// originator checks, access control, forwarding and group fan-out are the
// ones of any request), and its response lands in the <request>'s
// operationResult. With rt=2 the response is also sent as a NOTIFY to the
// targets of rt.nu, or to the originator when rt had no nu.
//
// The background work lives in this process only: Shutdown waits for it a
// little (StopNonBlocking), and a <request> still PENDING when the CSE
// starts again is set to FAILED (failOrphanedRequests), since nothing runs
// it any more.

// maxPendingRequests bounds the non-blocking requests under way in one
// process: each holds a goroutine until it is done.
const maxPendingRequests = 10000

// nbState holds the non-blocking requests running in this process.
type nbState struct {
	mu      sync.Mutex
	jobs    map[string]*nbJob // by the <request>'s resource ID
	wg      sync.WaitGroup
	base    context.Context // the jobs' context: ends when StopNonBlocking gives up waiting
	cancel  context.CancelFunc
	stopped bool
}

// nbJob is one request under way.
type nbJob struct {
	ctx    context.Context
	cancel context.CancelFunc
	// started: the operation runs (it can no longer be recalled);
	// recalled: a DELETE of the <request> cancelled it before that.
	started, recalled bool
}

func (n *nbState) init() {
	n.jobs = map[string]*nbJob{}
	n.base, n.cancel = context.WithCancel(context.Background())
}

// reserve takes a place for a new job, or says why there is none.
func (n *nbState) reserve() (*nbJob, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil, primitive.Errorf(primitive.RSCInternalServerError, "the CSE is shutting down: non-blocking requests are not taken")
	}
	if len(n.jobs) >= maxPendingRequests {
		return nil, primitive.Errorf(primitive.RSCInternalServerError, "%d non-blocking requests are under way: try again later", len(n.jobs))
	}
	j := &nbJob{}
	j.ctx, j.cancel = context.WithCancel(n.base)
	n.wg.Add(1)
	return j, nil
}

// add registers j under ri; release gives up a reservation or ends a job.
func (n *nbState) add(ri string, j *nbJob) {
	n.mu.Lock()
	n.jobs[ri] = j
	n.mu.Unlock()
}

func (n *nbState) release(ri string, j *nbJob) {
	n.mu.Lock()
	if ri != "" {
		delete(n.jobs, ri)
	}
	n.mu.Unlock()
	j.cancel()
	n.wg.Done()
}

// start marks the job of ri as running; false when it was recalled.
func (n *nbState) start(j *nbJob) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if j.recalled {
		return false
	}
	j.started = true
	return true
}

// recall cancels the job of ri if it has not started; true when it is
// cancelled (also when it was already).
func (n *nbState) recall(ri string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	j, ok := n.jobs[ri]
	if !ok || j.started {
		return false
	}
	j.recalled = true
	j.cancel()
	return true
}

// isNonBlocking reports whether req asks for a non-blocking answer.
func isNonBlocking(req *primitive.Request) bool {
	return req.RT != nil && (req.RT.RTV == primitive.RTNonBlockingSynch || req.RT.RTV == primitive.RTNonBlockingAsynch)
}

// nonBlocking creates the <request> for req, starts running req in the
// background and returns the acknowledgement (TS-0004 7.3.2.2-7.3.2.4).
func (c *CSE) nonBlocking(ctx context.Context, req *primitive.Request, o *originator) (*primitive.Response, error) {
	if req.Op == primitive.OpCreate && (req.Ty == resource.TyAE || req.Ty == resource.TyRemoteCSE) {
		// The registree has no identity before the answer, so nobody could
		// read the <request>.
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a registration cannot be non-blocking (rt %d): send it blocking", req.RT.RTV)
	}
	// A request to a <request> itself may not be non-blocking (TS-0004
	// 7.4.12.2.2-7.4.12.2.4). A target that is not found here (another
	// CSE's, a fanOutPoint, a typo) is left to the background run.
	if tgt, err := c.resolve(ctx, req.To); err == nil {
		if tgt.res.Ty == resource.TyRequest {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "a request to a <request> resource cannot be non-blocking (rt %d)", req.RT.RTV)
		}
		if tgt.virtual == virtPCU {
			// Its long poll and the answers to it are the exchange itself.
			return nil, primitive.Errorf(primitive.RSCBadRequest, "a pollingChannelURI is used with blocking requests only")
		}
	}
	now := c.now()
	created, j, err := c.createRequest(ctx, req, o, now)
	if err != nil {
		return nil, err
	}
	run := *req
	run.RT = nil // runs blocking, and is forwarded so (protocol.md 12)
	go c.runNonBlocking(j, created.RI, &run, req.RT)

	rsc := primitive.RSCAcceptedNonBlockingSynch
	if req.RT.RTV == primitive.RTNonBlockingAsynch {
		rsc = primitive.RSCAcceptedNonBlockingAsynch
	}
	return &primitive.Response{
		RSC:      rsc,
		OT:       primitive.FormatTime(now),
		PC:       map[string]any{"m2m:uri": created.Path},
		Location: created.Path,
	}, nil
}

// createRequest stores the <request> of req and reserves the job that
// fills it in; the caller starts the job, which releases it.
func (c *CSE) createRequest(ctx context.Context, req *primitive.Request, o *originator, now time.Time) (*resource.Resource, *nbJob, error) {
	et, err := c.requestExpiry(req, now)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.newRequestResource(req, o, et)
	if err != nil {
		return nil, nil, err
	}
	j, err := c.nb.reserve()
	if err != nil {
		return nil, nil, err
	}
	var created *resource.Resource
	err = c.write(ctx, func(tx store.Tx, ev *events) error {
		p, err := tx.Get(c.base.RI)
		if err != nil {
			return err
		}
		nr := r.Clone()
		if err := c.fill(nr, p, now); err != nil {
			return err
		}
		if err := insertUnder(tx, p, nr, false); err != nil {
			return err
		}
		created = nr
		return ev.created(tx, p, nr)
	})
	if err != nil {
		c.nb.release("", j)
		return nil, nil, storeErr(err, "CSEBase")
	}
	c.nb.add(created.RI, j)
	return created, j, nil
}

// requestExpiry chooses the <request>'s expirationTime (Table 7.3.2.2-1):
// the latest of rqet, rset and oet (now when none is given), plus the
// result persistence rp, or RequestPersistence when rp is absent. A value
// beyond the longest expiration the CSE grants is refused, as the table
// says.
func (c *CSE) requestExpiry(req *primitive.Request, now time.Time) (time.Time, error) {
	from := now
	for _, t := range []time.Time{req.RQET, req.RSET, req.OET} {
		if t.After(from) {
			from = t
		}
	}
	keep := c.cfg.RequestPersistence
	if req.RP != "" {
		if d, err := resource.ParseDuration(req.RP); err == nil {
			keep = d
		} else if t, ok := primitive.ParseTime(req.RP); ok {
			if !t.After(now) {
				return time.Time{}, primitive.Errorf(primitive.RSCBadRequest, "the result persistence (rp) %s is in the past", req.RP)
			}
			keep = t.Sub(from)
		} else {
			return time.Time{}, primitive.Errorf(primitive.RSCBadRequest, "the result persistence (rp) %q is neither a duration nor a timestamp", req.RP)
		}
	}
	et := from.Add(keep)
	if !et.After(now) {
		et = now.Add(time.Minute) // an rp that ends before the request runs
	}
	if et.After(now.Add(c.cfg.MaxET)) {
		return time.Time{}, primitive.Errorf(primitive.RSCBadRequest, "the <request> would have to be kept until %s, beyond the longest expiration this CSE grants (%s)", primitive.FormatTime(et), c.cfg.MaxET)
	}
	return et, nil
}

// newRequestResource builds the <request> of Tables 7.3.2.2-1 and -2.
func (c *CSE) newRequestResource(req *primitive.Request, o *originator, et time.Time) (*resource.Resource, error) {
	mi := wire.RequestMap(req)
	for _, k := range []string{"op", "to", "fr", "rqi", "pc"} {
		delete(mi, k) // they have attributes of their own
	}
	mi, err := canonical(mi)
	if err != nil {
		return nil, err
	}
	a := map[string]any{
		"op": int64(req.Op), "tg": req.To, "org": req.From, "rid": req.RQI,
		"mi": mi, "rs": int64(resource.RequestPending),
		"ors": map[string]any{"rsc": int64(primitive.RSCAccepted), "rqi": req.RQI},
		"lbl": []any{req.From},
		"et":  primitive.FormatTime(et),
	}
	if req.Content != nil {
		pc, err := canonical(req.Content)
		if err != nil {
			return nil, err
		}
		a["pc"] = pc
	}
	// Creator (not shown) decides access while acpi is empty: the
	// originator reads and deletes its <request>, nobody else does.
	return &resource.Resource{Ty: resource.TyRequest, Creator: o.id, Attrs: a}, nil
}

// canonical returns a deep copy of m in the shape stored attributes have
// (int64 numbers, []any lists, map[string]any objects), sharing nothing
// with m.
func canonical(m map[string]any) (map[string]any, error) {
	data, err := codec.Encode(codec.CBOR, m)
	if err != nil {
		return nil, fmt.Errorf("copying a primitive: %w", err)
	}
	out, err := codec.Decode(codec.CBOR, data)
	if err != nil {
		return nil, fmt.Errorf("copying a primitive: %w", err)
	}
	return out, nil
}

// runNonBlocking runs req for the <request> ri, once its operation execution
// time has come, and records the result.
func (c *CSE) runNonBlocking(j *nbJob, ri string, req *primitive.Request, rt *primitive.ResponseType) {
	defer c.nb.release(ri, j)
	var resp *primitive.Response
	if d := req.OET.Sub(c.now()); d > 0 {
		// Waiting here rather than in Handle keeps the request recallable
		// (a DELETE of the <request>) until it starts.
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-j.ctx.Done():
		}
		t.Stop()
	}
	if !c.nb.start(j) {
		return // recalled: the DELETE removes the <request>
	}
	if j.ctx.Err() != nil {
		resp = primitive.ErrorResponse(req, primitive.Errorf(primitive.RSCRequestTimeout, "the CSE shut down before the request was run"))
		resp.RQI = req.RQI
	} else {
		// A fan-out reports its member answers as they come (nbgroup.go).
		p := newGroupProgress(req.To)
		flushed := make(chan struct{})
		go func() { defer close(flushed); c.flushPartial(j.ctx, ri, req, rt, p) }()
		resp = c.Handle(withProgress(j.ctx, p), req)
		close(p.done)
		<-flushed // no partial result lands after the final one
		rsp := c.resultPrimitive(req, resp)
		c.storeResult(ri, rsp, resp.RSC)
		if rt.RTV == primitive.RTNonBlockingAsynch {
			c.notifyResult(j.ctx, req, rt, p.finalNotification(c, req, resp, rsp))
		}
		return
	}
	rsp := c.resultPrimitive(req, resp)
	c.storeResult(ri, rsp, resp.RSC)
	if rt.RTV == primitive.RTNonBlockingAsynch {
		c.notifyResult(j.ctx, req, rt, rsp)
	}
}

// resultPrimitive is the response to req as operationResult and m2m:rsp
// hold it: to is the originator, fr the CSE that answered.
func (c *CSE) resultPrimitive(req *primitive.Request, resp *primitive.Response) map[string]any {
	out := *resp
	out.RQI = req.RQI
	out.To = req.From
	if out.From == "" {
		out.From = c.cfg.CSEID
	}
	if out.OT == "" {
		out.OT = primitive.FormatTime(c.now())
	}
	m, err := canonical(wire.ResponseMap(&out))
	if err != nil {
		// Content that cannot be copied (it came from the store or a
		// decoder, so this is a bug): keep the status.
		c.log.Error("non-blocking result not copied", "rqi", req.RQI, "err", err)
		m = map[string]any{"rsc": int64(resp.RSC), "rqi": req.RQI, "to": out.To, "fr": out.From}
	}
	return m
}

// storeResult sets requestStatus and operationResult of the <request> ri
// (TS-0004 7.3.2.5). It uses its own short deadline: a job cut short by
// Shutdown still records how it ended before the store closes.
func (c *CSE) storeResult(ri string, rsp map[string]any, rsc primitive.RSC) {
	rs := int64(resource.RequestCompleted)
	if rsc >= 4000 {
		rs = resource.RequestFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.setRequestResult(ctx, ri, rs, rsp)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Error("non-blocking result not stored", "ri", ri, "rqi", rsp["rqi"], "err", err)
	}
}

func (c *CSE) setRequestResult(ctx context.Context, ri string, rs int64, rsp map[string]any) error {
	return c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(ri)
		if err != nil {
			return err // gone: expired, or deleted meanwhile
		}
		nr := cur.Clone()
		nr.Attrs["rs"], nr.Attrs["ors"] = rs, rsp
		nr.SetTime("lt", c.now())
		if err := tx.Put(nr); err != nil {
			return err
		}
		return ev.updated(tx, nr, cur.Attrs, map[string]any{"rs": nil, "ors": nil})
	})
}

// notifyResult sends the result of a nonBlockingRequestAsynch (TS-0004
// 7.5.1.2.5): to each target of rt.nu, to the originator when rt had no nu,
// to nobody when nu was an empty list. The targets are resolved by the
// notification service as notification targets are (a URL, or an AE by its
// pointOfAccess or pollingChannel); each gets one attempt per point of
// access.
func (c *CSE) notifyResult(ctx context.Context, req *primitive.Request, rt *primitive.ResponseType, rsp map[string]any) {
	targets := rt.NU
	if targets == nil {
		targets = []string{req.From}
	}
	if len(targets) == 0 {
		return
	}
	if c.notifier == nil {
		c.log.Warn("non-blocking result not notified: no notification service", "rqi", req.RQI)
		return
	}
	pc := map[string]any{"m2m:rsp": rsp}
	for _, t := range targets {
		resp, err := c.notifier.NotifyBlocking(ctx, t, pc)
		switch {
		case err != nil:
			c.log.Warn("non-blocking result not delivered", "rqi", req.RQI, "target", t, "err", err)
		case !resp.RSC.Success():
			c.log.Debug("non-blocking result refused", "rqi", req.RQI, "target", t, "rsc", int(resp.RSC))
		}
	}
}

// recallRequest is the DELETE rule of TS-0004 7.4.12.2.4: a PENDING
// request is cancelled when it has not started (it waits for its operation
// execution time); a started one, a FORWARDED or a PARTIALLY_COMPLETED one
// cannot be recalled (5220) and its <request> stays.
func (c *CSE) recallRequest(r *resource.Resource) error {
	rs, _ := r.Int("rs")
	switch rs {
	case resource.RequestPending:
		if c.nb.recall(r.RI) {
			return nil
		}
		return primitive.Errorf(primitive.RSCUnableToRecallRequest, "the request %s is being executed and cannot be recalled", r.Str("rid"))
	case resource.RequestForwarded, resource.RequestPartiallyCompleted:
		return primitive.Errorf(primitive.RSCUnableToRecallRequest, "the request %s cannot be recalled (requestStatus %d)", r.Str("rid"), rs)
	}
	return nil
}

// StopNonBlocking cancels the non-blocking requests that wait for their
// operation execution time, lets those running finish within grace, then
// cancels the rest; each records how it ended (a cancelled one as FAILED).
// Call it when no more requests arrive and before the store closes; later
// non-blocking requests are refused.
func (c *CSE) StopNonBlocking(grace time.Duration) {
	c.nb.mu.Lock()
	c.nb.stopped = true
	for _, j := range c.nb.jobs {
		if !j.started {
			// Waiting for its operation execution time: nothing to finish.
			j.cancel()
		}
	}
	c.nb.mu.Unlock()
	done := make(chan struct{})
	go func() { c.nb.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.nb.cancel()
		<-done
	}
	c.nb.cancel()
}

// failOrphanedRequests sets every <request> still PENDING, or PARTIALLY
// COMPLETED by a fan-out (nbgroup.go), to FAILED: at start-up nothing runs
// them any more (the process that took them ended).
func (c *CSE) failOrphanedRequests(ctx context.Context) error {
	var pending []*resource.Resource
	err := c.st.View(ctx, func(tx store.Tx) error {
		all, err := tx.Children(c.base.RI, store.ChildQuery{Types: []int{resource.TyRequest}})
		if err != nil {
			return err
		}
		for _, r := range all {
			if rs, _ := r.Int("rs"); rs == resource.RequestPending || rs == resource.RequestPartiallyCompleted {
				pending = append(pending, r)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range pending {
		rsp := map[string]any{
			"rsc": int64(primitive.RSCInternalServerError), "rqi": r.Str("rid"),
			"to": r.Str("org"), "fr": c.cfg.CSEID, "ot": primitive.FormatTime(c.now()),
			"pc": map[string]any{"m2m:dbg": "the CSE stopped before the request was run; it may or may not have been executed"},
		}
		if err := c.setRequestResult(ctx, r.RI, resource.RequestFailed, rsp); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if len(pending) > 0 {
		c.log.Warn("non-blocking requests left pending by the last run set to FAILED", "count", len(pending))
	}
	return nil
}
