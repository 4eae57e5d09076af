package acp

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseError describes why a setOfAcrs was rejected. Path names the offending
// member in short-name notation, e.g. "pv.acr[1].acop"; the core can return
// Error() as the debug text of a 4000 BAD_REQUEST.
type ParseError struct {
	Path string
	Msg  string
}

func (e *ParseError) Error() string { return e.Path + ": " + e.Msg }

// Parse validates and converts a decoded privileges (pv) value, an
// m2m:setOfAcrs such as {"acr":[{"acor":["all"],"acop":2}]}. Error paths
// start with "pv". Use ParseAttr for selfPrivileges.
//
// An empty rule set ({} or {"acr":[]}) is valid (multiplicity 0..n) and
// grants nothing; a caller that needs at least one rule (pvs) checks len.
func Parse(v any) (Rules, error) { return ParseAttr("pv", v) }

// ParseAttr is Parse with the attribute name used as the start of error paths
// (normally "pv" or "pvs").
func ParseAttr(attr string, v any) (Rules, error) {
	p := parser{}
	rules := p.setOfAcrs(attr, v)
	if p.err != nil {
		return nil, p.err
	}
	return rules, nil
}

// parser records the first error; after it all methods become no-ops so that
// the conversion code can stay linear instead of checking after every call.
type parser struct{ err *ParseError }

func (p *parser) fail(path, format string, args ...any) {
	if p.err == nil {
		p.err = &ParseError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
}

func (p *parser) setOfAcrs(path string, v any) Rules {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, `must be an object {"acr":[...]}`)
		return nil
	}
	p.onlyKeys(path, m, "acr")
	raw, present := m["acr"]
	if !present || raw == nil {
		return Rules{}
	}
	list, ok := raw.([]any)
	if !ok {
		p.fail(path+".acr", "must be a list of access control rules")
		return nil
	}
	rules := make(Rules, 0, len(list))
	for i, item := range list {
		r := p.rule(fmt.Sprintf("%s.acr[%d]", path, i), item)
		if p.err != nil {
			return nil
		}
		rules = append(rules, r)
	}
	return rules
}

func (p *parser) rule(path string, v any) Rule {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object")
		return Rule{}
	}
	var r Rule

	// acor: mandatory, non-empty list of non-empty strings.
	if raw, ok := m["acor"]; !ok || raw == nil {
		p.fail(path+".acor", "is required")
	} else if list, ok := raw.([]any); !ok || len(list) == 0 {
		p.fail(path+".acor", "must be a non-empty list of originator IDs")
	} else {
		r.Originators = make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok || s == "" || hasSpaceOrControl(s) {
				p.fail(fmt.Sprintf("%s.acor[%d]", path, i), "must be a non-empty originator ID without white space")
				break
			}
			r.Originators = append(r.Originators, s)
		}
	}

	// acop: mandatory bit mask 1..63.
	if raw, ok := m["acop"]; !ok || raw == nil {
		p.fail(path+".acop", "is required")
	} else if n, ok := toInt(raw); !ok || n < 1 || n > int64(OpAll) {
		p.fail(path+".acop", "must be an integer 1..63")
	} else {
		r.Operations = uint32(n)
	}

	// acco: optional; a list of contexts or (TR-0051 style) one object.
	switch raw := m["acco"].(type) {
	case nil:
	case []any:
		for i, e := range raw {
			c := p.context(fmt.Sprintf("%s.acco[%d]", path, i), e)
			r.Contexts = append(r.Contexts, c)
		}
	case map[string]any:
		r.Contexts = []Context{p.context(path+".acco", raw)}
	default:
		p.fail(path+".acco", "must be a list of context objects")
	}

	// acaf: optional boolean, default false.
	switch raw := m["acaf"].(type) {
	case nil:
	case bool:
		r.AuthRequired = raw
	default:
		p.fail(path+".acaf", "must be a boolean")
	}

	// acod: optional list of object details.
	switch raw := m["acod"].(type) {
	case nil:
	case []any:
		for i, e := range raw {
			r.ObjectDetails = append(r.ObjectDetails, p.objectDetail(fmt.Sprintf("%s.acod[%d]", path, i), e))
		}
	default:
		p.fail(path+".acod", "must be a list of object details")
	}

	p.onlyKeys(path, m, "acor", "acop", "acco", "acaf", "acod")
	return r
}

