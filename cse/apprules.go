package cse

import (
	"context"
	"errors"
	"strings"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Application rules at AE registration (TS-0001 10.2.2.2 step 003, 9.6.29;
// TS-0004 7.3.2.7; registration-security.md 5.3): the registrar finds the
// <serviceSubscribedNode> whose CSE-ID is its own, follows its ruleLinks to
// <serviceSubscribedAppRule> resources and admits the AE when one rule
// allows its Credential-ID, App-ID and AE-ID-Stem together.
//
// The rules are enforced as soon as this CSE holds at least one
// <serviceSubscribedNode>; before that (nothing provisioned) the
// AEPolicy alone decides, as it did without subscriptions.

// AppRule is one <serviceSubscribedAppRule> as the matching sees it.
type AppRule struct {
	ID      string
	CredIDs []string // apci: absent ⇔ the rule is for registrations without a security association
	AppIDs  []string // aai
	AEs     []string // aae
}

// NodeRules is what a registrar needs to decide: whether a subscription
// names it, and the rules its ruleLinks point to.
type NodeRules struct {
	Found bool // a <serviceSubscribedNode> with this CSE-ID exists
	Rules []AppRule
}

// ruleFromResource reads an <serviceSubscribedAppRule>.
func ruleFromResource(r *resource.Resource) AppRule {
	ar := AppRule{ID: r.RI, AppIDs: r.Strings("aai"), AEs: r.Strings("aae")}
	if _, ok := r.Attrs["apci"]; ok {
		ar.CredIDs = r.Strings("apci")
	}
	return ar
}

// localNodeRules collects the rules of the nodes whose csi is cseID from
// this CSE's own store. any tells whether any <serviceSubscribedNode> is
// stored at all.
func (c *CSE) localNodeRules(ctx context.Context, cseID string) (nr NodeRules, any bool, err error) {
	err = c.st.View(ctx, func(tx store.Tx) error {
		var nodes []*resource.Resource
		if err := tx.Walk(c.cfg.CSEName, []int{resource.TySVSN}, func(r *resource.Resource) bool {
			if c.expired(r) {
				return true
			}
			any = true
			if c.sameCSE(r.Str("csi"), cseID) {
				nodes = append(nodes, r)
			}
			return true
		}); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, n := range nodes {
			nr.Found = true
			for _, l := range n.Strings("rlk") {
				r, err := c.lookupLocal(tx, l)
				if errors.Is(err, store.ErrNotFound) {
					continue // a dangling link allows nothing
				}
				if err != nil {
					return err
				}
				if r.Ty != resource.TyASAR || c.expired(r) || seen[r.RI] {
					continue
				}
				seen[r.RI] = true
				nr.Rules = append(nr.Rules, ruleFromResource(r))
			}
		}
		return nil
	})
	return nr, any, err
}

// sameCSE compares two CSE-IDs in SP-relative or absolute form.
func (c *CSE) sameCSE(a, b string) bool {
	return a != "" && c.spRelative(a) == c.spRelative(b)
}

// lookupLocal finds a resource of this CSE by an unstructured or
// structured ID in CSE-relative, SP-relative or absolute form.
func (c *CSE) lookupLocal(tx store.Tx, id string) (*resource.Resource, error) {
	local, ok := c.localID(id)
	if !ok {
		return nil, store.ErrNotFound
	}
	if rest, ok := strings.CutPrefix(local, "-/"); ok {
		local = c.cfg.CSEName + "/" + rest
	}
	if strings.Contains(local, "/") {
		return tx.GetByPath(local)
	}
	r, err := tx.Get(local)
	if errors.Is(err, store.ErrNotFound) {
		return tx.GetByPath(c.cfg.CSEName + "/" + local)
	}
	return r, err
}

// MatchAppRules decides a registration against the rules of the
// registrar's node (registration-security.md 5.3): no node → 4128, no rule
// that allows the Credential-ID, App-ID and stem together → 4126. credID is
// "" without a security association; stem is the AE-ID-Stem the AE asked
// for ("C" or "S" when it left the choice to the CSE).
func MatchAppRules(nr NodeRules, registrar, credID, appID, stem string) error {
	if !nr.Found {
		return primitive.Errorf(primitive.RSCServiceSubscriptionNotEstablished, "no M2M service subscription names the CSE %s (no <serviceSubscribedNode> with this CSE-ID)", registrar)
	}
	if len(nr.Rules) == 0 {
		return primitive.Errorf(primitive.RSCAppRuleValidationFailed, "the service subscription of the CSE %s links no application rule: no AE may register with it", registrar)
	}
	for _, r := range nr.Rules {
		if r.allows(credID, appID, stem) {
			return nil
		}
	}
	cred := credID
	if cred == "" {
		cred = "none (no security association)"
	}
	return primitive.Errorf(primitive.RSCAppRuleValidationFailed, "no application rule of the CSE %s allows App-ID %q with AE-ID %q and Credential-ID %s", registrar, appID, stem, cred)
}

func (r *AppRule) allows(credID, appID, stem string) bool {
	if r.CredIDs == nil {
		if credID != "" {
			return false
		}
	} else if credID == "" || !anyMatch(r.CredIDs, credID) {
		return false
	}
	return anyMatch(r.AppIDs, appID) && anyMatch(r.AEs, stem)
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if matchWildcard(p, s) {
			return true
		}
	}
	return false
}

// checkAppRules runs the subscription check of an AE registration on this
// CSE's own data. It reports false when nothing is provisioned here, so
// that the AEPolicy decides alone.
func (c *CSE) checkAppRules(ctx context.Context, reg *AERegistration) (bool, error) {
	nr, any, err := c.localNodeRules(ctx, c.cfg.CSEID)
	if err != nil {
		return true, storeErr(err, "service subscription")
	}
	if !any {
		return false, nil
	}
	return true, MatchAppRules(nr, c.cfg.CSEID, reg.CredentialID, reg.AppID, reg.Stem)
}
