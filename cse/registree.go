package cse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// CSE registration, registree side (TS-0001 10.2.2.7 steps 001-008 and the
// change request's 10.1.1.2.1; registration-security.md 4.2, 4.7 and A.5):
// register on start-up, keep the registration alive, report descendants,
// re-register when the registrar has lost it.

// runRegistree maintains the registration until ctx ends: at once, then at
// every LivenessInterval and whenever a <remoteCSE> of this CSE changed.
func (c *CSE) runRegistree(ctx context.Context) {
	iv := c.cfg.LivenessInterval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if c.lockRound(ctx) != nil {
			return
		}
		if !c.reg.stopped.Load() {
			if err := c.maintainRegistration(ctx); err != nil && ctx.Err() == nil {
				c.log.WarnContext(ctx, "registration with the registrar", "registrar", c.cfg.Registrar.CSEID, "err", err)
			}
		}
		c.unlockRound()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.reg.kick:
		}
	}
}

// registrarPoA lists where the registrar is reached: the configured address
// first, then what its <CSEBase> announced.
func (c *CSE) registrarPoA() []string {
	poa := []string{c.cfg.Registrar.URL}
	if rt := c.routeTable(); rt.registrar != nil {
		for _, p := range rt.registrar.poa {
			if !slices.Contains(poa, p) {
				poa = append(poa, p)
			}
		}
	}
	return poa
}

func (c *CSE) outgoing(op primitive.Operation, to string) *primitive.Request {
	return &primitive.Request{Op: op, To: to, From: c.cfg.CSEID, RQI: "reg-" + randomID(10), RVI: "3", RCN: primitive.RCNAbsent}
}

// ownCSRAtRegistrar is the address of this CSE's <remoteCSE> at the
// registrar (its resource ID is the CSE-ID without '/').
func (c *CSE) ownCSRAtRegistrar() string { return c.cfg.Registrar.CSEID + "/" + c.cfg.CSEID[1:] }

// maintainRegistration makes one round: register when there is no local
// <remoteCSE> for the registrar; otherwise check that the registrar still
// knows this CSE (re-register if not) and that it has the current dcse.
func (c *CSE) maintainRegistration(ctx context.Context) error {
	rt := c.routeTable()
	if rt.registrar == nil {
		return c.register(ctx)
	}
	resp, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), c.outgoing(primitive.OpRetrieve, c.ownCSRAtRegistrar()))
	if err != nil {
		return err
	}
	switch resp.RSC {
	case primitive.RSCOK:
		return c.pushDescendants(ctx, resp)
	case primitive.RSCNotFound, primitive.RSCSecurityAssociationRequired, primitive.RSCOriginatorNotAuthenticated:
		// The registrar lost this registration (its data was reset; it then
		// no longer accepts this CSE as an originator, 4107/4106): the local
		// <remoteCSE> is stale, register again.
		c.log.InfoContext(ctx, "the registrar no longer knows this CSE: registering again", "registrar", c.cfg.Registrar.CSEID)
		if err := c.dropLocalCSR(ctx, rt.registrar.ri); err != nil {
			return err
		}
		return c.register(ctx)
	}
	return fmt.Errorf("retrieving the own <remoteCSE> at the registrar: %d %s", resp.RSC, dbg(resp))
}

// pushDescendants UPDATEs the own <remoteCSE> at the registrar when its dcse
// differs from this CSE's descendants, or its poa from this CSE's points of
// access (TS-0004 7.4.4.2.3; registration-security.md 4.6).
func (c *CSE) pushDescendants(ctx context.Context, cur *primitive.Response) error {
	csr, _ := cur.PC["m2m:csr"].(map[string]any)
	change := map[string]any{}
	want := c.routeTable().descendants()
	have := resource.StringList(csr["dcse"])
	slices.Sort(have)
	if !slices.Equal(want, have) {
		change["dcse"] = anyList(want)
	}
	if poa := c.base.Strings("poa"); !slices.Equal(poa, resource.StringList(csr["poa"])) {
		change["poa"] = anyList(poa)
	}
	if len(change) == 0 {
		return nil
	}
	req := c.outgoing(primitive.OpUpdate, c.ownCSRAtRegistrar())
	req.Content = map[string]any{"m2m:csr": change}
	resp, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), req)
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCUpdated {
		return fmt.Errorf("updating the own <remoteCSE> at the registrar: %d %s", resp.RSC, dbg(resp))
	}
	return nil
}

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// registrationContent is the <remoteCSE> a registree asks its registrar to
// create (registration-security.md 4.3): cb is the absolute address of this
// CSE's <CSEBase> (the change request), "-" standing for a CSE-ID still to
// be assigned.
func registrationContent(cfg *Config, base *resource.Resource, dcse []string) map[string]any {
	csi := cfg.CSEID
	if csi == "" {
		csi = "/-"
	}
	m := map[string]any{
		"cb":   cfg.SPID + csi + "/" + cfg.CSEName,
		"cst":  int64(cfg.CSEType),
		"rr":   true,
		"srv":  []any{"2a", "3", "4", "5"},
		"csz":  []any{"application/json", "application/cbor"},
		"poa":  anyList(cfg.PoA),
		"dcse": anyList(dcse),
	}
	if cfg.CSEID != "" {
		m["csi"] = cfg.CSEID
	}
	if base != nil {
		for _, k := range []string{"srv", "csz", "poa"} {
			if v, ok := base.Attrs[k]; ok {
				m[k] = v
			}
		}
	}
	if cfg.CredentialID != "" {
		m["lbl"] = []any{credentialLabel + cfg.CredentialID}
	}
	return map[string]any{"m2m:csr": m}
}

