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

// originator is the checked identity of a request's From.
type originator struct {
	// id is the normalised originator: the AE-ID-Stem for an AE registered
	// here, the configured admin ID, or the SP-relative form of anything else.
	id    string
	admin bool
	// cse is set when the originator is another CSE (its CSE-ID) or an
	// entity of another CSE (an SP-relative AE-ID).
	cse bool
}

// localID converts an SP-relative or absolute ID that names something of this
// CSE into its CSE-relative form ("/id-in/Cabc" → "Cabc"), and an SP-relative
// S-stem ("/Sabc") into the stem. Other IDs come back SP-relative, with ok=false.
func (c *CSE) localID(id string) (string, bool) {
	if strings.HasPrefix(id, c.cfg.SPID+"/") {
		id = id[len(c.cfg.SPID):]
	} else if strings.HasPrefix(id, "//") {
		return id, false
	}
	if rest, ok := strings.CutPrefix(id, c.cfg.CSEID+"/"); ok {
		return rest, true
	}
	if strings.HasPrefix(id, "/S") && strings.Count(id, "/") == 1 {
		return id[1:], true
	}
	if !strings.HasPrefix(id, "/") {
		return id, true
	}
	return id, false
}

// CredentialBinding is the identity the M2M Service Provider bound to a
// credential (TS-0003 8.2.1: the registrar binds the association to one
// CSE-ID, or to AE-IDs): exactly one of CSEID and AEIDs is set.
type CredentialBinding struct {
	CSEID  string   // SP-relative CSE-ID of a CSE
	AEIDs  []string // AE-ID-Stems an AE may use
	AppIDs []string // App-IDs an AE may register with (none: any)
}

// binding returns the identity bound to a Credential-ID: from Credentials,
// else from the configured CredentialBindings.
func (c *CSE) binding(cred string) (CredentialBinding, bool) {
	if cred == "" {
		return CredentialBinding{}, false
	}
	if c.cfg.Credentials != nil {
		if b, ok := c.cfg.Credentials(cred); ok {
			return b, true
		}
	}
	if id, ok := c.cfg.CredentialBindings[cred]; ok {
		return CredentialBinding{CSEID: id}, true
	}
	return CredentialBinding{}, false
}

// checkAssociation checks From of a request that arrived over a security
// association against the identity bound to the association's credential
// (registration-security.md 6.7 and A.2; TS-0003 7.2.1, 8.2.1):
//   - a credential no longer known or valid: 4107 (the association no
//     longer stands);
//   - peer is an AE: From must be one of its AE-IDs (also for AE
//     registration; the App-ID is checked in registerAE): else 4106;
//   - peer is a CSE: From may be empty only for CSE registration
//     (registerCSE then takes the bound CSE-ID); else it must name the
//     bound CSE, a CSE below it, or an entity of one of those, or a CSE
//     that is not registered here (traffic the peer routes from elsewhere);
//     another registree's identity, this CSE's own, or an AE-ID-Stem of
//     this CSE is 4106.
func (c *CSE) checkAssociation(req *primitive.Request, isAECreate bool) error {
	b, ok := c.binding(req.Peer.CredentialID)
	if !ok {
		return primitive.Errorf(primitive.RSCSecurityAssociationRequired, "the credential of this security association is unknown, expired or revoked")
	}
	from := req.From
	if len(b.AEIDs) > 0 {
		id, local := c.localID(from)
		if !local || !slices.Contains(b.AEIDs, id) {
			what := ""
			if isAECreate {
				what = " (the AE-IDs it may register with)"
			}
			return primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q is not among the AE-IDs bound to the credential of this security association%s", from, what)
		}
		return nil
	}
	bound := c.spRelative(b.CSEID)
	if isAECreate {
		return primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "the security association is bound to the CSE %s, which cannot register as an AE", bound)
	}
	from = c.spRelative(from)
	if from == "" {
		if req.Op == primitive.OpCreate && req.Ty == resource.TyRemoteCSE {
			return nil
		}
		return primitive.Errorf(primitive.RSCBadRequest, "the originator (fr) is missing")
	}
	csi := c.cseOf(from)
	if csi == "" || csi == c.cfg.CSEID {
		return primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q is not an identity of the CSE %s bound to the credential of this security association", from, bound)
	}
	if csi == bound {
		return nil
	}
	rt := c.routeTable()
	if e, ok := rt.byDesc[csi]; ok && e.csi == bound {
		return nil // a descendant of the peer, its requests pass through it
	}
	if rt.below(csi) {
		return primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q belongs to another registree than the CSE %s bound to the credential of this security association", from, bound)
	}
	return nil
}

