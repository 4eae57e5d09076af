package cse

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// The rules of TS-0004 7.4.8.2.1 (CREATE) and 7.4.8.2.3 (UPDATE) of a
// <subscription> that need its subscribed-to resource or depend on what
// onecse implements; the attribute checks are in package resource.

// SupportedEventTypes are the notificationEventTypes onecse delivers.
var SupportedEventTypes = []int64{1, 2, 3, 4, 5, 7}

// checkSubscription checks the attributes a (as they will be stored) of a
// subscription to parent. What onecse does not implement is refused with
// 5001 NOT_IMPLEMENTED rather than accepted and ignored.
func (c *CSE) checkSubscription(parent *resource.Resource, a map[string]any) error {
	enc, _ := a["enc"].(map[string]any)
	nets, _ := enc["net"].([]any)
	for _, v := range nets {
		n, _ := v.(int64)
		switch n {
		case 5:
			if parent.Ty != resource.TyContainer {
				return primitive.Errorf(primitive.RSCBadRequest, "notificationEventType 5 (%s) applies to a <container>, not to %s", netName(n), resource.Key(parent.Ty))
			}
		case 6:
			// A trigger reaches an <AE> through the underlying network's
			// device triggering (TS-0001 10.2.10.x, TS-0004 7.4.57
			// <triggerRequest>), which onecse has no interface to: nothing
			// would ever fire such a subscription.
			return primitive.Errorf(primitive.RSCNotImplemented, "notificationEventType 6 (%s) is not supported: it fires on device triggering through the underlying network (<triggerRequest>), which this CSE does not implement; supported: 1 to 5 and 7", netName(n))
		case netBlockingUpdate:
			if err := c.checkBlocking(parent, a, true); err != nil {
				return err
			}
		case 8:
			// TS-0004 7.4.8.2.1: missingData is required with net 8 and only
			// a <timeSeries> can be subscribed to that way.
			return primitive.Errorf(primitive.RSCBadRequest, "notificationEventType 8 (missing data points) needs eventNotificationCriteria/missingData and a <timeSeries>, not %s", resource.Key(parent.Ty))
		}
	}
	if _, ok := enc["md"]; ok {
		return primitive.Errorf(primitive.RSCBadRequest, "enc.md (missingData) applies only to a <timeSeries>, not to %s", resource.Key(parent.Ty))
	}
	if _, ok := enc["om"]; ok {
		// Watching operations and originators needs an event for every
		// operation on the resource (RETRIEVEs and NOTIFYs included) with
		// its originator; the outbox records only changes, without who
		// made them.
		return primitive.Errorf(primitive.RSCNotImplemented, "enc.om (operationMonitor) is not supported: this CSE records no event for RETRIEVE and NOTIFY operations nor the originator of an operation, which it would need")
	}
	pt, _ := resource.Lookup(parent.Ty)
	if chty, ok := enc["chty"].([]any); ok {
		for _, v := range chty {
			if ty, _ := v.(int64); pt == nil || !pt.AllowsChild(int(ty)) {
				// TS-0004 7.4.8.2.1: a childResourceType that cannot be a child
				// of the subscribed-to resource.
				return primitive.Errorf(primitive.RSCBadRequest, "enc.chty: %v cannot be a child of %s", v, resource.Key(parent.Ty))
			}
		}
	}
	if atr, ok := enc["atr"].([]any); ok {
		for _, v := range atr {
			if name, _ := v.(string); pt == nil || pt.Attrs[name] == nil {
				return primitive.Errorf(primitive.RSCBadRequest, "enc.atr: %q is not an attribute of %s", v, resource.Key(parent.Ty))
			}
		}
	}
	if _, ok := a["psn"]; ok {
		// onecse keeps no history of events to send from.
		return primitive.Errorf(primitive.RSCNotImplemented, "attribute \"psn\" (preSubscriptionNotify) is not supported")
	}
	for _, v := range toStrings(a["nu"]) {
		if _, _, err := SplitTarget(v); err != nil {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute \"nu\": %v", err)
		}
	}
	if su, ok := a["su"].(string); ok {
		if _, _, err := SplitTarget(su); err != nil {
			return primitive.Errorf(primitive.RSCBadRequest, "attribute \"su\": %v", err)
		}
	}
	return nil
}

func netName(n int64) string {
	switch n {
	case 5:
		return "retrieve of a container without its latest instance"
	case 6:
		return "trigger received for an AE"
	case 7:
		return "blocking update"
	}
	return ""
}

