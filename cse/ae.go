package cse

import (
	"context"
	"errors"
	"strings"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// AERegistration is what an AE registration policy decides on.
type AERegistration struct {
	From         string // the From of the request, as sent
	Stem         string // the AE-ID-Stem the AE will get
	AppID        string
	CredentialID string // the credential of the security association, if any
}

// assignStem picks the AE-ID-Stem for a registration from its From, for every
// case of TS-0001 10.2.2.2 step 002 (registration-security.md 3.3).
func (c *CSE) assignStem(from string) (string, error) {
	switch from {
	case "", "C":
		// No preference, or a registrar-assigned C stem. onecse's policy for an
		// absent From is a C stem (case d of step 004).
		return "C" + randomID(16), nil
	case "S":
		if c.cfg.CSEType != TypeIN {
			// An S stem is assigned by the IN-CSE through an <AEAnnc>, which needs
			// the registration of this CSE with its registrar.
			return "", primitive.Errorf(primitive.RSCTargetNotReachable, "an S-type AE-ID must be assigned by the IN-CSE, which this CSE cannot reach")
		}
		return "S" + randomID(16), nil
	}
	id, local := c.localID(from)
	if !local {
		return "", primitive.Errorf(primitive.RSCSecurityAssociationRequired, "originator %q is a CSE or an entity of another CSE: it needs a security association", from)
	}
	if id == strings.TrimPrefix(c.cfg.CSEID, "/") || strings.HasPrefix(from, "/") && !strings.Contains(from[1:], "/") && !primitive.IsAEStem(id) {
		return "", primitive.Errorf(primitive.RSCSecurityAssociationRequired, "originator %q is a CSE-ID: it needs a security association", from)
	}
	if !primitive.IsAEStem(id) {
		return "", primitive.Errorf(primitive.RSCBadRequest, "originator %q is not an AE-ID-Stem (C…, S…) nor empty", from)
	}
	return id, nil
}

// allowAE is the fallback registration policy: the stem must match one of
// the configured patterns. A failure is 4126 APP_RULE_VALIDATION_FAILED
// (TS-0004 7.3.2.7).
func (c *CSE) allowAE(reg AERegistration) error {
	for _, p := range c.cfg.AllowedAEOriginators {
		if matchWildcard(p, reg.Stem) {
			return nil
		}
	}
	return primitive.Errorf(primitive.RSCAppRuleValidationFailed, "the AE-ID %q is not allowed to register with this CSE", reg.Stem)
}

// registerAE creates an <AE>: AE registration (TS-0001 10.2.2.2, TS-0004
// 7.4.5.2.1). No access control policy is evaluated; the registration policy is.
func (c *CSE) registerAE(ctx context.Context, req *primitive.Request, parent *resource.Resource, b map[string]any) (*primitive.Response, error) {
	stem, err := c.assignStem(req.From)
	if err != nil {
		return nil, err
	}
	api := b["api"].(string)
	if api[0] == 'r' && req.RVI != "2a" && req.RVI != "3" && req.RVI != "" && req.RVI != "2" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "App-ID %q: a lower-case 'r' is only allowed up to Release 3", api)
	}
	reg := AERegistration{From: req.From, Stem: stem, AppID: api, CredentialID: req.Peer.CredentialID}
	if err := c.allowAE(reg); err != nil {
		return nil, err
	}
	now := c.now()
	r := &resource.Resource{Ty: resource.TyAE, RI: stem, Creator: stem, Owner: stem, Attrs: b}
	if rn, ok := b["rn"].(string); ok {
		r.RN = rn
	}
	b["aei"] = stem
	var created *resource.Resource
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if old, err := tx.Get(stem); err == nil {
			if !c.expired(old) {
				return primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "an AE with the AE-ID %q is already registered", stem)
			}
			if err := c.deleteInTx(tx, old); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := c.checkACPIRefs(tx, b); err != nil {
			return err
		}
		nr := r.Clone()
		if err := c.fill(nr, parent, now); err != nil {
			return err
		}
		if err := tx.Create(nr); err != nil {
			if errors.Is(err, store.ErrExists) {
				return primitive.Errorf(primitive.RSCConflict, "a resource named %q already exists under %s", nr.RN, parent.Path)
			}
			return err
		}
		created = nr
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "CSEBase")
	}
	c.log.Info("AE registered", "aei", stem, "api", api, "rqi", req.RQI)
	return c.createdResponse(req, created, b), nil
}
