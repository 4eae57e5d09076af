package cse

import (
	"context"
	"errors"
	"strings"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// <AEAnnc> for S-type AE-IDs (TS-0001 10.2.2.2 steps 005-007, TS-0004
// 7.4.5.2.1; registration-security.md 3.5 and A.3). S-type AE-ID-Stems are
// unique in the service provider's domain, so an MN- or ASN-CSE has the
// IN-CSE assign or confirm them: it creates (or updates) an <AEAnnc> there,
// whose resource ID is the stem.

// announcer is the AEPolicy of a CSE with a registrar: the allow-list
// decides admission, the IN-CSE decides S-type stems.
type announcer struct {
	allow AllowList
	c     *CSE
}

func (a *announcer) Admit(ctx context.Context, reg *AERegistration) error {
	return a.allow.Admit(ctx, reg)
}

// inCSE is the CSE-ID of the IN-CSE: configured, or the registrar when the
// registrar is the IN-CSE.
func (c *CSE) inCSE() string {
	if c.cfg.INCSEID != "" {
		return c.cfg.INCSEID
	}
	return c.cfg.Registrar.CSEID
}

// toIN sends a request of this CSE toward the IN-CSE: through the
// registrar, which forwards it.
func (c *CSE) toIN(ctx context.Context, req *primitive.Request) (*primitive.Response, error) {
	if c.routeTable().registrar == nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "this CSE is not registered: the IN-CSE cannot be reached")
	}
	return c.send(ctx, c.cfg.Registrar.CSEID, c.registrarPoA(), req)
}

func (a *announcer) announcement(reg *AERegistration, lnk string) map[string]any {
	m := map[string]any{"lnk": lnk, "api": reg.AppID}
	// Without a security association TS-0004 7.4.5.2.1 has the label
	// carry no credential.
	m["lbl"] = []any{credentialLabel + reg.CredentialID}
	return map[string]any{"m2m:aeA": m}
}

// AnnounceS creates the <AEAnnc> on the IN-CSE (From "S": the IN-CSE
// assigns the stem) or, for a stem the AE brought, updates the existing one
// or creates it. The IN-CSE's refusal is the registration's answer; an
// <AEAnnc> of another CSE's AE is 4117 (the AE-ID is registered elsewhere).
func (a *announcer) AnnounceS(ctx context.Context, reg *AERegistration) error {
	c := a.c
	in := c.inCSE()
	own := c.cfg.CSEID
	if reg.Stem != "S" {
		req := c.outgoing(primitive.OpUpdate, in+"/"+reg.Stem)
		req.From = own + "/" + reg.Stem
		req.Content = a.announcement(reg, own+"/"+reg.Stem)
		resp, err := c.toIN(ctx, req)
		if err != nil {
			return err
		}
		switch resp.RSC {
		case primitive.RSCUpdated:
			return nil
		case primitive.RSCOriginatorHasNoPrivilege:
			return primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "the AE-ID %s is registered with another CSE", reg.Stem)
		case primitive.RSCNotFound:
		default:
			return primitive.Errorf(resp.RSC, "the IN-CSE refused the AE-ID %s: %s", reg.Stem, dbg(resp))
		}
	}
	req := c.outgoing(primitive.OpCreate, in)
	req.Ty = resource.TyAEAnnc
	req.From = own + "/" + reg.Stem
	req.Content = a.announcement(reg, own+"/"+reg.Stem)
	resp, err := c.toIN(ctx, req)
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCCreated {
		return primitive.Errorf(resp.RSC, "the IN-CSE refused the AE-ID %s: %s", reg.Stem, dbg(resp))
	}
	annc, _ := resp.PC["m2m:aeA"].(map[string]any)
	ri, _ := annc["ri"].(string)
	if reg.Stem != "S" && ri != reg.Stem {
		return primitive.Errorf(primitive.RSCInternalServerError, "the IN-CSE announced %q instead of %s", ri, reg.Stem)
	}
	reg.Stem = ri
	return nil
}

