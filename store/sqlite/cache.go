package sqlite

import (
	"strings"
	"sync"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/internal/pathtree"
)

// cache keeps decoded resources in memory so that the hot reads of a request
// (the originator's <AE>, the target, its parent) cost a map lookup instead of
// a query and a CBOR decode. It holds committed state only: the writer applies
// a batch's changes after the commit, before it acknowledges the batch, so a
// read that starts after an acknowledged write sees that write.
//
// A reader that misses fills the cache with what it read from the database,
// unless a commit was applied meanwhile (gen changed): its row might then be
// older than the cached state, and caching it would hide the newer one.
//
// Cached resources are never handed out: readers get a Clone, so a caller may
// change what it got.
type cache struct {
	mu     sync.RWMutex
	gen    uint64
	byRI   map[string]*resource.Resource
	byPath map[string]string
	// latest is the ri of the newest child of a type under a parent (the la of
	// a container), keyed by parentKey. An entry whose ri is not in byRI is
	// ignored, so eviction and subtree sweeps need not clean it up.
	latest map[parentKey]string
	// kids is the tree of the cached paths: for a path, the paths one level
	// below it that are cached or have cached paths below them. A deleted
	// subtree is found through it, without going through the whole cache.
	kids *pathtree.Tree
	max  int
}

type parentKey struct {
	pi string
	ty int
}

func newCache(max int) *cache {
	return &cache{byRI: map[string]*resource.Resource{}, byPath: map[string]string{}, latest: map[parentKey]string{},
		kids: pathtree.New(), max: max}
}

// newest returns the cached newest child of type ty under pi, if known.
func (c *cache) newest(pi string, ty int) *resource.Resource {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ri, ok := c.latest[parentKey{pi, ty}]
	if !ok {
		return nil
	}
	r := c.byRI[ri]
	if r == nil || r.PI != pi {
		return nil
	}
	return r
}

// fillNewest records r, read from the database at generation gen, as the
// newest child of its type under its parent.
func (c *cache) fillNewest(r *resource.Resource, gen uint64) { c.fillAs(r, gen, true) }

func (c *cache) get(ri string) *resource.Resource {
	c.mu.RLock()
	r := c.byRI[ri]
	c.mu.RUnlock()
	return r
}

func (c *cache) getPath(path string) *resource.Resource {
	c.mu.RLock()
	var r *resource.Resource
	if ri, ok := c.byPath[path]; ok {
		r = c.byRI[ri]
	}
	c.mu.RUnlock()
	return r
}

func (c *cache) generation() uint64 {
	c.mu.RLock()
	g := c.gen
	c.mu.RUnlock()
	return g
}

// fill caches r, read from the database at generation gen.
func (c *cache) fill(r *resource.Resource, gen uint64) { c.fillAs(r, gen, false) }

func (c *cache) fillAs(r *resource.Resource, gen uint64, newest bool) {
	if c.max <= 0 {
		return
	}
	cp := r.Clone()
	c.mu.Lock()
	if c.gen == gen {
		c.put(cp)
		if newest {
			c.latest[parentKey{r.PI, r.Ty}] = r.RI
		}
	}
	c.mu.Unlock()
}

func (c *cache) put(r *resource.Resource) {
	if old, ok := c.byRI[r.RI]; ok && old.Path != r.Path {
		delete(c.byPath, old.Path)
		c.unlink(old.Path)
	}
	c.byRI[r.RI] = r
	c.byPath[r.Path] = r.RI
	c.kids.Add(r.Path)
	if len(c.byRI) > c.max {
		// Evict about 1% at random (map order is random): cheap, and good enough
		// for a cache whose hot set is the registered AEs and their containers.
		n := c.max/100 + 1
		for ri, e := range c.byRI {
			c.remove(ri, e.Path)
			if n--; n == 0 {
				break
			}
		}
	}
}

func (c *cache) remove(ri, path string) {
	delete(c.byRI, ri)
	delete(c.byPath, path)
	c.unlink(path)
}

func (c *cache) isCached(path string) bool {
	_, ok := c.byPath[path]
	return ok
}

func (c *cache) unlink(path string) { c.kids.Remove(path, c.isCached) }

// removeBelow drops every cached resource whose path lies below path.
func (c *cache) removeBelow(path string) {
	c.kids.RemoveBelow(path, func(k string) {
		if ri, ok := c.byPath[k]; ok {
			delete(c.byRI, ri)
			delete(c.byPath, k)
		}
	}, c.isCached)
}

