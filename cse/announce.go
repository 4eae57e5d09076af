package cse

import (
	"context"
	"strings"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Resource announcement (TS-0001 V3.36 9.6.26 and 10.2.13;
// docs/cse-registration.md "Announcements").
//
// The hosting CSE of an <AE> or <container> with announceTo (at) creates an
// announced resource (<AEAnnc>, <containerAnnc>) on every CSE it lists: under
// the announced resource of the original's parent when the parent is
// announced to the same CSE, else under its own <CSEBaseAnnc> there, which it
// creates under the target's <CSEBase> first when there is none (TS-0001
// 9.6.26.1). It keeps the announced resources in step with the original
// (announced attributes changed, at changed, original deleted). As TS-0001 9.6.26.1 says of
// announceTo, the original's at then holds the addresses of the announced
// resources that were created (SP-relative, "/<CSE-ID>/<ri>"), from which the
// CSE-ID of each target follows; a target that could not be reached or
// refused is left out of it.
//
// The target CSE accepts announced resources from the announcing CSE only
// (the From is its CSE-ID and lnk points into it) and lets only their creator
// update or delete them.

// annTarget is the CSE-ID an at entry names: the CSE-ID itself or the
// address of an announced resource on it.
func (c *CSE) annTarget(entry string) string {
	return c.cseOf(entry)
}

// annContent is what the announced resource of r carries of attrs (r's
// attributes now, or before an UPDATE): its MA attributes and the OA ones
// listed in aa.
func annContent(ty int, attrs map[string]any) map[string]any {
	m := map[string]any{}
	for _, sn := range resource.AnnouncedAttrs(ty, resource.StringList(attrs["aa"])) {
		if v, ok := attrs[sn]; ok {
			m[sn] = v
		}
	}
	return m
}

// annDiff is the UPDATE that takes an announced resource from old to cur:
// changed attributes with their values, removed ones as null.
func annDiff(old, cur map[string]any) map[string]any {
	d := map[string]any{}
	for k, v := range cur {
		if ov, ok := old[k]; !ok || !equalValue(ov, v) {
			d[k] = v
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			d[k] = nil
		}
	}
	return d
}

// annSend delivers a request of this CSE to the CSE that hosts its target:
// by the routing table, else up to the registrar.
func (c *CSE) annSend(ctx context.Context, req *primitive.Request) (*primitive.Response, error) {
	csi := c.cseOf(req.To)
	rt := c.routeTable()
	e := rt.byCSI[csi]
	if e == nil {
		e = rt.byDesc[csi]
	}
	if e == nil {
		e = rt.registrar
	}
	if e == nil {
		return nil, primitive.Errorf(primitive.RSCNotFound, "no route to the CSE %s", csi)
	}
	return c.send(ctx, e.csi, e.poa, req)
}

// announce brings the announced resources of r in step after r was created
// or updated. before holds r's attributes ahead of an UPDATE (nil for a
// CREATE); atGiven tells whether the request set at. It returns r as stored
// afterwards (its at now the addresses of its announced resources).
func (c *CSE) announce(ctx context.Context, r *resource.Resource, before map[string]any, atGiven bool) *resource.Resource {
	annTy, ok := resource.AnnouncedType(r.Ty)
	if !ok || before["at"] == nil && r.Attrs["at"] == nil {
		return r
	}
	ctx = context.WithoutCancel(ctx) // the original has changed: follow through
	old := map[string]string{}       // target CSE-ID → announced resource
	for _, e := range resource.StringList(before["at"]) {
		if csi := c.annTarget(e); csi != "" && csi != e {
			old[csi] = e
		}
	}
	wanted := resource.StringList(r.Attrs["at"])
	if !atGiven {
		wanted = resource.StringList(before["at"])
	}
	diff := annDiff(annContent(r.Ty, before), annContent(r.Ty, r.Attrs))
	if before == nil {
		diff = nil
	}
	var at []any
	seen := map[string]bool{}
	for _, e := range wanted {
		csi := c.annTarget(e)
		if csi == "" || csi == c.cfg.CSEID || seen[csi] {
			c.log.WarnContext(ctx, "announcement target ignored", "ri", r.RI, "at", e)
			continue
		}
		seen[csi] = true
		if addr, ok := old[csi]; ok {
			delete(old, csi)
			if len(diff) == 0 || c.annUpdate(ctx, r, annTy, addr, diff) {
				at = append(at, addr)
				continue
			}
			// Gone on the target (expired with its parent there, deleted
			// by its administrator): announced again below.
		}
		addr, err := c.annCreate(ctx, r, annTy, csi)
		if err != nil {
			c.log.WarnContext(ctx, "announcement failed", "ri", r.RI, "to", csi, "err", err)
			continue
		}
		at = append(at, addr)
	}
	for csi, addr := range old {
		c.annDelete(ctx, r, addr)
		c.deannounceBelow(ctx, r, csi)
	}
	if equalValue(at, r.Attrs["at"]) || len(at) == 0 && r.Attrs["at"] == nil {
		return r
	}
	var out *resource.Resource
	err := c.st.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.Get(r.RI)
		if err != nil {
			return err
		}
		if at == nil {
			delete(cur.Attrs, "at")
		} else {
			cur.Attrs["at"] = at
		}
		out = cur
		return tx.Put(cur)
	})
	if err != nil {
		// Deleted meanwhile: its deletion removes the announcements.
		c.log.WarnContext(ctx, "recording the announcements", "ri", r.RI, "err", err)
		return r
	}
	return out
}

