package cse

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Blocking update, notificationEventType 7 (TS-0001 9.6.8; TS-0004
// 7.4.8.2.1, 7.3.3.7, 7.5.1.2.19, 7.3.2.9): a subscription that makes every
// UPDATE of the subscribed-to resource wait for its subscriber's consent.
// Before the UPDATE is performed, the Hosting CSE sends the attributes the
// UPDATE would set to the subscription's single notification target and
// waits; only a successful answer lets the UPDATE go on. Other UPDATEs of the
// same resource wait meanwhile, so the subscriber approves each change
// against the state it will apply to.

// netBlockingUpdate is the notificationEventType "Blocking_Update".
const netBlockingUpdate = 7

// isBlocking reports whether the subscription attributes a ask for blocking
// updates.
func isBlocking(a map[string]any) bool {
	enc, _ := a["enc"].(map[string]any)
	nets, _ := enc["net"].([]any)
	return slices.Contains(nets, any(int64(netBlockingUpdate)))
}

// subSpecific are the resource-specific attributes of <subscription>
// (TS-0004 Table 7.4.8.1-3) a blocking subscription may not have
// (7.4.8.2.1 Recv-6.4: only eventNotificationCriteria and notificationURI).
// creator is the CSE's to set, notificationContentType the CSE's default
// (modified attributes) once stored.
var subSpecific = []string{"exc", "gpi", "nfu", "bn", "rl", "psn", "pn", "nsp", "ln", "nct", "nec", "su", "acrs"}

// checkBlocking checks the attributes a of a blocking subscription: as given
// in the CREATE (stored=false), or as they would be stored after an UPDATE
// (stored=true: nct is then the CSE's default, 2). Each rule of TS-0004
// 7.4.8.2.1 Recv-6.4 it breaks is a 4000 BAD_REQUEST.
func (c *CSE) checkBlocking(parent *resource.Resource, a map[string]any, stored bool) error {
	if c.notifier == nil {
		return primitive.Errorf(primitive.RSCNotImplemented, "notificationEventType 7 (blocking update) needs the notification service, which this CSE runs without")
	}
	if pt, _ := resource.Lookup(parent.Ty); pt == nil || !pt.Updatable {
		return primitive.Errorf(primitive.RSCBadRequest, "notificationEventType 7 (blocking update): %s resources cannot be updated", resource.Key(parent.Ty))
	}
	enc, _ := a["enc"].(map[string]any)
	if nets, _ := enc["net"].([]any); len(nets) != 1 {
		// A list such as [1, 7] would ask for a blocking and an ordinary
		// notification of one UPDATE: one subscription, one purpose.
		return primitive.Errorf(primitive.RSCBadRequest, "a blocking update subscription has notificationEventType 7 only, not %v", nets)
	}
	for k := range enc {
		if k != "net" && k != "atr" {
			return primitive.Errorf(primitive.RSCBadRequest, "a blocking update subscription takes no eventNotificationCriteria condition but atr (attribute), not %q", k)
		}
	}
	for _, k := range subSpecific {
		if _, ok := a[k]; !ok {
			continue
		}
		if stored && k == "nct" && a[k] == int64(2) {
			continue
		}
		return primitive.Errorf(primitive.RSCBadRequest, "a blocking update subscription takes no attribute %q: only eventNotificationCriteria and notificationURI", k)
	}
	nu := toStrings(a["nu"])
	if len(nu) != 1 {
		return primitive.Errorf(primitive.RSCBadRequest, "a blocking update subscription has exactly one notificationURI, not %d", len(nu))
	}
	if strings.Contains(nu[0], "://") {
		return primitive.Errorf(primitive.RSCBadRequest, "the notificationURI of a blocking update subscription is a oneM2M ID (of an AE or a CSE), not the URL %q", nu[0])
	}
	return nil
}

// blockingSubOf returns the blocking update subscription of r that is in
// force, or nil.
func (c *CSE) blockingSubOf(tx store.Tx, r *resource.Resource, except string) (*resource.Resource, error) {
	if r.Subs == 0 || r.SubEvents&(1<<netBlockingUpdate) == 0 {
		return nil, nil
	}
	subs, err := tx.Children(r.RI, store.ChildQuery{Types: []int{resource.TySubscription}})
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if s.RI != except && !c.expired(s) && isBlocking(s.Attrs) {
			return s, nil
		}
	}
	return nil, nil
}

