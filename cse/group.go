package cse

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/onecse/onecse/acp"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// <group> and its <fanOutPoint> (TS-0001 9.6.13, 9.6.14, 10.2.7; TS-0004
// 7.4.13, 7.4.14; protocol.md 3.9 and 3.14).
//
// Members are addressed as a To would be: a resource ID ("cnt123"), a
// structured CSE-relative address ("cse-in/ae1/cnt1"), an SP-relative or an
// absolute ID. A member on another CSE is reached through the forwarding of
// the core (forward.go), with the originator of the request, so the member's
// own access control decides. A member ending in "/fopt" stands for the
// members of that (sub-)group; one ending in "/la" or "/ol" for the newest or
// oldest instance of a container.

const virtFanOut = "fopt"

// groupMember is what validation learnt about one member.
type groupMember struct {
	id          string
	ty          int // the member's resource type (a sub-group's for "/fopt")
	subMT       int // for a "/fopt" member: the sub-group's memberType
	unreachable bool
	// key identifies the member for de-duplication: the resource ID of a
	// member of this CSE, else the ID as given.
	key string
}

// memberRequest builds a request of the group host to a member, on behalf
// of the originator of req.
func memberRequest(req *primitive.Request, op primitive.Operation, to string) *primitive.Request {
	sub := primitive.NewRequest()
	sub.Op, sub.To, sub.From, sub.FromPresent = op, to, req.From, req.FromPresent
	sub.RQI, sub.RVI, sub.Peer = req.RQI, req.RVI, req.Peer
	sub.RQET = req.RQET
	return sub
}

// inspectMember reads the type of one member with the originator's rights.
func (c *CSE) inspectMember(ctx context.Context, req *primitive.Request, id string) (groupMember, error) {
	m := groupMember{id: id, key: id}
	to, virtual := id, ""
	for _, v := range []string{virtFanOut, virtLatest, virtOldest} {
		if s, ok := strings.CutSuffix(id, "/"+v); ok && s != "" {
			to, virtual = s, v
			break
		}
	}
	if a, ok := primitive.ParseAddress(to); !ok || a.Attr != "" {
		return m, primitive.Errorf(primitive.RSCBadRequest, "member %q is not a resource address", id)
	}
	resp := c.Handle(ctx, memberRequest(req, primitive.OpRetrieve, to))
	switch {
	case resp.RSC == primitive.RSCOK:
	case resp.RSC == primitive.RSCNotFound:
		return m, primitive.Errorf(primitive.RSCNotFound, "member %q does not exist", id)
	case resp.RSC == primitive.RSCOriginatorHasNoPrivilege:
		return m, primitive.Errorf(primitive.RSCReceiverHasNoPrivilege, "originator %q may not retrieve the member %q, so its type cannot be validated", req.From, id)
	case resp.RSC == primitive.RSCTargetNotReachable || resp.RSC == primitive.RSCRequestTimeout:
		// The member's host is not reachable now: the member stays, and
		// memberTypeValidated says that it was not checked (TS-0001
		// 10.2.7.2).
		m.unreachable = true
		return m, nil
	default:
		return m, primitive.Errorf(primitive.RSCBadRequest, "member %q cannot be validated: its host answered %d %s", id, int(resp.RSC), dbg(resp))
	}
	var attrs map[string]any
	for _, v := range resp.PC {
		attrs, _ = v.(map[string]any)
	}
	ty, _ := attrs["ty"].(int64)
	m.ty = int(ty)
	if ri, _ := attrs["ri"].(string); ri != "" {
		if a, _ := primitive.ParseAddress(to); a.Scope == primitive.ScopeCSERelative || a.CSEID == c.cfg.CSEID {
			m.key = ri
		} else {
			m.key = a.CSEID + "/" + ri
		}
		if virtual != "" {
			m.key += "/" + virtual
		}
	}
	switch virtual {
	case virtFanOut:
		if m.ty != resource.TyGroup {
			return m, primitive.Errorf(primitive.RSCBadRequest, "member %q: only a <group> has a fanOutPoint", id)
		}
		mt, _ := attrs["mt"].(int64)
		m.subMT = int(mt)
	case virtLatest, virtOldest:
		if m.ty != resource.TyContainer {
			return m, primitive.Errorf(primitive.RSCBadRequest, "member %q: only a <container> has the virtual resource %s", id, virtual)
		}
		m.ty = resource.TyCIN
	}
	return m, nil
}

