package cse

import (
	"context"
	"maps"
	"strconv"
	"time"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func (c *CSE) update(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	if tgt.virtual != "" {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "the virtual resource %s cannot be updated", tgt.virtual)
	}
	if tgt.attr != "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "an UPDATE addresses a resource, not one attribute")
	}
	r := tgt.res
	t, _ := resource.Lookup(r.Ty)
	// An operation the type never allows is refused whoever asks: that is
	// public knowledge, not a privilege.
	if t == nil || !t.Updatable {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources cannot be updated", resource.Key(r.Ty))
	}
	if err := c.adminOnly(r.Ty, o, "update"); err != nil {
		return nil, err
	}
	// Authorization before the content checks (TS-0004 7.2.2.2), decided once
	// here rather than in the writer's transaction (see create).
	err := c.st.View(ctx, func(tx store.Tx) error {
		if err := c.authorizeUpdate(tx, req, o, r, t); err != nil {
			return err
		}
		// Checked here too so that a blocking update subscriber is not asked
		// about an UPDATE that its filter criteria rule out.
		return c.conditional(tx, req, r)
	})
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	b, err := body(req, t)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(primitive.OpUpdate, b); err != nil {
		return nil, err
	}
	if _, ok := b["rlk"]; ok && r.Ty == resource.TySVSN && r.Str("csi") == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"rlk\" of m2m:svsn needs \"csi\", which this node has not")
	}
	if r.Ty == resource.TyRemoteCSE {
		if err := c.checkDCSE(b["dcse"], c.spRelative(r.Str("csi"))); err != nil {
			return nil, err
		}
	}
	if r.Ty == resource.TyACP {
		if v, ok := b["pvs"]; ok {
			if pvs, _ := acp.ParseAttr("pvs", v); len(pvs) == 0 {
				return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"pvs\" (selfPrivileges) must keep at least one rule (TS-0004 7.4.2.2.3)")
			}
		}
	}
	if r.Ty == resource.TySubscription {
		if err := c.prepareSubscriptionUpdate(ctx, o, r, b); err != nil {
			return nil, err
		}
	}
	if r.Ty == resource.TyGroup {
		if err := c.validateMembers(ctx, req, b, r); err != nil {
			return nil, err
		}
	}
	// A blocking update subscription decides first (TS-0004 7.3.3.7,
	// 7.5.1.2.19); other UPDATEs of r wait until this one is done.
	release, err := c.blockUpdate(ctx, r, t, b)
	if err != nil {
		return nil, err
	}
	defer release()
	now := c.now()
	var updated *resource.Resource
	var before map[string]any
	err = c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(r.RI)
		if err != nil {
			return storeErr(err, req.To)
		}
		// Attribute values are replaced, never changed in place, so a shallow
		// copy keeps the old state for the rcn=9 answer.
		before = maps.Clone(cur.Attrs)
		if c.expired(cur) {
			return primitive.Errorf(primitive.RSCNotFound, "%s not found (expired)", req.To)
		}
		if err := c.conditional(tx, req, cur); err != nil {
			return err
		}
		if err := c.checkACPIRefs(tx, b); err != nil {
			return err
		}
		if err := c.checkPolicyRefs(tx, b, "macp"); err != nil {
			return err
		}
		for k, v := range b {
			if v == nil {
				delete(cur.Attrs, k)
			} else {
				cur.Attrs[k] = v
			}
		}
		if v, ok := b["et"]; ok && t.HasET {
			p, err := c.parentOf(tx, cur)
			if err != nil {
				return storeErr(err, "parent")
			}
			et, err := c.expiry(v, p, now)
			if err != nil {
				return err
			}
			if v != nil && (cur.ET.IsZero() || et.Before(cur.ET)) {
				if err := c.checkChildrenET(tx, cur, et); err != nil {
					return err
				}
			}
			cur.ET = et
			cur.SetTime("et", et)
		}
		if cur.Ty == resource.TySubscription {
			if err := t.Check(primitive.OpCreate, cur.Attrs); err != nil {
				return err
			}
			p, err := c.parentOf(tx, cur)
			if err != nil {
				return storeErr(err, "parent")
			}
			if err := c.checkSubscription(p, cur.Attrs); err != nil {
				return err
			}
		}
		// lastModifiedTime strictly increases at its microsecond resolution,
		// even for two updates within one microsecond or after the clock
		// stepped back: the parsed-rules cache of an <accessControlPolicy> is
		// keyed by it.
		lt := now.Truncate(time.Microsecond)
		if prev, ok := primitive.ParseTime(cur.Str("lt")); ok && !lt.After(prev) {
			lt = prev.Add(time.Microsecond)
		}
		cur.SetTime("lt", lt)
		if cur.Ty == resource.TyContainer {
			st, _ := cur.Int("st")
			cur.Attrs["st"] = st + 1
		}
		updated = cur
		if cur.Ty == resource.TyContainer {
			err = c.enforceLimits(tx, cur, false) // mni/mbs may have shrunk
		} else {
			err = tx.Put(cur)
		}
		if err != nil {
			return err
		}
		// After the limits: the notification shows the container as stored.
		return ev.updated(tx, cur, before, b)
	})
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	if updated.Ty == resource.TyRemoteCSE {
		c.csrChanged(ctx)
	}
	_, atGiven := b["at"]
	updated = c.announce(ctx, updated, before, atGiven)
	resp := &primitive.Response{RSC: primitive.RSCUpdated}
	switch req.RCN {
	case primitive.RCNAbsent, primitive.RCNAttributes:
		resp.PC = updated.Representation(nil)
	case primitive.RCNModifiedAttributes:
		resp.PC = modifiedAttributes(updated, before, b)
	}
	return resp, nil
}

