package cse

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// body returns the inner object of a CREATE or UPDATE content, which must be
// exactly one member named after the resource type.
func body(req *primitive.Request, t *resource.Type) (map[string]any, error) {
	if len(req.Content) == 0 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the request has no content: expected %s", t.Key)
	}
	if len(req.Content) != 1 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the content must hold exactly one member, %s", t.Key)
	}
	v, ok := req.Content[t.Key]
	if !ok {
		for k := range req.Content {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "the content is %q but the resource type is %s", k, t.Key)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "%s must be an object", t.Key)
	}
	return maps.Clone(m), nil
}

func (c *CSE) create(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	if tgt.virtual != "" || tgt.attr != "" {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "nothing can be created under %s", req.To)
	}
	var stem string
	if req.Ty == resource.TyAE {
		// From is checked before anything else (TS-0004 7.3.2.1; step 3 of
		// protocol.md 1.12): a CSE-ID is 4107 whatever the content says.
		var err error
		if stem, err = c.assignStem(req.From); err != nil {
			return nil, err
		}
	}
	parent := tgt.res
	if req.Ty < 1 || (req.Ty > 66 && (req.Ty < 10001 || req.Ty > 10066)) {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "%d is not a resource type", req.Ty)
	}
	if t, ok := resource.Lookup(req.Ty); ok && !t.Creatable {
		// Refused whoever asks (see update).
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources cannot be created through the API", t.Key)
	}
	if err := c.adminOnly(req.Ty, o, "create"); err != nil {
		return nil, err
	}
	// CSE registration (a <remoteCSE> under the <CSEBase>) is decided by the
	// registrar's policy, like AE registration (remotecse.go).
	if req.Ty == resource.TyRemoteCSE && parent.Ty == resource.TyCSEBase {
		return c.registerCSE(ctx, req, o, parent)
	}
	// The announcement of an S-type AE registering with another CSE is part
	// of that registration (aeannc.go).
	announced := c.isAnnouncedCreate(req, o)
	if req.Ty == resource.TyAEAnnc && parent.Ty == resource.TyCSEBase && o.cse && !announced {
		return c.announceAE(ctx, req, o, parent)
	}
	// An announced resource is created by the announcing CSE, which no
	// access control policy of the target names (announce.go).
	if announced {
		if err := c.mayCreateAnnounced(o, parent); err != nil {
			return nil, err
		}
	}
	// AE registration (an <AE> under the <CSEBase>) is decided by the
	// registration policy, not by access control (TS-0004 7.4.5.2.1).
	if registration := req.Ty == resource.TyAE && parent.Ty == resource.TyCSEBase; !registration && !announced {
		// Authorization comes before the checks of the content (TS-0004 7.2.2.2;
		// protocol.md 1.12 steps 8 and 9), so an originator without the right
		// learns nothing about what the CSE would accept. It is decided once,
		// here, and not again in the writer's transaction: a policy changed in
		// between orders after this request.
		err := c.st.View(ctx, func(tx store.Tx) error {
			if err := c.authorize(tx, req, o, accessCheck{op: acp.OpCreate, target: parent, childType: req.Ty}); err != nil {
				return err
			}
			if req.Ty == resource.TySubscription {
				// Subscribing needs the right to read what is subscribed to (TS-0004 7.4.8.2.1).
				return c.authorize(tx, req, o, accessCheck{op: acp.OpRetrieve, target: parent})
			}
			return nil
		})
		if err != nil {
			return nil, storeErr(err, "parent "+parent.Path)
		}
	}
	if req.Ty == resource.TyPollingCh && (parent.Ty == resource.TyAE || parent.Ty == resource.TyRemoteCSE) {
		if err := c.checkNewPollingChannel(o, parent); err != nil {
			return nil, err
		}
	}
	t, ok := resource.Lookup(req.Ty)
	if !ok {
		return nil, primitive.Errorf(primitive.RSCNotImplemented, "resource type %d is not supported by this CSE", req.Ty)
	}
	if !t.Creatable {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources cannot be created through the API", t.Key)
	}
	pt, _ := resource.Lookup(parent.Ty)
	if pt == nil || !pt.AllowsChild(req.Ty) {
		if req.Ty == resource.TySubscription {
			return nil, primitive.Errorf(primitive.RSCTargetNotSubscribable, "%s cannot be subscribed to", parent.Path)
		}
		return nil, primitive.Errorf(primitive.RSCInvalidChildResourceType, "%s cannot be created under %s (%s)", t.Key, parent.Path, resource.Key(parent.Ty))
	}
	b, err := body(req, t)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(primitive.OpCreate, b); err != nil {
		return nil, err
	}
	if req.Ty == resource.TyAE {
		return c.registerAE(ctx, req, parent, stem, b)
	}
	if req.Ty == resource.TyGroup {
		if err := c.validateMembers(ctx, req, b, nil); err != nil {
			return nil, err
		}
	}
	if announced {
		if err := c.checkAnnouncedLink(o, b); err != nil {
			return nil, err
		}
	}

	now := c.now()
	r := &resource.Resource{Ty: req.Ty, PI: parent.RI, Creator: o.id, Owner: parent.Owner, Attrs: b}
	if parent.Ty == resource.TyAE {
		r.Owner = parent.RI
	}
	if r.Ty == resource.TyPollingCh {
		r.Creator = c.pollingOwner(parent) // also when the admin made it
	}
	if rn, ok := b["rn"].(string); ok {
		if parent.Ty == resource.TyContainer && (rn == virtLatest || rn == virtOldest) {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "resource name %q is reserved for a virtual resource", rn)
		}
		r.RN = rn
	}
	if _, ok := b["cr"]; ok {
		b["cr"] = o.id
	}
	if req.Ty == resource.TyACP {
		if pvs, _ := acp.ParseAttr("pvs", b["pvs"]); len(pvs) == 0 {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"pvs\" (selfPrivileges) must hold at least one rule (TS-0004 7.4.2.2.1)")
		}
	}
	if req.Ty == resource.TySubscription {
		if isBlocking(b) {
			// The rules of TS-0004 7.4.8.2.1 apply to what the subscriber
			// asked for, before the CSE fills in defaults.
			if err := c.checkBlocking(parent, b, false); err != nil {
				return nil, err
			}
			// Refused before anybody is asked to verify; checked again in
			// the transaction, which decides.
			err := c.st.View(ctx, func(tx store.Tx) error {
				p, err := tx.Get(parent.RI)
				if err != nil {
					return err
				}
				return c.checkNoBlockingSub(tx, p, "")
			})
			if err != nil {
				return nil, storeErr(err, "parent "+parent.Path)
			}
		}
		if _, ok := b["nct"]; !ok {
			enc, _ := b["enc"].(map[string]any)
			b["nct"] = resource.DefaultNCT(enc)
		}
		// TS-0004 7.4.8.2.1 Recv-6.5: the subscriber becomes the creator when
		// it asks for it or when a notification target is somebody else.
		// (Resource.Creator keeps the subscriber in any case.)
		if c.notifiesOthers(b["nu"], o.id) {
			b["cr"] = o.id
		}
		if err := c.checkSubscription(parent, b); err != nil {
			return nil, err
		}
		c.fillSubscription(b)
		// The verification requests name the subscription (sur), so its ID
		// is drawn now; nothing is stored unless every target agrees.
		r.RI = newRI(r.Ty)
		if err := c.verifyTargets(ctx, r.RI, o.id, o.id, toStrings(b["nu"])); err != nil {
			return nil, err
		}
	}

	var created *resource.Resource
	err = c.write(ctx, func(tx store.Tx, ev *events) error {
		// Re-read the parent inside the transaction: it may have changed or gone
		// since the target was resolved, and counters must be exact.
		p, err := tx.Get(parent.RI)
		if err != nil {
			return storeErr(err, "parent "+parent.Path)
		}
		if c.expired(p) {
			return primitive.Errorf(primitive.RSCNotFound, "parent %s not found (expired)", parent.Path)
		}
		if err := c.checkACPIRefs(tx, b); err != nil {
			return err
		}
		if err := c.checkPolicyRefs(tx, b, "macp"); err != nil {
			return err
		}
		if r.Ty == resource.TySubscription && isBlocking(b) {
			// One per subscribed-to resource (TS-0004 7.4.8.2.1 Recv-6.4).
			if err := c.checkNoBlockingSub(tx, p, ""); err != nil {
				return err
			}
		}
		if r.Ty == resource.TyPollingCh {
			// One per entity (TS-0004 7.4.21.2.1).
			if _, err := c.pollingChannelOf(tx, p.RI); err == nil {
				return primitive.Errorf(primitive.RSCBadRequest, "%s has a pollingChannel already", p.Path)
			} else if !errors.Is(err, ErrNoPollingChannel) {
				return err
			}
		}
		nr := r.Clone()
		if err := c.fill(nr, p, now); err != nil {
			return err
		}
		if nr.Ty == resource.TyCIN {
			if err := c.addInstance(tx, p, nr); err != nil {
				return err
			}
		}
		if err := insertUnder(tx, p, nr, r.RN != ""); err != nil {
			return err
		}
		if err := ev.created(tx, p, nr); err != nil {
			return err
		}
		if nr.Ty == resource.TyCIN {
			// Counters were advanced by addInstance; drop the oldest instances
			// beyond mni/mbs and store the container once.
			// p (this function's copy of the parent) is not used after:
			// it is handed over to the store.
			if err := c.enforceLimits(tx, p, true); err != nil {
				return err
			}
		}
		created = nr
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "parent "+parent.Path)
	}
	created = c.announce(ctx, created, nil, true)
	return c.createdResponse(req, created, b), nil
}