// fillSubscription sets what the CSE adds to the attributes of a subscription
// being created or updated: the SP's default batch duration when batchNotify
// has none (TS-0004 7.4.8.2.1 Recv-6.5).
func (c *CSE) fillSubscription(a map[string]any) {
	if bn, ok := a["bn"].(map[string]any); ok {
		if _, has := bn["dur"]; !has {
			bn = maps.Clone(bn)
			bn["dur"] = FormatDuration(c.cfg.DefaultBatchDuration)
			a["bn"] = bn
		}
	}
}

// FormatDuration writes d as an xs:duration in seconds ("PT60S", "PT0.5S").
func FormatDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// SplitTarget splits the serialisation suffix off a notification target
// (TS-0004 Table 7.4.8.1-3): "http://h/n?ct=cbor" → "http://h/n", "cbor";
// "http://h/n?q=1&ct=json" → "http://h/n?q=1", "json". Only URLs carry one.
// A value other than json or cbor is an error (onecse has no XML).
func SplitTarget(t string) (addr, ct string, err error) {
	if !strings.Contains(t, "://") {
		return t, "", nil
	}
	q := strings.IndexByte(t, '?')
	if q < 0 {
		return t, "", nil
	}
	base, query := t[:q], t[q+1:]
	frag := ""
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query, frag = query[:i], query[i:]
	}
	var keep []string
	for _, p := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(p, "ct="); ok {
			ct = v
			continue
		}
		keep = append(keep, p)
	}
	switch ct {
	case "", "json", "cbor":
	case "xml":
		return "", "", fmt.Errorf("notification target %q asks for XML, which onecse does not produce (json, cbor)", t)
	default:
		return "", "", fmt.Errorf("notification target %q: ct=%s is not a serialisation (json, cbor)", t, ct)
	}
	addr = base
	if len(keep) > 0 {
		addr += "?" + strings.Join(keep, "&")
	}
	return addr + frag, ct, nil
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// isOriginator reports whether the notification target t names the
// originator id itself, in any of its address forms.
func (c *CSE) isOriginator(t, id string) bool {
	local, ok := c.localID(t)
	return ok && local == id
}

// verifyTargets sends the verification request to each target that is not
// the originator itself (TS-0004 7.4.8.2.1 Recv-6.4, 7.5.1.2.3) and answers
// 5204 when one cannot be sent or is not answered with OK. ACME-like, URL
// targets are verified too (protocol.md 14, item 10): a URL nobody answers
// would only collect failed notifications.
func (c *CSE) verifyTargets(ctx context.Context, ri, creator, originator string, targets []string) error {
	if c.notifier == nil {
		return nil
	}
	var todo []string
	for _, t := range targets {
		if !c.isOriginator(t, originator) && !slices.Contains(todo, t) {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, t := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.notifier.Verify(ctx, c.SPRelativeID(ri), creator, t)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return primitive.Errorf(primitive.RSCSubscriptionVerificationInitiationFailed, "the verification request to %s failed: %v", todo[i], err)
		}
	}
	return nil
}

// prepareSubscriptionUpdate runs ahead of the UPDATE b of the subscription r
// (as resolved): the checks on what the subscription would become, the
// defaults, and the verification of the notification targets the UPDATE
// adds (the others were verified already).
func (c *CSE) prepareSubscriptionUpdate(ctx context.Context, o *originator, r *resource.Resource, b map[string]any) error {
	merged := maps.Clone(r.Attrs)
	for k, v := range b {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	var parent *resource.Resource
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		parent, err = c.parentOf(tx, r)
		return err
	})
	if err != nil {
		return storeErr(err, "parent")
	}
	if isBlocking(r.Attrs) && !isBlocking(merged) {
		// TS-0004 7.4.8.2.3 keeps net 7 out of an UPDATE, so a blocking
		// subscription cannot be reshaped into an ordinary one either (nor
		// back): delete it and create the other.
		return primitive.Errorf(primitive.RSCBadRequest, "a blocking update subscription stays one: its eventNotificationCriteria cannot be updated")
	}
	if err := c.checkSubscription(parent, merged); err != nil {
		return err
	}
	c.fillSubscription(b)
	if _, ok := b["nu"]; !ok {
		return nil
	}
	old := r.Strings("nu")
	var added []string
	for _, t := range toStrings(b["nu"]) {
		if !slices.Contains(old, t) {
			added = append(added, t)
		}
	}
	creator := r.Str("cr")
	if creator == "" {
		creator = r.Creator
	}
	return c.verifyTargets(ctx, r.RI, creator, o.id, added)
}
