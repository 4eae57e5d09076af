package cse

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// AE registration (TS-0001 10.2.2.2, TS-0004 7.4.5.2; registration-security.md
// 3). The core checks the From form, the content, the uniqueness of the AE-ID
// and the name; an AEPolicy decides what depends on provisioning and on other
// CSEs.

// AERegistration is what an AE registration policy decides on.
type AERegistration struct {
	From string // the From of the request, as sent ("" when absent)
	// Stem is the AE-ID-Stem the AE will get: the one From named, one the core
	// generated for a From of "", "C" (or "S" on the IN-CSE), or "S" while an
	// S stem still has to be assigned by the IN-CSE (on an MN or ASN).
	Stem         string
	AppID        string // api, already checked to start with R, N or r
	CredentialID string // the credential of the security association, if any
	// Content is the <AE> as requested (read only).
	Content map[string]any
}

// AEPolicy is the registrar's side of AE registration that depends on data
// or entities outside this CSE. The core calls Admit for every CREATE <AE>
// after its own checks and before anything is stored; on an MN-CSE or
// ASN-CSE it then calls AnnounceS for every S-type stem, and Deregistered
// after an <AE> is gone (DELETE or expiry). Errors should be
// *primitive.Error; they are answered as they are.
type AEPolicy interface {
	// Admit is step 003 of TS-0001 10.2.2.2: whether this App-ID and stem may
	// register with this CSE. The M2M service subscription check
	// (<serviceSubscribedNode>/<serviceSubscribedAppRule>, TS-0004 7.3.2.7)
	// goes here: no profile for this CSE → 4128, no matching rule → 4126.
	Admit(ctx context.Context, reg *AERegistration) error
	// AnnounceS obtains or confirms an S-type AE-ID on an MN-CSE or ASN-CSE
	// by creating or updating the <AEAnnc> on the IN-CSE (TS-0004 7.4.5.2.1,
	// registration-security.md 3.5). When reg.Stem is "S" it must set
	// reg.Stem to the stem the IN-CSE assigned.
	AnnounceS(ctx context.Context, reg *AERegistration) error
	// Deregistered reports that the <AE> with this AE-ID has been deleted, for
	// example to set the link of an S-type AE's <AEAnnc> on the IN-CSE to
	// INACTIVE (TS-0004 7.4.5.2.4). It runs after the deletion is committed.
	Deregistered(ctx context.Context, aei string)
}

// AllowList is the fallback AEPolicy, used when no service subscription data
// is provisioned: the stem must match one of the patterns ('*' stands for any
// run of characters). It cannot reach an IN-CSE, so on an MN-CSE or ASN-CSE
// S-type AE-IDs are refused.
type AllowList []string

// Admit answers 4126 APP_RULE_VALIDATION_FAILED for a stem that matches no
// pattern, whatever form From had (TS-0004 7.3.2.7; registration-security.md
// 3.4 on why not ACME's 4107).
func (a AllowList) Admit(_ context.Context, reg *AERegistration) error {
	for _, p := range a {
		if matchWildcard(p, reg.Stem) {
			return nil
		}
	}
	return primitive.Errorf(primitive.RSCAppRuleValidationFailed, "the AE-ID %q is not allowed to register with this CSE", reg.Stem)
}

// AnnounceS fails: an allow-list knows no IN-CSE.
func (AllowList) AnnounceS(context.Context, *AERegistration) error {
	return primitive.Errorf(primitive.RSCTargetNotReachable, "an S-type AE-ID must be assigned or confirmed by the IN-CSE, which this CSE cannot reach")
}

// Deregistered does nothing.
func (AllowList) Deregistered(context.Context, string) {}

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
			return "S", nil // assigned by the IN-CSE through AnnounceS
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
	if id == c.cfg.Admin {
		// The admin originator is not an AE: registering it would give some
		// application an AE-ID that every request already treats as the admin.
		return "", primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "the AE-ID %q is reserved for the CSE's administrator", id)
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