// notifiesOthers reports whether a notificationURI list names a target other
// than the originator id (in any of its address forms).
func (c *CSE) notifiesOthers(nu any, id string) bool {
	l, _ := nu.([]any)
	for _, e := range l {
		s, _ := e.(string)
		if local, ok := c.localID(s); !ok || local != id {
			return true
		}
	}
	return false
}

// fill sets what the CSE assigns: ri, rn, pi, ct, lt, et, st.
func (c *CSE) fill(r *resource.Resource, parent *resource.Resource, now time.Time) error {
	if r.RI == "" {
		r.RI = newRI(r.Ty)
	}
	if r.RN == "" {
		r.RN = r.RI
	}
	r.PI = parent.RI
	r.Path = parent.Path + "/" + r.RN
	a := r.Attrs
	// Interface values are shared where they hold the same string (rn is
	// mostly ri; pi is the parent's ri, which its attributes hold already):
	// each conversion of a string to an interface allocates.
	ri := any(r.RI)
	rn := ri
	if r.RN != r.RI {
		rn = r.RN
	}
	pi, ok := parent.Attrs["ri"]
	if s, _ := pi.(string); !ok || s != parent.RI {
		pi = parent.RI
	}
	a["ty"], a["ri"], a["rn"], a["pi"] = int64(r.Ty), ri, rn, pi
	var ct any = primitive.FormatTime(now) // one interface value for both
	a["ct"], a["lt"] = ct, ct
	if t, _ := resource.Lookup(r.Ty); t != nil && t.HasET {
		et, err := c.expiry(a["et"], parent, now)
		if err != nil {
			return err
		}
		r.ET = et
		a["et"] = primitive.FormatTime(et)
	}
	switch r.Ty {
	case resource.TyContainer:
		a["st"], a["cni"], a["cbs"] = int64(0), int64(0), int64(0)
	}
	return nil
}