// annCreate creates the announced resource of r on the CSE csi and returns
// its address there.
func (c *CSE) annCreate(ctx context.Context, r *resource.Resource, annTy int, csi string) (string, error) {
	to := c.cbaAddr(csi)
	if r.Ty == resource.TyContainer {
		// Under the parent's announced resource on the same CSE, when the
		// parent is announced there (TS-0001 9.6.26).
		var parent *resource.Resource
		_ = c.st.View(ctx, func(tx store.Tx) error {
			parent, _ = tx.Get(r.PI)
			return nil
		})
		if parent != nil {
			for _, e := range resource.StringList(parent.Attrs["at"]) {
				if c.annTarget(e) == csi && e != csi {
					to = e
				}
			}
		}
	}
	content := c.annIDs(annContent(r.Ty, r.Attrs))
	content["lnk"] = c.cfg.CSEID + "/" + r.RI
	req := c.outgoing(primitive.OpCreate, to)
	req.Ty = annTy
	key := resource.Key(annTy)
	req.Content = map[string]any{key: content}
	resp, err := c.annSend(ctx, req)
	if err == nil && resp.RSC == primitive.RSCNotFound && to == c.cbaAddr(csi) {
		// No <CSEBaseAnnc> of this CSE there yet: create it, then again.
		if err = c.createCBA(ctx, csi); err == nil {
			req.RQI = c.outgoing(primitive.OpCreate, to).RQI
			resp, err = c.annSend(ctx, req)
		}
	}
	if err != nil {
		return "", err
	}
	if resp.RSC != primitive.RSCCreated {
		return "", primitive.Errorf(resp.RSC, "%s refused the announcement: %s", csi, dbg(resp))
	}
	m, _ := resp.PC[key].(map[string]any)
	ri, _ := m["ri"].(string)
	if ri == "" || strings.Contains(ri, "/") {
		return "", primitive.Errorf(primitive.RSCInternalServerError, "%s answered the announcement without a resource ID", csi)
	}
	c.log.InfoContext(ctx, "resource announced", "ri", r.RI, "to", csi, "annc", csi+"/"+ri)
	return csi + "/" + ri, nil
}

// cbaName is the resource name of this CSE's <CSEBaseAnnc> on a target: a
// fixed name lets the announcer address it there without keeping state,
// structured under the target's <CSEBase> ("-" stands for its name).
func (c *CSE) cbaName() string { return "cbA-" + strings.TrimPrefix(c.cfg.CSEID, "/") }

func (c *CSE) cbaAddr(csi string) string { return csi + "/-/" + c.cbaName() }

