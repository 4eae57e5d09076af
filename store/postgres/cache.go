package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store/internal/pathtree"
)

// cache keeps decoded resources for the reads of View (Get, GetByPath), so
// that the hot reads of a request (the originator's <AE>, the target, its
// parent) cost no query. It holds committed state only, and is kept so
// across nodes:
//
//   - after each commit, this node's writer drops what it changed (replaced
//     resources, deleted ones and their subtrees) before it acknowledges the
//     commit, and the commit itself sends the same list to the other nodes
//     with pg_notify;
//   - a listener (own connection) drops what other nodes' commits list. While
//     it is not connected and listening, the cache is off (reads go to the
//     database), and it starts empty when it is again.
//
// A reader that misses fills the cache with what it read, unless an
// invalidation came meanwhile (gen changed): the row might be older than the
// change. The writer fills it with what a commit created or replaced (write
// through: the next read of a new contentInstance, or of the container every
// new instance updates, costs no query), unless another node's invalidation
// arrived while the commit was on its way: that change may be newer than
// this one's.
//
// It also knows the newest child of a type under a parent (the la of a
// container), which a commit that creates a child sets (this node) or drops
// (other nodes: their invalidation lists the parents that got a child). A change made through another node is therefore seen through this
// one from the moment its notification arrives here, which is shortly
// (typically well under a millisecond on one LAN) after the commit: a read
// racing it may answer the state before. Options.CacheSize < 0 turns the
// cache off for deployments that need every read to see every commit at once.
type cache struct {
	mu     sync.RWMutex
	on     bool
	gen    uint64
	byRI   map[string]*resource.Resource
	byPath map[string]string
	// kids is the tree of the cached paths, through which a deleted subtree
	// is found without going through the whole cache.
	kids *pathtree.Tree
	// latest is the ri of the newest child of a type under a parent. An
	// entry whose ri is not in byRI is ignored, so that eviction and
	// deletions need not clean it up.
	latest map[parentKey]string
	// raw is the stored form (the data column) of cached resources, when
	// known: the writer reads a cached resource without a query and checks
	// at commit that the row still holds exactly this (see tx.one).
	raw map[string][]byte
	max int
}

type parentKey struct {
	pi string
	ty int
}

func newCache(max int) *cache {
	return &cache{byRI: map[string]*resource.Resource{}, byPath: map[string]string{}, kids: pathtree.New(),
		latest: map[parentKey]string{}, raw: map[string][]byte{}, max: max}
}

func (c *cache) isCached(path string) bool {
	_, ok := c.byPath[path]
	return ok
}

// remove drops the cached ri at path.
func (c *cache) remove(ri, path string) {
	delete(c.byRI, ri)
	delete(c.raw, ri)
	if c.byPath[path] == ri {
		delete(c.byPath, path)
		c.kids.Remove(path, c.isCached)
	}
}

func (c *cache) clearAll() {
	clear(c.byRI)
	clear(c.byPath)
	clear(c.latest)
	clear(c.raw)
	c.kids.Clear()
}

func (c *cache) get(ri, path string) *resource.Resource {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.on {
		return nil
	}
	if ri == "" {
		ri = c.byPath[path]
	}
	if r := c.byRI[ri]; r != nil {
		return r.Clone()
	}
	return nil
}

// newest returns the newest child of type ty under pi, if the cache knows it.
func (c *cache) newest(pi string, ty int) *resource.Resource {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.on {
		return nil
	}
	if r := c.byRI[c.latest[parentKey{pi, ty}]]; r != nil && r.PI == pi && r.Ty == ty {
		return r.Clone()
	}
	return nil
}

