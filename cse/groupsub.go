package cse

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Subscriptions through a group's <fanOutPoint> and the aggregation of
// their notifications by the group host (TS-0001 10.2.7.10, 10.2.7.11;
// TS-0004 7.4.14.2.3, 7.4.14.2.5 last paragraphs, 7.5.1.2.6).
//
// A CREATE of a <subscription> sent to <group>/fopt[/path] is fanned out
// with groupID (gpi) set to the group's ID. When it carries a
// notificationForwardingURI (nfu), the originator wants the group host to
// aggregate (TS-0004 7.4.14.3.2): the group host puts its own address, the
// group's SP-relative ID, into the notificationURI of the member
// subscriptions, and keeps a record of the group subscription (where the
// aggregated notifications go: the notificationURI of the request; which
// member subscriptions belong to it) in the group's private data, so that
// it survives a restart. Each member subscription then notifies the group,
// its notifications carrying nfu (notify/sub.go); the group host checks
// that they come from a subscription it created, and writes them to the
// outbox, where the notification service batches them by the group's
// notifyAggregation (nar) into one m2m:agn per batch, with the retries and
// order of any notification (notify/notify.go, NoteGroupNotify).

// groupSubsKey is the key of the group subscription records in a group's
// Resource.Private.
const groupSubsKey = "gsub"

// groupSubscription is what the group host keeps of one subscription made
// through the fanOutPoint with nfu.
type groupSubscription struct {
	id   string   // its name among the group's records
	rn   string   // the resourceName the request gave the member subscriptions ("" when none)
	nu   []string // the notificationURI of the request: where aggregated notifications go
	nfu  string
	cr   string   // the originator of the CREATE
	surs []string // the member subscriptions, as SP-relative IDs (sur)
}

func (g *groupSubscription) attrs() map[string]any {
	return map[string]any{"id": g.id, "rn": g.rn, "nu": anyList(g.nu), "nfu": g.nfu, "cr": g.cr, "surs": anyList(g.surs)}
}

func groupSubscriptions(grp *resource.Resource) []*groupSubscription {
	l, _ := grp.Private[groupSubsKey].([]any)
	out := make([]*groupSubscription, 0, len(l))
	for _, v := range l {
		m, _ := v.(map[string]any)
		g := &groupSubscription{nu: toStrings(m["nu"]), surs: toStrings(m["surs"])}
		g.id, _ = m["id"].(string)
		g.rn, _ = m["rn"].(string)
		g.nfu, _ = m["nfu"].(string)
		g.cr, _ = m["cr"].(string)
		out = append(out, g)
	}
	return out
}

func setGroupSubscriptions(grp *resource.Resource, l []*groupSubscription) {
	if len(l) == 0 {
		delete(grp.Private, groupSubsKey)
		return
	}
	out := make([]any, len(l))
	for i, g := range l {
		out[i] = g.attrs()
	}
	if grp.Private == nil {
		grp.Private = map[string]any{}
	}
	grp.Private[groupSubsKey] = out
}

// groupVerifications counts the subscription CREATEs being fanned out with
// nfu, by group and originator: while one is, the verification request a
// member host sends to the group (its notificationURI) is answered OK
// (TS-0004 7.5.1.2.3: the creator may be notified there).
type groupVerifications struct {
	mu sync.Mutex
	n  map[[2]string]int
}

func (v *groupVerifications) add(grp, cr string, d int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == nil {
		v.n = map[[2]string]int{}
	}
	k := [2]string{grp, cr}
	v.n[k] += d
	if v.n[k] <= 0 {
		delete(v.n, k)
	}
}

func (v *groupVerifications) pending(grp, cr string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.n[[2]string{grp, cr}] > 0
}

// groupSubscribe is a subscription CREATE being fanned out.
type groupSubscribe struct {
	content   map[string]any // what each member gets
	aggregate *groupSubscription
	noContent bool // the originator asked for no content (rcn 0): the CSE needs it to learn the member subscriptions
}

