package cse

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// CSE registration, registrar side (TS-0001 10.1.1.2.1 as the change request
// words it, TS-0004 7.4.4; registration-security.md 4.4 and A.4), and the
// routing table built from the <remoteCSE> resources.

// Registrar names the CSE this one registers with.
type Registrar struct {
	URL   string // point of access, e.g. http://in.example:8080
	CSEID string // SP-relative CSE-ID of the registrar, e.g. /id-in
	Name  string // resource name of its CSEBase, e.g. cse-in
}

// Registration is the part of Config about CSE registration and routing.
type Registration struct {
	// Registrar is the registrar of this CSE; zero for a CSE without one
	// (an IN-CSE).
	Registrar Registrar
	// Sender carries requests to other CSEs (registration, forwarding); nil
	// makes every other CSE unreachable (5103).
	Sender Sender
	// RequireSAForCSEs says when requests from other CSEs (and from
	// entities of other CSEs) that did not arrive over a security
	// association are refused with 4107, as TS-0004 7.3.2.1 says. Where it
	// does not apply, CSE registration and requests from registered CSEs are
	// accepted over plain transports.
	RequireSAForCSEs SARequirement
	// RequireSAForAEs says when AE registration and requests of this CSE's
	// AEs that did not arrive over a security association are refused with
	// 4107 (TS-0003 6.1.2.2.1: mandatory between a field-domain AE and an
	// IN-CSE).
	RequireSAForAEs SARequirement
	// Credentials returns the identity bound to the Credential-ID of a
	// security association ("12-<KpsaID>"), and false for an unknown,
	// expired or revoked credential (registration-security.md 6.6, 6.7).
	Credentials func(credentialID string) (CredentialBinding, bool)
	// CredentialBindings maps a Credential-ID to the CSE-ID the M2M Service
	// Provider pre-assigned to the CSE that authenticates with it (the change
	// request's Step 000/002). It is consulted after Credentials.
	CredentialBindings map[string]string
	// AcceptDeclaredCredentials lets a registree that arrived without a
	// security association name its credential itself, with a label
	// "Credential-ID:<id>" in its <remoteCSE>. It proves nothing and is
	// for tests and development only: a request over a security
	// association always uses the association's credential.
	AcceptDeclaredCredentials bool
	// INCSEID is the CSE-ID of the IN-CSE, which assigns S-type AE-IDs;
	// default: the registrar's.
	INCSEID string
	// CredentialID is this CSE's own credential, declared to its registrar
	// in that label when set (the same stand-in).
	CredentialID string
	// LivenessInterval is how often a registree checks its registration
	// (default 60 s).
	LivenessInterval time.Duration
	// ForwardTimeout bounds a forwarded request without rqet (default 30 s).
	ForwardTimeout time.Duration
	// RegistreeTimeout is how long a registered CSE may stay unreachable
	// before the registrar removes its <remoteCSE> (checked every
	// LivenessInterval by retrieving its <CSEBase>); 0 keeps it forever.
	RegistreeTimeout time.Duration
}

// credentialLabel is how a registree declares its credential (see
// AcceptDeclaredCredentials); the prefix is the one TS-0004 7.4.5.2.1 uses
// for the Credential-ID label of an <AEAnnc>.
const credentialLabel = "Credential-ID:"

// route is one <remoteCSE> of this CSE, as the router needs it.
type route struct {
	ri, csi string
	poa     []string
	dcse    []string
}

// routes is an immutable snapshot of the routing table.
type routes struct {
	byCSI     map[string]*route // a <remoteCSE>'s own CSE-ID
	byDesc    map[string]*route // a descendant CSE-ID listed in a dcse
	registrar *route            // the <remoteCSE> of this CSE's registrar
}

// regState is the mutable state of registration and routing.
type regState struct {
	routes   atomic.Pointer[routes]
	reloadMu sync.Mutex
	kick     chan struct{} // wakes the registree loop
	// stopped is set when this CSE was deregistered on purpose (by itself
	// or by its registrar): it does not register again until restarted.
	stopped atomic.Bool
	// round serialises the registree's rounds with deregistration, so that
	// a deregistration never races a registration under way. It is held
	// across requests to the registrar, so it is a channel: a waiter can
	// give up when its context ends.
	round chan struct{}
}

// lockRound takes the registree's round; it fails when ctx ends first.
func (c *CSE) lockRound(ctx context.Context) error {
	select {
	case c.reg.round <- struct{}{}:
		return nil
	case <-ctx.Done():
		return primitive.Errorf(primitive.RSCRequestTimeout, "a registration round with the registrar is under way")
	}
}

