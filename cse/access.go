package cse

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

func init() {
	// CREATE and UPDATE of an <accessControlPolicy> validate pv/pvs with the
	// same parser that the decisions use, so a stored policy always parses.
	resource.SetOfAcrsCheck = func(v any) error {
		_, err := acp.Parse(v)
		var pe *acp.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: %s", pe.Path, pe.Msg)
		}
		return err
	}
}

// acpCache keeps parsed rule sets by ACP resource ID and lastModifiedTime, so a
// policy is parsed once per change, not once per request.
type acpCache struct {
	mu sync.RWMutex
	m  map[string]cachedRules
}

type cachedRules struct {
	lt      string
	pv, pvs acp.Rules
}

func newACPCache() *acpCache { return &acpCache{m: map[string]cachedRules{}} }

func (a *acpCache) rules(r *resource.Resource) (cachedRules, error) {
	lt := r.Str("lt")
	a.mu.RLock()
	cr, ok := a.m[r.RI]
	a.mu.RUnlock()
	if ok && cr.lt == lt {
		return cr, nil
	}
	pv, err := acp.ParseAttr("pv", r.Attrs["pv"])
	if err != nil {
		return cr, err
	}
	pvs, err := acp.ParseAttr("pvs", r.Attrs["pvs"])
	if err != nil {
		return cr, err
	}
	cr = cachedRules{lt: lt, pv: pv, pvs: pvs}
	a.mu.Lock()
	if len(a.m) > 100000 {
		clear(a.m) // bound memory; policies are re-parsed on demand
	}
	a.m[r.RI] = cr
	a.mu.Unlock()
	return cr, nil
}

func (a *acpCache) drop(ri string) {
	a.mu.Lock()
	delete(a.m, ri)
	a.mu.Unlock()
}

// accessCheck describes one authorization question.
type accessCheck struct {
	op        uint32             // acp.Op* bit
	target    *resource.Resource // the resource operated on (the parent for CREATE)
	childType int                // CREATE: the type being created
	// selfPrivileges asks for the pvs of the ACPs that govern target (used when
	// an UPDATE changes acpi itself).
	selfPrivileges bool
}

var opBits = map[primitive.Operation]uint32{
	primitive.OpCreate: acp.OpCreate, primitive.OpRetrieve: acp.OpRetrieve, primitive.OpUpdate: acp.OpUpdate,
	primitive.OpDelete: acp.OpDelete, primitive.OpNotify: acp.OpNotify,
}

// authorize decides an access check as TS-0004 7.3.3.15 and TS-0003 7.1 say,
// and answers 4103 when it is denied.
func (c *CSE) authorize(tx store.Tx, req *primitive.Request, o *originator, chk accessCheck) error {
	ok, err := c.allowed(tx, req, o, chk)
	if err != nil {
		return err
	}
	if !ok {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "originator %q has no %s privilege on %s", req.From, opName(chk.op), chk.target.Path)
	}
	return nil
}

func opName(bit uint32) string {
	switch bit {
	case acp.OpCreate:
		return "CREATE"
	case acp.OpRetrieve:
		return "RETRIEVE"
	case acp.OpUpdate:
		return "UPDATE"
	case acp.OpDelete:
		return "DELETE"
	case acp.OpNotify:
		return "NOTIFY"
	case acp.OpDiscovery:
		return "DISCOVERY"
	}
	return "?"
}

func (c *CSE) allowed(tx store.Tx, req *primitive.Request, o *originator, chk accessCheck) (bool, error) {
	if o.admin {
		return true, nil
	}
	areq := c.acpRequest(req, o, chk)
	// An <accessControlPolicy> is governed by its own selfPrivileges.
	if chk.target.Ty == resource.TyACP {
		return c.decide(areq, []*resource.Resource{chk.target}, true)
	}
	g, err := c.governing(tx, chk.target)
	if err != nil {
		return false, err
	}
	ids, _ := g.Attrs["acpi"].([]any)
	if len(ids) == 0 {
		return c.defaultAccess(o, chk, g), nil
	}
	var buf [4]*resource.Resource
	acps := buf[:0]
	for _, id := range ids {
		s, _ := id.(string)
		p, err := c.lookupACP(tx, s)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue // a dangling acpi entry grants nothing
			}
			return false, err
		}
		acps = append(acps, p)
	}
	return c.decide(areq, acps, chk.selfPrivileges)
}

// acpRequest describes the request to the decision library.
func (c *CSE) acpRequest(req *primitive.Request, o *originator, chk accessCheck) acp.Request {
	return acp.Request{
		Originator:    o.id,
		Operation:     chk.op,
		Time:          c.now(),
		Addr:          req.Peer.Addr, // the binding's view of the peer, for acip
		Authenticated: req.Peer.Authenticated,
		ChildType:     int64(chk.childType),
		TargetType:    int64(chk.target.Ty),
	}
}

