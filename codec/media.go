package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MediaInfo is what a Content-Type (or Accept entry) says.
type MediaInfo struct {
	Format Format
	// OneM2M is true for the application/vnd.onem2m-* types.
	OneM2M bool
	// Kind is "res", "ntfy", "preq" or "prsp" for the oneM2M types.
	Kind string
	// Ty is the ty= parameter (0 when absent, -1 when present but invalid).
	Ty int
}

// ErrUnsupportedMedia means the media type is not one onecse speaks.
var ErrUnsupportedMedia = errors.New("unsupported media type")

// ParseMediaType interprets a Content-Type value such as
// "application/json;ty=3", "application/json; ty=3" or
// "application/vnd.onem2m-res+cbor; ty=4" (TS-0009 6.4.3).
//
// The syntax is that of RFC 9110 (type/subtype, then ';'-separated
// name=value parameters, values optionally quoted), read leniently where
// deployed clients are sloppy: empty parameters ("a/b;;ty=3", a trailing ';')
// and spaces around '=' are accepted. A parameter given twice is an error,
// since the two could disagree (ty=3;ty=4). A charset other than UTF-8 is
// refused: JSON is UTF-8 by definition and CBOR text strings are UTF-8.
func ParseMediaType(v string) (MediaInfo, error) {
	var mi MediaInfo
	mt, params, err := splitMediaType(v)
	if err != nil {
		return mi, err
	}
	f, onem2m, kind, ok := lookupType(mt)
	if !ok {
		return mi, fmt.Errorf("%w: %q", ErrUnsupportedMedia, mt)
	}
	mi.Format, mi.OneM2M, mi.Kind = f, onem2m, kind
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(cs) {
		case "utf-8", "utf8":
		default:
			return MediaInfo{}, fmt.Errorf("%w: charset %q (only UTF-8)", ErrUnsupportedMedia, cs)
		}
	}
	if t, ok := params["ty"]; ok {
		n, err := strconv.Atoi(t)
		if err != nil || n <= 0 || n > 65535 {
			mi.Ty = -1
		} else {
			mi.Ty = n
		}
	}
	return mi, nil
}