func (c *CSE) unlockRound() { <-c.reg.round }

func (c *CSE) routeTable() *routes { return c.reg.routes.Load() }

// withRegistrar returns a copy of rt with e as the registrar's route.
func (rt *routes) withRegistrar(e *route) *routes {
	out := &routes{byCSI: map[string]*route{}, byDesc: map[string]*route{}, registrar: e}
	if rt != nil {
		for k, v := range rt.byCSI {
			out.byCSI[k] = v
		}
		for k, v := range rt.byDesc {
			out.byDesc[k] = v
		}
	}
	out.byCSI[e.csi] = e
	return out
}

// ReloadRoutes rebuilds the routing table from the stored <remoteCSE>s: a
// node of a CSE served by several calls it when another node changed them.
func (c *CSE) ReloadRoutes(ctx context.Context) error { return c.reloadRoutes(ctx) }

// reloadRoutes rebuilds the routing table from the stored <remoteCSE>s.
func (c *CSE) reloadRoutes(ctx context.Context) error {
	c.reg.reloadMu.Lock()
	defer c.reg.reloadMu.Unlock()
	var csrs []*resource.Resource
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		csrs, err = tx.Children(c.base.RI, store.ChildQuery{Types: []int{resource.TyRemoteCSE}})
		return err
	})
	if err != nil {
		return err
	}
	rt := &routes{byCSI: map[string]*route{}, byDesc: map[string]*route{}}
	for _, r := range csrs {
		if c.expired(r) {
			continue
		}
		e := &route{ri: r.RI, csi: c.spRelative(r.Str("csi")), poa: r.Strings("poa"), dcse: r.Strings("dcse")}
		rt.byCSI[e.csi] = e
		if e.csi == c.cfg.Registrar.CSEID {
			rt.registrar = e
		}
	}
	for _, e := range rt.byCSI {
		if e == rt.registrar {
			continue // the registrar's dcse is not set (TS-0001 9.6.4)
		}
		for _, d := range e.dcse {
			rt.byDesc[c.spRelative(d)] = e
		}
	}
	c.reg.routes.Store(rt)
	return nil
}

// spRelative turns an absolute ID of this SP into its SP-relative form.
func (c *CSE) spRelative(id string) string {
	if rest, ok := strings.CutPrefix(id, c.cfg.SPID+"/"); ok {
		return "/" + rest
	}
	return id
}

// cseOf returns the CSE-ID part of an SP-relative or absolute ID of this SP
// ("/id-asn/Cabc" → "/id-asn"), or "".
func (c *CSE) cseOf(id string) string {
	id = c.spRelative(id)
	if !strings.HasPrefix(id, "/") || strings.HasPrefix(id, "//") {
		return ""
	}
	csi, _, _ := strings.Cut(id[1:], "/")
	if csi == "" {
		return ""
	}
	return "/" + csi
}

// below reports whether csi is a CSE registered with this one or a
// descendant of one.
func (rt *routes) below(csi string) bool {
	if e, ok := rt.byCSI[csi]; ok && e != rt.registrar {
		return true
	}
	_, ok := rt.byDesc[csi]
	return ok
}

// remoteOriginator accepts the From of another CSE or of an entity of
// another CSE, without a security association (RequireSAForCSEs is off): a
// CSE registering (CREATE <remoteCSE>, where From may be empty), a CSE
// registered here or below, or, once this CSE has a registrar, any other CSE
// of the SP (their requests reach us through the registrar). ok=false leaves
// the decision to the checks of TS-0004 7.3.2.1 in originator().
func (c *CSE) remoteOriginator(req *primitive.Request) (*originator, bool) {
	if c.cfg.RequireSAForCSEs.Applies(req.Peer) && !req.Peer.Authenticated {
		return nil, false
	}
	from := c.spRelative(req.From)
	if req.Op == primitive.OpCreate && req.Ty == resource.TyRemoteCSE && (from == "" || resource.IsCSEID(from)) {
		return &originator{id: from, cse: true}, true
	}
	csi := c.cseOf(from)
	if csi == "" || csi == c.cfg.CSEID || strings.HasPrefix(from, "//") {
		return nil, false
	}
	if from != csi && !primitive.IsAEStem(from[len(csi)+1:]) &&
		!(req.Op == primitive.OpCreate && req.Ty == resource.TyAEAnnc && from[len(csi)+1:] == "S") {
		return nil, false
	}
	if from == csi && strings.HasPrefix(from, "/S") && primitive.IsAEStem(from[1:]) {
		return nil, false // an SP-relative S-type AE-ID, not a CSE-ID (TS-0001 7.2)
	}
	rt := c.routeTable()
	if _, ok := rt.byCSI[csi]; ok || rt.below(csi) || rt.registrar != nil {
		return &originator{id: from, cse: true}, true
	}
	return nil, false
}