// createCBA creates this CSE's <CSEBaseAnnc> under the <CSEBase> of csi,
// with the MA attributes of the <CSEBase> it announces. A 4105 (it exists
// already, created meanwhile) is fine.
func (c *CSE) createCBA(ctx context.Context, csi string) error {
	m := map[string]any{"rn": c.cbaName(), "lnk": c.cfg.CSEID + "/" + c.base.RI}
	for _, sn := range []string{"lbl", "esi", "srv"} {
		if v, ok := c.base.Attrs[sn]; ok {
			m[sn] = v
		}
	}
	req := c.outgoing(primitive.OpCreate, csi)
	req.Ty = resource.TyCSEBaseAnnc
	req.Content = map[string]any{resource.Key(resource.TyCSEBaseAnnc): m}
	resp, err := c.annSend(ctx, req)
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCCreated && resp.RSC != primitive.RSCConflict {
		return primitive.Errorf(resp.RSC, "%s refused this CSE's <CSEBaseAnnc>: %s", csi, dbg(resp))
	}
	return nil
}

// annIDs converts identifiers among announced attributes into the form the
// target needs (TS-0001 9.6.26.1): an AE-ID-Stem into an SP-relative AE-ID.
func (c *CSE) annIDs(m map[string]any) map[string]any {
	if aei, ok := m["aei"].(string); ok && !strings.HasPrefix(aei, "/") {
		if strings.HasPrefix(aei, "S") {
			m["aei"] = "/" + aei
		} else {
			m["aei"] = c.cfg.CSEID + "/" + aei
		}
	}
	return m
}

// annUpdate sends diff to the announced resource at addr. It reports false
// when the target answered that the announced resource does not exist.
func (c *CSE) annUpdate(ctx context.Context, r *resource.Resource, annTy int, addr string, diff map[string]any) bool {
	req := c.outgoing(primitive.OpUpdate, addr)
	req.Content = map[string]any{resource.Key(annTy): c.annIDs(diff)}
	resp, err := c.annSend(ctx, req)
	if err == nil && resp.RSC == primitive.RSCNotFound {
		return false
	}
	if err == nil && resp.RSC != primitive.RSCUpdated {
		err = primitive.Errorf(resp.RSC, "%s", dbg(resp))
	}
	if err != nil {
		c.log.WarnContext(ctx, "updating an announced resource", "ri", r.RI, "annc", addr, "err", err)
	}
	return true
}

func (c *CSE) annDelete(ctx context.Context, r *resource.Resource, addr string) {
	resp, err := c.annSend(ctx, c.outgoing(primitive.OpDelete, addr))
	if err == nil && resp.RSC != primitive.RSCDeleted && resp.RSC != primitive.RSCNotFound {
		err = primitive.Errorf(resp.RSC, "%s", dbg(resp))
	}
	if err != nil {
		c.log.WarnContext(ctx, "deleting an announced resource", "ri", r.RI, "annc", addr, "err", err)
	}
}

// announcedBelow lists the announced resources that deleting r leaves on
// other CSEs: r's own and those of the announced <container>s below it.
// Each is deleted on its own (deannounce), even one that sits under its
// parent's announcement and goes with it (then the DELETE finds nothing, a
// 4004 that is fine): an announcement made before its parent's was is under
// the target's <CSEBase>, and only the target knows which is which.
// Called in the transaction that deletes r.
func (c *CSE) announcedBelow(tx store.Tx, r *resource.Resource) ([]string, error) {
	if r.Ty != resource.TyAE && r.Ty != resource.TyContainer {
		return nil, nil
	}
	var out []string
	add := func(x *resource.Resource) {
		for _, e := range resource.StringList(x.Attrs["at"]) {
			if csi := c.annTarget(e); csi != "" && csi != e {
				out = append(out, e)
			}
		}
	}
	add(r)
	// Walk goes in path order: a parent's announcement is deleted before
	// its children's.
	err := tx.Walk(r.Path, []int{resource.TyContainer}, func(x *resource.Resource) bool {
		add(x)
		return true
	})
	return out, err
}

