package primitive

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseQuery splits a raw HTTP query string into names and values for
// ApplyQuery. Unlike url.ParseQuery it keeps '+' as it is: in the oneM2M
// bindings '+' separates list items (ty=2+3+4, TS-0009 6.2.2.2), it is not a
// space. Values are percent-decoded, so a list item cannot itself contain a
// '+' (a limit of the binding's syntax). Empty pairs ("a=1&&b=2") are
// skipped; a malformed percent escape is a 4000.
func ParseQuery(raw string) (url.Values, error) {
	q := url.Values{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.PathUnescape(k)
		if err != nil {
			return nil, Errorf(RSCBadRequest, "malformed query parameter name %q", k)
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			return nil, Errorf(RSCBadRequest, "malformed value of query parameter %q", name)
		}
		q[name] = append(q[name], val)
	}
	return q, nil
}

// reservedAttrConds are attribute short names that may not be used as an
// attribute condition because other filter conditions cover them (TS-0004
// 7.3.3.17.9; TS-0009 6.2.2.2).
var reservedAttrConds = map[string]string{
	"ct": "crb/cra", "lt": "ms/us", "st": "sts/stb", "et": "exb/exa",
	"cs": "sza/szb", "cnf": "cty", "atr": "<attribute>=<value>",
}

// ApplyQuery sets the request parameters and filter criteria that the HTTP and
// CoAP bindings carry in the query string (TS-0009 6.2.2.2, TS-0008 6.2.2.3).
// q holds decoded values in which '+' still separates list items (ParseQuery
// for HTTP; CoAP Uri-Query options are not percent-encoded at all). Lists may
// be repeated names or '+'-joined values. A name that is neither a parameter
// nor a filter condition is an attribute condition (atr), as the TS-0009 query
// table says.
//
// Every malformed value is a 4000 naming it. A parameter or condition of the
// specification that onecse does not implement is a 5001 naming it: ignoring
// it would answer a different question than the one asked. When the core
// learns one of them, its case here moves from the 5001 list to a parser.
func ApplyQuery(req *Request, q url.Values, now time.Time) error {
	var fc *FilterCriteria
	getFC := func() *FilterCriteria {
		if fc == nil {
			fc = NewFilterCriteria()
		}
		return fc
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // the first error found is the same every time
	for _, name := range names {
		vals := q[name]
		var items []string
		for _, v := range vals {
			items = append(items, strings.Split(v, "+")...)
		}
		list := func() ([]string, error) {
			for _, s := range items {
				if s == "" {
					return nil, Errorf(RSCBadRequest, "query parameter %s has an empty list item", name)
				}
			}
			return items, nil
		}
		one := func() (string, error) {
			if len(vals) != 1 || vals[0] == "" {
				return "", Errorf(RSCBadRequest, "query parameter %q must be given once with a value", name)
			}
			return vals[0], nil
		}
		intv := func(min, max int) (int, error) {
			s, err := one()
			if err != nil {
				return 0, err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < min || n > max {
				return 0, Errorf(RSCBadRequest, "query parameter %s=%q must be an integer from %d to %d", name, s, min, max)
			}
			return n, nil
		}
		int64p := func(min int64) (*int64, error) {
			s, err := one()
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < min {
				return nil, Errorf(RSCBadRequest, "query parameter %s=%q must be an integer of at least %d", name, s, min)
			}
			return &n, nil
		}
		timev := func() (time.Time, error) {
			s, err := one()
			if err != nil {
				return time.Time{}, err
			}
			t, ok := ParseTime(s)
			if !ok {
				return time.Time{}, Errorf(RSCBadRequest, "query parameter %s=%q is not a timestamp", name, s)
			}
			return t, nil
		}
		ints := func(min, max int) ([]int, error) {
			out := make([]int, 0, len(items))
			for _, s := range items {
				n, err := strconv.Atoi(s)
				if err != nil || n < min || n > max {
					return nil, Errorf(RSCBadRequest, "query parameter %s=%q must be integers from %d to %d", name, s, min, max)
				}
				out = append(out, n)
			}
			return out, nil
		}
		boolv := func() (bool, error) {
			s, err := one()
			if err != nil {
				return false, err
			}
			b, berr := parseBool(s)
			if berr != nil {
				return false, Errorf(RSCBadRequest, "query parameter %s=%q must be true or false", name, s)
			}
			return b, nil
		}
		var err error
		switch name {
		case "rcn":
			req.RCN, err = intv(0, 12)
		case "rt":
			var n int
			if n, err = intv(1, 5); err == nil {
				if req.RT == nil {
					req.RT = &ResponseType{}
				}
				req.RT.RTV = n
			}
		case "rp":
			var s string
			if s, err = one(); err == nil {
				if _, ok := ParseAbsRelTime(s, now); !ok && !IsDuration(s) {
					err = Errorf(RSCBadRequest, "query parameter rp=%q is neither a timestamp, a number of milliseconds nor an ISO 8601 duration", s)
				}
				req.RP = s
			}
		case "da":
			var b bool
			if b, err = boolv(); err == nil {
				req.DA = &b
			}
		case "drt":
			req.DRT, err = intv(1, 2)
		case "atrl":
			var l []string
			if l, err = list(); err == nil {
				req.ATRL = append(req.ATRL, l...)
			}
		case "rids":
			var l []string
			if l, err = list(); err == nil {
				req.RIDs = append(req.RIDs, l...)
			}
		case "sqi", "tqi", "asi", "auri":
			// Semantic queries, token requests and authorization signatures
			// are not supported: "false" asks for nothing, "true" is refused.
			var b bool
			if b, err = boolv(); err == nil && b {
				err = Errorf(RSCNotImplemented, "query parameter %s=true is not supported", name)
			}
		case "tids", "ltids":
			return Errorf(RSCNotImplemented, "query parameter %q (dynamic authorization tokens) is not supported", name)
		case "ma":
			return Errorf(RSCNotImplemented, "query parameter %q (maxAge, not in a published release) is not supported", name)
		case "fu":
			if getFC().FU, err = intv(1, 3); err == nil && fc.FU == FUIPEOnDemand {
				err = Errorf(RSCNotImplemented, "filter usage 3 (IPE on-demand discovery) is not supported")
			}
		case "fo":
			getFC().FO, err = intv(1, 2)
		case "lim":
			getFC().Lim, err = intv(0, 1<<31-1)
		case "lvl":
			getFC().Lvl, err = intv(1, 1<<31-1)
		case "ofst":
			getFC().Ofst, err = intv(1, 1<<31-1)
		case "crb":
			getFC().CRB, err = timev()
		case "cra":
			getFC().CRA, err = timev()
		case "ms":
			getFC().MS, err = timev()
		case "us":
			getFC().US, err = timev()
		case "exb":
			getFC().EXB, err = timev()
		case "exa":
			getFC().EXA, err = timev()
		case "sts":
			getFC().STS, err = int64p(1)
		case "stb":
			getFC().STB, err = int64p(0)
		case "sza":
			getFC().SZA, err = int64p(0)
		case "szb":
			getFC().SZB, err = int64p(1)
		case "lbl":
			var l []string
			if l, err = list(); err == nil {
				getFC().Labels = append(getFC().Labels, l...)
			}
		case "ty":
			var l []int
			if l, err = ints(1, 65535); err == nil {
				getFC().Ty = append(getFC().Ty, l...)
			}
		case "cty":
			var l []string
			if l, err = list(); err == nil {
				getFC().ContentTypes = append(getFC().ContentTypes, l...)
			}
		case "chty", "pty", "clbl", "palb", "lbq", "smf", "cfs", "cfq", "arp":
			return Errorf(RSCNotImplemented, "filter condition %q is not supported yet", name)
		case "gmty", "geom", "gsf":
			return Errorf(RSCNotImplemented, "geo-query condition %q is not supported", name)
		default:
			if rest, ok := strings.CutPrefix(name, "c."); ok && isAttrName(rest) {
				return Errorf(RSCNotImplemented, "child attribute conditions (%s) are not supported yet", name)
			}
			if rest, ok := strings.CutPrefix(name, "p."); ok && isAttrName(rest) {
				return Errorf(RSCNotImplemented, "parent attribute conditions (%s) are not supported yet", name)
			}
			if !isAttrName(name) {
				return Errorf(RSCBadRequest, "unknown query parameter %q", name)
			}
			if use, ok := reservedAttrConds[name]; ok {
				return Errorf(RSCBadRequest, "%q cannot be an attribute condition: use %s", name, use)
			}
			// The attribute condition (atr): each occurrence is one {nm, val};
			// several with one name are OR-ed by the core.
			for _, v := range vals {
				if v == "" {
					return Errorf(RSCBadRequest, "attribute condition %s has no value", name)
				}
				getFC().Attrs = append(getFC().Attrs, AttrCond{Name: name, Value: v})
			}
		}
		if err != nil {
			return err
		}
	}
	req.FC = fc
	return nil
}

func isAttrName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, strconv.ErrSyntax
}