// checkChildrenET refuses to shorten the expirationTime of r to et when a
// child would outlive it (TS-0004 7.3.3.4). Direct children suffice: every
// resource's et is capped by its parent's when it is set.
func (c *CSE) checkChildrenET(tx store.Tx, r *resource.Resource, et time.Time) error {
	kids, err := tx.Children(r.RI, store.ChildQuery{})
	if err != nil {
		return err
	}
	for _, k := range kids {
		if !c.expired(k) && (k.ET.IsZero() || k.ET.After(et)) {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute \"et\" (expirationTime) %s is earlier than that of the child %s", primitive.FormatTime(et), k.Path)
		}
	}
	return nil
}

// authorizeUpdate decides an UPDATE of r. Changing acpi is governed by the
// selfPrivileges of the policies that apply now (TS-0001 9.6.1.3.2); any
// other attribute by their privileges; an UPDATE of both needs both.
func (c *CSE) authorizeUpdate(tx store.Tx, req *primitive.Request, o *originator, r *resource.Resource, t *resource.Type) error {
	attrs, _ := req.Content[t.Key].(map[string]any)
	if _, ok := attrs["acpi"]; ok && r.Ty != resource.TyACP && len(r.Strings("acpi")) > 0 {
		if err := c.authorize(tx, req, o, accessCheck{op: acp.OpUpdate, target: r, selfPrivileges: true}); err != nil {
			return err
		}
		if len(attrs) == 1 {
			return nil
		}
	}
	return c.authorize(tx, req, o, accessCheck{op: acp.OpUpdate, target: r})
}

func (c *CSE) delete(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	if tgt.attr != "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a DELETE addresses a resource, not one attribute")
	}
	r := tgt.res
	t, _ := resource.Lookup(r.Ty)
	if tgt.virtual == virtPCU {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "a pollingChannelURI cannot be deleted")
	}
	if tgt.virtual == "" && (t == nil || !t.Deletable) {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources cannot be deleted", resource.Key(r.Ty))
	}
	if err := c.adminOnly(r.Ty, o, "delete"); err != nil {
		return nil, err
	}
	if r.Ty == resource.TyRemoteCSE && tgt.virtual == "" {
		// Deregistration: the peer's <remoteCSE> goes first (TS-0001 10.2.2.10).
		if err := c.deregisterPeer(ctx, req, o, r); err != nil {
			return nil, err
		}
	}
	var deleted *resource.Resource
	var kids []*resource.Resource
	var annc []string // announced resources of what is deleted (announce.go)
	err := c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(r.RI)
		if err != nil {
			return storeErr(err, req.To)
		}
		if err := c.authorize(tx, req, o, accessCheck{op: acp.OpDelete, target: cur}); err != nil {
			return err
		}
		if tgt.virtual != "" || cur.Ty == resource.TyCIN {
			cnt := cur
			if tgt.virtual == "" {
				if cnt, err = tx.Get(cur.PI); err != nil {
					return storeErr(err, "container")
				}
			}
			if cnt.Bool("disr") {
				return primitive.Errorf(primitive.RSCOperationNotAllowed, "the instances of %s cannot be deleted while retrieval is disabled (disr)", cnt.Path)
			}
			if tgt.virtual != "" {
				if cur, err = c.instance(tx, cnt, tgt.virtual); err != nil {
					return err
				}
			}
		}
		if err := c.conditional(tx, req, cur); err != nil {
			return err
		}
		switch req.RCN {
		case primitive.RCNAttributesAndChildren, primitive.RCNAttributesAndChildRefs, primitive.RCNChildRefs, primitive.RCNChildResources:
			// The answer describes the children that go with it.
			if kids, _, err = c.children(tx, req, o, cur); err != nil {
				return err
			}
		}
		if annc, err = c.announcedBelow(tx, cur); err != nil {
			return err
		}
		if cur.Ty == resource.TyRequest {
			// Last before the deletion: a recalled request is not run.
			if err := c.recallRequest(cur); err != nil {
				return err
			}
		}
		if err := c.deleteInTx(tx, ev, cur); err != nil {
			return storeErr(err, req.To)
		}
		deleted = cur
		return nil
	})
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	c.forget(deleted)
	c.deannounce(ctx, deleted, annc)
	c.csrGone(ctx, deleted, o.id)
	if deleted.Ty == resource.TyAE {
		c.log.InfoContext(ctx, "AE deregistered", "aei", deleted.RI, "rqi", req.RQI)
		c.aeGone(ctx, deleted)
	}
	resp := &primitive.Response{RSC: primitive.RSCDeleted}
	if req.RCN > primitive.RCNNothing {
		resp.PC = childContent(deleted, nil, kids, req.RCN, req.DRT)
	}
	return resp, nil
}