func (p *parser) context(path string, v any) Context {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object")
		return Context{}
	}
	var c Context

	// actw: list of schedule entries.
	switch raw := m["actw"].(type) {
	case nil:
	case []any:
		for i, e := range raw {
			ep := fmt.Sprintf("%s.actw[%d]", path, i)
			s, ok := e.(string)
			if !ok {
				p.fail(ep, "must be a schedule entry string")
				break
			}
			sch, err := ParseSchedule(s)
			if err != nil {
				p.fail(ep, "%v", err)
				break
			}
			c.Windows = append(c.Windows, sch)
		}
	default:
		p.fail(path+".actw", "must be a list of schedule entries")
	}

	// acip: {ipv4:[...], ipv6:[...]}.
	switch raw := m["acip"].(type) {
	case nil:
	case map[string]any:
		ap := path + ".acip"
		c.IPv4 = p.prefixes(ap+".ipv4", raw["ipv4"], true)
		c.IPv6 = p.prefixes(ap+".ipv6", raw["ipv6"], false)
		p.onlyKeys(ap, raw, "ipv4", "ipv6")
	default:
		p.fail(path+".acip", "must be an object {ipv4:[...], ipv6:[...]}")
	}

	// aclr: m2m:locationRegion, an xs:choice of accc or accr.
	switch raw := m["aclr"].(type) {
	case nil:
	case map[string]any:
		p.locationRegion(path+".aclr", raw, &c)
	default:
		p.fail(path+".aclr", "must be an object {accc:[...]} or {accr:[lat,lon,radius]}")
	}

	p.onlyKeys(path, m, "actw", "acip", "aclr")
	return c
}

// prefixes parses a list of m2m:ipv4 / m2m:ipv6 values: an address with an
// optional CIDR suffix (a bare address means a host prefix).
func (p *parser) prefixes(path string, v any, v4 bool) []netip.Prefix {
	if v == nil {
		return nil
	}
	family := "IPv6"
	if v4 {
		family = "IPv4"
	}
	list, ok := v.([]any)
	if !ok {
		p.fail(path, "must be a list of %s addresses", family)
		return nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, e := range list {
		ep := fmt.Sprintf("%s[%d]", path, i)
		s, ok := e.(string)
		if !ok {
			p.fail(ep, "must be an %s address string with optional CIDR suffix", family)
			return nil
		}
		pfx, ok := parsePrefix(s, v4)
		if !ok {
			p.fail(ep, "%q is not an %s address with optional CIDR suffix", s, family)
			return nil
		}
		out = append(out, pfx)
	}
	return out
}

func parsePrefix(s string, v4 bool) (netip.Prefix, bool) {
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if pfx, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	// An IPv4-mapped IPv6 address is still an IPv6 literal; keep the
	// families strict so that ipv4 holds only dotted-decimal values.
	if pfx.Addr().Is4() != v4 {
		return netip.Prefix{}, false
	}
	return pfx.Masked(), true
}

func (p *parser) locationRegion(path string, m map[string]any, c *Context) {
	accc, hasCC := m["accc"]
	accr, hasCR := m["accr"]
	hasCC = hasCC && accc != nil
	hasCR = hasCR && accr != nil
	switch {
	case hasCC && hasCR:
		p.fail(path, "must contain either accc or accr, not both")
	case !hasCC && !hasCR:
		p.fail(path, "must contain accc or accr")
	case hasCC:
		list, ok := accc.([]any)
		if !ok || len(list) == 0 {
			p.fail(path+".accc", "must be a non-empty list of country codes")
			break
		}
		for i, e := range list {
			s, ok := e.(string)
			if !ok || !isCountryCode(s) {
				p.fail(fmt.Sprintf("%s.accc[%d]", path, i), "must be a 2-letter ISO 3166-1 country code")
				break
			}
			c.CountryCodes = append(c.CountryCodes, strings.ToUpper(s))
		}
	default:
		list, ok := accr.([]any)
		if !ok || len(list) != 3 {
			p.fail(path+".accr", "must be a list of 3 numbers [latitude, longitude, radius]")
			break
		}
		var f [3]float64
		for i, e := range list {
			if f[i], ok = toFloat(e); !ok {
				p.fail(fmt.Sprintf("%s.accr[%d]", path, i), "must be a number")
				return
			}
		}
		switch {
		case f[0] < -90 || f[0] > 90:
			p.fail(path+".accr[0]", "latitude must be within -90..90")
		case f[1] < -180 || f[1] > 180:
			p.fail(path+".accr[1]", "longitude must be within -180..180")
		case f[2] < 0:
			p.fail(path+".accr[2]", "radius must be a non-negative number of metres")
		default:
			c.Circle = &Circle{Lat: f[0], Lon: f[1], Radius: f[2]}
		}
	}
	p.onlyKeys(path, m, "accc", "accr")
}

func (p *parser) objectDetail(path string, v any) ObjectDetail {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object")
		return ObjectDetail{}
	}
	var od ObjectDetail
	if raw := m["ty"]; raw != nil {
		if n, ok := toInt(raw); ok && n > 0 {
			od.Ty = &n
		} else {
			p.fail(path+".ty", "must be a positive resource type number")
		}
	}
	// spty is m2m:specializationType: a mgmtDefinition (integer) or a
	// containerDefinition (string); the XML-derived object form
	// {"mgd":n} / {"cnd":"..."} is accepted as well.
	if raw := m["spty"]; raw != nil {
		p.specialization(path+".spty", raw, &od)
	}
	// chty is mandatory in every acod element (TS-0003 7.1.5).
	if raw, ok := m["chty"]; !ok || raw == nil {
		p.fail(path+".chty", "is required")
	} else if list, ok := raw.([]any); !ok || len(list) == 0 {
		p.fail(path+".chty", "must be a non-empty list of resource types")
	} else {
		for i, e := range list {
			n, ok := toInt(e)
			if !ok || n <= 0 {
				p.fail(fmt.Sprintf("%s.chty[%d]", path, i), "must be a positive resource type number")
				break
			}
			od.ChildTypes = append(od.ChildTypes, n)
		}
	}
	p.onlyKeys(path, m, "ty", "spty", "chty")
	return od
}

