package primitive

import (
	"fmt"
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
// learns one of them, its case in setParam or setFilter moves from the 5001
// list to a parser; the serialised primitives of MQTT and WebSocket
// (SetParam, SetFilter) follow the same rules.
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
		v := queryValue{name: name, vals: q[name]}
		switch name {
		case "rt":
			// In a query rt is the rtv alone; its nu comes in X-M2M-RTU.
			n, err := v.intIn(1, 5)
			if err != nil {
				return err
			}
			if req.RT == nil {
				req.RT = &ResponseType{}
			}
			req.RT.RTV = n
			continue
		case "atrl":
			l, err := v.strs()
			if err != nil {
				return err
			}
			req.ATRL = append(req.ATRL, l...)
			continue
		}
		if ok, err := setParam(req, name, v, now); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if ok, err := setFilter(getFC, name, v); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
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
		for _, s := range v.vals {
			if s == "" {
				return Errorf(RSCBadRequest, "attribute condition %s has no value", name)
			}
			getFC().Attrs = append(getFC().Attrs, AttrCond{Name: name, Value: s})
		}
	}
	if err := fc.Check(); err != nil {
		return err
	}
	req.FC = fc
	return nil
}

// SetParam sets the request parameter name from the value of a member of a
// serialised request primitive (MQTT, WebSocket), in the canonical shape of
// package codec (int64, string, bool, []any ...). It handles the parameters
// that the HTTP binding takes from the query string: rcn, rp, da, drt, rids, grtm,
// the token and signature indicators (sqi, tqi, asi, auri: false is accepted,
// true is a 5001), tids, ltids and ma (5001). It reports false for any other
// name.
func SetParam(req *Request, name string, v any, now time.Time) (bool, error) {
	return setParam(req, name, memberValue{label: name, v: v}, now)
}

// SetFilter sets the member name of the filter criteria fc from the value of
// a member of a serialised fc (m2m:filterCriteria, TS-0004 6.3.5.8). An atr
// member is a list of {nm, val}; every other member follows the rules of
// the query string. An unknown member is a 4000 naming it.
func SetFilter(fc *FilterCriteria, name string, v any) error {
	label := "fc member " + name
	if name == "atr" {
		l, ok := v.([]any)
		if !ok {
			return Errorf(RSCBadRequest, "%s must be a list of {nm, val}", label)
		}
		for _, e := range l {
			m, ok := e.(map[string]any)
			nm, _ := m["nm"].(string)
			val, hasVal := m["val"]
			if !ok || len(m) != 2 || !hasVal || !isAttrName(nm) {
				return Errorf(RSCBadRequest, "%s must be a list of {nm, val} with an attribute short name as nm", label)
			}
			if use, ok := reservedAttrConds[nm]; ok {
				return Errorf(RSCBadRequest, "%s: %q cannot be an attribute condition: use %s", label, nm, use)
			}
			if s, isStr := val.(string); val == nil || isStr && s == "" {
				return Errorf(RSCBadRequest, "attribute condition %s has no value", nm)
			}
			fc.Attrs = append(fc.Attrs, AttrCond{Name: nm, Value: val})
		}
		return nil
	}
	switch name {
	case "lbq":
		// TS-0004 7.3.3.17.16 makes labelsQuery a list of expressions;
		// a lone string is read as a list of one, as some peers send it.
		if s, ok := v.(string); ok {
			v = []any{s}
		}
	case "catr":
		return Errorf(RSCNotImplemented, "child attribute conditions (%s) are not supported yet", label)
	case "patr":
		return Errorf(RSCNotImplemented, "parent attribute conditions (%s) are not supported yet", label)
	}
	ok, err := setFilter(func() *FilterCriteria { return fc }, name, memberValue{label: label, v: v})
	if err == nil && !ok {
		err = Errorf(RSCBadRequest, "unknown filter criteria member %q", name)
	}
	return err
}

