package cse

import (
	"context"
	"errors"
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

// originator checks From as TS-0004 7.3.2.1 says for a request that arrives
// outside a security association (onecse has none yet): a CSE-ID → 4107; an
// AE-ID of no AE registered here → 4106; any other form → 4000. AE
// registration is checked by the registration procedure itself. Until there
// are security associations, CSEs of the registration tree and their AEs
// are accepted without one unless RequireSAForCSEs (remoteOriginator).
func (c *CSE) originator(ctx context.Context, req *primitive.Request, isAECreate bool) (*originator, error) {
	from := req.From
	if from == c.cfg.Admin {
		return &originator{id: from, admin: true}, nil
	}
	if isAECreate {
		return &originator{id: from}, nil // checked in registerAE
	}
	if o, ok := c.remoteOriginator(req); ok {
		return o, nil
	}
	id, local := c.localID(from)
	if !local || id == "" {
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
		r, err := tx.Get(id)
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
