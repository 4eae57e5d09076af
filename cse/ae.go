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
// case of TS-0001 10.2.2.2 step 002 (registration-security.md 3.3). It also
// makes the From checks of TS-0004 7.3.2.1 for an AE CREATE: a CSE-ID or an
// entity of another CSE → 4107 (onecse has no security associations yet), any
// other form that is not a stem → 4000.
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

// upToRelease3 reports whether rvi is Release 3 or older ("" is Release 1).
func upToRelease3(rvi string) bool {
	switch rvi {
	case "", "1", "2", "2a", "3":
		return true
	}
	return false
}

// checkAppID applies the App-ID rule of TS-0004 7.4.5.2.1 that depends on the
// release: a lower-case 'r' was tolerated up to Release 3.
func checkAppID(api, rvi string) error {
	if api[0] == 'r' && !upToRelease3(rvi) {
		return primitive.Errorf(primitive.RSCBadRequest, "attribute \"api\": App-ID %q starts with a lower-case 'r', which is only allowed up to Release 3", api)
	}
	return nil
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
// stem comes from assignStem, which create calls before anything else.
func (c *CSE) registerAE(ctx context.Context, req *primitive.Request, parent *resource.Resource, stem string, b map[string]any) (*primitive.Response, error) {
	api := b["api"].(string)
	if err := checkAppID(api, req.RVI); err != nil {
		return nil, err
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
	err := c.st.Update(ctx, func(tx store.Tx) error {
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
