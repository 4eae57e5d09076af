package cse

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/onecse/onecse/codec/wire"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Polling channels (TS-0001 9.6.21, 10.2.5.x; TS-0004 7.4.21, 7.4.22;
// protocol.md 3.13). An entity that cannot be reached with requests (an AE
// with requestReachability false, or without a usable pointOfAccess) creates
// a <pollingChannel>; requests for it — notifications above all — are queued
// on the channel, in the store (Resource.Private, so they survive a restart),
// and the entity fetches them by RETRIEVE of <pollingChannel>/pcu, a long
// poll: answered at once when something is queued, else held until a request
// arrives or the poll's request expiration time (default PollTimeout) passes
// (4008 REQUEST_TIMEOUT). The request comes as {"m2m:rqp": {...}} in the
// answer. The entity answers it with a NOTIFY to the same pcu carrying
// {"m2m:rsp": {...}}, which is matched by its request ID to a requester
// waiting for it (PollingRequest).

const virtPCU = "pcu"

// MaxPollQueue bounds the requests queued on one polling channel; beyond it
// a new request is refused (5103), nothing queued is dropped.
const MaxPollQueue = 10000

// maxPollWait bounds one long poll (the HTTP binding writes an answer
// within 60 s).
const maxPollWait = 50 * time.Second

// ErrNoPollingChannel is returned by PollingEnqueue for an entity without a
// <pollingChannel>.
var ErrNoPollingChannel = errors.New("no polling channel")

// pollState wakes long polls and requesters waiting for an answer.
type pollState struct {
	mu      sync.Mutex
	wake    map[string]chan struct{}            // by <pollingChannel> resource ID
	answers map[string]chan *primitive.Response // by request ID
}

func (p *pollState) waiter(ri string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake == nil {
		p.wake = map[string]chan struct{}{}
	}
	ch, ok := p.wake[ri]
	if !ok {
		ch = make(chan struct{})
		p.wake[ri] = ch
	}
	return ch
}

func (p *pollState) notify(ri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.wake[ri]; ok {
		close(ch)
		delete(p.wake, ri)
	}
}

// checkNewPollingChannel: only the entity itself creates its polling channel
// (TS-0004 7.4.21.2.1), 4103 for anybody else.
func (c *CSE) checkNewPollingChannel(o *originator, parent *resource.Resource) error {
	if o.admin {
		return nil
	}
	if c.pollingOwner(parent) != o.id {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "only %s itself may create its pollingChannel", parent.Path)
	}
	return nil
}

// pollingOwner is the originator ID of the entity a <pollingChannel> under
// parent belongs to.
func (c *CSE) pollingOwner(parent *resource.Resource) string {
	if parent.Ty == resource.TyRemoteCSE {
		return c.spRelative(parent.Str("csi"))
	}
	return parent.RI // an <AE>'s resource ID is its AE-ID-Stem
}

// checkPollingChannelUse: a <pollingChannel> and its pcu are used by their
// creator (the entity) only (TS-0004 7.4.21.2.2-4, 7.4.22.2.2).
func (c *CSE) checkPollingChannelUse(o *originator, pch *resource.Resource) error {
	if o.admin || o.id == pch.Creator {
		return nil
	}
	return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "originator %q is not the owner of the pollingChannel %s", o.id, pch.Path)
}

// pollingChannelOf returns the <pollingChannel> of the entity whose resource
// ID is owner (an AE's AE-ID-Stem).
func (c *CSE) pollingChannelOf(tx store.Tx, owner string) (*resource.Resource, error) {
	kids, err := tx.Children(owner, store.ChildQuery{Types: []int{resource.TyPollingCh}})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoPollingChannel
		}
		return nil, err
	}
	for _, k := range kids {
		if !c.expired(k) {
			return k, nil
		}
	}
	return nil, ErrNoPollingChannel
}

// HasPollingChannel reports whether the entity with resource ID owner has a
// <pollingChannel>.
func (c *CSE) HasPollingChannel(ctx context.Context, owner string) bool {
	found := false
	_ = c.st.View(ctx, func(tx store.Tx) error {
		_, err := c.pollingChannelOf(tx, owner)
		found = err == nil
		return nil
	})
	return found
}

