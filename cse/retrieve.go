package cse

import (
	"context"
	"maps"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// instance returns the newest (la) or oldest (ol) live contentInstance of cnt.
func (c *CSE) instance(tx store.Tx, cnt *resource.Resource, virtual string) (*resource.Resource, error) {
	// Almost always the first one is live; expired ones wait for the expiry
	// loop, so step over them a few at a time.
	for off, n := 0, 1; off < 1024; off, n = off+n, 16 {
		kids, err := tx.Children(cnt.RI, store.ChildQuery{Types: []int{resource.TyCIN}, Limit: n, Offset: off, Newest: virtual == virtLatest})
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if !c.expired(k) {
				return k, nil
			}
		}
		if len(kids) < n {
			break
		}
	}
	return nil, primitive.Errorf(primitive.RSCNotFound, "%s has no contentInstance", cnt.Path)
}

// attrList returns the attributes a partial RETRIEVE asks for (To#attr or
// atrl), or nil for all. Names the type does not have are a bad request.
func attrList(req *primitive.Request, tgt *target, ty int) ([]string, error) {
	names := req.ATRL
	if tgt.attr != "" {
		names = append([]string{tgt.attr}, names...)
	}
	if len(names) == 0 {
		return nil, nil
	}
	t, _ := resource.Lookup(ty)
	for _, n := range names {
		if t == nil || t.Attrs[n] == nil {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "%q is not an attribute of %s", n, resource.Key(ty))
		}
	}
	return names, nil
}

func (c *CSE) retrieve(ctx context.Context, req *primitive.Request, o *originator, tgt *target) (*primitive.Response, error) {
	if tgt.virtual == virtPCU {
		return c.poll(ctx, req, tgt.res) // the owner was checked in handle
	}
	if req.FC.IsDiscovery() {
		return c.discover(ctx, req, o, tgt)
	}
	if req.RCN == primitive.RCNOriginalResource {
		return c.retrieveOriginal(ctx, req, o, tgt) // announce.go
	}
	resp := &primitive.Response{RSC: primitive.RSCOK}
	authorized := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		r := tgt.res
		if err := c.authorize(tx, req, o, accessCheck{op: acp.OpRetrieve, target: r}); err != nil {
			return err
		}
		authorized = true
		if tgt.virtual != "" || r.Ty == resource.TyCIN {
			cnt := r
			if tgt.virtual == "" {
				p, err := c.parentOf(tx, r)
				if err != nil {
					return storeErr(err, "container")
				}
				cnt = p
			}
			if cnt.Bool("disr") {
				return primitive.Errorf(primitive.RSCOperationNotAllowed, "retrieval of the instances of %s is disabled (disr)", cnt.Path)
			}
			if tgt.virtual != "" {
				inst, err := c.instance(tx, cnt, tgt.virtual)
				if err != nil {
					return err
				}
				r = inst
			}
		}
		names, err := attrList(req, tgt, r.Ty)
		if err != nil {
			return err
		}
		if req.FC != nil && req.RCN == primitive.RCNAbsent || req.RCN == primitive.RCNAttributes {
			if req.FC != nil && !c.matches(tx, req.FC, r) {
				return primitive.Errorf(primitive.RSCNotFound, "%s does not match the filter criteria", r.Path)
			}
		}
		rcn := req.RCN
		if rcn == primitive.RCNAbsent {
			rcn = primitive.RCNAttributes
		}
		switch rcn {
		case primitive.RCNAttributes:
			resp.PC = r.Representation(names)
			return nil
		}
		kids, partial, err := c.children(tx, req, o, r)
		if err != nil {
			return err
		}
		if partial {
			resp.CNST = 1
		}
		resp.PC = childContent(r, names, kids, rcn, req.DRT)
		return nil
	})
	if authorized {
		c.retrievedEmpty(ctx, req, tgt)
	}
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	return resp, nil
}