// setParam holds the rules of the request parameters that the bindings carry
// as query items or as members of a serialised primitive.
func setParam(req *Request, name string, v paramValue, now time.Time) (bool, error) {
	var err error
	switch name {
	case "rcn":
		req.RCN, err = v.intIn(0, 12)
	case "rp":
		var s string
		if s, err = v.absRelOrDuration(now); err == nil {
			req.RP = s
		}
	case "da":
		var b bool
		if b, err = v.boolean(); err == nil {
			req.DA = &b
		}
	case "drt":
		req.DRT, err = v.intIn(1, 2)
	case "rids":
		var l []string
		if l, err = v.strs(); err == nil {
			req.RIDs = append(req.RIDs, l...)
		}
	case "grtm":
		// TS-0009 names no header for it: like the other lists it travels
		// as a (repeated) query item.
		var l []string
		if l, err = v.strs(); err == nil {
			req.GRTM = append(req.GRTM, l...)
		}
	case "sqi", "tqi", "asi", "auri":
		// Semantic queries, token requests and authorization signatures
		// are not supported: "false" asks for nothing, "true" is refused.
		var b bool
		if b, err = v.boolean(); err == nil && b {
			err = Errorf(RSCNotImplemented, "%s=true is not supported", v.what())
		}
	case "tids", "ltids":
		err = Errorf(RSCNotImplemented, "%s (dynamic authorization tokens) is not supported", v.what())
	case "ma":
		err = Errorf(RSCNotImplemented, "%s (maxAge, not in a published release) is not supported", v.what())
	default:
		return false, nil
	}
	return true, err
}

// setFilter holds the rules of the filter conditions (TS-0004 6.3.5.8,
// 7.3.3.17); getFC creates the criteria on first use.
func setFilter(getFC func() *FilterCriteria, name string, v paramValue) (bool, error) {
	var err error
	switch name {
	case "fu":
		var n int
		if n, err = v.intIn(1, 3); err == nil {
			if n == FUIPEOnDemand {
				err = Errorf(RSCNotImplemented, "%s: filter usage 3 (IPE on-demand discovery) is not supported", v.what())
			}
			getFC().FU = n
		}
	case "fo":
		getFC().FO, err = v.intIn(1, 2)
	case "lim":
		getFC().Lim, err = v.intIn(0, 1<<31-1)
	case "lvl":
		getFC().Lvl, err = v.intIn(1, 1<<31-1)
	case "ofst":
		getFC().Ofst, err = v.intIn(1, 1<<31-1)
	case "crb":
		getFC().CRB, err = v.timestamp()
	case "cra":
		getFC().CRA, err = v.timestamp()
	case "ms":
		getFC().MS, err = v.timestamp()
	case "us":
		getFC().US, err = v.timestamp()
	case "exb":
		getFC().EXB, err = v.timestamp()
	case "exa":
		getFC().EXA, err = v.timestamp()
	case "sts":
		getFC().STS, err = v.int64Min(1)
	case "stb":
		getFC().STB, err = v.int64Min(0)
	case "sza":
		getFC().SZA, err = v.int64Min(0)
	case "szb":
		getFC().SZB, err = v.int64Min(1)
	case "lbl":
		var l []string
		if l, err = v.strs(); err == nil {
			getFC().Labels = append(getFC().Labels, l...)
		}
	case "ty":
		var l []int
		if l, err = v.ints(1, 65535); err == nil {
			getFC().Ty = append(getFC().Ty, l...)
		}
	case "cty":
		var l []string
		if l, err = v.strs(); err == nil {
			getFC().ContentTypes = append(getFC().ContentTypes, l...)
		}
	case "chty":
		var l []int
		if l, err = v.ints(1, 65535); err == nil {
			getFC().ChildTy = append(getFC().ChildTy, l...)
		}
	case "pty":
		var l []int
		if l, err = v.ints(1, 65535); err == nil {
			getFC().ParentTy = append(getFC().ParentTy, l...)
		}
	case "clbl":
		var l []string
		if l, err = v.strs(); err == nil {
			getFC().ChildLabels = append(getFC().ChildLabels, l...)
		}
	case "palb":
		var l []string
		if l, err = v.strs(); err == nil {
			getFC().ParentLabels = append(getFC().ParentLabels, l...)
		}
	case "arp":
		var l []string
		if l, err = v.strs(); err == nil {
			if len(l) != 1 {
				err = Errorf(RSCBadRequest, "%s must be one relative path", v.what())
			} else if !validRelativePath(l[0]) {
				err = Errorf(RSCBadRequest, "%s: %q is not a relative path of resource names (such as la or cnt1/la)", v.what(), l[0])
			} else if getFC().ARP != "" {
				err = Errorf(RSCBadRequest, "%s is given twice", v.what())
			} else {
				getFC().ARP = l[0]
			}
		}
	case "lbq":
		var l []string
		if l, err = v.strs(); err == nil {
			for _, s := range l {
				var e LabelExpr
				if e, err = ParseLabelExpr(s); err != nil {
					err = Errorf(RSCBadRequest, "%s: %s", v.what(), AsError(err).Msg)
					break
				}
				getFC().LabelsQuery = append(getFC().LabelsQuery, e)
			}
		}
	case "cfs":
		var n int
		if n, err = v.intIn(0, 1<<31-1); err == nil {
			if n != CFSJSONPath {
				err = Errorf(RSCBadRequest, "%s=%d: the only content filter syntax is 1 (JSONPath)", v.what(), n)
			} else {
				getFC().CFS = n
			}
		}
	case "cfq":
		// One query, never a list: a '+' in it belongs to the query.
		var s string
		if s, err = v.text(); err == nil {
			if getFC().CFQ != nil {
				err = Errorf(RSCBadRequest, "%s is given twice", v.what())
			} else {
				if getFC().CFQ, err = ParseContentQuery(s); err != nil {
					err = Errorf(RSCBadRequest, "%s: %s", v.what(), AsError(err).Msg)
				}
			}
		}
	case "smf":
		err = Errorf(RSCNotImplemented, "%s: semantic filters need <semanticDescriptor> resources, which onecse does not have", v.what())
	case "gmty", "geom", "gsf":
		err = Errorf(RSCNotImplemented, "geo-query condition %q is not supported", name)
	default:
		return false, nil
	}
	return true, err
}