// forget drops what the core caches about a deleted resource.
func (c *CSE) forget(r *resource.Resource) {
	if r != nil && r.Ty == resource.TyACP {
		c.acps.drop(r.RI)
	}
}

// notify handles a NOTIFY addressed to this CSE. A notification to the
// <CSEBase> (for example a verification request) is accepted from an
// originator with the NOTIFY privilege on it, like any other target. One to
// an <AE> is re-targeted to the AE by the notification service (TS-0004
// 7.3.3.9.1).
func (c *CSE) notify(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	r := tgt.res
	if tgt.virtual == virtPCU {
		return c.pollAnswer(req) // the owner was checked in handle
	}
	if tgt.virtual != "" {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "the virtual resource %s takes no notifications", tgt.virtual)
	}
	if r.Ty == resource.TyGroup && tgt.attr == "" {
		// Notifications of member subscriptions: whether they come from
		// one decides, not the group's access control (TS-0004 7.5.1.2.6).
		return c.groupNotify(ctx, req, r)
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		return c.authorize(tx, req, o, accessCheck{op: acp.OpNotify, target: r})
	})
	if err != nil && o.cse && isVerification(req) && primitive.ErrorRSC(err) == primitive.RSCOriginatorHasNoPrivilege {
		// TS-0004 7.5.1.2.3: the subscription's host (a CSE) may not notify this
		// target, and the subscription is refused for that reason.
		return nil, primitive.Errorf(primitive.RSCSubscriptionHostHasNoPrivilege, "the subscription host %q has no NOTIFY privilege on %s", req.From, r.Path)
	}
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	if o.cse && isVerification(req) {
		if err := c.creatorMayNotify(ctx, req, r); err != nil {
			return nil, err
		}
	}
	if r.Ty == resource.TyCSEBase {
		return &primitive.Response{RSC: primitive.RSCOK}, nil
	}
	if r.Ty == resource.TyAE {
		if c.notifier == nil {
			return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "the AE %s cannot be reached from this CSE", r.RI)
		}
		return c.notifier.Forward(ctx, req, r.RI)
	}
	return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources do not take notifications", resource.Key(r.Ty))
}

// conditional applies the filter criteria of an UPDATE or DELETE to its
// target: the operation is carried out only when the target meets them, and
// otherwise answered 4004 with nothing changed (TS-0001 8.1.2, TS-0004
// 7.3.3.17; the same rule as a RETRIEVE with rcn=1). Ignoring them instead
// would delete or change a resource the originator asked to leave alone.
func (c *CSE) conditional(tx store.Tx, req *primitive.Request, cur *resource.Resource) error {
	if req.FC != nil && !c.matches(tx, req.FC, cur) {
		return primitive.Errorf(primitive.RSCNotFound, "%s does not match the filter criteria of the %s: nothing was changed", cur.Path, req.Op)
	}
	return nil
}

// isVerification reports whether req carries a subscription verification
// request ({"m2m:sgn":{"vrq":true,...}}).
func isVerification(req *primitive.Request) bool {
	sgn, _ := req.Content["m2m:sgn"].(map[string]any)
	return sgn["vrq"] == true
}

// creatorMayNotify is the other half of the check of TS-0004 7.5.1.2.3 on a
// verification request that another CSE (the subscription's host) sends to
// a target here: the subscription's creator (cr) must have the NOTIFY
// privilege on the target as well, else 4101. Without it, anybody could
// point another CSE's notifications at an AE here that only trusts that
// CSE. A request without cr (a host that does not send it) is left to the
// host's own privilege.
func (c *CSE) creatorMayNotify(ctx context.Context, req *primitive.Request, target *resource.Resource) error {
	sgn, _ := req.Content["m2m:sgn"].(map[string]any)
	cr, _ := sgn["cr"].(string)
	if cr == "" {
		return nil
	}
	co := &originator{id: cr, cse: true}
	if id, local := c.localID(cr); local && id != "" {
		co = &originator{id: id, admin: id == c.cfg.Admin}
	}
	// The creator is not the peer: no address or authentication of its own.
	creq := *req
	creq.Peer = primitive.Peer{}
	var ok bool
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = c.allowed(tx, &creq, co, accessCheck{op: acp.OpNotify, target: target})
		return err
	})
	if err != nil {
		return storeErr(err, req.To)
	}
	if !ok {
		return primitive.Errorf(primitive.RSCSubscriptionCreatorHasNoPrivilege, "the subscription creator %q has no NOTIFY privilege on %s", cr, target.Path)
	}
	return nil
}