// registerCSE creates a <remoteCSE> under the <CSEBase>: CSE registration at
// the registrar (TS-0004 7.4.4.2.1, with the change request's pre-assigned
// CSE-ID; registration-security.md 4.4 and A.4). No access control policy
// is evaluated.
func (c *CSE) registerCSE(ctx context.Context, req *primitive.Request, o *originator, parent *resource.Resource) (*primitive.Response, error) {
	if c.cfg.CSEType == TypeASN {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "an ASN-CSE is no registrar: it cannot register other CSEs")
	}
	if !o.admin && (!o.cse || o.id != "" && !resource.IsCSEID(o.id)) {
		// An AE-ID, of this CSE or of another (TS-0004 7.4.4.2.1).
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "originator %q is not a CSE: only CSEs register as <remoteCSE>", req.From)
	}
	t, _ := resource.Lookup(resource.TyRemoteCSE)
	b, err := body(req, t)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(primitive.OpCreate, b); err != nil {
		return nil, err
	}
	from := ""
	if o.cse {
		from = o.id
	}
	csi := ""
	if s, ok := b["csi"].(string); ok {
		csi = c.spRelative(s)
		if strings.HasPrefix(csi, "//") {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"csi\" %q belongs to another service provider", s)
		}
	}
	cseID := from
	if o.admin {
		cseID = csi // the administrator registers a CSE by hand
	}
	// The change request's Step 002: a CSE-ID pre-assigned to the credential
	// that authenticated the registree wins, and a From or csi that says
	// otherwise is refused. The change request names no status code;
	// 4106 ORIGINATOR_NOT_AUTHENTICATED says what happened (the originator
	// is not who its credential says), as registration-security.md 4.4
	// suggests.
	//
	// A credential only declared in a label (AcceptDeclaredCredentials,
	// development only) is looked up in CredentialBindings alone, never in
	// the credential store: a declaration must not borrow the identity of a
	// key the registree does not hold.
	var credBinding CredentialBinding
	hasBinding := false
	if req.Peer.Authenticated {
		credBinding, hasBinding = c.binding(req.Peer.CredentialID)
	} else if c.cfg.AcceptDeclaredCredentials {
		for _, l := range resource.StringList(b["lbl"]) {
			if id, ok := strings.CutPrefix(l, credentialLabel); ok {
				bound, ok := c.cfg.CredentialBindings[id]
				credBinding, hasBinding = CredentialBinding{CSEID: bound}, ok && id != ""
			}
		}
	}
	// takeOver: a registree that authenticated with a bound credential but
	// does not know its CSE-ID has lost its state; a <remoteCSE> still
	// registered for that CSE-ID is a leftover of its earlier life
	// (registration-security.md 4.7) and is replaced, so that it learns
	// its CSE-ID again (4117 would tell it nothing).
	takeOver := false
	if hasBinding && credBinding.CSEID != "" {
		bound := c.spRelative(credBinding.CSEID)
		takeOver = cseID == "" && csi == ""
		if cseID != "" && cseID != bound {
			return nil, primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q does not match the CSE-ID %s assigned to its credential", cseID, bound)
		}
		if csi != "" && csi != bound {
			return nil, primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "attribute \"csi\" %q does not match the CSE-ID %s assigned to the credential", csi, bound)
		}
		cseID = bound
	}
	if cseID == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the originator (fr) is missing and no CSE-ID is assigned to the registree's credential")
	}
	if csi != "" && csi != cseID {
		// Release 3 overwrote csi with From; the change request makes the
		// disagreement an error.
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"csi\" %q differs from the originator %q", csi, cseID)
	}
	if !resource.IsCSEID(cseID) || strings.HasPrefix(cseID, "//") {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "%q is not an SP-relative CSE-ID", cseID)
	}
	if cseID == c.cfg.CSEID {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a CSE cannot register with itself (%s)", cseID)
	}
	// cb: the registree's CSEBase, stored as an absolute address (the change
	// request). "-" in place of the CSE-ID is the assigned one.
	cb := b["cb"].(string)
	a, _ := primitive.ParseAddress(cb)
	if a.Scope == primitive.ScopeAbsolute && a.SPID != c.cfg.SPID {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"cb\" %q belongs to another service provider", cb)
	}
	if a.CSEID != "/-" && a.CSEID != cseID {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"cb\" %q is not a CSEBase of %s", cb, cseID)
	}
	b["cb"] = c.cfg.SPID + cseID + "/" + a.Path
	b["csi"] = cseID
	if err := c.checkDCSE(b["dcse"], cseID); err != nil {
		return nil, err
	}
	ri := cseID[1:]
	r := &resource.Resource{Ty: resource.TyRemoteCSE, RI: ri, RN: ri, Creator: cseID, Attrs: b}
	if rn, ok := b["rn"].(string); ok {
		r.RN = rn
	}
	if _, ok := b["cr"]; ok {
		b["cr"] = cseID
	}
	now := c.now()
	var created *resource.Resource
	err = c.write(ctx, func(tx store.Tx, ev *events) error {
		if takeOver {
			if old, err := tx.Get(ri); err == nil && old.Ty == resource.TyRemoteCSE && c.spRelative(old.Str("csi")) == cseID {
				c.log.InfoContext(ctx, "replacing the leftover registration of a CSE that lost its CSE-ID", "csi", cseID)
				if err := c.deleteInTx(tx, ev, old); err != nil {
					return err
				}
			}
		}
		if err := c.checkNewCSR(tx, parent, cseID); err != nil {
			return err
		}
		nr, err := c.insertNew(tx, r, parent, b, now)
		if err != nil {
			return err
		}
		created = nr
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "CSEBase")
	}
	c.log.InfoContext(ctx, "CSE registered", "csi", cseID, "rqi", req.RQI)
	c.csrChanged(ctx)
	return c.createdResponse(req, created, b), nil
}

