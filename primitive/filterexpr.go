package primitive

import (
	"slices"
	"strings"

	"github.com/theory/jsonpath"
)

// LabelExpr is one expression of labelsQuery (lbq, TS-0004 7.3.3.17.16),
// tested against the key:value labels of a resource. A label "k:v" has key k
// and value v (split at the first ':'); a label "k" has key k and no value.
type LabelExpr struct {
	src    string // as given, for rendering
	Op     string // "" (key present), "NT", "EQ", "NE", "IN" or "NI"
	Key    string
	Values []string // one for EQ and NE, one or more for IN and NI
}

// String is the expression as it was given.
func (e LabelExpr) String() string { return e.src }

// ParseLabelExpr reads one labelsQuery expression: "key", "NT key",
// "key EQ value", "key:value", "key NE value", "key IN (v1, v2)" or
// "key NI (v1, v2)". Operators are upper case, as the specification writes
// them; tokens are separated by spaces. Anything else is a 4000 naming the
// expression: a misread query would answer a different question.
func ParseLabelExpr(s string) (LabelExpr, error) {
	e := LabelExpr{src: s}
	bad := func(why string) (LabelExpr, error) {
		return LabelExpr{}, Errorf(RSCBadRequest, "labelsQuery expression %q: %s", describeText(s), why)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return bad("empty")
	}
	key, rest, _ := strings.Cut(t, " ")
	rest = strings.TrimSpace(rest)
	if key == "NT" {
		if !validLabelToken(rest) || strings.Contains(rest, ":") {
			return bad("NT must be followed by a single key")
		}
		e.Op, e.Key = "NT", rest
		return e, nil
	}
	if rest == "" {
		if k, v, ok := strings.Cut(key, ":"); ok {
			if !validLabelToken(k) || v == "" || !validLabelToken(v) {
				return bad("key:value needs a key and a value")
			}
			e.Op, e.Key, e.Values = "EQ", k, []string{v}
			return e, nil
		}
		if !validLabelToken(key) {
			return bad("not a key")
		}
		e.Key = key
		return e, nil
	}
	if !validLabelToken(key) || strings.Contains(key, ":") {
		return bad("not a key before the operator")
	}
	op, arg, _ := strings.Cut(rest, " ")
	arg = strings.TrimSpace(arg)
	e.Key, e.Op = key, op
	switch op {
	case "EQ", "NE":
		if !validLabelToken(arg) {
			return bad(op + " must be followed by a single value")
		}
		e.Values = []string{arg}
	case "IN", "NI":
		if !strings.HasPrefix(arg, "(") || !strings.HasSuffix(arg, ")") || len(arg) < 2 {
			return bad(op + " must be followed by a parenthesised list (v1, v2)")
		}
		for _, v := range strings.Split(arg[1:len(arg)-1], ",") {
			v = strings.TrimSpace(v)
			if !validLabelToken(v) {
				return bad(op + " list has an empty or malformed value")
			}
			e.Values = append(e.Values, v)
		}
	default:
		return bad("unknown operator " + strings.TrimSpace(op) + " (NT, EQ, NE, IN, NI)")
	}
	return e, nil
}

// validLabelToken reports whether s can be a key or a value in an
// expression: not empty, no space, no list punctuation.
func validLabelToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t(),")
}

// describeText bounds text quoted in an error message.
func describeText(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Match tests the expression against the labels of a resource.
func (e LabelExpr) Match(labels []string) bool {
	hasKey := false   // the key in either form
	hasPair := false  // the key with a value
	hasValue := false // the key with one of Values
	for _, l := range labels {
		k, v, kv := strings.Cut(l, ":")
		if k != e.Key {
			continue
		}
		hasKey = true
		if kv {
			hasPair = true
			hasValue = hasValue || slices.Contains(e.Values, v)
		}
	}
	switch e.Op {
	case "":
		return hasKey
	case "NT":
		return !hasKey
	case "EQ", "IN":
		return hasValue
	case "NE", "NI":
		return hasPair && !hasValue
	}
	return false
}

// Content filter syntaxes (m2m:contentFilterSyntax, TS-0004 6.3.4.2.37).
const CFSJSONPath = 1

// ContentQuery is a contentFilterQuery (cfq) compiled once per request: an
// RFC 9535 JSONPath query applied to the content of a <contentInstance>
// (TS-0004 7.3.3.17.13).
type ContentQuery struct {
	src  string
	path *jsonpath.Path
}

// ParseContentQuery compiles a JSONPath query; a malformed one is a 4000
// that names the query and where it went wrong.
func ParseContentQuery(s string) (*ContentQuery, error) {
	p, err := jsonpath.Parse(s)
	if err != nil {
		return nil, Errorf(RSCBadRequest, "contentFilterQuery %q is not a JSONPath query (RFC 9535): %v", describeText(s), err)
	}
	return &ContentQuery{src: s, path: p}, nil
}

// String is the query as it was given.
func (q *ContentQuery) String() string { return q.src }

// Match reports whether the query selects at least one node of doc (a value
// of the shape encoding/json or package codec decodes into).
func (q *ContentQuery) Match(doc any) bool { return len(q.path.Select(doc)) > 0 }
