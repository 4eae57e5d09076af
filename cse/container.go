package cse

import (
	"errors"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

func jsonLen(v any) int {
	b, err := codec.Encode(codec.JSON, v)
	if err != nil {
		return 0
	}
	return len(b)
}

// addInstance prepares a new <contentInstance> under the container cnt (read
// in this transaction): contentSize, stateTag, the maxInstanceAge cap, the mbs
// check, and the container's counters (stored by enforceLimits).
func (c *CSE) addInstance(tx store.Tx, cnt *resource.Resource, cin *resource.Resource) error {
	cs := resource.ContentSize(cin.Attrs["con"], jsonLen)
	if mbs, ok := cnt.Int("mbs"); ok && cs > mbs {
		return primitive.Errorf(primitive.RSCNotAcceptable, "the content size %d exceeds the container's maxByteSize %d", cs, mbs)
	}
	if mia, ok := cnt.Int("mia"); ok {
		ct, _ := primitive.ParseTime(cin.Str("ct"))
		if limit := ct.Add(secondsDuration(mia)); cin.ET.IsZero() || cin.ET.After(limit) {
			cin.ET = limit
			cin.SetTime("et", limit)
		}
	}
	st, _ := cnt.Int("st")
	cni, _ := cnt.Int("cni")
	cbs, _ := cnt.Int("cbs")
	st++
	var stv any = st // one interface value for both
	cnt.Attrs["st"], cnt.Attrs["cni"], cnt.Attrs["cbs"] = stv, cni+1, cbs+cs
	// The container's attributes changed, so did its lastModifiedTime.
	cnt.Attrs["lt"] = cin.Attrs["ct"]
	cin.Attrs["cs"], cin.Attrs["st"] = cs, stv
	return nil
}

// enforceLimits deletes the oldest instances of cnt while it holds more than
// maxNrOfInstances or maxByteSize allow, then stores cnt. Instances removed this
// way do not count as deleted by a client (no "delete child" event).
//
// With owned, cnt is handed over to the store with its Put
// (store.PutOwned): the caller must not change cnt afterwards.
func (c *CSE) enforceLimits(tx store.Tx, cnt *resource.Resource, owned bool) error {
	put := tx.Put
	if owned {
		put = func(r *resource.Resource) error { return store.PutOwned(tx, r) }
	}
	for {
		cni, _ := cnt.Int("cni")
		cbs, _ := cnt.Int("cbs")
		excess := int64(0)
		if mni, ok := cnt.Int("mni"); ok && cni > mni {
			excess = cni - mni
		}
		if mbs, ok := cnt.Int("mbs"); ok && cbs > mbs && excess == 0 {
			excess = 1 // size: drop one at a time until it fits
		}
		if excess == 0 {
			return put(cnt)
		}
		old, err := tx.Children(cnt.RI, store.ChildQuery{Types: []int{resource.TyCIN}, Limit: int(excess)})
		if err != nil {
			return err
		}
		if len(old) == 0 {
			// Counters disagree with the children: repair rather than loop.
			cnt.Attrs["cni"], cnt.Attrs["cbs"] = int64(0), int64(0)
			return put(cnt)
		}
		for _, o := range old {
			if _, err := tx.DeleteTree(o); err != nil {
				return err
			}
			cs, _ := o.Int("cs")
			cni--
			cbs -= cs
		}
		cnt.Attrs["cni"], cnt.Attrs["cbs"] = cni, cbs
	}
}

// deleteInTx deletes r with its subtree, keeps the parent's counters right
// (instances of a container, subscriptions of any resource) and records the
// events of the deletion in ev.
func (c *CSE) deleteInTx(tx store.Tx, ev *events, r *resource.Resource) error {
	var p *resource.Resource
	if r.PI != "" {
		var err error
		if p, err = tx.Get(r.PI); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := ev.deleting(tx, r, p); err != nil {
		return err
	}
	if _, err := tx.DeleteTree(r); err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	switch r.Ty {
	case resource.TyCIN:
		cni, _ := p.Int("cni")
		cbs, _ := p.Int("cbs")
		cs, _ := r.Int("cs")
		p.Attrs["cni"], p.Attrs["cbs"] = max(cni-1, 0), max(cbs-cs, 0)
	case resource.TySubscription:
		p.Subs = max(p.Subs-1, 0)
		if p.Subs == 0 {
			p.SubEvents = 0
		}
	default:
		return nil
	}
	return tx.Put(p)
}

func secondsDuration(s int64) time.Duration {
	if s > int64(1<<62)/int64(time.Second) {
		return time.Duration(1 << 62)
	}
	return time.Duration(s) * time.Second
}