// validateMembers applies the rules of a <group>'s members to body b (a
// CREATE, or an UPDATE of the group old): duplicates removed, at most mnm
// members (6010), each member validated against mt and handled by csy
// (1 dropped, 2 4110, 3 mt becomes mixed). It sets mid, cnm, mt, mtv and csy
// in b.
func (c *CSE) validateMembers(ctx context.Context, req *primitive.Request, b map[string]any, old *resource.Resource) error {
	_, midGiven := b["mid"]
	mnmV, mnmGiven := b["mnm"]
	if old != nil && !midGiven && !mnmGiven {
		return nil
	}
	mnm, _ := mnmV.(int64)
	var ids []string
	mt, csy := int64(0), int64(resource.ConsistencyAbandonMember)
	if v, ok := b["mt"].(int64); ok {
		mt = v
	}
	if v, ok := b["csy"].(int64); ok {
		csy = v
	}
	if old != nil {
		if !mnmGiven {
			mnm, _ = old.Int("mnm")
		}
		mt, _ = old.Int("mt")
		if v, ok := old.Int("csy"); ok {
			csy = v
		}
	}
	if midGiven {
		ids = resource.StringList(b["mid"])
	} else {
		ids = old.Strings("mid")
	}
	// Duplicates as written are removed first (TS-0001 10.2.7.2).
	uniq := ids[:0:0]
	for _, id := range ids {
		if !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	if int64(len(uniq)) > mnm {
		return primitive.Errorf(primitive.RSCMaxNumberOfMemberExceeded, "%d members exceed maxNrOfMembers (mnm) %d", len(uniq), mnm)
	}
	validated := true
	var kept []any
	var keys []string
	for _, id := range uniq {
		m, err := c.inspectMember(ctx, req, id)
		if err != nil {
			return err
		}
		if slices.Contains(keys, m.key) {
			continue // the same resource under another address form
		}
		if m.unreachable {
			validated = false
		} else if mt != 0 {
			ty := m.ty
			if c.fanOutMember(id) {
				ty = m.subMT // a sub-group's fanOutPoint stands for members of its memberType
			}
			if ty != int(mt) {
				switch csy {
				case resource.ConsistencyAbandonMember:
					continue
				case resource.ConsistencyAbandonGroup:
					return primitive.Errorf(primitive.RSCGroupMemberTypeInconsistent, "member %q is of type %d, not of the memberType %d (consistencyStrategy ABANDON_GROUP)", id, ty, mt)
				case resource.ConsistencySetMixed:
					mt = 0
				}
			}
		}
		keys = append(keys, m.key)
		kept = append(kept, id)
	}
	if kept == nil {
		kept = []any{}
	}
	b["mid"] = kept
	b["cnm"] = int64(len(kept))
	b["mtv"] = validated
	if old == nil {
		b["mt"], b["csy"] = mt, csy
	} else if cur, _ := old.Int("mt"); cur != mt {
		b["mt"] = mt // SET_MIXED on UPDATE: the CSE changes mt itself
	}
	return nil
}

func (c *CSE) fanOutMember(id string) bool { return strings.HasSuffix(id, "/"+virtFanOut) }

// checkPolicyRefs checks that every entry of a list attribute names an
// <accessControlPolicy> of this CSE (acpi, macp).
func (c *CSE) checkPolicyRefs(tx store.Tx, body map[string]any, sn string) error {
	if sn == "acpi" {
		return c.checkACPIRefs(tx, body)
	}
	l, ok := body[sn].([]any)
	if !ok {
		return nil
	}
	return c.checkACPIRefs(tx, map[string]any{"acpi": l})
}

// splitFanOut cuts a To of the form <group>/fopt[/<relative path>]: it
// returns the group's address and the relative path.
func splitFanOut(to string) (group, rest string, ok bool) {
	if strings.Contains(to, "#") || !strings.Contains(to, virtFanOut) {
		return "", "", false // (no segment can be fopt: nothing to split)
	}
	segs := strings.Split(to, "/")
	for i := 1; i < len(segs); i++ {
		if segs[i] == virtFanOut && segs[i-1] != "" {
			return strings.Join(segs[:i], "/"), strings.Join(segs[i+1:], "/"), true
		}
	}
	return "", "", false
}

// fanOutKey is the context key of the groups a fan-out passes through: a
// group met twice is a loop (4104).
type fanOutKey struct{}

// maxFanOut bounds the member requests of one fan-out that run at once.
const maxFanOut = 8

// fanOut answers a request to a <fanOutPoint>: it returns nil, nil when To
// is not one.
func (c *CSE) fanOut(ctx context.Context, req *primitive.Request, o *originator) (*primitive.Response, error) {
	grpTo, rest, ok := splitFanOut(req.To)
	if !ok {
		return nil, nil
	}
	// The work is in a function of its own: its variables that closures
	// capture live on the heap, allocated on entry, which a request to
	// anything but a fanOutPoint (nearly all) need not pay.
	return c.fanOutTo(ctx, req, o, grpTo, rest)
}

func (c *CSE) fanOutTo(ctx context.Context, req *primitive.Request, o *originator, grpTo, rest string) (*primitive.Response, error) {
	// A non-blocking run watches the member answers of this fan-out only:
	// the members' own requests (sub-groups, verifications) report nothing.
	progress := progressOf(ctx)
	if progress != nil {
		ctx = withProgress(ctx, nil)
		if progress.to != req.To {
			progress = nil // a request made on the way (a member check), not the one watched
		}
	}
	tgt, err := c.resolve(ctx, grpTo)
	if err != nil {
		if primitive.AsError(err).RSC == primitive.RSCNotFound {
			return nil, nil // resolve answers the whole To
		}
		return nil, err
	}
	grp := tgt.res
	if grp.Ty != resource.TyGroup || tgt.virtual != "" || tgt.attr != "" {
		return nil, nil
	}
	chk := accessCheck{op: opBits[req.Op], target: grp, childType: req.Ty}
	if req.Op == primitive.OpRetrieve && req.FC.IsDiscovery() {
		chk.op = acp.OpDiscovery
	}
	err = c.st.View(ctx, func(tx store.Tx) error { return c.authorizeFanOut(tx, req, o, grp, chk) })
	if err != nil {
		return nil, storeErr(err, req.To)
	}
	mid := grp.Strings("mid")
	if len(mid) == 0 {
		return nil, primitive.Errorf(primitive.RSCNoMembers, "the group %s has no members", grp.Path)
	}
	mid, passGRTM, err := c.targetMembers(ctx, req, mid)
	if err != nil {
		return nil, err
	}
	seen, _ := ctx.Value(fanOutKey{}).([]string)
	if slices.Contains(seen, grp.RI) {
		return nil, primitive.Errorf(primitive.RSCGroupRequestIdentifierExists, "the group %s is reached twice by one group request (a loop of sub-groups)", grp.Path)
	}
	ctx = context.WithValue(ctx, fanOutKey{}, append(slices.Clip(seen), grp.RI))
	// The group host checks a gid it receives, and remembers one it
	// generates, by the fanOutPoint it reached (TS-0004 7.4.14.2.4,
	// 7.3.3.2): the same group request coming back is refused with 4104.
	gid := req.GID
	if gid == "" {
		gid = newRI(0)
	}
	if !c.gids.admit(gid, grp.RI+"/"+virtFanOut+"/"+rest, c.now(), req.RQET) {
		return nil, primitive.Errorf(primitive.RSCGroupRequestIdentifierExists, "the group request %q has already reached the fanOutPoint of %s", gid, grp.Path)
	}
	gs, err := c.prepareGroupSubscribe(req, grp, o.id)
	if err != nil {
		return nil, err
	}
	if gs != nil && gs.aggregate != nil {
		c.groupVerifs.add(grp.RI, o.id, 1)
		defer c.groupVerifs.add(grp.RI, o.id, -1)
	}
	// flexBlocking (rt=4) at the fanOutPoint it reached: the answer is
	// blocking when the members answer soon, else a <request> (nbgroup.go).
	// A subscription the group host aggregates is made blocking.
	flex := progress == nil && req.RT != nil && req.RT.RTV == primitive.RTFlexBlocking && !(gs != nil && gs.aggregate != nil)
	stopMembers := func() {}
	if flex {
		// The members' requests may outlive this one, up to the result
		// expiration time; shutdown still ends them.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		unhook := context.AfterFunc(c.nb.base, cancel)
		stopMembers = func() { unhook(); cancel() }
	}
	out := make([]*primitive.Response, len(mid))
	// Buffered for every member: one that answers after the result
	// expiration time leaves its answer here and nobody reads it.
	results := make(chan memberResult, len(mid))
	sem := make(chan struct{}, maxFanOut)
	for i, m := range mid {
		to := m
		if rest != "" {
			to = strings.TrimSuffix(m, "/") + "/" + rest
		}
		sub := *req
		sub.To, sub.GID, sub.GRTM = to, gid, passGRTM[i]
		if flex {
			sub.RT = nil // the group host chooses; members answer blocking
		}
		if gs != nil {
			sub.Content = gs.content
			if gs.noContent {
				sub.RCN = primitive.RCNAttributes
			}
		}
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results <- memberResult{i, c.Handle(ctx, &sub)}
		}()
	}
	f := &fanOutRun{req: req, grp: grp, gs: gs, mid: mid, rest: rest, results: results, out: out}
	if flex {
		if resp := c.flexFanOut(ctx, o, f, stopMembers); resp != nil {
			return resp, nil
		}
		defer stopMembers()
		return c.finishFanOut(ctx, f, len(out)-countNil(out))
	}
	var onAnswer func(int, *primitive.Response)
	if progress != nil {
		noContent := gs != nil && gs.noContent
		onAnswer = func(i int, r *primitive.Response) {
			progress.answer(len(mid), memberEntry(req, mid[i], r, noContent))
		}
	}
	answered, _ := c.collectUntil(req, results, out, onAnswer, 0, nil)
	return c.finishFanOut(ctx, f, answered)
}