// apply makes a committed batch visible.
func (c *cache) apply(o *overlay) {
	if c.max <= 0 || o.empty() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, ch := range o.log {
		switch {
		case ch.tree:
			c.removeBelow(strings.TrimSuffix(ch.path, "/"))
		case ch.r == nil:
			if r := c.byRI[ch.ri]; r != nil {
				k := parentKey{r.PI, r.Ty}
				if c.latest[k] == ch.ri {
					delete(c.latest, k)
				}
			}
			c.remove(ch.ri, ch.path)
		default:
			c.put(ch.r)
			if ch.created {
				// A new resource has the highest Seq there is: it is the newest
				// child of its type under its parent.
				c.latest[parentKey{ch.r.PI, ch.r.Ty}] = ch.r.RI
			}
		}
	}
	if len(c.latest) > c.max {
		clear(c.latest)
	}
}

// clear drops everything (after a failed commit, when it is not known what the
// database holds).
func (c *cache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.byRI)
	clear(c.byPath)
	clear(c.latest)
	c.kids.Clear()
	c.mu.Unlock()
}

// overlay records the writes of the writer's open transaction, so that reads
// inside it see them before the cache (which only has committed state) does.
type overlay struct {
	res      map[string]*resource.Resource // ri → resource; nil: deleted
	puts     map[string]*resource.Resource // rows replaced by Put, not yet written
	paths    map[string]string             // path → ri; "": deleted
	prefixes []string                      // deleted subtrees, "path/"
	log      []change                      // in order, for the cache
	// outbox entries appended and deleted, for the outbox tail
	outAdd []store.OutboxEntry
	outDel []int64
}

type change struct {
	ri, path string
	r        *resource.Resource // nil: deleted
	tree     bool               // path (ending in "/") is a deleted subtree
	created  bool               // r was created (not replaced)
	put      bool               // r replaced a row that is written at commit
}

func newOverlay() *overlay {
	return &overlay{res: map[string]*resource.Resource{}, puts: map[string]*resource.Resource{}, paths: map[string]string{}}
}

func (o *overlay) empty() bool { return len(o.log) == 0 }

// overlayKeep is the size up to which a reset overlay keeps its maps for the
// next group: larger ones (a big deletion) are dropped, since a Go map does
// not shrink and clearing costs its whole capacity.
const overlayKeep = 1024

func (o *overlay) reset() {
	if len(o.res) > overlayKeep || len(o.paths) > overlayKeep || len(o.log) > overlayKeep {
		*o = *newOverlay()
		return
	}
	// Zero what the slices held, so that a reused overlay does not keep
	// resources and outbox data alive.
	clear(o.log)
	clear(o.outAdd)
	clear(o.res)
	clear(o.puts)
	clear(o.paths)
	o.prefixes = o.prefixes[:0]
	o.log = o.log[:0]
	o.outAdd = o.outAdd[:0]
	o.outDel = o.outDel[:0]
}

func (o *overlay) set(r *resource.Resource) {
	o.res[r.RI] = r
	o.paths[r.Path] = r.RI
	o.log = append(o.log, change{ri: r.RI, path: r.Path, r: r})
}

func (o *overlay) put(r *resource.Resource) {
	o.set(r)
	o.puts[r.RI] = r
	o.log[len(o.log)-1].put = true
}

func (o *overlay) create(r *resource.Resource) {
	o.set(r)
	o.log[len(o.log)-1].created = true
}

func (o *overlay) del(ri, path string) {
	o.res[ri] = nil
	delete(o.puts, ri)
	o.paths[path] = ""
	o.log = append(o.log, change{ri: ri, path: path})
}

// delTree records the deletion of everything below path; what o itself holds
// there is deleted too.
func (o *overlay) delTree(path string) {
	p := path + "/"
	o.prefixes = append(o.prefixes, p)
	for q, ri := range o.paths {
		if ri != "" && strings.HasPrefix(q, p) {
			o.res[ri] = nil
			o.paths[q] = ""
			delete(o.puts, ri)
		}
	}
	o.log = append(o.log, change{path: p, tree: true})
}

// merge appends other's changes (a successful caller's) to o, in order.
func (o *overlay) merge(other *overlay) {
	o.outAdd = append(o.outAdd, other.outAdd...)
	o.outDel = append(o.outDel, other.outDel...)
	for _, ch := range other.log {
		switch {
		case ch.tree:
			o.delTree(strings.TrimSuffix(ch.path, "/"))
		case ch.r == nil:
			o.del(ch.ri, ch.path)
		case ch.created:
			o.create(ch.r)
		case ch.put:
			o.put(ch.r)
		default:
			o.set(ch.r)
		}
	}
}

// lookup returns what o knows of ri: (resource, true) when written,
// (nil, true) when deleted, (nil, false) when o does not know it.
func (o *overlay) lookup(ri string) (*resource.Resource, bool) {
	r, ok := o.res[ri]
	return r, ok
}

func (o *overlay) lookupPath(path string) (*resource.Resource, bool) {
	ri, ok := o.paths[path]
	if !ok {
		return nil, false
	}
	if ri == "" {
		return nil, true
	}
	return o.res[ri], true
}

// under reports whether path lies in a subtree deleted in o.
func (o *overlay) under(path string) bool {
	for _, p := range o.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
