package cse

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

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
// <serviceSubscribedNode> or <serviceSubscribedAppRule>; before that
// (nothing provisioned) the AEPolicy alone decides, as it did without
// subscriptions. (The rules, children of the <CSEBase>, outlive an expired
// profile and its nodes: registrations then get 4128.)

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
		// <serviceSubscribedNode>s are children of the <CSEBase>'s
		// <m2mServiceSubscriptionProfile>s and <serviceSubscribedAppRule>s
		// children of the <CSEBase>: listed by parent and type, each is an
		// index range, so that an AE registration costs the same with a
		// million AEs registered as with none (a walk of the whole tree did
		// not).
		base, err := tx.GetByPath(c.cfg.CSEName)
		if err != nil {
			return err
		}
		var nodes []*resource.Resource
		profiles, err := tx.Children(base.RI, store.ChildQuery{Types: []int{resource.TyMSSP}})
		if err != nil {
			return err
		}
		for _, p := range profiles {
			svsns, err := tx.Children(p.RI, store.ChildQuery{Types: []int{resource.TySVSN}})
			if err != nil {
				return err
			}
			for _, r := range svsns {
				if c.expired(r) {
					continue
				}
				any = true
				if c.sameCSE(r.Str("csi"), cseID) {
					nodes = append(nodes, r)
				}
			}
		}
		if !any {
			rules, err := tx.Children(base.RI, store.ChildQuery{Types: []int{resource.TyASAR}})
			if err != nil {
				return err
			}
			for _, r := range rules {
				if !c.expired(r) {
					any = true
					break
				}
			}
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

// checkAppRules runs the subscription check of an AE registration. The
// IN-CSE holds the data; an MN-CSE or ASN-CSE with a registrar asks the
// IN-CSE for it at each registration, so that it is always current
// (remoteNodeRules). It reports false when nothing is provisioned, so
// that the AEPolicy decides alone.
func (c *CSE) checkAppRules(ctx context.Context, reg *AERegistration) (bool, error) {
	var nr NodeRules
	var any bool
	var err error
	if c.cfg.CSEType != TypeIN && c.cfg.Registrar.URL != "" {
		nr, any, err = c.remoteNodeRules(ctx)
	} else {
		nr, any, err = c.localNodeRules(ctx, c.cfg.CSEID)
		if err != nil {
			err = storeErr(err, "service subscription")
		}
	}
	if err != nil {
		return true, err
	}
	if !any {
		return false, nil
	}
	return true, MatchAppRules(nr, c.cfg.CSEID, reg.CredentialID, reg.AppID, reg.Stem)
}

// remoteRules is what an MN-CSE or ASN-CSE last learnt from the IN-CSE.
type remoteRules struct {
	mu      sync.Mutex
	known   bool // fetched at least once
	any     bool
	rules   NodeRules
	fetched time.Time
}

// remoteNodeRules fetches the rules of this CSE's node from the IN-CSE
// (TS-0004 7.3.2.7: "if the registrar does not hold the data it fetches
// it"): a discovery of the <serviceSubscribedNode>s whose csi is this
// CSE-ID, then each of them and the rules they link. When the IN-CSE
// cannot be reached, the last answer is used; with none, a CSE that has
// never seen a subscription lets its policy decide, so that a field CSE
// keeps working before provisioning exists.
func (c *CSE) remoteNodeRules(ctx context.Context) (NodeRules, bool, error) {
	nr, any, err := c.fetchNodeRules(ctx)
	rr := &c.remote
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if err == nil {
		rr.known, rr.any, rr.rules, rr.fetched = true, any, nr, c.now()
		return nr, any, nil
	}
	if rr.known {
		c.log.Warn("application rules: the IN-CSE did not answer, using the rules fetched before", "fetched", rr.fetched, "err", err)
		return rr.rules, rr.any, nil
	}
	var pe *primitive.Error
	if errors.As(err, &pe) && pe.RSC == primitive.RSCServiceSubscriptionNotEstablished {
		return nr, true, err
	}
	c.log.Warn("application rules: the IN-CSE did not answer and none were fetched before", "err", err)
	return NodeRules{}, false, nil
}

func (c *CSE) fetchNodeRules(ctx context.Context) (NodeRules, bool, error) {
	in := c.inCSE()
	ask := func(to string, fc *primitive.FilterCriteria) (*primitive.Response, error) {
		req := primitive.NewRequest()
		req.Op, req.To, req.From, req.FromPresent, req.RVI = primitive.OpRetrieve, to, c.cfg.CSEID, true, "3"
		req.RQI = "rules-" + randomID(8)
		if fc != nil {
			req.FC, req.DRT = fc, 2
		}
		rsp, err := c.toIN(ctx, req)
		if err != nil {
			return nil, err
		}
		return rsp, nil
	}
	discover := func(ty []int, attrs []primitive.AttrCond, lim int) ([]string, error) {
		fc := primitive.NewFilterCriteria()
		fc.FU, fc.Ty, fc.Attrs, fc.Lim = primitive.FUDiscovery, ty, attrs, lim
		rsp, err := ask(in+"/"+strings.TrimPrefix(in, "/"), fc)
		if err != nil {
			return nil, err
		}
		if rsp.RSC != primitive.RSCOK {
			return nil, primitive.Errorf(primitive.RSCServiceSubscriptionNotEstablished, "the IN-CSE %s did not give the service subscription of this CSE: %d %v", in, rsp.RSC, rsp.PC["m2m:dbg"])
		}
		return resource.StringList(rsp.PC["m2m:uril"]), nil
	}
	nodes, err := discover([]int{resource.TySVSN}, []primitive.AttrCond{{Name: "csi", Value: c.cfg.CSEID}}, -1)
	if err != nil {
		return NodeRules{}, false, err
	}
	if len(nodes) == 0 {
		others, err := discover([]int{resource.TySVSN, resource.TyASAR}, nil, 1)
		if err != nil {
			return NodeRules{}, false, err
		}
		return NodeRules{}, len(others) > 0, nil
	}
	nr := NodeRules{Found: true}
	seen := map[string]bool{}
	get := func(id string, key string) (map[string]any, error) {
		to := id
		if !strings.HasPrefix(id, "/") {
			to = in + "/" + id
		}
		rsp, err := ask(to, nil)
		if err != nil {
			return nil, err
		}
		if rsp.RSC == primitive.RSCNotFound {
			return nil, nil // a dangling link allows nothing
		}
		if rsp.RSC != primitive.RSCOK {
			return nil, primitive.Errorf(primitive.RSCServiceSubscriptionNotEstablished, "the IN-CSE %s did not give %s: %d %v", in, id, rsp.RSC, rsp.PC["m2m:dbg"])
		}
		m, _ := rsp.PC[key].(map[string]any)
		return m, nil
	}
	for _, n := range nodes {
		svsn, err := get(n, "m2m:svsn")
		if err != nil {
			return NodeRules{}, true, err
		}
		for _, l := range resource.StringList(svsn["rlk"]) {
			a, err := get(l, "m2m:asar")
			if err != nil {
				return NodeRules{}, true, err
			}
			if a == nil {
				continue
			}
			ri, _ := a["ri"].(string)
			if seen[ri] {
				continue
			}
			seen[ri] = true
			r := &resource.Resource{RI: ri, Attrs: a}
			nr.Rules = append(nr.Rules, ruleFromResource(r))
		}
	}
	return nr, true, nil
}
