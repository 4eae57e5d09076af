package cse

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// Request routing over the registration tree (TS-0001 8.2.1, TS-0004
// 7.3.2.6 and 7.3.2.8; registration-security.md 4.8 and A.6).

// route forwards req when its target lies on another CSE and answers with
// the response that came back. It returns nil, nil when this CSE hosts the
// target.
func (c *CSE) route(ctx context.Context, req *primitive.Request, o *originator) (*primitive.Response, error) {
	a, ok := primitive.ParseAddress(req.To)
	if !ok || a.Scope == primitive.ScopeCSERelative || c.isLocalAddress(a) {
		return nil, nil // resolve answers a bad To, and serves a local one
	}
	if req.Op == primitive.OpCreate && (req.Ty == resource.TyAE || req.Ty == resource.TyRemoteCSE) && (a.Scope != primitive.ScopeAbsolute || a.SPID == c.cfg.SPID) {
		// A registration is made with the receiver itself (protocol.md 1.11).
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a registration is not forwarded: send it to %s itself", a.CSEID)
	}
	// A request that came down from the registrar is not sent back up: that
	// would loop.
	fromAbove := o.cse && !c.routeTable().below(c.cseOf(o.id))
	e, err := c.nextHop(a, fromAbove)
	if err != nil {
		return nil, err
	}
	return c.forward(ctx, req, o, e)
}

// nextHop returns the <remoteCSE> through which the CSE of a (an address
// of another CSE) is reached: that CSE itself when it is registered here,
// the registree below which it sits, else the registrar, unless this CSE
// is the top (an IN-CSE, or none registered) or up is where the request
// came from (fromAbove): then 4004.
func (c *CSE) nextHop(a primitive.Address, fromAbove bool) (*route, error) {
	rt := c.routeTable()
	if a.Scope == primitive.ScopeAbsolute && a.SPID != c.cfg.SPID {
		// Another service provider: onecse has no Mcc' registrations, so
		// only the way up is known.
		if c.cfg.CSEType == TypeIN || rt.registrar == nil {
			return nil, primitive.Errorf(primitive.RSCNotFound, "no route to the service provider %s", a.SPID)
		}
		return rt.registrar, nil
	}
	if e, ok := rt.byCSI[a.CSEID]; ok {
		return e, nil
	}
	if e, ok := rt.byDesc[a.CSEID]; ok {
		return e, nil
	}
	if c.cfg.CSEType == TypeIN || rt.registrar == nil || fromAbove {
		return nil, primitive.Errorf(primitive.RSCNotFound, "no route to the CSE %s", a.CSEID)
	}
	return rt.registrar, nil
}

// OutsideID returns the form in which an ID of this CSE (an AE-ID-Stem, the
// admin) leaves it: SP-relative (TS-0001 7.2), "/Sabc" for an S-stem and
// "/<CSE-ID>/<id>" otherwise. An ID that is already SP-relative or
// absolute comes back as it is.
func (c *CSE) OutsideID(id string) string {
	switch {
	case id == "" || strings.HasPrefix(id, "/"):
		return id
	case strings.HasPrefix(id, "S") && primitive.IsAEStem(id):
		return "/" + id
	}
	return c.cfg.CSEID + "/" + id
}

// SendOnward sends a request of this CSE's own making (a notification, its
// verification) to an entity of another CSE, named by an SP-relative or
// absolute ID: to the next CSE on the way through the registration tree,
// as a request of an AE would be forwarded (TS-0004 7.3.2.6). The CSE on
// the way forwards it on; the target's CSE hands it to the entity (an AE
// through its pointOfAccess). req.From is this CSE.
func (c *CSE) SendOnward(ctx context.Context, req *primitive.Request) (*primitive.Response, error) {
	a, ok := primitive.ParseAddress(req.To)
	if !ok || a.Scope == primitive.ScopeCSERelative || c.isLocalAddress(a) {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "%q is not an ID on another CSE", req.To)
	}
	e, err := c.nextHop(a, false)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, e.csi, e.poa, req)
}

// isLocalAddress reports whether a names this CSE or something on it.
func (c *CSE) isLocalAddress(a primitive.Address) bool {
	if a.Scope == primitive.ScopeAbsolute && a.SPID != c.cfg.SPID {
		return false
	}
	return a.CSEID == c.cfg.CSEID
}

// forward sends req to the CSE of e and returns its answer.
func (c *CSE) forward(ctx context.Context, req *primitive.Request, o *originator, e *route) (*primitive.Response, error) {
	// Every request parameter travels on as it came (filter criteria,
	// partial retrieve, rcn, drt, rids, expiry times, ...): the hosting CSE
	// answers the question (TS-0004 7.3.2.6). Non-blocking requests never
	// get here (handle answers them first).
	fwd := *req
	fwd.Peer = primitive.Peer{}
	if !o.cse {
		fwd.From = c.OutsideID(o.id)
	}
	resp, err := c.send(ctx, e.csi, e.poa, &fwd)
	if err != nil {
		return nil, err
	}
	out := *resp
	if out.Location != "" && !strings.HasPrefix(out.Location, "~/") && !strings.HasPrefix(out.Location, "_/") {
		// The new resource's address at its host, as this binding serves it.
		host := c.cseOf(req.To)
		if host == "" {
			host = e.csi
		}
		out.Location = "~" + host + "/" + out.Location
	}
	return &out, nil
}

// send delivers req to the CSE receiver: over the connection receiver
// opened to this CSE when there is one, else at the first of poa that
// answers: 5103 when none does, 4008 when the request expires (rqet) or the
// forwarding timeout passes first.
func (c *CSE) send(ctx context.Context, receiver string, poa []string, req *primitive.Request) (*primitive.Response, error) {
	conn := c.conns != nil && receiver != "" && c.conns.Connected(receiver)
	if !conn && (c.cfg.Sender == nil || len(poa) == 0) {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "no point of access to reach %s", req.To)
	}
	timeout := c.cfg.ForwardTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := c.now().Add(timeout)
	if !req.RQET.IsZero() && req.RQET.Before(deadline) {
		deadline = req.RQET
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if receiver != "" {
		ctx = WithReceiver(ctx, receiver)
	}
	ctx = primitive.WithHopToCSE(ctx)
	var last error
	try := func(send func() (*primitive.Response, error)) (*primitive.Response, bool, error) {
		resp, err := send()
		if err == nil {
			return resp, true, nil
		}
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, true, primitive.Errorf(primitive.RSCRequestTimeout, "no answer from %s before the request expired", req.To)
		}
		last = err
		return nil, false, nil
	}
	if conn {
		if resp, done, err := try(func() (*primitive.Response, error) { return c.conns.Send(ctx, receiver, req) }); done {
			return resp, err
		}
	}
	if c.cfg.Sender != nil {
		for _, p := range poa {
			if resp, done, err := try(func() (*primitive.Response, error) { return c.cfg.Sender.Send(ctx, p, codec.FormatNone, req) }); done {
				return resp, err
			}
		}
	}
	return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%s is not reachable: %v", req.To, last)
}