// checkDCSE refuses a dcse (of the <remoteCSE> of csi) that would make a
// loop in the tree: one listing this CSE, its registrar or csi itself.
func (c *CSE) checkDCSE(v any, csi string) error {
	for _, d := range resource.StringList(v) {
		if d := c.spRelative(d); d == c.cfg.CSEID || d == csi || d == c.cfg.Registrar.CSEID {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute \"dcse\" lists %s, which is not a descendant of %s", d, csi)
		}
	}
	return nil
}

// checkNewCSR refuses a second registration of a CSE-ID (4117).
func (c *CSE) checkNewCSR(tx store.Tx, parent *resource.Resource, cseID string) error {
	csrs, err := tx.Children(parent.RI, store.ChildQuery{Types: []int{resource.TyRemoteCSE}})
	if err != nil {
		return err
	}
	for _, r := range csrs {
		if c.spRelative(r.Str("csi")) == cseID && !c.expired(r) {
			return primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "the CSE %s is already registered", cseID)
		}
	}
	return nil
}

// csrChanged rebuilds the routing table after a <remoteCSE> changed and lets
// the registree loop tell the registrar about new descendants.
func (c *CSE) csrChanged(ctx context.Context) {
	if err := c.reloadRoutes(context.WithoutCancel(ctx)); err != nil {
		c.log.WarnContext(ctx, "routing table", "err", err)
	}
	select {
	case c.reg.kick <- struct{}{}:
	default:
	}
}

// csrGone follows the deletion of a resource: for a <remoteCSE>, the routing
// table. by is the originator that deleted it ("" for expiry): when the
// registrar deletes its own <remoteCSE> here, it has deregistered this CSE,
// which then does not register again by itself.
func (c *CSE) csrGone(ctx context.Context, r *resource.Resource, by string) {
	if r == nil || r.Ty != resource.TyRemoteCSE {
		return
	}
	if csi := c.spRelative(r.Str("csi")); csi == c.cfg.Registrar.CSEID && by != "" {
		c.reg.stopped.Store(true)
		c.log.InfoContext(ctx, "deregistered from the registrar", "registrar", csi, "by", by)
	}
	c.csrChanged(ctx)
}