// deannounceBelow follows the removal of csi from the at of r: the
// announced containers below r are de-announced from csi as well (see
// announcedBelow), and csi leaves their at.
func (c *CSE) deannounceBelow(ctx context.Context, r *resource.Resource, csi string) {
	if r.Ty != resource.TyAE && r.Ty != resource.TyContainer {
		return
	}
	var gone []string
	err := c.st.Update(ctx, func(tx store.Tx) error {
		gone = gone[:0]
		var changed []*resource.Resource
		err := tx.Walk(r.Path, []int{resource.TyContainer}, func(x *resource.Resource) bool {
			var keep []any
			found := false
			for _, e := range resource.StringList(x.Attrs["at"]) {
				if c.annTarget(e) == csi && e != csi {
					gone = append(gone, e)
					found = true
				} else {
					keep = append(keep, e)
				}
			}
			if found {
				x = x.Clone()
				if keep == nil {
					delete(x.Attrs, "at")
				} else {
					x.Attrs["at"] = keep
				}
				changed = append(changed, x)
			}
			return true
		})
		if err != nil {
			return err
		}
		for _, x := range changed {
			if err := tx.Put(x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.log.WarnContext(ctx, "de-announcing the containers below", "ri", r.RI, "from", csi, "err", err)
		return
	}
	for _, a := range gone {
		c.annDelete(ctx, r, a)
	}
}

// deannounce deletes announced resources (announcedBelow) of originals that
// are gone.
func (c *CSE) deannounce(ctx context.Context, r *resource.Resource, addrs []string) {
	ctx = context.WithoutCancel(ctx)
	for _, a := range addrs {
		c.annDelete(ctx, r, a)
	}
}

// mayCreateAnnounced decides a CREATE of an announced resource in place of
// access control: only a CSE creates them (4103 for anyone else), under the
// <CSEBase> or under an announced resource it created itself.
func (c *CSE) mayCreateAnnounced(o *originator, parent *resource.Resource) error {
	if !o.cse || o.id != c.cseOf(o.id) {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "announced resources are created by the announcing CSE only, not by %q", o.id)
	}
	if resource.IsAnnounced(parent.Ty) && parent.Creator != o.id {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "%s was announced by another CSE", parent.Path)
	}
	return nil
}

// checkAnnouncedLink: the lnk of a new announced resource points into the
// announcing CSE (the original is the announcer's).
func (c *CSE) checkAnnouncedLink(o *originator, b map[string]any) error {
	lnk, _ := b["lnk"].(string)
	if c.cseOf(lnk) != o.id || len(c.spRelative(lnk)) <= len(o.id)+1 {
		return primitive.Errorf(primitive.RSCBadRequest, "attribute \"lnk\" %q must be the address of the original on the announcing CSE %s", lnk, o.id)
	}
	return nil
}

// mayChangeAnnounced: an announced resource is updated and deleted by the
// CSE that announced it (its creator) and by the administrator.
func (c *CSE) mayChangeAnnounced(o *originator, r *resource.Resource) error {
	if !resource.IsAnnounced(r.Ty) || o.admin || o.id == r.Creator {
		return nil
	}
	return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "%s is changed by the CSE that announced it only", r.Path)
}

// retrieveOriginal answers a RETRIEVE with rcn=7 (original resource) of an
// announced resource: the original, fetched through lnk from its hosting
// CSE, which decides the originator's access (TS-0004 7.3.3.x).
func (c *CSE) retrieveOriginal(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	r := tgt.res
	if !resource.IsAnnounced(r.Ty) || tgt.virtual != "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "result content 7 (original resource) is for announced resources only")
	}
	lnk := r.Str("lnk")
	if c.cseOf(lnk) == "" || c.cseOf(lnk) == c.cfg.CSEID {
		return nil, primitive.Errorf(primitive.RSCNotFound, "the original of %s is not reachable (lnk %q)", r.Path, lnk)
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		return c.authorize(tx, req, o, accessCheck{op: acp.OpRetrieve, target: r})
	})
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	fwd := *req
	fwd.To = c.spRelative(lnk)
	if tgt.attr != "" {
		fwd.To += "#" + tgt.attr
	}
	fwd.RCN = primitive.RCNAbsent
	resp, err := c.route(ctx, &fwd, o)
	if resp == nil && err == nil {
		err = primitive.Errorf(primitive.RSCNotFound, "the original of %s is not reachable (lnk %q)", r.Path, lnk)
	}
	return resp, err
}

// isAnnouncedCreate tells a general announcement (From is a CSE-ID) from the
// S-type registration announcement of aeannc.go (From is an AE of a CSE).
func (c *CSE) isAnnouncedCreate(req *primitive.Request, o *originator) bool {
	return resource.IsAnnounced(req.Ty) && !(req.Ty == resource.TyAEAnnc && o.cse && o.id != c.cseOf(o.id))
}