// checkNoBlockingSub refuses a second blocking update subscription of p
// (TS-0004 7.4.8.2.1 Recv-6.4): 4124.
func (c *CSE) checkNoBlockingSub(tx store.Tx, p *resource.Resource, except string) error {
	s, err := c.blockingSubOf(tx, p, except)
	if err != nil {
		return err
	}
	if s != nil {
		return primitive.Errorf(primitive.RSCBlockingSubscriptionAlreadyExists, "%s has a blocking update subscription already (%s)", p.Path, s.Path)
	}
	return nil
}

// blockLocks holds, per resource, the UPDATE that is waiting for a blocking
// update notification, so that others wait for it (TS-0004 7.5.1.2.19
// step 2).
type blockLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// lock waits until no other UPDATE of ri holds the lock, then takes it.
func (l *blockLocks) lock(ctx context.Context, ri string) (func(), error) {
	for {
		l.mu.Lock()
		ch, busy := l.m[ri]
		if !busy {
			if l.m == nil {
				l.m = map[string]chan struct{}{}
			}
			mine := make(chan struct{})
			l.m[ri] = mine
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.m, ri)
				l.mu.Unlock()
				close(mine)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, primitive.Errorf(primitive.RSCRequestTimeout, "%s: another UPDATE is waiting for its blocking update notification", ri)
		}
	}
}

func noop() {}

// blockUpdate runs before the UPDATE with content b of r is performed: when
// r has a blocking update subscription whose attribute condition (atr) the
// UPDATE meets, the subscriber is notified and must answer with success
// (TS-0004 7.5.1.2.19). It returns what ends the hold on other UPDATEs of r,
// to be called once the UPDATE is done; on refusal the error carries the
// status of TS-0004 7.3.2.9 and nothing is to be changed.
func (c *CSE) blockUpdate(ctx context.Context, r *resource.Resource, t *resource.Type, b map[string]any) (func(), error) {
	if c.notifier == nil || r.Subs == 0 || r.SubEvents&(1<<netBlockingUpdate) == 0 {
		return noop, nil
	}
	release, err := c.blocks.lock(ctx, r.RI)
	if err != nil {
		return nil, err
	}
	var sub *resource.Resource
	err = c.st.View(ctx, func(tx store.Tx) error {
		cur, err := tx.Get(r.RI)
		if err != nil {
			return err
		}
		sub, err = c.blockingSubOf(tx, cur, "")
		return err
	})
	if err != nil {
		release()
		return nil, storeErr(err, r.Path)
	}
	if sub == nil {
		return release, nil
	}
	enc, _ := sub.Attrs["enc"].(map[string]any)
	if atr := toStrings(enc["atr"]); len(atr) > 0 && !slices.ContainsFunc(atr, func(a string) bool { _, ok := b[a]; return ok }) {
		return release, nil // none of the watched attributes changes
	}
	// The representation is what the UPDATE asks for (nct 2, modified
	// attributes): the resource is not changed yet.
	sgn := map[string]any{
		"nev": map[string]any{"rep": map[string]any{t.Key: b}, "net": int64(netBlockingUpdate)},
		"sur": c.SPRelativeID(sub.RI),
	}
	if cr := sub.Str("cr"); cr != "" {
		sgn["cr"] = cr
	}
	target := toStrings(sub.Attrs["nu"])
	if len(target) != 1 {
		release()
		return nil, primitive.Errorf(primitive.RSCInternalServerError, "the blocking update subscription %s has %d notification targets", sub.Path, len(target))
	}
	resp, err := c.notifier.NotifyBlocking(ctx, target[0], map[string]any{"m2m:sgn": sgn})
	switch {
	case err != nil:
		err = primitive.Errorf(primitive.RSCRemoteEntityNotReachable, "the blocking update notification to %s got no answer: %v", target[0], err)
	case resp.RSC.Success():
		return release, nil
	case resp.RSC == primitive.RSCTargetNotReachable:
		err = primitive.Errorf(primitive.RSCRemoteEntityNotReachable, "the subscriber %s of the blocking update subscription %s is not reachable (answered %s)", target[0], sub.Path, resp.RSC)
	default:
		// 4005 OPERATION_NOT_ALLOWED is the refusal TS-0004 7.3.2.9 names;
		// any other unsuccessful answer withholds the consent as well.
		err = primitive.Errorf(primitive.RSCOperationDeniedByRemoteEntity, "the subscriber %s of the blocking update subscription %s refused the update (answered %s)", target[0], sub.Path, resp.RSC)
	}
	release()
	return nil, err
}
