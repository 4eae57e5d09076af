package cse

import (
	"context"
	"strings"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Virtual resource names (TS-0004 Table 6.8-1).
const (
	virtLatest = "la"
	virtOldest = "ol"
)

// target is a resolved To.
type target struct {
	res     *resource.Resource // the addressed resource; for a virtual resource its parent
	virtual string             // "la", "ol" or "pcu", else ""
	attr    string             // attribute named after '#'
}

func (c *CSE) expired(r *resource.Resource) bool {
	return !r.ET.IsZero() && !r.ET.After(c.now())
}

// resolve finds the resource a To names (TS-0004 7.3.2.8 for the address forms).
// An address of another CSE cannot be forwarded yet: 4004.
func (c *CSE) resolve(ctx context.Context, to string) (*target, error) {
	if to == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the target (to) is missing")
	}
	a, ok := primitive.ParseAddress(to)
	if !ok {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "%q is not a valid address", to)
	}
	if a.Scope == primitive.ScopeAbsolute && a.SPID != c.cfg.SPID {
		return nil, primitive.Errorf(primitive.RSCNotFound, "no route to the service provider %s", a.SPID)
	}
	if a.Scope != primitive.ScopeCSERelative && a.CSEID != c.cfg.CSEID {
		return nil, primitive.Errorf(primitive.RSCNotFound, "no route to the CSE %s", a.CSEID)
	}
	path := strings.TrimSuffix(a.Path, "/")
	if path == "" {
		return &target{res: c.base, attr: a.Attr}, nil
	}
	// The segments are looked at in place (no strings.Split on every request).
	for s, more := path, true; more; {
		var seg string
		seg, s, more = strings.Cut(s, "/")
		if seg == "" || seg == "." || seg == ".." {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "%q is not a valid address", to)
		}
	}
	// first is the first segment, rest the others ("" when there are none),
	// none of them empty.
	first, rest, _ := strings.Cut(path, "/")
	t := &target{attr: a.Attr}
	err := c.st.View(ctx, func(tx store.Tx) error {
		var base *resource.Resource
		switch first {
		case c.cfg.CSEName, "-":
			base = c.base
		default:
			// Unstructured (resource ID), possibly followed by a structured
			// remainder: the hybrid form "cnt123/la".
			r, err := tx.Get(first)
			if err != nil {
				return err
			}
			base = r
		}
		if rest == "" {
			t.res = base
			return nil
		}
		// last is the last segment of rest; full the path of its parent,
		// whole the path of last (one string, full and last are in it).
		whole := base.Path + "/" + rest
		last, full := rest, base.Path
		several := false
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			full = whole[:len(base.Path)+1+i]
			last, several = whole[len(full)+1:], true
		}
		if last == virtLatest || last == virtOldest || last == virtPCU {
			p := base
			if several {
				var err error
				if p, err = tx.GetByPath(full); err != nil {
					return err
				}
			}
			if p.Ty == resource.TyContainer && last != virtPCU || p.Ty == resource.TyPollingCh && last == virtPCU {
				t.res, t.virtual = p, last
				return nil
			}
		}
		r, err := tx.GetByPath(whole)
		if err != nil {
			return err
		}
		t.res = r
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "resource "+to)
	}
	if c.expired(t.res) {
		return nil, primitive.Errorf(primitive.RSCNotFound, "resource %s not found (expired)", to)
	}
	return t, nil
}

// parentOf loads the parent of r.
func (c *CSE) parentOf(tx store.Tx, r *resource.Resource) (*resource.Resource, error) {
	if r.PI == c.base.RI {
		return c.base, nil
	}
	return tx.Get(r.PI)
}

// expiry computes the expiration time for a new or updated resource: the
// requested one (or the default), capped by the maximum and by the parent's.
func (c *CSE) expiry(requested any, parent *resource.Resource, now time.Time) (time.Time, error) {
	et := now.Add(c.cfg.DefaultET)
	if s, ok := requested.(string); ok {
		t, _ := primitive.ParseTime(s)
		if !t.After(now) {
			return time.Time{}, primitive.Errorf(primitive.RSCBadRequest, "attribute \"et\" (expirationTime) %s is in the past", s)
		}
		et = t
	}
	if max := now.Add(c.cfg.MaxET); et.After(max) {
		et = max
	}
	if parent != nil && !parent.ET.IsZero() && et.After(parent.ET) {
		et = parent.ET
	}
	return et, nil
}