// registerAE creates an <AE>: AE registration (TS-0001 10.2.2.2, TS-0004
// 7.4.5.2.1). No access control policy is evaluated; the registration policy
// is. stem comes from assignStem; b is the validated content.
func (c *CSE) registerAE(ctx context.Context, req *primitive.Request, parent *resource.Resource, stem string, b map[string]any) (*primitive.Response, error) {
	api := b["api"].(string)
	if err := checkAppID(api, req.RVI); err != nil {
		return nil, err
	}
	if req.Peer.Authenticated {
		// An App-ID bound to the credential (registration-security.md A.3;
		// no code is named, 4126 is the one for an App-ID refused).
		if cb, ok := c.binding(req.Peer.CredentialID); ok && len(cb.AppIDs) > 0 && !slices.Contains(cb.AppIDs, api) {
			return nil, primitive.Errorf(primitive.RSCAppRuleValidationFailed, "App-ID %q is not allowed by the credential of this security association", api)
		}
	}
	reg := &AERegistration{From: req.From, Stem: stem, AppID: api, CredentialID: req.Peer.CredentialID, Content: b}
	// The service subscription's application rules decide when this CSE
	// holds any (apprules.go); otherwise the policy does.
	if handled, err := c.checkAppRules(ctx, reg); err != nil {
		return nil, err
	} else if !handled {
		if err := c.cfg.AEPolicy.Admit(ctx, reg); err != nil {
			return nil, err
		}
	}
	if c.cfg.CSEType != TypeIN && strings.HasPrefix(reg.Stem, "S") {
		// Refuse what will be refused anyway before asking the IN-CSE.
		if err := c.st.View(ctx, func(tx store.Tx) error { return c.checkNewAE(tx, parent, reg.Stem, b) }); err != nil {
			return nil, storeErr(err, "CSEBase")
		}
		if err := c.cfg.AEPolicy.AnnounceS(ctx, reg); err != nil {
			return nil, err
		}
		if !primitive.IsAEStem(reg.Stem) || reg.Stem[0] != 'S' || reg.Stem == "S" {
			return nil, primitive.Errorf(primitive.RSCInternalServerError, "the IN-CSE assigned %q, which is not an S-type AE-ID-Stem", reg.Stem)
		}
	}
	stem = reg.Stem
	now := c.now()
	r := &resource.Resource{Ty: resource.TyAE, RI: stem, Creator: stem, Owner: stem, Attrs: b}
	if rn, ok := b["rn"].(string); ok {
		r.RN = rn
	}
	b["aei"] = stem
	var created *resource.Resource
	err := c.write(ctx, func(tx store.Tx, ev *events) error {
		if err := c.checkNewAE(tx, parent, stem, b); err != nil {
			return err
		}
		if old, err := tx.Get(stem); err == nil {
			// Expired but not yet removed by the expiry loop: it goes now.
			if err := c.deleteInTx(tx, ev, old); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		nr, err := c.insertNew(tx, r, parent, b, now)
		if err != nil {
			return err
		}
		base, err := tx.Get(parent.RI)
		if err != nil {
			return err
		}
		if err := ev.created(tx, base, nr); err != nil {
			return err
		}
		created = nr
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "CSEBase")
	}
	c.log.InfoContext(ctx, "AE registered", "aei", stem, "api", api, "rqi", req.RQI)
	created = c.announce(ctx, created, nil, true)
	return c.createdResponse(req, created, b), nil
}

// checkNewAE refuses a registration whose AE-ID is registered already (4117,
// TS-0004 7.4.5.2.1) or whose name is taken (4105). An expired <AE> the
// expiry loop has not removed yet does not count.
func (c *CSE) checkNewAE(tx store.Tx, parent *resource.Resource, stem string, b map[string]any) error {
	if old, err := tx.Get(stem); err == nil {
		if !c.expired(old) {
			return primitive.Errorf(primitive.RSCOriginatorHasAlreadyRegistered, "an AE with the AE-ID %q is already registered", stem)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if rn, ok := b["rn"].(string); ok {
		if old, err := tx.GetByPath(parent.Path + "/" + rn); err == nil && !(old.RI == stem && c.expired(old)) {
			return primitive.Errorf(primitive.RSCConflict, "a resource named %q already exists under %s", rn, parent.Path)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// aeGone tells the policy that an <AE> has been deleted.
func (c *CSE) aeGone(ctx context.Context, r *resource.Resource) {
	if r != nil && r.Ty == resource.TyAE {
		c.cfg.AEPolicy.Deregistered(context.WithoutCancel(ctx), r.RI)
	}
}