func (p *parser) specialization(path string, raw any, od *ObjectDetail) {
	wantInt, wantStr := true, true
	if obj, ok := raw.(map[string]any); ok {
		mgd, hasMgd := obj["mgd"]
		cnd, hasCnd := obj["cnd"]
		if hasMgd == hasCnd || len(obj) != 1 {
			p.fail(path, "must contain exactly one of mgd or cnd")
			return
		}
		if hasMgd {
			raw, path, wantStr = mgd, path+".mgd", false
		} else {
			raw, path, wantInt = cnd, path+".cnd", false
		}
	}
	if s, ok := raw.(string); ok && wantStr {
		if s == "" || hasSpaceOrControl(s) {
			p.fail(path, "must be a non-empty containerDefinition")
			return
		}
		od.Cnd = s
		return
	}
	if n, ok := toInt(raw); ok && n >= 0 && wantInt {
		od.Spty = &n
		return
	}
	switch {
	case !wantStr:
		p.fail(path, "must be a mgmtDefinition number")
	case !wantInt:
		p.fail(path, "must be a containerDefinition string")
	default:
		p.fail(path, "must be a mgmtDefinition number or a containerDefinition string")
	}
}

// onlyKeys reports the alphabetically first member of m that is not allowed,
// so that the error message does not depend on map iteration order.
func (p *parser) onlyKeys(path string, m map[string]any, allowed ...string) {
	if p.err != nil {
		return
	}
	var bad []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		p.fail(path+"."+bad[0], "unknown member (allowed: %s)", strings.Join(allowed, ", "))
	}
}

// toInt accepts the integer representations produced by the project's JSON
// and CBOR decoders (and the standard library's) and rejects fractions.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint32:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || n < -(1<<63) || n >= 1<<63 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// toFloat accepts any finite number.
func toFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case float32:
		f = float64(n)
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	default:
		i, ok := toInt(v)
		if !ok {
			return 0, false
		}
		f = float64(i)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i] | 0x20 // ASCII lower-case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func hasSpaceOrControl(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return true
		}
	}
	return false
}
