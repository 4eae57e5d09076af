package acp

import (
	"math"
	"slices"
	"strings"
)

// Allows reports whether any rule of the set permits req ("permit-overrides",
// TS-0003 7.1.5). An empty set permits nothing.
//
// Group membership callbacks are only made after every rule has been tried
// with the cheap checks, so a rule that matches syntactically short-cuts any
// group lookups.
func (r Rules) Allows(env Env, req Request) bool {
	return AllowsAny(env, req, r)
}

// AllowsAny applies permit-overrides across the rule sets of several ACPs
// (e.g. the pv of every ACP listed in a resource's acpi).
func AllowsAny(env Env, req Request, sets ...Rules) bool {
	n := newIDs(env)
	co := "" // the canonical originator, computed once when first needed
	// Pass 1: everything except group membership.
	pending := false
	for _, rules := range sets {
		for i := range rules {
			rule := &rules[i]
			if !rule.matchesRequest(req) {
				continue
			}
			if co == "" && req.Originator != "" {
				co = n.canon(req.Originator)
			}
			if rule.matchesOriginatorID(n, req, co) {
				return true
			}
			pending = true
		}
	}
	if !pending || env.IsGroupMember == nil {
		return false
	}
	// Pass 2: rules that only lacked an originator match may still match
	// through a <group> in acor.
	for _, rules := range sets {
		for i := range rules {
			rule := &rules[i]
			if rule.matchesRequest(req) && rule.matchesGroup(n, env, req) {
				return true
			}
		}
	}
	return false
}

// Matches reports whether this single rule permits req.
func (r *Rule) Matches(env Env, req Request) bool {
	if !r.matchesRequest(req) {
		return false
	}
	n := newIDs(env)
	co := ""
	if req.Originator != "" {
		co = n.canon(req.Originator)
	}
	return r.matchesOriginatorID(n, req, co) || r.matchesGroup(n, env, req)
}

// matchesRequest checks every condition that does not involve the originator
// identity: operation, authentication, object details and contexts.
func (r *Rule) matchesRequest(req Request) bool {
	op := req.Operation
	if op == 0 || op&^OpAll != 0 || r.Operations&op != op {
		return false
	}
	if r.AuthRequired && !req.Authenticated {
		return false
	}
	if op&OpCreate != 0 && !r.objectDetailsMatch(req) {
		return false
	}
	return r.contextsMatch(req)
}

// matchesOriginatorID matches the acor entries against the originator in
// canonical form co ("" when there is no originator: nothing matches).
func (r *Rule) matchesOriginatorID(n ids, req Request, co string) bool {
	for _, pat := range r.Originators {
		if co != "" && n.matchCanon(pat, co) {
			return true
		}
		if isRoleID(pat) && slices.Contains(req.RoleIDs, pat) {
			return true
		}
	}
	return false
}

func (r *Rule) matchesGroup(n ids, env Env, req Request) bool {
	for _, pat := range r.Originators {
		if n.matchGroup(env, pat, req.Originator) {
			return true
		}
	}
	return false
}

// objectDetailsMatch evaluates acod for a CREATE: some entry must list the
// child type and, where given, agree with the target's type/specialization.
func (r *Rule) objectDetailsMatch(req Request) bool {
	if len(r.ObjectDetails) == 0 {
		return true
	}
	for _, od := range r.ObjectDetails {
		if od.Ty != nil && *od.Ty != req.TargetType {
			continue
		}
		if od.Spty != nil {
			// A mgmtDefinition only exists on <mgmtObj>; checking the type
			// also keeps TargetSpty's zero value from matching mgd 0.
			isMgmt := req.TargetType == tyMgmtObj || req.TargetType == tyMgmtObjAnnc
			if !isMgmt || req.TargetSpty != *od.Spty {
				continue
			}
		}
		if od.Cnd != "" && od.Cnd != req.TargetCnd {
			continue
		}
		if slices.Contains(od.ChildTypes, req.ChildType) {
			return true
		}
	}
	return false
}

// contextsMatch evaluates acco: no contexts, or any context matching.
func (r *Rule) contextsMatch(req Request) bool {
	if len(r.Contexts) == 0 {
		return true
	}
	for i := range r.Contexts {
		if r.Contexts[i].Matches(req) {
			return true
		}
	}
	return false
}

// Matches reports whether every present condition of the context holds for
// req (res_context = res_time AND res_ip AND res_loc, TS-0003 7.1.5).
func (c *Context) Matches(req Request) bool {
	return c.timeMatches(req) && c.ipMatches(req) && c.locationMatches(req)
}

func (c *Context) timeMatches(req Request) bool {
	if len(c.Windows) == 0 {
		return true
	}
	if req.Time.IsZero() {
		return false
	}
	for _, w := range c.Windows {
		if w.Matches(req.Time) {
			return true
		}
	}
	return false
}

func (c *Context) ipMatches(req Request) bool {
	if len(c.IPv4) == 0 && len(c.IPv6) == 0 {
		return true
	}
	if !req.Addr.IsValid() {
		return false
	}
	// Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; compare those
	// with the ipv4 list. Zones are irrelevant for prefix membership.
	addr := req.Addr.Unmap().WithZone("")
	list := c.IPv6
	if addr.Is4() {
		list = c.IPv4
	}
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (c *Context) locationMatches(req Request) bool {
	if len(c.CountryCodes) == 0 && c.Circle == nil {
		return true
	}
	if len(c.CountryCodes) > 0 {
		if req.Country == "" {
			return false
		}
		cc := strings.ToUpper(req.Country)
		if !slices.Contains(c.CountryCodes, cc) {
			return false
		}
	}
	if c.Circle != nil {
		if req.Location == nil {
			return false
		}
		return c.Circle.Contains(*req.Location)
	}
	return true
}

// earthRadius is the IUGG mean Earth radius in metres; the spherical model is
// accurate to ~0.5 %, plenty for access-control regions.
const earthRadius = 6371008.8

// Contains reports whether p lies within the circle (haversine distance on a
// spherical Earth, boundary inclusive).
func (c *Circle) Contains(p LatLon) bool {
	if math.IsNaN(p.Lat) || math.IsNaN(p.Lon) {
		return false
	}
	return distance(c.Lat, c.Lon, p.Lat, p.Lon) <= c.Radius
}

func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	a = math.Min(1, math.Max(0, a)) // guard rounding before Sqrt/Asin
	return 2 * earthRadius * math.Asin(math.Sqrt(a))
}