func (c *CSE) createdResponse(req *primitive.Request, r *resource.Resource, requested map[string]any) *primitive.Response {
	resp := &primitive.Response{RSC: primitive.RSCCreated, Location: r.Path}
	rcn := req.RCN
	if rcn == primitive.RCNAbsent {
		rcn = primitive.RCNAttributes
	}
	switch rcn {
	case primitive.RCNAttributes:
		resp.PC = r.Representation(nil)
	case primitive.RCNHierarchicalAddress:
		resp.PC = map[string]any{"m2m:uri": r.Path}
	case primitive.RCNHierarchicalAddressAttrs:
		resp.PC = map[string]any{"m2m:rce": map[string]any{resource.Key(r.Ty): r.Attrs, "uri": r.Path}}
	case primitive.RCNModifiedAttributes:
		resp.PC = modifiedAttributes(r, nil, requested)
	}
	return resp
}

// modifiedAttributes is the rcn=9 answer: the attributes the CSE set or
// changed beyond what the request asked for, and those it removed as null.
// before is the resource as it was ahead of an UPDATE (nil for a CREATE, where
// everything the request did not give was set by the CSE).
func modifiedAttributes(r *resource.Resource, before, requested map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range r.Attrs {
		if rv, ok := requested[k]; ok && equalValue(rv, v) {
			continue // as the request asked
		}
		if ov, ok := before[k]; ok && equalValue(ov, v) {
			continue // unchanged by this UPDATE
		}
		m[k] = v
	}
	for k := range before {
		if _, still := r.Attrs[k]; still {
			continue
		}
		if rv, asked := requested[k]; !asked || rv != nil {
			m[k] = nil // removed by the CSE, not by the request
		}
	}
	return map[string]any{resource.Key(r.Ty): m}
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case string, int64, bool, float64, nil:
		return a == b
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalValue(v, y[k]) {
				return false
			}
		}
		return true
	}
	return false
}