// fanOutRun is one fan-out under way: the members' answers come on
// results and are put into out.
type fanOutRun struct {
	req     *primitive.Request
	grp     *resource.Resource
	gs      *groupSubscribe
	mid     []string
	rest    string
	results chan memberResult
	out     []*primitive.Response
}

func countNil(out []*primitive.Response) int {
	n := 0
	for _, r := range out {
		if r == nil {
			n++
		}
	}
	return n
}

// finishFanOut makes the aggregated response of f once answered members
// answered, and does what their answers call for (TS-0004 7.4.14.2.5,
// 7.4.14.3.5).
func (c *CSE) finishFanOut(ctx context.Context, f *fanOutRun, answered int) (*primitive.Response, error) {
	req, grp, gs, mid, rest, out := f.req, f.grp, f.gs, f.mid, f.rest, f.out
	if answered == 0 {
		// TS-0004 7.4.14.2.5: no member answered before the result
		// expiration time.
		return nil, primitive.Errorf(primitive.RSCGroupMembersNotResponded, "no member of the group %s answered before the result expiration time %s", grp.Path, primitive.FormatTime(req.RSET))
	}
	if gs != nil && gs.aggregate != nil {
		if err := c.recordGroupSubscribe(ctx, grp, gs, mid, out); err != nil {
			c.log.Warn("group: recording a subscription made through the fanOutPoint", "group", grp.Path, "err", err)
		}
	}
	rsps := make([]any, 0, len(mid))
	var removed []string
	for i, r := range out {
		if r == nil {
			continue // answered too late: discarded (TS-0004 7.4.14.2.5)
		}
		rsps = append(rsps, memberEntry(req, mid[i], r, gs != nil && gs.noContent))
		if req.Op == primitive.OpDelete && rest == "" && r.RSC == primitive.RSCDeleted && !c.virtualMember(mid[i]) {
			removed = append(removed, mid[i])
		}
	}
	if req.Op == primitive.OpDelete && rest != "" && !strings.Contains(rest, "/") && slices.ContainsFunc(out, func(r *primitive.Response) bool { return r != nil && r.RSC == primitive.RSCDeleted }) {
		if err := c.dropGroupSubscribes(ctx, grp.RI, rest); err != nil {
			c.log.Warn("group: forgetting a subscription deleted through the fanOutPoint", "group", grp.Path, "err", err)
		}
	}
	if len(removed) > 0 {
		// A member deleted through the fanOutPoint leaves the group
		// (TS-0004 7.4.14.2.4).
		if err := c.dropMembers(ctx, grp.RI, removed); err != nil {
			c.log.Warn("group: removing deleted members", "group", grp.Path, "err", err)
		}
	}
	return &primitive.Response{RSC: primitive.RSCOK, PC: map[string]any{"m2m:agr": map[string]any{"m2m:rsp": rsps}}}, nil
}

