package cse

import (
	"sync"
	"time"

	"github.com/onecse/onecse/primitive"
)

// Group Request Identifiers a hosting CSE has seen (TS-0004 7.3.3.2;
// TS-0001 10.2.7.1 step 004): a request that carries a gid already received
// for the same target resource is refused with 4104
// GROUP_REQUEST_IDENTIFIER_EXISTS, so that a member reached twice by one
// group request (through two sub-groups, or a loop of groups, on this CSE
// or across CSEs) is operated on once.
//
// The memory is bounded in time and size, as the spec leaves to local
// policy: an entry is kept until the request's expiration time (rqet) when
// the request gives one, else for gidDefaultTTL, never longer than
// gidMaxTTL; at most gidMaxEntries entries are kept, the oldest forgotten
// first. It is in memory only: after a restart a repeated gid is not
// recognised.
const (
	gidDefaultTTL = time.Minute
	gidMaxTTL     = 10 * time.Minute
	gidMaxEntries = 100000
)

type gidEntry struct {
	key   string
	until time.Time
}

type groupRequestIDs struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []gidEntry // in the order of arrival; seen holds the live ones
}

// admit records that the request gid reached target, and reports false
// when it had already (and the memory of it has not expired).
func (g *groupRequestIDs) admit(gid, target string, now, rqet time.Time) bool {
	until := now.Add(gidDefaultTTL)
	if !rqet.IsZero() {
		until = rqet
	}
	if lim := now.Add(gidMaxTTL); until.After(lim) {
		until = lim
	}
	key := gid + "\x00" + target
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if t, ok := g.seen[key]; ok && now.Before(t) {
		return false
	}
	// Forget what expired at the front, and the oldest beyond the bound.
	for len(g.order) > 0 {
		e := g.order[0]
		if len(g.order) < gidMaxEntries && now.Before(e.until) {
			break
		}
		if t, ok := g.seen[e.key]; ok && t.Equal(e.until) {
			delete(g.seen, e.key)
		}
		g.order[0] = gidEntry{}
		g.order = g.order[1:]
	}
	g.seen[key] = until
	g.order = append(g.order, gidEntry{key, until})
	return true
}

// checkGroupRequest applies the duplicate check of TS-0004 7.3.3.2 to a
// request for target (a resource ID, with the virtual resource or
// attribute addressed under it).
func (c *CSE) checkGroupRequest(req *primitive.Request, target string) error {
	if req.GID == "" {
		return nil
	}
	if !c.gids.admit(req.GID, target, c.now(), req.RQET) {
		return primitive.Errorf(primitive.RSCGroupRequestIdentifierExists, "the group request %q has already reached %s", req.GID, req.To)
	}
	return nil
}