// originator checks From. Over a security association, checkAssociation
// first. Outside one, as TS-0004 7.3.2.1 says: a CSE-ID → 4107; an AE-ID
// of no AE registered here → 4106; any other form → 4000; with
// RequireSAForAEs every AE → 4107, and with RequireSAForCSEs every CSE
// (including a registration with an empty From) → 4107. AE registration is
// checked by the registration procedure itself. Without RequireSAForCSEs,
// CSEs of the registration tree and their AEs are accepted without an
// association (remoteOriginator).
func (c *CSE) originator(ctx context.Context, req *primitive.Request, isAECreate bool) (*originator, error) {
	from := req.From
	// Over an association From must be the association's identity, which
	// the administrator is not: the check comes before the admin's
	// exemption.
	if req.Peer.Authenticated {
		if err := c.checkAssociation(req, isAECreate); err != nil {
			return nil, err
		}
	}
	if from == c.cfg.Admin {
		return &originator{id: from, admin: true}, nil
	}
	if !req.Peer.Authenticated {
		if c.cfg.RequireSAForCSEs.Applies(req.Peer) && req.Op == primitive.OpCreate && req.Ty == resource.TyRemoteCSE {
			return nil, primitive.Errorf(primitive.RSCSecurityAssociationRequired, "CSE registration needs a security association")
		}
		if c.cfg.RequireSAForAEs.Applies(req.Peer) && (isAECreate || from != "" && !strings.HasPrefix(from, "/")) {
			return nil, primitive.Errorf(primitive.RSCSecurityAssociationRequired, "an AE needs a security association with this CSE")
		}
	}
	if isAECreate {
		return &originator{id: from}, nil // checked in registerAE
	}
	if o, ok := c.remoteOriginator(req); ok {
		return o, nil
	}
	id, local := c.localID(from)
	if !local || id == "" {
		if strings.HasPrefix(from, "/") && req.Peer.Authenticated {
			// It has an association (checkAssociation passed) but is
			// neither registered here nor reachable through a registree.
			return nil, primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q is not a CSE registered with this CSE or below it", from)
		}
		if strings.HasPrefix(from, "/") {
			return nil, primitive.Errorf(primitive.RSCSecurityAssociationRequired, "originator %q is a CSE or an entity of another CSE: it needs a security association", from)
		}
		return nil, primitive.Errorf(primitive.RSCBadRequest, "originator %q is not a valid ID", from)
	}
	if !primitive.IsAEStem(id) {
		if strings.HasPrefix(from, "/") && !strings.Contains(id, "/") {
			return nil, primitive.Errorf(primitive.RSCSecurityAssociationRequired, "originator %q needs a security association", from)
		}
		return nil, primitive.Errorf(primitive.RSCBadRequest, "originator %q is not an AE-ID-Stem (C… or S…)", from)
	}
	registered := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		r, err := store.Peek(tx, id) // only read, here
		if err != nil {
			return err
		}
		// An S-type AE registered with another CSE of the SP is announced
		// here, on the IN-CSE (aeannc.go).
		registered = (r.Ty == resource.TyAE || r.Ty == resource.TyAEAnnc && r.Str("lnk") != "INACTIVE") && r.PI == c.base.RI && !c.expired(r)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(err, "originator")
	}
	if !registered {
		return nil, primitive.Errorf(primitive.RSCOriginatorNotAuthenticated, "originator %q is not registered with this CSE", from)
	}
	return &originator{id: id}, nil
}
