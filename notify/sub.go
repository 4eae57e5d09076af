package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// sub is a <subscription> as the notification service uses it: its
// attributes parsed once, when it is loaded.
type sub struct {
	ri, pi  string
	ct, et  time.Time
	targets []string // notificationURI
	su      string   // subscriberURI
	cr      string   // creator attribute ("" when absent)
	// nfu: notificationForwardingURI, set on a subscription created through
	// a group's fanOutPoint to have the group host aggregate; each
	// notification carries it (TS-0004 7.5.1.2.6).
	nfu string

	// eventNotificationCriteria (TS-0004 6.3.5.7)
	nets                       []int64 // notificationEventType; default [1]
	crb, cra, ms, us, exb, exa time.Time
	sts, stb, sza, szb         *int64
	atr                        []string
	chty                       []int64
	or                         bool // fo=2: the conditions are OR-ed

	nct int64 // notificationContentType
	ec  int   // event category of the requests: ln → latest, else nec

	batch    bool // batchNotify
	batchNum int  // 0: by duration only
	batchDur time.Duration
	latest   bool // latestNotify
	rateMax  int  // rateLimit mnn (0: no limit)
	rateWin  time.Duration

	hasExc bool // expirationCounter present
	exc    int64

	crit int // its criteria's number among its subject's (subjectSubs.crits)
}

// critKey is the same string for two subscriptions exactly when qualifies
// gives the same answer for both for every event.
func (s *sub) critKey() string {
	opt := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%q %v %t|", s.atr, s.chty, s.or)
	for _, t := range []time.Time{s.crb, s.cra, s.ms, s.us, s.exb, s.exa} {
		if t.IsZero() {
			b.WriteString("- ")
		} else {
			fmt.Fprintf(&b, "%d.%d ", t.Unix(), t.Nanosecond())
		}
	}
	fmt.Fprintf(&b, "|%s %s %s %s", opt(s.sts), opt(s.stb), opt(s.sza), opt(s.szb))
	return b.String()
}

// ecLatest is the "latest" event category (m2m:stdEventCats).
const ecLatest = 4

func parseSub(a map[string]any) *sub {
	s := &sub{nets: []int64{1}, nct: 1}
	s.ri, _ = a["ri"].(string)
	s.pi, _ = a["pi"].(string)
	s.ct = timeAttr(a, "ct")
	s.et = timeAttr(a, "et")
	s.targets = resource.StringList(a["nu"])
	s.su, _ = a["su"].(string)
	s.cr, _ = a["cr"].(string)
	s.nfu, _ = a["nfu"].(string)
	if enc, ok := a["enc"].(map[string]any); ok {
		if nets := ints(enc["net"]); len(nets) > 0 {
			s.nets = nets
		}
		s.crb, s.cra = timeAttr(enc, "crb"), timeAttr(enc, "cra")
		s.ms, s.us = timeAttr(enc, "ms"), timeAttr(enc, "us")
		s.exb, s.exa = timeAttr(enc, "exb"), timeAttr(enc, "exa")
		s.sts, s.stb = intPtr(enc, "sts"), intPtr(enc, "stb")
		s.sza, s.szb = intPtr(enc, "sza"), intPtr(enc, "szb")
		s.atr = resource.StringList(enc["atr"])
		s.chty = ints(enc["chty"])
		fo, _ := enc["fo"].(int64)
		s.or = fo == 2
	}
	if nct, ok := a["nct"].(int64); ok {
		s.nct = nct
	}
	if nec, ok := a["nec"].(int64); ok {
		s.ec = int(nec)
	}
	if bn, ok := a["bn"].(map[string]any); ok {
		s.batch = true
		if n, ok := bn["num"].(int64); ok {
			s.batchNum = int(n)
		}
		if d, ok := bn["dur"].(string); ok {
			s.batchDur, _ = resource.ParseDuration(d)
		}
	}
	if ln, ok := a["ln"].(bool); ok && ln {
		s.latest = true
		s.ec = ecLatest // TS-0004 7.5.1.2.2 step 2.3
	}
	if rl, ok := a["rl"].(map[string]any); ok {
		n, _ := rl["mnn"].(int64)
		w, _ := rl["tww"].(string)
		if d, err := resource.ParseDuration(w); err == nil && n > 0 && d > 0 {
			s.rateMax, s.rateWin = int(n), d
		}
	}
	if exc, ok := a["exc"].(int64); ok {
		s.hasExc, s.exc = true, exc
	}
	return s
}

func timeAttr(a map[string]any, k string) time.Time {
	s, _ := a[k].(string)
	t, _ := primitive.ParseTime(s)
	return t
}

func intPtr(a map[string]any, k string) *int64 {
	if v, ok := a[k].(int64); ok {
		return &v
	}
	return nil
}