// prepareGroupSubscribe shapes a CREATE of a <subscription> sent to the
// fanOutPoint of grp: gpi is the group's ID; with nfu, nu becomes the
// group's address (TS-0004 7.4.14.2.3). originator is the request's, as
// the member hosts name it. It returns nil for any other request.
func (c *CSE) prepareGroupSubscribe(req *primitive.Request, grp *resource.Resource, originator string) (*groupSubscribe, error) {
	if req.Op != primitive.OpCreate || req.Ty != resource.TySubscription {
		return nil, nil
	}
	sub, ok := req.Content["m2m:sub"].(map[string]any)
	if !ok {
		return nil, nil // the members answer the malformed request
	}
	gid := c.SPRelativeID(grp.RI)
	b := maps.Clone(sub)
	b["gpi"] = gid
	gs := &groupSubscribe{content: map[string]any{"m2m:sub": b}}
	nfu, _ := sub["nfu"].(string)
	if _, given := sub["nfu"]; given && nfu == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"nfu\" (notificationForwardingURI) must be a non-empty URI")
	}
	if nfu == "" {
		return gs, nil
	}
	nu := toStrings(sub["nu"])
	if len(nu) == 0 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"nu\" is mandatory: it is where the group host sends the aggregated notifications")
	}
	for _, t := range nu {
		if _, _, err := SplitTarget(t); err != nil {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"nu\": %v", err)
		}
	}
	b["nu"] = []any{gid}
	rn, _ := sub["rn"].(string)
	gs.aggregate = &groupSubscription{id: newRI(0), rn: rn, nu: nu, nfu: nfu, cr: originator}
	gs.noContent = req.RCN == primitive.RCNNothing
	return gs, nil
}

// recordGroupSubscribe keeps the record of an aggregating group
// subscription once the members answered: the member subscriptions that
// were created (none: nothing is kept).
func (c *CSE) recordGroupSubscribe(ctx context.Context, grp *resource.Resource, gs *groupSubscribe, mid []string, out []*primitive.Response) error {
	g := gs.aggregate
	for i, r := range out {
		// A member answers 2001 with its m2m:sub, a sub-group's
		// fanOutPoint 2000 with the m2m:agr of its members.
		if r != nil && (r.RSC == primitive.RSCCreated || r.RSC == primitive.RSCOK) {
			g.surs = append(g.surs, c.memberSubscriptions(r.PC, c.hostOf(mid[i], c.cfg.CSEID), mid[i])...)
		}
	}
	if len(g.surs) == 0 {
		return nil
	}
	return c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(grp.RI)
		if err != nil {
			return err
		}
		setGroupSubscriptions(cur, append(groupSubscriptions(cur), g))
		return tx.Put(cur)
	})
}

// hostOf returns the CSE-ID of the CSE that hosts member, an address
// relative to the CSE base (whose ID it is).
func (c *CSE) hostOf(member, base string) string {
	a, ok := primitive.ParseAddress(member)
	if !ok || a.Scope == primitive.ScopeCSERelative || a.CSEID == "" {
		return base
	}
	return a.CSEID
}

// memberSubscriptions returns the SP-relative IDs of the subscriptions a
// member's answer pc reports created: an m2m:sub of the CSE host, or, from
// a sub-group's fanOutPoint (member ends in /fopt), the m2m:agr of its
// members, relative to the sub-group's host.
func (c *CSE) memberSubscriptions(pc map[string]any, host, member string) []string {
	if s, ok := pc["m2m:sub"].(map[string]any); ok {
		if ri, _ := s["ri"].(string); ri != "" {
			return []string{host + "/" + ri}
		}
		return nil
	}
	agr, _ := pc["m2m:agr"].(map[string]any)
	var out []string
	for _, e := range asList(agr["m2m:rsp"]) {
		rsp, _ := e.(map[string]any)
		if rsc, _ := rsp["rsc"].(int64); rsc != int64(primitive.RSCCreated) && rsc != int64(primitive.RSCOK) {
			continue
		}
		inner, _ := rsp["pc"].(map[string]any)
		fr, _ := rsp["fr"].(string)
		out = append(out, c.memberSubscriptions(inner, c.hostOf(fr, host), fr)...)
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// dropGroupSubscribes forgets the aggregating group subscriptions that a
// DELETE sent to <group>/fopt/<rn> removed from the members (TS-0001
// 10.2.7.10: un-subscribing is that DELETE): those named rn, when a member
// answered 2002.
func (c *CSE) dropGroupSubscribes(ctx context.Context, grpRI, rn string) error {
	return c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(grpRI)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		l := groupSubscriptions(cur)
		keep := slices.DeleteFunc(slices.Clone(l), func(g *groupSubscription) bool { return g.rn == rn })
		if len(keep) == len(l) {
			return nil
		}
		setGroupSubscriptions(cur, keep)
		return tx.Put(cur)
	})
}

// GroupNotify takes a notification sent to the local <group> grpRI by a
// member subscription (TS-0004 7.5.1.2.6): the notification service calls
// it for notifications of this CSE's own subscriptions; a NOTIFY from
// another CSE arrives through notify.
func (c *CSE) GroupNotify(ctx context.Context, grpRI string, req *primitive.Request) (*primitive.Response, error) {
	var grp *resource.Resource
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		grp, err = tx.Get(grpRI)
		return err
	})
	if err != nil {
		return nil, storeErr(err, grpRI)
	}
	if grp.Ty != resource.TyGroup {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s is not a <group>", grpRI)
	}
	return c.groupNotify(ctx, req, grp)
}