// Deregistered marks the <AEAnnc> of a deregistered S-type AE INACTIVE on
// the IN-CSE (TS-0001 10.2.2.5), so that the stem stays held for it.
func (a *announcer) Deregistered(ctx context.Context, aei string) {
	c := a.c
	if !strings.HasPrefix(aei, "S") {
		return
	}
	req := c.outgoing(primitive.OpUpdate, c.inCSE()+"/"+aei)
	req.From = c.cfg.CSEID + "/" + aei
	req.Content = map[string]any{"m2m:aeA": map[string]any{"lnk": "INACTIVE"}}
	resp, err := c.toIN(ctx, req)
	if err == nil && resp.RSC != primitive.RSCUpdated {
		err = primitive.Errorf(resp.RSC, "%s", dbg(resp))
	}
	if err != nil {
		c.log.WarnContext(ctx, "marking the <AEAnnc> of a deregistered AE inactive", "aei", aei, "err", err)
	}
}

// announceAE creates an <AEAnnc> under the IN-CSE's <CSEBase> for an S-type
// AE registering with another CSE of the SP: From is "<CSE-ID>/S" (assign a
// stem) or "<CSE-ID>/S…" (confirm it), lnk the same address. It is decided
// by the registration policy, not by access control, like the registration
// it is part of.
func (c *CSE) announceAE(ctx context.Context, req *primitive.Request, o *originator, parent *resource.Resource) (*primitive.Response, error) {
	if c.cfg.CSEType != TypeIN {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "only the IN-CSE assigns S-type AE-IDs")
	}
	t, _ := resource.Lookup(resource.TyAEAnnc)
	b, err := body(req, t)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(primitive.OpCreate, b); err != nil {
		return nil, err
	}
	csi := c.cseOf(o.id)
	if len(o.id) <= len(csi)+1 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "an <AEAnnc> is created by the AE's registrar as /<CSE-ID>/S or /<CSE-ID>/<S-stem>, not %q", o.id)
	}
	stem := o.id[len(csi)+1:]
	if stem != "S" && !(primitive.IsAEStem(stem) && stem[0] == 'S') {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "only S-type AE-IDs are announced for registration, not %q", stem)
	}
	if lnk := c.spRelative(b["lnk"].(string)); lnk != o.id {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "attribute \"lnk\" %q must be the announcing AE's address %s", lnk, o.id)
	}
	if stem == "S" {
		stem = "S" + randomID(16)
	}
	api, _ := b["api"].(string)
	cred := ""
	for _, l := range resource.StringList(b["lbl"]) {
		if id, ok := strings.CutPrefix(l, credentialLabel); ok {
			cred = id
		}
	}
	// The IN-CSE validates against the subscription of the registrar's node
	// (TS-0001 10.2.2.2 step 006a; registration-security.md 3.5 step 1).
	reg := &AERegistration{From: o.id, Stem: stem, AppID: api, CredentialID: cred, Content: b}
	nr, provisioned, err := c.localNodeRules(ctx, csi)
	if err != nil {
		return nil, storeErr(err, "service subscription")
	}
	if provisioned {
		err = MatchAppRules(nr, csi, cred, api, stem)
	} else {
		err = c.cfg.AEPolicy.Admit(ctx, reg)
	}
	if err != nil {
		return nil, err
	}
	b["lnk"] = csi + "/" + stem
	b["aei"] = stem
	r := &resource.Resource{Ty: resource.TyAEAnnc, RI: stem, RN: stem, Creator: csi + "/" + stem, Attrs: b}
	if rn, ok := b["rn"].(string); ok {
		r.RN = rn
	}
	now := c.now()
	var created *resource.Resource
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(stem); err == nil {
			return primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "the AE-ID %s is registered already", stem)
		} else if !errors.Is(err, store.ErrNotFound) {
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
	c.log.InfoContext(ctx, "S-type AE announced", "aei", stem, "lnk", b["lnk"], "rqi", req.RQI)
	return c.createdResponse(req, created, b), nil
}