// deregisterPeer is the first half of a DELETE of a <remoteCSE>
// (deregistration, TS-0001 10.2.2.10): unless the peer CSE itself asks, its
// <remoteCSE> for this CSE is deleted first; if that fails the local one
// stays. The originator must have the right to delete the local one.
func (c *CSE) deregisterPeer(ctx context.Context, req *primitive.Request, o *originator, r *resource.Resource) error {
	peer := c.spRelative(r.Str("csi"))
	if o.id == peer || r.PI != c.base.RI {
		return nil
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		return c.authorize(tx, req, o, accessCheck{op: acp.OpDelete, target: r})
	})
	if err != nil {
		return storeErr(err, req.To)
	}
	if peer == c.cfg.Registrar.CSEID {
		if err := c.lockRound(ctx); err != nil {
			return err
		}
		defer c.unlockRound()
	}
	resp, err := c.send(ctx, peer, r.Strings("poa"), &primitive.Request{Op: primitive.OpDelete, To: peer + "/" + c.cfg.CSEID[1:], From: c.cfg.CSEID, RQI: "dereg-" + randomID(8), RVI: "3", RCN: primitive.RCNAbsent})
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCDeleted && resp.RSC != primitive.RSCNotFound {
		return primitive.Errorf(resp.RSC, "the CSE %s refused to delete its <remoteCSE> for %s: %s", peer, c.cfg.CSEID, dbg(resp))
	}
	if peer == c.cfg.Registrar.CSEID {
		// Deregistered on purpose: the registree loop (held off by the
		// round taken above) must not register again.
		c.reg.stopped.Store(true)
	}
	return nil
}

// dbg is the debug text of an error response.
func dbg(r *primitive.Response) string {
	s, _ := r.PC["m2m:dbg"].(string)
	return s
}

// descendants is the dcse this CSE reports to its registrar: every CSE
// registered with it and their descendants, sorted.
func (rt *routes) descendants() []string {
	var out []string
	for csi, e := range rt.byCSI {
		if e == rt.registrar {
			continue
		}
		out = append(out, csi)
		out = append(out, e.dcse...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// runRegistrar checks the CSEs registered here until ctx ends: a registree
// that has not answered a RETRIEVE of its <CSEBase> for RegistreeTimeout is
// removed (registration-security.md 4.7, "checkLiveliness"). When it comes
// back, its own liveness check registers it again.
func (c *CSE) runRegistrar(ctx context.Context) {
	iv := c.cfg.LivenessInterval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	failing := map[string]time.Time{} // by resource ID: first failure
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rt := c.routeTable()
		for csi, e := range rt.byCSI {
			if e == rt.registrar {
				continue
			}
			_, err := c.send(ctx, csi, e.poa, c.outgoing(primitive.OpRetrieve, csi))
			if err == nil {
				delete(failing, e.ri)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			first, ok := failing[e.ri]
			if !ok {
				failing[e.ri] = c.now()
				continue
			}
			if c.now().Sub(first) < c.cfg.RegistreeTimeout {
				continue
			}
			delete(failing, e.ri)
			c.log.InfoContext(ctx, "registered CSE unreachable: removing its <remoteCSE>", "csi", csi, "since", first)
			if err := c.dropLocalCSR(ctx, e.ri); err != nil {
				c.log.WarnContext(ctx, "removing an unreachable CSE", "csi", csi, "err", err)
			}
			c.csrChanged(ctx)
		}
	}
}

// RegistreeAt returns the CSE-ID of the registree CSE one of whose https
// points of access is at hostport ("host:port"; no port in the poa means
// 443). The server uses it to open the second security association of
// TS-0003 8.2.1 (the registrar as the TLS client, with the registree's
// credential) towards that address.
func (c *CSE) RegistreeAt(hostport string) (string, bool) {
	rt := c.routeTable()
	for csi, e := range rt.byCSI {
		if e == rt.registrar {
			continue
		}
		for _, p := range e.poa {
			u, err := url.Parse(p)
			if err != nil || !strings.EqualFold(u.Scheme, "https") {
				continue
			}
			hp := u.Host
			if u.Port() == "" {
				hp = net.JoinHostPort(u.Hostname(), "443")
			}
			if hp == hostport {
				return csi, true
			}
		}
	}
	return "", false
}

// SARequirement says which requests need a security association.
type SARequirement int

const (
	// SANever: none (development set-ups on plain transports).
	SANever SARequirement = iota
	// SAFromOtherHosts: those from a peer whose address is known and is not
	// a loopback address. A request whose peer address the binding does not
	// know (MQTT: only the broker knows the sender, and authenticates it) is
	// not covered.
	SAFromOtherHosts
	// SAAlways: every one.
	SAAlways
)

// Applies reports whether a request from p needs an association.
func (r SARequirement) Applies(p primitive.Peer) bool {
	switch r {
	case SAAlways:
		return true
	case SAFromOtherHosts:
		return p.Addr.IsValid() && !p.Addr.IsLoopback()
	}
	return false
}
