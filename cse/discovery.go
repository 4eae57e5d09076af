package cse

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// maxDiscovery bounds one discovery answer when the request names no limit.
const maxDiscovery = 10000

// discover answers a RETRIEVE with fu=1: the resources below the target that
// match the filter criteria and that the originator may discover (TS-0004 7.3.3.14).
func (c *CSE) discover(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	fc := req.FC
	if tgt.virtual != "" {
		return nil, primitive.Errorf(primitive.RSCOperationNotAllowed, "discovery is not possible on a virtual resource")
	}
	lim := maxDiscovery
	if fc.Lim >= 0 && fc.Lim < lim {
		lim = fc.Lim
	}
	skip := 0
	if fc.Ofst > 1 {
		skip = fc.Ofst - 1
	}
	base := tgt.res
	baseDepth := strings.Count(base.Path, "/")
	var found []*resource.Resource
	partial := false
	// The store may narrow the walk to the ty condition only when conditions
	// are AND-ed: with fo=2 (OR) a resource of another type can still match
	// through another condition. matches checks ty either way.
	types := fc.Ty
	if fc.FO == 2 {
		types = nil
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		var werr error
		may := c.newDecider(tx, req, o, acp.OpDiscovery)
		found = found[:0]
		walk := func(fn func(*resource.Resource) bool) error { return tx.Walk(base.Path, types, fn) }
		if labels := indexLabels(fc); labels != nil {
			// lbl (or an lbq of EQ/IN expressions) is AND-ed with the other
			// conditions, so only resources with one of the labels can
			// match: the store's label index finds them without reading
			// the rest of the subtree.
			walk = func(fn func(*resource.Resource) bool) error { return tx.WalkLabeled(base.Path, labels, types, fn) }
		}
		err := walk(func(r *resource.Resource) bool {
			if fc.Lvl > 0 && strings.Count(r.Path, "/")-baseDepth > fc.Lvl {
				return true
			}
			if c.expired(r) || !c.matches(tx, fc, r) {
				return true
			}
			ok, err := may.allowed(r)
			if err != nil {
				werr = err
				return false
			}
			if !ok {
				return true
			}
			if skip > 0 {
				skip--
				return true
			}
			if len(found) == lim {
				partial = true
				return false
			}
			found = append(found, r)
			return true
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		if fc.ARP != "" {
			found, err = c.applyRelativePath(tx, may, found, fc.ARP)
		}
		return err
	})
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	resp := &primitive.Response{RSC: primitive.RSCOK}
	if partial {
		resp.CNST = 1
	}
	if req.RCN == primitive.RCNChildRefs {
		resp.PC = map[string]any{"m2m:rrl": map[string]any{"rrf": childRefs(found, req.DRT)}}
		return resp, nil
	}
	uris := make([]any, 0, len(found))
	for _, r := range found {
		if req.DRT == 2 {
			uris = append(uris, r.RI)
		} else {
			uris = append(uris, r.Path)
		}
	}
	resp.PC = map[string]any{"m2m:uril": uris}
	return resp, nil
}

// indexLabels returns labels of which a resource must hold one to match fc,
// or nil when there is no such set: lbl, or else an lbq whose expressions
// all ask for exact key:value labels (EQ, IN). Only under AND: with fo=2 a
// resource can match through another condition.
func indexLabels(fc *primitive.FilterCriteria) []string {
	if fc.FO == 2 {
		return nil
	}
	if len(fc.Labels) > 0 {
		return fc.Labels
	}
	var out []string
	for _, e := range fc.LabelsQuery {
		if e.Op != "EQ" && e.Op != "IN" {
			return nil
		}
		for _, v := range e.Values {
			out = append(out, e.Key+":"+v)
		}
	}
	return out
}

// matches evaluates the matching conditions of fc on r: conditions with the
// same tag are OR-ed, different tags are combined with fo (AND by default).
func (c *CSE) matches(tx store.Tx, fc *primitive.FilterCriteria, r *resource.Resource) bool {
	var results []bool
	add := func(ok bool) { results = append(results, ok) }
	ct, _ := primitive.ParseTime(r.Str("ct"))
	lt, _ := primitive.ParseTime(r.Str("lt"))
	if !fc.CRB.IsZero() {
		add(ct.Before(fc.CRB))
	}
	if !fc.CRA.IsZero() {
		add(!ct.Before(fc.CRA))
	}
	if !fc.MS.IsZero() {
		add(!lt.Before(fc.MS))
	}
	if !fc.US.IsZero() {
		add(lt.Before(fc.US))
	}
	if !fc.EXB.IsZero() {
		add(!r.ET.IsZero() && r.ET.Before(fc.EXB))
	}
	if !fc.EXA.IsZero() {
		add(r.ET.IsZero() || !r.ET.Before(fc.EXA))
	}
	st, hasST := r.Int("st")
	if fc.STS != nil {
		add(hasST && st < *fc.STS)
	}
	if fc.STB != nil {
		add(hasST && st >= *fc.STB)
	}
	cs, hasCS := r.Int("cs")
	if fc.SZA != nil {
		add(hasCS && cs >= *fc.SZA)
	}
	if fc.SZB != nil {
		add(hasCS && cs < *fc.SZB)
	}
	if len(fc.Labels) > 0 {
		add(anyLabel(r, fc.Labels))
	}
	if len(fc.Ty) > 0 {
		add(slices.Contains(fc.Ty, r.Ty))
	}
	if len(fc.ContentTypes) > 0 {
		cnf := r.Str("cnf")
		mt, _, _ := strings.Cut(cnf, ":")
		add(cnf != "" && slices.Contains(fc.ContentTypes, mt))
	}
	if len(fc.Attrs) > 0 {
		ok := false
		for _, a := range fc.Attrs {
			ok = ok || attrMatches(r.Attrs[a.Name], a.Value)
		}
		add(ok)
	}
	// Conditions on the children (chty, clbl) and the parent (pty, palb)
	// (TS-0004 Table 7.3.3.17-1).
	if len(fc.ChildTy) > 0 {
		add(c.hasChild(tx, r, func(k *resource.Resource) bool { return slices.Contains(fc.ChildTy, k.Ty) }, fc.ChildTy))
	}
	if len(fc.ChildLabels) > 0 {
		add(c.hasChild(tx, r, func(k *resource.Resource) bool { return anyLabel(k, fc.ChildLabels) }, nil))
	}
	if len(fc.ParentTy) > 0 || len(fc.ParentLabels) > 0 {
		var p *resource.Resource
		if r.Ty != resource.TyCSEBase {
			p, _ = c.parentOf(tx, r)
		}
		if len(fc.ParentTy) > 0 {
			add(p != nil && slices.Contains(fc.ParentTy, p.Ty))
		}
		if len(fc.ParentLabels) > 0 {
			add(p != nil && anyLabel(p, fc.ParentLabels))
		}
	}
	if len(fc.LabelsQuery) > 0 {
		lbl := r.Strings("lbl")
		add(slices.ContainsFunc(fc.LabelsQuery, func(e primitive.LabelExpr) bool { return e.Match(lbl) }))
	}
	// The content query comes last and only when the answer is still open:
	// parsing a content as JSON costs more than every other condition, and
	// a discovery may walk many instances that fail on ty or a label first.
	if fc.CFQ != nil && !settled(fc, results) {
		add(contentMatches(fc.CFQ, r))
	}
	if len(results) == 0 {
		return true
	}
	if fc.FO == 2 {
		return slices.Contains(results, true)
	}
	return !slices.Contains(results, false)
}

// settled reports whether the conditions evaluated so far decide the
// match whatever the others give: one false under AND, one true under OR.
func settled(fc *primitive.FilterCriteria, results []bool) bool {
	return slices.Contains(results, fc.FO == 2)
}

// contentMatches applies a contentFilterQuery to the content of a
// <contentInstance> (TS-0004 7.3.3.17.13; TS-0001 Annex J: the query applies
// to content that contentInfo marks as JSON). The content is JSON text in a
// string, or the value a JSON or CBOR request carried it as; a content
// that is not JSON, an encoded one (cnf encoding 1 or 2, base64) and any
// other resource type do not match.
func contentMatches(q *primitive.ContentQuery, r *resource.Resource) bool {
	if r.Ty != resource.TyCIN {
		return false
	}
	if cnf := r.Str("cnf"); cnf != "" {
		mt, enc, _ := strings.Cut(cnf, ":")
		mt, _, _ = strings.Cut(mt, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") || enc != "" && enc != "0" {
			return false
		}
	}
	var doc any
	switch con := r.Attrs["con"].(type) {
	case nil:
		return false
	case string:
		if err := json.Unmarshal([]byte(con), &doc); err != nil {
			return false
		}
	default:
		doc = con
	}
	return q.Match(doc)
}

// attrMatches compares a resource attribute with a condition value; a string
// condition may use '*' wildcards and matches list members too.
func attrMatches(have, want any) bool {
	switch h := have.(type) {
	case nil:
		return false
	case []any:
		for _, e := range h {
			if attrMatches(e, want) {
				return true
			}
		}
		return false
	case string:
		w, ok := want.(string)
		return ok && matchWildcard(w, h)
	case int64:
		switch w := want.(type) {
		case int64:
			return h == w
		case string:
			return w == formatInt(h)
		}
	case bool:
		switch w := want.(type) {
		case bool:
			return h == w
		case string:
			return (w == "true") == h && (w == "true" || w == "false")
		}
	}
	return equalValue(have, want)
}

// anyLabel reports whether r has one of the labels.
func anyLabel(r *resource.Resource, labels []string) bool {
	lbl := r.Strings("lbl")
	for _, l := range labels {
		if slices.Contains(lbl, l) {
			return true
		}
	}
	return false
}

// maxChildScan bounds the children read to decide one chty or clbl
// condition.
const maxChildScan = 10000

// hasChild reports whether a live child of r satisfies ok; types narrows the
// store query when not nil.
func (c *CSE) hasChild(tx store.Tx, r *resource.Resource, ok func(*resource.Resource) bool, types []int) bool {
	q := store.ChildQuery{Types: types, Limit: childPage}
	for q.Offset < maxChildScan {
		page, err := tx.Children(r.RI, q)
		if err != nil {
			return false
		}
		for _, k := range page {
			if !c.expired(k) && ok(k) {
				return true
			}
		}
		if len(page) < q.Limit {
			return false
		}
		q.Offset += len(page)
	}
	return false
}

// applyRelativePath replaces each discovered resource by the resource at
// its relative path arp ("la" of a container, a named child, ...), dropping
// those that have none or that the originator may not discover
// (applyRelativePath, TS-0004 Table 7.3.3.17-1).
func (c *CSE) applyRelativePath(tx store.Tx, may *decider, found []*resource.Resource, arp string) ([]*resource.Resource, error) {
	out := found[:0:0]
	segs := strings.Split(arp, "/")
	last := segs[len(segs)-1]
	for _, r := range found {
		p := r
		if len(segs) > 1 {
			var err error
			if p, err = tx.GetByPath(r.Path + "/" + strings.Join(segs[:len(segs)-1], "/")); err != nil {
				continue
			}
		}
		var t *resource.Resource
		var err error
		if p.Ty == resource.TyContainer && (last == virtLatest || last == virtOldest) {
			t, err = c.instance(tx, p, last)
		} else {
			t, err = tx.GetByPath(p.Path + "/" + last)
		}
		if err != nil || c.expired(t) {
			continue
		}
		ok, err := may.allowed(t)
		if err != nil {
			return nil, err
		}
		if ok && !slices.ContainsFunc(out, func(o *resource.Resource) bool { return o.RI == t.RI }) {
			out = append(out, t)
		}
	}
	return out, nil
}