// paramValue is the value of one parameter or filter condition as a binding
// carries it: the setters above hold the rules (ranges, what is implemented),
// a paramValue only the syntax of its carrier.
type paramValue interface {
	what() string // how errors name it
	intIn(min, max int) (int, error)
	int64Min(min int64) (*int64, error)
	timestamp() (time.Time, error)
	strs() ([]string, error) // a list of non-empty strings
	ints(min, max int) ([]int, error)
	boolean() (bool, error)
	text() (string, error) // one non-empty string, as given
	absRelOrDuration(now time.Time) (string, error)
}

// queryValue is a query item: text, lists '+'-joined or repeated.
type queryValue struct {
	name string
	vals []string
}

func (q queryValue) what() string { return "query parameter " + q.name }

func (q queryValue) items() []string {
	var items []string
	for _, v := range q.vals {
		items = append(items, strings.Split(v, "+")...)
	}
	return items
}

func (q queryValue) one() (string, error) {
	if len(q.vals) != 1 || q.vals[0] == "" {
		return "", Errorf(RSCBadRequest, "query parameter %q must be given once with a value", q.name)
	}
	return q.vals[0], nil
}

func (q queryValue) text() (string, error) { return q.one() }

func (q queryValue) intIn(min, max int) (int, error) {
	s, err := q.one()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, Errorf(RSCBadRequest, "query parameter %s=%q must be an integer from %d to %d", q.name, s, min, max)
	}
	return n, nil
}

func (q queryValue) int64Min(min int64) (*int64, error) {
	s, err := q.one()
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min {
		return nil, Errorf(RSCBadRequest, "query parameter %s=%q must be an integer of at least %d", q.name, s, min)
	}
	return &n, nil
}

func (q queryValue) timestamp() (time.Time, error) {
	s, err := q.one()
	if err != nil {
		return time.Time{}, err
	}
	t, ok := ParseTime(s)
	if !ok {
		return time.Time{}, Errorf(RSCBadRequest, "query parameter %s=%q is not a timestamp", q.name, s)
	}
	return t, nil
}

func (q queryValue) strs() ([]string, error) {
	items := q.items()
	for _, s := range items {
		if s == "" {
			return nil, Errorf(RSCBadRequest, "query parameter %s has an empty list item", q.name)
		}
	}
	return items, nil
}

func (q queryValue) ints(min, max int) ([]int, error) {
	items := q.items()
	out := make([]int, 0, len(items))
	for _, s := range items {
		n, err := strconv.Atoi(s)
		if err != nil || n < min || n > max {
			return nil, Errorf(RSCBadRequest, "query parameter %s=%q must be integers from %d to %d", q.name, s, min, max)
		}
		out = append(out, n)
	}
	return out, nil
}

func (q queryValue) boolean() (bool, error) {
	s, err := q.one()
	if err != nil {
		return false, err
	}
	b, berr := parseBool(s)
	if berr != nil {
		return false, Errorf(RSCBadRequest, "query parameter %s=%q must be true or false", q.name, s)
	}
	return b, nil
}

func (q queryValue) absRelOrDuration(now time.Time) (string, error) {
	s, err := q.one()
	if err != nil {
		return "", err
	}
	if _, ok := ParseAbsRelTime(s, now); !ok && !IsDuration(s) {
		return "", Errorf(RSCBadRequest, "query parameter %s=%q is neither a timestamp, a number of milliseconds nor an ISO 8601 duration", q.name, s)
	}
	return s, nil
}

