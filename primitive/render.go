package primitive

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query is the reverse of ApplyQuery: the request parameters and filter
// criteria of r that the HTTP and CoAP bindings carry in the query string
// (TS-0009 6.2.2.2), as decoded values. Lists are repeated names, never
// '+'-joined, so that no value holds a '+' that ApplyQuery would split on;
// a list item that contains '+' itself cannot travel in a query (the
// binding's syntax, see ParseQuery). rt carries rtv only: its nu travels in
// X-M2M-RTU. The parameters that travel in headers (rqet, rset, oet, ot, ec,
// gid, vsi) are the binding's to render.
//
// ApplyQuery(req, r.Query()) gives back the parameters and criteria of r
// (attribute condition values as text: the query string has no types).
func (r *Request) Query() url.Values {
	q := url.Values{}
	if r.RCN != RCNAbsent {
		q.Set("rcn", strconv.Itoa(r.RCN))
	}
	if r.RT != nil && r.RT.RTV != 0 {
		q.Set("rt", strconv.Itoa(r.RT.RTV))
	}
	if r.RP != "" {
		q.Set("rp", r.RP)
	}
	if r.DA != nil {
		q.Set("da", strconv.FormatBool(*r.DA))
	}
	if r.DRT != 0 {
		q.Set("drt", strconv.Itoa(r.DRT))
	}
	q["rids"] = append(q["rids"], r.RIDs...)
	q["grtm"] = append(q["grtm"], r.GRTM...)
	q["atrl"] = append(q["atrl"], r.ATRL...)
	if f := r.FC; f != nil {
		ints := func(name string, v, absent int) {
			if v != absent {
				q.Set(name, strconv.Itoa(v))
			}
		}
		ints("fu", f.FU, 0)
		ints("fo", f.FO, 0)
		ints("lim", f.Lim, -1)
		ints("lvl", f.Lvl, 0)
		ints("ofst", f.Ofst, 0)
		for _, t := range []struct {
			name string
			v    time.Time
		}{{"crb", f.CRB}, {"cra", f.CRA}, {"ms", f.MS}, {"us", f.US}, {"exb", f.EXB}, {"exa", f.EXA}} {
			if !t.v.IsZero() {
				q.Set(t.name, FormatTime(t.v))
			}
		}
		for _, n := range []struct {
			name string
			v    *int64
		}{{"sts", f.STS}, {"stb", f.STB}, {"sza", f.SZA}, {"szb", f.SZB}} {
			if n.v != nil {
				q.Set(n.name, strconv.FormatInt(*n.v, 10))
			}
		}
		q["lbl"] = append(q["lbl"], f.Labels...)
		for _, t := range f.Ty {
			q.Add("ty", strconv.Itoa(t))
		}
		q["cty"] = append(q["cty"], f.ContentTypes...)
		for _, a := range f.Attrs {
			q.Add(a.Name, attrText(a.Value))
		}
		for _, t := range f.ChildTy {
			q.Add("chty", strconv.Itoa(t))
		}
		for _, t := range f.ParentTy {
			q.Add("pty", strconv.Itoa(t))
		}
		q["clbl"] = append(q["clbl"], f.ChildLabels...)
		q["palb"] = append(q["palb"], f.ParentLabels...)
		for _, e := range f.LabelsQuery {
			q.Add("lbq", e.String())
		}
		if f.CFS != 0 {
			q.Set("cfs", strconv.Itoa(f.CFS))
		}
		if f.CFQ != nil {
			q.Set("cfq", f.CFQ.String())
		}
		if f.ARP != "" {
			q.Set("arp", f.ARP)
		}
	}
	for k, v := range q {
		if len(v) == 0 {
			delete(q, k)
		}
	}
	return q
}

// attrText renders an attribute condition's value as the query string
// carries it: text, whatever type a serialised primitive gave it.
func attrText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// EncodeQuery renders decoded query values as a raw query string that
// ParseQuery reads back: names sorted, every value percent-encoded (a space
// as %20, a '+' as %2B — ParseQuery would split on a bare '+').
func EncodeQuery(q url.Values) string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryEscape(k))
			b.WriteByte('=')
			b.WriteString(queryEscape(v))
		}
	}
	return b.String()
}

func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