// insertNew stores a new resource r (a copy, filled by fill) under parent:
// the shared last step of the CREATE paths that do not go through create
// (AE and CSE registration, the S-type <AEAnnc>). A name or ID already taken
// is 4105 CONFLICT.
func (c *CSE) insertNew(tx store.Tx, r, parent *resource.Resource, body map[string]any, now time.Time) (*resource.Resource, error) {
	if err := c.checkACPIRefs(tx, body); err != nil {
		return nil, err
	}
	nr := r.Clone()
	if err := c.fill(nr, parent, now); err != nil {
		return nil, err
	}
	if err := tx.Create(nr); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, primitive.Errorf(primitive.RSCConflict, "a resource named %q (ID %q) already exists under %s", nr.RN, nr.RI, parent.Path)
		}
		return nil, err
	}
	return nr, nil
}

// adminOnly refuses a CREATE, UPDATE or DELETE of a type only the
// administrator manages (the M2M service subscription resources) to
// anyone else (4103), and a CREATE of an IN-CSE-only type on an MN-CSE or
// ASN-CSE (4005, TS-0004 7.3.3.3).
func (c *CSE) adminOnly(ty int, o *originator, op string) error {
	t, ok := resource.Lookup(ty)
	if !ok {
		return nil
	}
	if t.INOnly && c.cfg.CSEType != TypeIN && op == "create" {
		return primitive.Errorf(primitive.RSCOperationNotAllowed, "%s resources exist on the IN-CSE only", t.Key)
	}
	if t.AdminOnly && !o.admin {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "only the CSE's administrator may %s %s resources", op, t.Key)
	}
	return nil
}

// insertUnder stores the new resource nr, a child of p. When its name was
// generated (named false), a clash draws a new resource ID (and name) and
// tries again, a few times; a name the originator gave that exists already
// is 4105 CONFLICT.
func insertUnder(tx store.Tx, p, nr *resource.Resource, named bool) error {
	for attempt := 0; ; attempt++ {
		err := tx.Create(nr)
		if !errors.Is(err, store.ErrExists) {
			return err
		}
		if named || attempt > 3 {
			return primitive.Errorf(primitive.RSCConflict, "a resource named %q already exists under %s", nr.RN, p.Path)
		}
		nr.RI = newRI(nr.Ty) // a generated ID clashed: draw again
		nr.RN = nr.RI
		nr.Path = p.Path + "/" + nr.RN
		nr.Attrs["ri"], nr.Attrs["rn"] = nr.RI, nr.RN
	}
}