// register performs steps 001-008: CREATE the <remoteCSE> at the registrar
// (or take over the one a previous run left there), RETRIEVE the registrar's
// <CSEBase>, create the local <remoteCSE> for the registrar from it.
func (c *CSE) register(ctx context.Context) error {
	reg := c.cfg.Registrar
	req := c.outgoing(primitive.OpCreate, reg.CSEID+"/"+reg.Name)
	req.Ty = resource.TyRemoteCSE
	req.Content = registrationContent(&c.cfg, c.base, c.routeTable().descendants())
	resp, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), req)
	if err != nil {
		return err
	}
	switch resp.RSC {
	case primitive.RSCCreated:
	case primitive.RSCOriginatorHasAlreadyRegistered, primitive.RSCConflict:
		// Left over from an earlier run of this CSE (its local data was
		// lost, or it acquired its CSE-ID before this start): take it over
		// if it is ours (registration-security.md 4.7).
		cur, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), c.outgoing(primitive.OpRetrieve, c.ownCSRAtRegistrar()))
		if err != nil {
			return err
		}
		csr, _ := cur.PC["m2m:csr"].(map[string]any)
		if cur.RSC != primitive.RSCOK || c.spRelative(fmt.Sprint(csr["csi"])) != c.cfg.CSEID {
			return fmt.Errorf("the registrar answered %d to the registration and %d to reading the existing <remoteCSE>: %s", resp.RSC, cur.RSC, dbg(resp))
		}
	default:
		return fmt.Errorf("the registrar refused the registration: %d %s", resp.RSC, dbg(resp))
	}
	cbResp, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), c.outgoing(primitive.OpRetrieve, reg.CSEID+"/"+reg.Name))
	if err != nil {
		return err
	}
	cb, _ := cbResp.PC["m2m:cb"].(map[string]any)
	if cbResp.RSC != primitive.RSCOK || cb == nil {
		return fmt.Errorf("retrieving the registrar's <CSEBase>: %d %s", cbResp.RSC, dbg(cbResp))
	}
	if csi, _ := cb["csi"].(string); c.spRelative(csi) != reg.CSEID {
		return fmt.Errorf("the registrar's <CSEBase> has the CSE-ID %q, not the configured %s", csi, reg.CSEID)
	}
	if err := c.createRegistrarCSR(ctx, cb); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "registered with the registrar", "registrar", reg.CSEID, "cse-id", c.cfg.CSEID)
	return c.reloadRoutes(ctx)
}

// createRegistrarCSR stores the local <remoteCSE> for the registrar (TS-0001
// 10.2.2.7 steps 004 and 008), filled from its <CSEBase>; it has no dcse.
// Its creator is the registrar, which may thus read and delete it.
func (c *CSE) createRegistrarCSR(ctx context.Context, cb map[string]any) error {
	reg := c.cfg.Registrar
	rn, _ := cb["rn"].(string)
	if rn == "" {
		rn = reg.Name
	}
	a := map[string]any{"csi": reg.CSEID, "cb": c.cfg.SPID + reg.CSEID + "/" + rn, "rr": true}
	for _, k := range []string{"cst", "srv", "csz", "nl"} {
		if v, ok := cb[k]; ok {
			a[k] = v
		}
	}
	poa := []any{reg.URL}
	for _, p := range resource.StringList(cb["poa"]) {
		if p != reg.URL {
			poa = append(poa, p)
		}
	}
	a["poa"] = poa
	ri := reg.CSEID[1:]
	r := &resource.Resource{Ty: resource.TyRemoteCSE, RI: ri, RN: ri, Creator: reg.CSEID, Attrs: a}
	now := c.now()
	// The route goes in before the <remoteCSE> can be read: whoever sees
	// this CSE registered (a GET of the <remoteCSE>) can send through it at
	// once. reloadMu keeps a concurrent reload (from the store, still
	// without it) from dropping the route until the commit; the caller's
	// reload then rebuilds the table from the store.
	c.reg.reloadMu.Lock()
	defer c.reg.reloadMu.Unlock()
	prev := c.routeTable()
	c.reg.routes.Store(prev.withRegistrar(&route{ri: ri, csi: reg.CSEID, poa: resource.StringList(poa)}))
	err := c.st.Update(ctx, func(tx store.Tx) error {
		if old, err := tx.Get(ri); err == nil {
			if old.Ty == resource.TyRemoteCSE && old.PI == c.base.RI {
				return nil // made by a concurrent round
			}
			return fmt.Errorf("the resource ID %q of the registrar's <remoteCSE> is taken by %s", ri, old.Path)
		}
		if err := c.fill(r, c.base, now); err != nil {
			return err
		}
		return tx.Create(r)
	})
	if err != nil {
		c.reg.routes.Store(prev)
	}
	return err
}