// memberValue is a member of a serialised primitive, typed as JSON or CBOR
// typed it (the canonical shape of package codec): integers are int64 (a
// number with a fraction is not an integer), lists are []any, and a list is
// always a list, never a lone scalar.
type memberValue struct {
	label string
	v     any
}

func (m memberValue) what() string { return m.label }

func (m memberValue) bad(want string) error {
	return Errorf(RSCBadRequest, "%s must be %s, not %s", m.label, want, describe(m.v))
}

// describe names a value for an error message without echoing much of it.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case int64, uint64, float64, bool:
		return fmt.Sprint(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case []byte:
		return "a byte string"
	}
	return fmt.Sprintf("a %T", v)
}

// memberInt returns v when it is an integer of the canonical shape in
// [min, max].
func memberInt(v any, min, max int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok || n < min || n > max {
		return 0, false
	}
	return n, true
}

func (m memberValue) intIn(min, max int) (int, error) {
	n, ok := memberInt(m.v, int64(min), int64(max))
	if !ok {
		return 0, m.bad(fmt.Sprintf("an integer from %d to %d", min, max))
	}
	return int(n), nil
}

func (m memberValue) int64Min(min int64) (*int64, error) {
	n, ok := memberInt(m.v, min, 1<<63-1)
	if !ok {
		return nil, m.bad(fmt.Sprintf("an integer of at least %d", min))
	}
	return &n, nil
}

func (m memberValue) timestamp() (time.Time, error) {
	s, _ := m.v.(string)
	t, ok := ParseTime(s)
	if !ok {
		return time.Time{}, m.bad("a timestamp (20250102T030405)")
	}
	return t, nil
}

func (m memberValue) strs() ([]string, error) {
	l, ok := m.v.([]any)
	if !ok {
		return nil, m.bad("a list of strings")
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, Errorf(RSCBadRequest, "%s must be a list of non-empty strings", m.label)
		}
		out = append(out, s)
	}
	return out, nil
}

func (m memberValue) ints(min, max int) ([]int, error) {
	l, ok := m.v.([]any)
	if !ok {
		return nil, m.bad("a list of integers")
	}
	out := make([]int, 0, len(l))
	for _, e := range l {
		n, ok := memberInt(e, int64(min), int64(max))
		if !ok {
			return nil, Errorf(RSCBadRequest, "%s must be a list of integers from %d to %d", m.label, min, max)
		}
		out = append(out, int(n))
	}
	return out, nil
}

func (m memberValue) text() (string, error) {
	s, ok := m.v.(string)
	if !ok || s == "" {
		return "", m.bad("a non-empty string")
	}
	return s, nil
}

func (m memberValue) boolean() (bool, error) {
	b, ok := m.v.(bool)
	if !ok {
		return false, m.bad("true or false")
	}
	return b, nil
}

func (m memberValue) absRelOrDuration(now time.Time) (string, error) {
	switch x := m.v.(type) {
	case int64:
		s := strconv.FormatInt(x, 10)
		if _, ok := ParseAbsRelTime(s, now); ok {
			return s, nil
		}
	case string:
		if _, ok := ParseAbsRelTime(x, now); ok || IsDuration(x) {
			return x, nil
		}
	}
	return "", m.bad("a timestamp, a number of milliseconds or an ISO 8601 duration")
}

// MemberTime reads an m2m:absRelTimestamp member (rqet, rset, oet): a
// timestamp, or milliseconds relative to now as an integer or as a string of
// digits (TS-0004 Table 6.3.3-1).
func MemberTime(name string, v any, now time.Time) (time.Time, error) {
	switch x := v.(type) {
	case int64:
		if t, ok := ParseAbsRelTime(strconv.FormatInt(x, 10), now); ok {
			return t, nil
		}
	case string:
		if t, ok := ParseAbsRelTime(x, now); ok {
			return t, nil
		}
	}
	return time.Time{}, memberValue{label: name, v: v}.bad("a timestamp (20250102T030405) or a number of milliseconds")
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

// validRelativePath reports whether p is a relative path of resource names
// ("la", "cnt1/la"): no leading or trailing '/', no empty, "." or ".." segment.
func validRelativePath(p string) bool {
	if p == "" {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." || !ValidResourceName(seg) {
			return false
		}
	}
	return true
}