func ints(v any) []int64 {
	l, _ := v.([]any)
	out := make([]int64, 0, len(l))
	for _, e := range l {
		if n, ok := e.(int64); ok {
			out = append(out, n)
		}
	}
	return out
}

// wants reports whether the subscription asked for event type net.
func (s *sub) wants(net int64) bool { return slices.Contains(s.nets, net) }

// eventRes is what the conditions of eventNotificationCriteria read from the
// resource of an event, parsed once per event rather than once for each of
// the subscriptions it is matched against (a container may have thousands).
type eventRes struct {
	ty           int
	res          map[string]any
	ct, lt, et   time.Time
	st, cs       int64
	hasST, hasCS bool
}

func newEventRes(ty int, res map[string]any) *eventRes {
	e := &eventRes{ty: ty, res: res}
	e.ct, e.lt, e.et = timeAttr(res, "ct"), timeAttr(res, "lt"), timeAttr(res, "et")
	e.st, e.hasST = res["st"].(int64)
	e.cs, e.hasCS = res["cs"].(int64)
	return e
}

// matches is step 1.0 of TS-0004 7.5.1.2.2 for an event of type net about
// the resource e.res (of type e.ty): the event type, then its qualifiers (atr
// for an update: one of the listed attributes changed; chty for a child
// event: the child is of a listed type), then the other conditions on the
// resource, combined with filterOperation (AND unless fo=2).
func (s *sub) matches(net int64, e *eventRes, mod []string) bool {
	return s.wants(net) && s.qualifies(net, e, mod)
}

// qualifies is matches for a subscription known to want net (one of the
// subscriptions indexed under net).
func (s *sub) qualifies(net int64, e *eventRes, mod []string) bool {
	switch net {
	case 1:
		if len(s.atr) > 0 && !slices.ContainsFunc(s.atr, func(a string) bool { return slices.Contains(mod, a) }) {
			return false
		}
	case 3, 4:
		if len(s.chty) > 0 && !slices.Contains(s.chty, int64(e.ty)) {
			return false
		}
	}
	// conditions counts the conditions present, met those that hold.
	conditions, met := 0, 0
	add := func(ok bool) {
		conditions++
		if ok {
			met++
		}
	}
	if !s.crb.IsZero() {
		add(!e.ct.IsZero() && e.ct.Before(s.crb))
	}
	if !s.cra.IsZero() {
		add(!e.ct.IsZero() && !e.ct.Before(s.cra))
	}
	if !s.ms.IsZero() {
		add(!e.lt.IsZero() && !e.lt.Before(s.ms))
	}
	if !s.us.IsZero() {
		add(!e.lt.IsZero() && e.lt.Before(s.us))
	}
	if !s.exb.IsZero() {
		add(!e.et.IsZero() && e.et.Before(s.exb))
	}
	if !s.exa.IsZero() {
		add(e.et.IsZero() || !e.et.Before(s.exa))
	}
	if s.sts != nil {
		add(e.hasST && e.st < *s.sts)
	}
	if s.stb != nil {
		add(e.hasST && e.st >= *s.stb)
	}
	if s.sza != nil {
		add(e.hasCS && e.cs >= *s.sza)
	}
	if s.szb != nil {
		add(e.hasCS && e.cs < *s.szb)
	}
	switch {
	case conditions == 0:
		return true
	case s.or:
		return met > 0
	default:
		return met == conditions
	}
}

// content is step 2.1 of TS-0004 7.5.1.2.2: the representation of res for
// the notificationContentType: the whole resource (1), the attributes the
// update changed (2, null for those it removed), or its resource ID (3, as
// an SP-relative ID).
func (s *sub) content(core *cse.CSE, ty int, res map[string]any, mod []string) map[string]any {
	switch s.nct {
	case 2:
		m := make(map[string]any, len(mod))
		for _, k := range mod {
			m[k] = res[k] // nil when removed
		}
		return map[string]any{resource.Key(ty): m}
	case 3:
		ri, _ := res["ri"].(string)
		return map[string]any{"m2m:uri": core.SPRelativeID(ri)}
	}
	return map[string]any{resource.Key(ty): res}
}

// notification builds the m2m:sgn of an event (TS-0004 7.5.1.1).
func (s *sub) notification(core *cse.CSE, net int64, rep map[string]any) map[string]any {
	n := map[string]any{
		"nev": map[string]any{"rep": rep, "net": net},
		"sur": core.SPRelativeID(s.ri),
	}
	if s.cr != "" {
		n["cr"] = s.cr
	}
	if s.nfu != "" {
		n["nfu"] = s.nfu
	}
	return n
}

// deletion builds the m2m:sgn that tells the subscriber its subscription is
// gone (TS-0004 7.5.1.2.4).
func (s *sub) deletion(core *cse.CSE) map[string]any {
	n := map[string]any{"sud": true, "sur": core.SPRelativeID(s.ri)}
	if s.cr != "" {
		n["cr"] = s.cr
	}
	return n
}