// getRaw is get for the writer: the resource with its stored form.
func (c *cache) getRaw(ri, path string) (*resource.Resource, []byte) {
	if c == nil {
		return nil, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.on {
		return nil, nil
	}
	if ri == "" {
		ri = c.byPath[path]
	}
	r, data := c.byRI[ri], c.raw[ri]
	if r == nil || data == nil {
		return nil, nil
	}
	return r.Clone(), data
}

func (c *cache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *cache) fill(r *resource.Resource, data []byte, gen uint64) { c.fillAs(r, data, gen, false) }

// fillNewest caches r, read at generation gen as the newest child of its
// type under its parent.
func (c *cache) fillNewest(r *resource.Resource, data []byte, gen uint64) {
	c.fillAs(r, data, gen, true)
}

func (c *cache) fillAs(r *resource.Resource, data []byte, gen uint64, newest bool) {
	if c == nil {
		return
	}
	cp := r.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || c.gen != gen {
		return
	}
	c.put(cp, data)
	if newest {
		c.setLatest(cp)
	}
}

func (c *cache) setLatest(r *resource.Resource) {
	if len(c.latest) >= c.max {
		clear(c.latest)
	}
	c.latest[parentKey{r.PI, r.Ty}] = r.RI
}

// put caches r (the cache's own copy).
func (c *cache) put(cp *resource.Resource, data []byte) {
	if old := c.byRI[cp.RI]; old != nil {
		c.remove(old.RI, old.Path)
	}
	if len(c.byRI) >= c.max {
		// Evict about 1% at random (map order is random).
		n := c.max/100 + 1
		for ri, e := range c.byRI {
			c.remove(ri, e.Path)
			if n--; n == 0 {
				break
			}
		}
	}
	c.byRI[cp.RI] = cp
	if data != nil {
		c.raw[cp.RI] = data
	}
	c.byPath[cp.Path] = cp.RI
	c.kids.Add(cp.Path)
}

// setOn turns the cache on or off; either way it starts again empty.
func (c *cache) setOn(on bool) {
	c.mu.Lock()
	c.on = on
	c.gen++
	c.clearAll()
	c.mu.Unlock()
}

// changes are what a commit changed, for the caches.
type changes struct {
	puts  []string // ri of replaced resources
	dels  []string // paths of deleted resources
	trees []string // paths of deleted subtrees ("p/" prefixes)
	// kids: parents that got a child of a type (their newest child changed).
	kids []parentKey
	all  bool // drop everything
	seen map[parentKey]bool
}

func (ch *changes) empty() bool {
	return len(ch.puts) == 0 && len(ch.dels) == 0 && len(ch.trees) == 0 && len(ch.kids) == 0 && !ch.all
}

// child records that a child of type ty was created under pi.
func (ch *changes) child(pi string, ty int) {
	k := parentKey{pi, ty}
	if ch.seen[k] {
		return
	}
	if ch.seen == nil {
		ch.seen = map[parentKey]bool{}
	}
	ch.seen[k] = true
	ch.kids = append(ch.kids, k)
}

// written is what a commit created or replaced, in its final state, for the
// cache to hold (write through).
type written struct {
	r       *resource.Resource // the cache may keep it: nobody else holds it
	data    []byte             // as written
	created bool
}

func (c *cache) drop(ch *changes) { c.commit(ch, nil, 0) }

// commit drops what ch lists and, when no other node's invalidation arrived
// since generation gen (taken before the commit was sent), caches what the
// commit wrote.
func (c *cache) commit(ch *changes, fills map[string]*written, gen uint64) {
	if c == nil || (ch.empty() && len(fills) == 0) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fill := c.on && c.gen == gen && len(fills) > 0
	c.gen++
	if ch.all {
		c.clearAll()
		return
	}
	c.dropLocked(ch)
	if !fill {
		return
	}
	newest := map[parentKey]*resource.Resource{}
	for _, w := range fills {
		c.put(w.r, w.data)
		if w.created {
			// Every child created by this commit is newer than every child
			// committed before it: the parent's row lock (each create reads
			// its parent FOR UPDATE) orders the commits, and Seqs are drawn
			// under it. Among its own, the highest Seq is the newest.
			k := parentKey{w.r.PI, w.r.Ty}
			if n := newest[k]; n == nil || n.Seq < w.r.Seq {
				newest[k] = w.r
			}
		}
	}
	for _, r := range newest {
		c.setLatest(r)
	}
}

func (c *cache) dropLocked(ch *changes) {
	for _, k := range ch.kids {
		delete(c.latest, k)
	}
	for _, ri := range ch.puts {
		if r := c.byRI[ri]; r != nil {
			c.remove(ri, r.Path)
		}
	}
	for _, p := range ch.dels {
		if ri, ok := c.byPath[p]; ok {
			c.remove(ri, p)
		}
	}
	for _, pre := range ch.trees {
		c.kids.RemoveBelow(strings.TrimSuffix(pre, "/"), func(p string) {
			if ri, ok := c.byPath[p]; ok {
				delete(c.byPath, p)
				delete(c.byRI, ri)
				delete(c.raw, ri)
			}
		}, c.isCached)
	}
}

// maxPayload keeps a notification under PostgreSQL's 8000-byte limit; a
// commit that changed more tells the other nodes to drop everything.
const maxPayload = 7900

// payload encodes ch for the other nodes: this node's ID, then one line per
// change ("p" ri, "d" path, "t" prefix, "n" type, space, parent ri: the
// parent got a child of that type); "*" drops everything. A node that does
// not know a kind of line ignores it.
func (ch *changes) payload(node string) string {
	var b strings.Builder
	b.WriteString(node)
	add := func(kind byte, s string) {
		b.WriteByte('\n')
		b.WriteByte(kind)
		b.WriteString(s)
	}
	for _, ri := range ch.puts {
		add('p', ri)
	}
	for _, p := range ch.dels {
		add('d', p)
	}
	for _, p := range ch.trees {
		add('t', p)
	}
	bad := false
	for _, k := range ch.kids {
		add('n', strconv.Itoa(k.ty)+" "+k.pi)
		bad = bad || strings.ContainsAny(k.pi, "\n\x00")
	}
	// A value holding a line break (or a NUL, which a notification cannot
	// carry) would not read back: drop everything instead.
	if ch.all || bad || b.Len() > maxPayload || strings.ContainsAny(strings.Join(ch.puts, "")+strings.Join(ch.dels, "")+strings.Join(ch.trees, ""), "\n\x00") {
		return node + "\n*"
	}
	return b.String()
}

func parsePayload(s string) (node string, ch *changes) {
	lines := strings.Split(s, "\n")
	ch = &changes{}
	for _, l := range lines[1:] {
		switch {
		case l == "*":
			ch.all = true
		case strings.HasPrefix(l, "p"):
			ch.puts = append(ch.puts, l[1:])
		case strings.HasPrefix(l, "d"):
			ch.dels = append(ch.dels, l[1:])
		case strings.HasPrefix(l, "t"):
			ch.trees = append(ch.trees, l[1:])
		case strings.HasPrefix(l, "n"):
			ty, pi, ok := strings.Cut(l[1:], " ")
			n, err := strconv.Atoi(ty)
			if !ok || err != nil {
				// Unreadable: it named a parent whose newest child is
				// unknown now, so forget every newest child.
				ch.all = true
				continue
			}
			ch.kids = append(ch.kids, parentKey{pi, n})
		}
	}
	return lines[0], ch
}

func newNodeID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// invalChannel is the channel of cache invalidations of this store's schema.
func (s *Store) invalChannel() string { return s.channel() + "_c" }

// invalidations runs the cache's listener until the store closes.
func (s *Store) invalidations(ctx context.Context) {
	defer close(s.invalDone)
	for ctx.Err() == nil {
		err := s.invalOnce(ctx)
		s.cache.setOn(false)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: cache invalidation listener failed; the cache is off until it is back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) invalOnce(ctx context.Context) error {
	c, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{s.invalChannel()}.Sanitize()); err != nil {
		return err
	}
	// From now on every commit's invalidation reaches us: what the cache
	// fills from here on is kept up to date.
	s.cache.setOn(true)
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		node, ch := parsePayload(n.Payload)
		if node != s.node {
			s.cache.drop(ch)
		}
	}
}