// governing returns the resource whose acpi decides about r: r itself, or for
// a type without acpi (contentInstance, ...) its nearest ancestor with one.
func (c *CSE) governing(tx store.Tx, r *resource.Resource) (*resource.Resource, error) {
	for {
		t, ok := resource.Lookup(r.Ty)
		if !ok || t.HasACPI {
			return r, nil
		}
		p, err := c.parentOf(tx, r)
		if err != nil {
			return nil, storeErr(err, "parent of "+r.Path)
		}
		r = p
	}
}

// decide applies permit-overrides across the privileges (or, with self, the
// selfPrivileges) of the given policies.
func (c *CSE) decide(areq acp.Request, acps []*resource.Resource, self bool) (bool, error) {
	var buf [4]acp.Rules
	sets := buf[:0]
	for _, p := range acps {
		cr, err := c.acps.rules(p)
		if err != nil {
			return false, err
		}
		if self {
			sets = append(sets, cr.pvs)
		} else {
			sets = append(sets, cr.pv)
		}
	}
	return acp.AllowsAny(acp.Env{CSEID: c.cfg.CSEID, SPID: c.cfg.SPID}, areq, sets...), nil
}

// defaultAccess is the rule for a resource without acpi (TS-0001 9.6.1.3.2):
// its creator has every right; onecse also gives an AE every right on its own
// subtree, and lets registered AEs RETRIEVE the <CSEBase> so they can learn
// about the CSE they registered with.
func (c *CSE) defaultAccess(o *originator, chk accessCheck, g *resource.Resource) bool {
	if o.id == g.Creator || (g.Owner != "" && o.id == g.Owner) {
		return true
	}
	switch g.Ty {
	case resource.TyMSSP, resource.TySVSN, resource.TyASAR:
		// A registrar CSE reads the rules for the AEs registering with it
		// from the IN-CSE (TS-0004 7.3.2.7; registration-security.md 5.3).
		if (chk.op == acp.OpRetrieve || chk.op == acp.OpDiscovery) && o.cse && resource.IsCSEID(o.id) {
			return true
		}
	}
	if g.Ty == resource.TyCSEBase && chk.op == acp.OpRetrieve {
		// originator() has checked that the AE is registered; a remote CSE
		// reads the CSEBase of its registrar or registree (TS-0001 10.2.2.7
		// step 005).
		return primitive.IsAEStem(o.id) || o.cse && resource.IsCSEID(o.id)
	}
	return false
}

// lookupACP finds an <accessControlPolicy> named in acpi: an unstructured ID,
// an SP-relative or absolute ID of this CSE, or a structured path.
func (c *CSE) lookupACP(tx store.Tx, id string) (*resource.Resource, error) {
	local, ok := c.localID(id)
	if !ok {
		return nil, store.ErrNotFound // policies of other CSEs are not consulted
	}
	var r *resource.Resource
	var err error
	if rest, ok := strings.CutPrefix(local, "-/"); ok {
		// "-" stands for the CSEBase's name in a structured ID, as in a To.
		local = c.cfg.CSEName + "/" + rest
	}
	if strings.HasPrefix(local, c.cfg.CSEName+"/") {
		r, err = tx.GetByPath(local)
	} else {
		r, err = tx.Get(local)
	}
	if err != nil {
		return nil, err
	}
	if r.Ty != resource.TyACP || c.expired(r) {
		return nil, store.ErrNotFound
	}
	return r, nil
}

// checkACPIRefs verifies that every entry of a new acpi names an existing
// <accessControlPolicy> of this CSE (TS-0004 7.3.3.x: an invalid reference is
// a bad request).
func (c *CSE) checkACPIRefs(tx store.Tx, body map[string]any) error {
	l, ok := body["acpi"].([]any)
	if !ok {
		return nil
	}
	for _, e := range l {
		id := e.(string)
		if _, err := c.lookupACP(tx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return primitive.Errorf(primitive.RSCBadRequest, "acpi entry %q is not an accessControlPolicy of this CSE", id)
			}
			return err
		}
	}
	return nil
}

// decider answers the same question (one operation, one originator) about
// many resources of one request: the children in a RETRIEVE result, the hits
// of a discovery. Resources governed by the same policies share one decision,
// so the contentInstances of a container cost one evaluation, not one each.
// It must not be used for CREATE, whose decision depends on the child type.
type decider struct {
	c    *CSE
	tx   store.Tx
	req  *primitive.Request
	o    *originator
	op   uint32
	memo map[string]bool // by the ID of the governing resource
}

func (c *CSE) newDecider(tx store.Tx, req *primitive.Request, o *originator, op uint32) *decider {
	return &decider{c: c, tx: tx, req: req, o: o, op: op, memo: map[string]bool{}}
}

func (d *decider) allowed(r *resource.Resource) (bool, error) {
	if d.o.admin {
		return true, nil
	}
	key := r.RI
	if t, ok := resource.Lookup(r.Ty); ok && !t.HasACPI && r.Ty != resource.TyACP {
		// Decided like its parent: share the parent's entry without reading
		// the parent first.
		key = r.PI
	}
	if ok, hit := d.memo[key]; hit {
		return ok, nil
	}
	ok, err := d.c.allowed(d.tx, d.req, d.o, accessCheck{op: d.op, target: r})
	if err != nil {
		return false, err
	}
	d.memo[key] = ok
	return ok, nil
}