// dropLocalCSR deletes a local <remoteCSE> and its subtree.
func (c *CSE) dropLocalCSR(ctx context.Context, ri string) error {
	err := c.write(ctx, func(tx store.Tx, ev *events) error {
		r, err := tx.Get(ri)
		if err != nil {
			return err
		}
		return c.deleteInTx(tx, ev, r)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return c.reloadRoutes(ctx)
}

// Deregister ends this CSE's registration with its registrar (TS-0001
// 10.2.2.10): DELETE its <remoteCSE> at the registrar, then the local one for
// the registrar. The CSE does not register again until it is restarted.
func (c *CSE) Deregister(ctx context.Context) error {
	// Whatever happens next, no round starts any more.
	c.reg.stopped.Store(true)
	if err := c.lockRound(ctx); err != nil {
		return err
	}
	defer c.unlockRound()
	rt := c.routeTable()
	if rt.registrar == nil {
		return nil
	}
	resp, err := c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), c.outgoing(primitive.OpDelete, c.ownCSRAtRegistrar()))
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCDeleted && resp.RSC != primitive.RSCNotFound {
		return primitive.Errorf(resp.RSC, "the registrar refused the deregistration: %s", dbg(resp))
	}
	c.log.InfoContext(ctx, "deregistered", "registrar", c.cfg.Registrar.CSEID)
	return c.dropLocalCSR(ctx, rt.registrar.ri)
}

// StoredCSEID returns the CSE-ID of the <CSEBase> in st, "" when st holds
// none: a CSE whose CSE-ID was assigned by its registrar keeps it there.
func StoredCSEID(ctx context.Context, st store.Store) (string, error) {
	var csi string
	err := st.View(ctx, func(tx store.Tx) error {
		bases, err := tx.Children("", store.ChildQuery{Types: []int{resource.TyCSEBase}})
		for _, b := range bases {
			csi = b.Str("csi")
		}
		return err
	})
	return csi, err
}

// AcquireCSEID registers a CSE that does not know its CSE-ID (cfg.CSEID is
// ""): the change request's case where the registrar assigns the CSE-ID
// pre-assigned to the registree's credential. It sends the CREATE
// <remoteCSE> without From and returns the csi of the answer. The CSE is
// then started with that CSE-ID; its registration round finds the
// <remoteCSE> made here and takes it over. A transport failure is returned
// as a *primitive.Error with 5103, so the caller can retry.
func AcquireCSEID(ctx context.Context, cfg Config) (string, error) {
	cfg.CSEID = ""
	c := &CSE{cfg: cfg, now: time.Now}
	c.reg.routes.Store(&routes{})
	reg := cfg.Registrar
	req := &primitive.Request{Op: primitive.OpCreate, To: reg.CSEID + "/" + reg.Name, RQI: "reg-" + randomID(10), RVI: "3", RCN: primitive.RCNAbsent, Ty: resource.TyRemoteCSE}
	req.Content = registrationContent(&cfg, nil, nil)
	resp, err := c.send(ctx, reg.CSEID, []string{reg.URL}, req)
	if err != nil {
		return "", err
	}
	if resp.RSC != primitive.RSCCreated {
		return "", fmt.Errorf("the registrar refused to register this CSE without a CSE-ID: %d %s", resp.RSC, dbg(resp))
	}
	csr, _ := resp.PC["m2m:csr"].(map[string]any)
	csi, _ := csr["csi"].(string)
	if csi = c.spRelative(csi); !resource.IsCSEID(csi) || csi[1] == '/' {
		return "", fmt.Errorf("the registrar assigned %q, which is not an SP-relative CSE-ID", csi)
	}
	return csi, nil
}