// groupNotify answers a NOTIFY sent to a <group>: a notification of a
// member subscription created through its fanOutPoint with nfu, or of the
// group host of a sub-group (an m2m:agn), or a verification request of such
// a subscription being created.
func (c *CSE) groupNotify(ctx context.Context, req *primitive.Request, grp *resource.Resource) (*primitive.Response, error) {
	var sgns []map[string]any
	if s, ok := req.Content["m2m:sgn"].(map[string]any); ok {
		sgns = append(sgns, s)
	} else if agn, ok := req.Content["m2m:agn"].(map[string]any); ok {
		// Aggregated notifications are not nested: their notifications
		// are taken one by one (TS-0004 7.5.1.2.6).
		for _, v := range asList(agn["m2m:sgn"]) {
			if s, ok := v.(map[string]any); ok {
				sgns = append(sgns, s)
			}
		}
	}
	if len(sgns) == 0 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a notification to the group %s must be an m2m:sgn or an m2m:agn of a subscription made through its fanOutPoint", grp.Path)
	}
	recs := groupSubscriptions(grp)
	recordOf := func(sur string) *groupSubscription {
		for _, g := range recs {
			if slices.Contains(g.surs, sur) {
				return g
			}
		}
		return nil
	}
	if len(sgns) == 1 && sgns[0]["vrq"] == true {
		cr, _ := sgns[0]["cr"].(string)
		if id, local := c.localID(cr); local && id != "" {
			// A member on another CSE names the creator in SP-relative
			// form (/id-in/Cae), as it reached that CSE.
			cr = id
		}
		if c.groupVerifs.pending(grp.RI, cr) || slices.ContainsFunc(recs, func(g *groupSubscription) bool { return g.cr == cr }) {
			return &primitive.Response{RSC: primitive.RSCOK}, nil
		}
		return nil, primitive.Errorf(primitive.RSCSubscriptionCreatorHasNoPrivilege, "the group %s aggregates notifications only of subscriptions created through its fanOutPoint, and %q creates none now", grp.Path, cr)
	}
	type forward struct {
		g   *groupSubscription
		sgn map[string]any
	}
	var fw []forward
	var ended []string
	for _, s := range sgns {
		sur, _ := s["sur"].(string)
		g := recordOf(sur)
		if g == nil {
			// TS-0004 7.5.1.2.6 step 1.
			return nil, primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "the notification of %q does not come from a member subscription of the group %s", sur, grp.Path)
		}
		if host := c.cseOf(sur); host == "" || c.spRelative(req.From) != host {
			// Only the CSE hosting the member subscription sends its
			// notifications: knowing a subscription's ID is not enough.
			return nil, primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "the notification of %q comes from %q, not from the CSE hosting that subscription", sur, req.From)
		}
		if s["sud"] == true {
			ended = append(ended, sur)
			continue
		}
		fw = append(fw, forward{g, s})
	}
	num, dur := c.aggregation(grp)
	err := c.write(ctx, func(tx store.Tx, ev *events) error {
		for _, f := range fw {
			ev.add(Note{Kind: NoteGroupNotify, Subject: grp.RI, Res: f.sgn, Sub: map[string]any{
				"ri": grp.RI + "/" + groupSubsKey + "/" + f.g.id,
				"nu": anyList(f.g.nu),
				"bn": map[string]any{"num": num, "dur": dur},
			}})
		}
		if len(ended) == 0 {
			return nil
		}
		// A member subscription that is gone sends nothing more.
		cur, err := tx.Get(grp.RI)
		if err != nil {
			return err
		}
		l := groupSubscriptions(cur)
		for _, g := range l {
			g.surs = slices.DeleteFunc(g.surs, func(s string) bool { return slices.Contains(ended, s) })
		}
		setGroupSubscriptions(cur, slices.DeleteFunc(l, func(g *groupSubscription) bool { return len(g.surs) == 0 }))
		return tx.Put(cur)
	})
	if err != nil {
		return nil, storeErr(err, grp.Path)
	}
	return &primitive.Response{RSC: primitive.RSCOK}, nil
}

// aggregation returns how the group host batches the notifications of its
// members: notifyAggregation's number and duration; without nar the
// group's currentNrOfMembers and the SP's default duration, also the
// duration when nar gives only a number (TS-0004 7.4.14.2.5, 7.5.1.2.6).
// A nar with only a duration batches by duration alone.
func (c *CSE) aggregation(grp *resource.Resource) (num int64, dur string) {
	dur = FormatDuration(c.cfg.DefaultBatchDuration)
	nar, ok := grp.Attrs["nar"].(map[string]any)
	if !ok {
		cnm, _ := grp.Int("cnm")
		return max(cnm, 1), dur
	}
	num, _ = nar["num"].(int64)
	if d, ok := nar["dur"].(string); ok {
		dur = d
	}
	return num, dur
}