// PollingEnqueue queues req on the <pollingChannel> of the entity with
// resource ID owner (an AE-ID-Stem), durably; ErrNoPollingChannel when it
// has none.
func (c *CSE) PollingEnqueue(ctx context.Context, owner string, req *primitive.Request) error {
	item := wire.RequestMap(req)
	var ri string
	err := c.st.Update(ctx, func(tx store.Tx) error {
		pch, err := c.pollingChannelOf(tx, owner)
		if err != nil {
			return err
		}
		q, _ := pch.Private["q"].([]any)
		if len(q) >= MaxPollQueue {
			return primitive.Errorf(primitive.RSCTargetNotReachable, "the pollingChannel %s holds %d requests already", pch.Path, len(q))
		}
		if pch.Private == nil {
			pch.Private = map[string]any{}
		}
		pch.Private["q"] = append(slices.Clip(q), item)
		ri = pch.RI
		return tx.Put(pch)
	})
	if err != nil {
		return err
	}
	c.polls.notify(ri)
	return nil
}

// PollingRequest queues req for owner and waits for the owner's answer
// (a NOTIFY of m2m:rsp to its pcu) until ctx ends: 4008 then.
func (c *CSE) PollingRequest(ctx context.Context, owner string, req *primitive.Request) (*primitive.Response, error) {
	ch := make(chan *primitive.Response, 1)
	c.polls.mu.Lock()
	if c.polls.answers == nil {
		c.polls.answers = map[string]chan *primitive.Response{}
	}
	c.polls.answers[req.RQI] = ch
	c.polls.mu.Unlock()
	defer func() {
		c.polls.mu.Lock()
		delete(c.polls.answers, req.RQI)
		c.polls.mu.Unlock()
	}()
	if err := c.PollingEnqueue(ctx, owner, req); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, primitive.Errorf(primitive.RSCRequestTimeout, "%s did not answer through its pollingChannel in time", owner)
	}
}

// pollingDequeue takes the oldest queued request of the channel pch.
func (c *CSE) pollingDequeue(ctx context.Context, pch string) (map[string]any, error) {
	var item map[string]any
	err := c.st.Update(ctx, func(tx store.Tx) error {
		item = nil
		r, err := tx.Get(pch)
		if err != nil {
			return err
		}
		q, _ := r.Private["q"].([]any)
		if len(q) == 0 {
			return nil
		}
		item, _ = q[0].(map[string]any)
		r.Private["q"] = slices.Clone(q[1:])
		return tx.Put(r)
	})
	return item, err
}

// poll answers a RETRIEVE of <pollingChannel>/pcu.
func (c *CSE) poll(ctx context.Context, req *primitive.Request, pch *resource.Resource) (*primitive.Response, error) {
	if req.RT != nil && req.RT.RTV != 0 && req.RT.RTV != primitive.RTBlocking && req.RT.RTV != primitive.RTFlexBlocking {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a pollingChannelURI is retrieved with a blocking request")
	}
	wait := c.cfg.PollTimeout
	if !req.RQET.IsZero() {
		wait = req.RQET.Sub(c.now())
	}
	wait = min(wait, maxPollWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		wake := c.polls.waiter(pch.RI)
		item, err := c.pollingDequeue(ctx, pch.RI)
		if err != nil {
			return nil, storeErr(err, req.To)
		}
		if item != nil {
			return &primitive.Response{RSC: primitive.RSCOK, PC: map[string]any{"m2m:rqp": item}}, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return nil, primitive.Errorf(primitive.RSCRequestTimeout, "no request arrived for %s before the poll expired", pch.Path)
		case <-ctx.Done():
			return nil, primitive.Errorf(primitive.RSCRequestTimeout, "the poll was cancelled")
		}
	}
}

// pollAnswer takes a NOTIFY to pcu: the owner's answer {"m2m:rsp": {...}}
// to a request it fetched (TS-0004 7.4.22.2.5).
func (c *CSE) pollAnswer(req *primitive.Request) (*primitive.Response, error) {
	m, ok := req.Content["m2m:rsp"].(map[string]any)
	if !ok || len(req.Content) != 1 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a NOTIFY to a pollingChannelURI carries one m2m:rsp")
	}
	resp, err := wire.ResponseFromMap(m, c.now())
	if err != nil {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "m2m:rsp: %v", err)
	}
	c.polls.mu.Lock()
	ch := c.polls.answers[resp.RQI]
	c.polls.mu.Unlock()
	if ch != nil {
		select {
		case ch <- resp:
		default:
		}
	}
	return &primitive.Response{RSC: primitive.RSCOK}, nil
}