func (c *CSE) virtualMember(id string) bool {
	for _, v := range []string{virtFanOut, virtLatest, virtOldest} {
		if strings.HasSuffix(id, "/"+v) {
			return true
		}
	}
	return false
}

// authorizeFanOut decides access to a <fanOutPoint>: the group's
// membersAccessControlPolicyIDs when it has some, else its own access
// control (TS-0001 9.6.14).
func (c *CSE) authorizeFanOut(tx store.Tx, req *primitive.Request, o *originator, grp *resource.Resource, chk accessCheck) error {
	ids := grp.Strings("macp")
	if len(ids) == 0 {
		return c.authorize(tx, req, o, chk)
	}
	if o.admin {
		return nil
	}
	var acps []*resource.Resource
	for _, id := range ids {
		p, err := c.lookupACP(tx, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		acps = append(acps, p)
	}
	ok, err := c.decide(c.acpRequest(req, o, chk), acps, false)
	if err != nil {
		return err
	}
	if !ok {
		return primitive.Errorf(primitive.RSCOriginatorHasNoPrivilege, "originator %q has no %s privilege on the fanOutPoint of %s (membersAccessControlPolicyIDs)", req.From, opName(chk.op), grp.Path)
	}
	return nil
}

// dropMembers removes members from a group's mid.
func (c *CSE) dropMembers(ctx context.Context, ri string, gone []string) error {
	return c.write(ctx, func(tx store.Tx, ev *events) error {
		cur, err := tx.Get(ri)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		before := cloneAttrs(cur.Attrs)
		keep := []any{}
		for _, m := range cur.Strings("mid") {
			if !slices.Contains(gone, m) {
				keep = append(keep, m)
			}
		}
		cur.Attrs["mid"] = keep
		cur.Attrs["cnm"] = int64(len(keep))
		cur.SetTime("lt", c.now())
		if err := tx.Put(cur); err != nil {
			return err
		}
		return ev.updated(tx, cur, before, map[string]any{"mid": keep})
	})
}

func cloneAttrs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// memberEntry is the m2m:rsp of member id's answer r in the aggregated
// response: From is the member (TS-0004 7.4.14.2.5).
func memberEntry(req *primitive.Request, id string, r *primitive.Response, noContent bool) map[string]any {
	e := map[string]any{"rsc": int64(r.RSC), "rqi": req.RQI, "fr": id, "to": req.From}
	if r.PC != nil && !noContent {
		e["pc"] = r.PC
	}
	return e
}

// memberResult is the answer of the member mid[i].
type memberResult struct {
	i    int
	resp *primitive.Response
}

// collectUntil puts the members' answers into out as they arrive, until
// all have answered or, for a request with a Result Expiration Timestamp,
// until that time: the answers that come later are discarded (TS-0001
// 9.6.14, TS-0004 7.4.14.2.5; blocking requests). It returns how many
// answered in time, and whether it stopped early: onAnswer, when not nil,
// is told of each answer taken; have answers are in out already; early,
// when it fires, ends the wait before the result expiration time.
func (c *CSE) collectUntil(req *primitive.Request, results <-chan memberResult, out []*primitive.Response, onAnswer func(int, *primitive.Response), have int, early <-chan time.Time) (int, bool) {
	var expired <-chan time.Time
	if !req.RSET.IsZero() {
		t := time.NewTimer(req.RSET.Sub(c.now()))
		defer t.Stop()
		expired = t.C
	}
	for n := have; n < len(out); n++ {
		select {
		case r := <-results:
			out[r.i] = r.resp
			if onAnswer != nil {
				onAnswer(r.i, r.resp)
			}
		case <-expired:
			return n, false
		case <-early:
			return n, true
		}
	}
	return len(out), false
}