// splitMediaType splits "type/subtype; a=b; c=\"d\"" into the lower-cased
// media type and its parameters (names lower-cased).
func splitMediaType(v string) (string, map[string]string, error) {
	head, rest, _ := strings.Cut(v, ";")
	mt := strings.ToLower(strings.TrimSpace(head))
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || !isToken(typ) || !isToken(sub) {
		return "", nil, fmt.Errorf("%w: %q is not a media type", ErrUnsupportedMedia, v)
	}
	var params map[string]string
	for rest != "" {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if !ok || !isToken(k) {
			return "", nil, fmt.Errorf("%w: bad parameter %q in %q", ErrUnsupportedMedia, p, v)
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if params == nil {
			params = map[string]string{}
		}
		if _, dup := params[k]; dup {
			return "", nil, fmt.Errorf("%w: parameter %q given twice in %q", ErrUnsupportedMedia, k, v)
		}
		params[k] = val
	}
	return mt, params, nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func lookupType(mt string) (Format, bool, string, bool) {
	switch mt {
	case "application/json":
		return JSON, false, "", true
	case "application/cbor":
		return CBOR, false, "", true
	}
	if rest, ok := strings.CutPrefix(mt, "application/vnd.onem2m-"); ok {
		kind, enc, ok := strings.Cut(rest, "+")
		if !ok {
			return FormatNone, false, "", false
		}
		switch kind {
		case "res", "ntfy", "preq", "prsp":
		default:
			return FormatNone, false, "", false
		}
		switch enc {
		case "json":
			return JSON, true, kind, true
		case "cbor":
			return CBOR, true, kind, true
		}
	}
	return FormatNone, false, "", false
}

// ContentType returns the media type to label a response body with.
func ContentType(f Format, onem2m bool, kind string) string {
	if onem2m {
		if kind == "" {
			kind = "res"
		}
		return "application/vnd.onem2m-" + kind + "+" + f.String()
	}
	if f == CBOR {
		return "application/cbor"
	}
	return "application/json"
}

// producible are the media types a response body can be sent in, in the order
// of preference used to break ties. Only the "res" oneM2M types are answers:
// ntfy, preq and prsp describe other messages (TS-0009 6.4.2 notes that not
// every oneM2M type applies to a response).
var producible = []MediaInfo{
	{Format: JSON},
	{Format: CBOR},
	{Format: JSON, OneM2M: true, Kind: "res"},
	{Format: CBOR, OneM2M: true, Kind: "res"},
}

// acceptRange is one entry of an Accept header.
type acceptRange struct {
	typ, sub string // "*" for wildcards
	q        int    // quality in thousandths (RFC 9110 12.4.2 allows three decimals)
	pos      int
}

// specificity of r for the media type typ/sub: 0 when r does not match it.
func (r acceptRange) specificity(typ, sub string) int {
	switch {
	case r.typ == "*" && r.sub == "*":
		return 1
	case r.typ == typ && r.sub == "*":
		return 2
	case r.typ == typ && r.sub == sub:
		return 3
	}
	return 0
}

// Negotiate picks the response serialisation from an Accept header value
// (several Accept headers joined with ","). It returns ok=false when the
// header admits no type onecse can produce (answered with 5207
// NOT_ACCEPTABLE). An empty header accepts the fallback, which the binding
// derives from the request's Content-Type (TS-0004 7.3.3.12: answer in the
// request's serialisation).
//
// Each producible type gets the quality of the most specific range matching
// it (RFC 9110 12.5.1), so "*/*, application/json;q=0" excludes JSON. The
// highest quality wins; ties go to the more specific range, then to the
// fallback, then to the range listed first. Malformed entries are ignored.
func Negotiate(accept string, fallback MediaInfo) (MediaInfo, bool) {
	if strings.TrimSpace(accept) == "" {
		return fallback, true
	}
	if fallback.Format == FormatNone {
		fallback.Format = JSON
	}
	fallback.Ty = 0
	if fallback.OneM2M {
		fallback.Kind = "res"
	} else {
		fallback.Kind = ""
	}
	var buf [4]acceptRange // most Accept headers name one to four ranges
	ranges := buf[:0]
	for i, rest, more := 0, accept, true; more; i++ {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		if strings.TrimSpace(part) == "" {
			continue
		}
		mt, params, err := splitMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, _ := strings.Cut(mt, "/")
		if typ == "*" && sub != "*" {
			continue
		}
		q := 1000
		if qs, ok := params["q"]; ok {
			if q, ok = parseQ(qs); !ok {
				continue
			}
		}
		ranges = append(ranges, acceptRange{typ: typ, sub: sub, q: q, pos: i})
	}
	type cand struct {
		mi           MediaInfo
		q, spec, pos int
		isFallback   bool
	}
	var best cand
	found := false
	for _, p := range producible {
		typ, sub, _ := strings.Cut(ContentType(p.Format, p.OneM2M, p.Kind), "/")
		c := cand{mi: p, q: -1, isFallback: p == fallback}
		for _, r := range ranges {
			s := r.specificity(typ, sub)
			if s > c.spec || s == c.spec && s > 0 && r.q > c.q {
				c.spec, c.q, c.pos = s, r.q, r.pos
			}
		}
		if c.spec == 0 || c.q <= 0 {
			continue
		}
		if !found || better(c.q, c.spec, c.isFallback, c.pos, best.q, best.spec, best.isFallback, best.pos) {
			best, found = c, true
		}
	}
	if !found {
		return MediaInfo{}, false
	}
	return best.mi, true
}

func better(q, spec int, fb bool, pos int, bq, bspec int, bfb bool, bpos int) bool {
	if q != bq {
		return q > bq
	}
	if spec != bspec {
		return spec > bspec
	}
	if fb != bfb {
		return fb
	}
	return pos < bpos
}

// parseQ parses a qvalue ("1", "0.5", "0.125") into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole != "0" && whole != "1" {
		return 0, false
	}
	if hasDot && len(frac) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < 3; i++ {
		n *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n += int(c - '0')
		}
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}
