package primitive

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ApplyQuery sets the request parameters and filter criteria that the HTTP and
// CoAP bindings carry in the query string (TS-0009 6.2.2.2, TS-0008 6.2.2.3).
// Lists may be repeated names or '+'-joined values. A name that is neither a
// parameter nor a filter condition is an attribute condition (atr), as the
// TS-0009 query table says. Every malformed value is a 4000 naming it.
func ApplyQuery(req *Request, q url.Values, now time.Time) error {
	var fc *FilterCriteria
	getFC := func() *FilterCriteria {
		if fc == nil {
			fc = NewFilterCriteria()
		}
		return fc
	}
	for name, vals := range q {
		var items []string
		for _, v := range vals {
			items = append(items, strings.Split(v, "+")...)
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
			req.RP, err = one()
		case "da":
			var s string
			if s, err = one(); err == nil {
				b, berr := parseBool(s)
				if berr != nil {
					err = Errorf(RSCBadRequest, "query parameter da=%q must be true or false", s)
				}
				req.DA = &b
			}
		case "drt":
			req.DRT, err = intv(1, 2)
		case "atrl":
			for _, s := range items {
				if s == "" {
					return Errorf(RSCBadRequest, "query parameter atrl has an empty attribute name")
				}
				req.ATRL = append(req.ATRL, s)
			}
		case "rids":
			req.RIDs = append(req.RIDs, items...)
		case "sqi", "tqi", "asi", "auri", "tids", "ltids", "ma":
			// Semantic queries, tokens and signatures are not supported: ignoring
			// them would change what the request means.
			return Errorf(RSCNotImplemented, "query parameter %q is not supported", name)
		case "fu":
			getFC().FU, err = intv(1, 3)
		case "fo":
			getFC().FO, err = intv(1, 2)
		case "lim":
			getFC().Lim, err = intv(0, 1<<31-1)
		case "lvl":
			getFC().Lvl, err = intv(1, 1<<31-1)
		case "ofst":
			getFC().Ofst, err = intv(1, 1<<31-1)
		case "arp":
			getFC().ARP, err = one()
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
			getFC().Labels = append(getFC().Labels, items...)
		case "ty":
			var l []int
			if l, err = ints(1, 65535); err == nil {
				getFC().Ty = append(getFC().Ty, l...)
			}
		case "cty":
			getFC().ContentTypes = append(getFC().ContentTypes, items...)
		case "chty", "pty", "clbl", "palb", "lbq", "smf", "cfs", "cfq", "gmty", "geom", "gsf":
			return Errorf(RSCNotImplemented, "filter condition %q is not supported yet", name)
		default:
			if strings.HasPrefix(name, "c.") || strings.HasPrefix(name, "p.") || !isAttrName(name) {
				return Errorf(RSCBadRequest, "unknown query parameter %q", name)
			}
			var s string
			if s, err = one(); err == nil {
				getFC().Attrs = append(getFC().Attrs, AttrCond{Name: name, Value: s})
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