// retrievedEmpty records notificationEventType 5 (TS-0004 Table
// 6.3.4.2.19-1): a <container> with subscribers for it was retrieved — its
// latest or oldest instance, or with its children (rcn 4, 8) — while it held
// no contentInstance.
func (c *CSE) retrievedEmpty(ctx context.Context, req *primitive.Request, tgt *target) {
	cnt := tgt.res
	if cnt.Ty != resource.TyContainer || !wants(cnt, NoteRetrieveNoInstance) {
		return
	}
	if tgt.virtual == "" && req.RCN != primitive.RCNAttributesAndChildren && req.RCN != primitive.RCNChildResources {
		return
	}
	if n, _ := cnt.Int("cni"); n > 0 {
		return
	}
	err := c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(cnt.RI)
		if err != nil {
			return err
		}
		if n, _ := cur.Int("cni"); n > 0 {
			return nil
		}
		ev.add(Note{Kind: NoteRetrieveNoInstance, Subject: cur.RI, Ty: cur.Ty, Res: maps.Clone(cur.Attrs)})
		return nil
	})
	if err != nil {
		c.log.Warn("recording a retrieve of an empty container", "container", cnt.Path, "err", err)
	}
}

// childContent renders r with its children as result content rcn 4, 5, 6 or
// 8 (protocol.md 1.5); names limits r's own attributes when non-nil.
func childContent(r *resource.Resource, names []string, kids []*resource.Resource, rcn, drt int) map[string]any {
	key := resource.Key(r.Ty)
	switch rcn {
	case primitive.RCNAttributesAndChildren, primitive.RCNChildResources:
		m := map[string]any{}
		if rcn == primitive.RCNAttributesAndChildren {
			m = copyAttrs(r.Representation(names)[key])
		}
		for _, k := range kids {
			kk := resource.Key(k.Ty)
			l, _ := m[kk].([]any)
			m[kk] = append(l, k.Attrs)
		}
		return map[string]any{key: m}
	case primitive.RCNAttributesAndChildRefs:
		m := copyAttrs(r.Representation(names)[key])
		m["ch"] = childRefs(kids, drt)
		return map[string]any{key: m}
	case primitive.RCNChildRefs:
		return map[string]any{"m2m:rrl": map[string]any{"rrf": childRefs(kids, drt)}}
	}
	return r.Representation(names)
}

func copyAttrs(v any) map[string]any {
	src, _ := v.(map[string]any)
	m := make(map[string]any, len(src)+1)
	for k, e := range src {
		m[k] = e
	}
	return m
}

func childRefs(kids []*resource.Resource, drt int) []any {
	out := make([]any, 0, len(kids))
	for _, k := range kids {
		val := k.Path
		if drt == 2 {
			val = k.RI
		}
		out = append(out, map[string]any{"nm": k.RN, "typ": int64(k.Ty), "val": val})
	}
	return out
}

// maxChildren bounds one answer with child resources; more is flagged partial.
const maxChildren = 1000

// children returns the direct children of r that the filter criteria select
// and the originator may retrieve.
func (c *CSE) children(tx store.Tx, req *primitive.Request, o *originator, r *resource.Resource) ([]*resource.Resource, bool, error) {
	q := store.ChildQuery{}
	lim := maxChildren
	fc := req.FC
	if fc != nil {
		if len(fc.Ty) > 0 && fc.FO != 2 { // with OR, other types may match another condition
			q.Types = fc.Ty
		}
		if fc.Lim >= 0 && fc.Lim < lim {
			lim = fc.Lim
		}
	}
	skip := 0
	if fc != nil && fc.Ofst > 1 {
		skip = fc.Ofst - 1
	}
	var out []*resource.Resource
	may := c.newDecider(tx, req, o, acp.OpRetrieve)
	// Read in pages: a container may hold a million instances, and an answer
	// needs at most lim of them (plus the ones filtered out on the way).
	q.Limit = childPage
	for {
		page, err := tx.Children(r.RI, q)
		if err != nil {
			return nil, false, err
		}
		for _, k := range page {
			if c.expired(k) || (fc != nil && !c.matches(tx, fc, k)) {
				continue
			}
			if ok, err := may.allowed(k); err != nil || !ok {
				if err != nil {
					return nil, false, err
				}
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == lim {
				return out, true, nil
			}
			out = append(out, k)
		}
		if len(page) < q.Limit {
			return out, false, nil
		}
		q.Offset += len(page)
	}
}

// childPage is how many children one store query reads.
const childPage = 256
