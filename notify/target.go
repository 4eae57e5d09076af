package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// Notification targets (TS-0001 9.6.8; TS-0004 7.3.3.9.1, 7.5.1.2.2 step
// 2.5; protocol.md 10.5): a URL is used as it is (without its ?ct= suffix,
// which picks the serialisation); an AE-ID is resolved through the <AE>'s
// pointOfAccess list, tried in order, in one of the serialisations of its
// contentSerialization; this CSE's own CSE-ID is answered here.

// dest is one place a notification can be sent to.
type dest struct {
	addr   string // URL
	format codec.Format
	local  bool // this CSE itself
	// pch is the resource ID of an entity whose <pollingChannel> takes the
	// request (an AE that is not request-reachable).
	pch string
	// group is the resource ID of a <group> of this CSE that aggregates
	// the notifications of its members' subscriptions (cse/groupsub.go).
	group string
	// receiver is the AE the address is a point of access of ("" for a
	// URL target); conn: send over the connection it opened to this CSE
	// (WebSocket) rather than to addr.
	receiver string
	conn     bool
	// onward is the ID of an entity of another CSE (an AE-ID or a CSE-ID
	// in SP-relative or absolute form): the request goes through the
	// registration tree, and that entity's CSE delivers it.
	onward string
}

// errUnreachable marks a target that cannot be reached at all as things are
// (no point of access, not request-reachable, on another CSE): retrying soon
// will not help, but the AE may register a point of access later.
var errUnreachable = errors.New("not reachable")

// resolve returns where target can be reached, in the order to try.
func (s *Service) resolve(ctx context.Context, target string) ([]dest, error) {
	addr, ct, err := cse.SplitTarget(target)
	if err != nil {
		return nil, err
	}
	if strings.Contains(addr, "://") {
		return []dest{{addr: addr, format: formatOf(ct)}}, nil
	}
	cfg := s.core.Config()
	if addr == cfg.CSEID || addr == cfg.SPID+cfg.CSEID {
		return []dest{{local: true}}, nil
	}
	id, local := s.core.LocalID(addr)
	if !local || id == "" {
		// A CSE-ID or an entity of another CSE: its own CSE knows its
		// pointOfAccess, so the request is sent there through the
		// registration tree (TS-0004 7.3.2.6), as an AE's would be.
		if a, ok := primitive.ParseAddress(addr); ok && a.Scope != primitive.ScopeCSERelative {
			return []dest{{onward: addr}}, nil
		}
		return nil, fmt.Errorf("%w: %s is not an ID this CSE can reach", errUnreachable, target)
	}
	var r *resource.Resource
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if r, err = tx.Get(id); errors.Is(err, store.ErrNotFound) {
			r, err = tx.GetByPath(id) // a structured ID (cse-in/myAE)
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s does not exist", errUnreachable, target)
	}
	if err != nil {
		return nil, err
	}
	switch r.Ty {
	case resource.TyCSEBase:
		return []dest{{local: true}}, nil
	case resource.TyAE:
	case resource.TyGroup:
		return []dest{{group: r.RI}}, nil
	default:
		return nil, fmt.Errorf("%w: %s is a %s, not an AE or a CSE", errUnreachable, target, resource.Key(r.Ty))
	}
	if !r.ET.IsZero() && !r.ET.After(s.core.Now()) {
		return nil, fmt.Errorf("%w: the AE %s has expired", errUnreachable, target)
	}
	f := aeFormat(r.Strings("csz"))
	aei := r.Str("aei")
	var out []dest
	if conns := s.core.Connections(); conns != nil && aei != "" && conns.Connected(aei) {
		// TS-0020 6.4: the connection the AE opened carries requests to it
		// (whether or not it is request-reachable otherwise).
		out = append(out, dest{receiver: aei, conn: true})
	}
	rr, _ := r.Attrs["rr"].(bool)
	if rr {
		for _, p := range r.Strings("poa") {
			if strings.Contains(p, "://") {
				out = append(out, dest{addr: p, format: f, receiver: aei})
			}
		}
	}
	// An AE that is not request-reachable (rr=false), or whose points of
	// access all fail, is reached through its <pollingChannel> (TS-0004
	// 7.3.3.9.1; cse/polling.go).
	if s.core.HasPollingChannel(ctx, r.RI) {
		out = append(out, dest{pch: r.RI})
	}
	if len(out) == 0 {
		if !rr {
			return nil, fmt.Errorf("%w: the AE %s is not request-reachable (rr=false) and has no pollingChannel", errUnreachable, target)
		}
		return nil, fmt.Errorf("%w: the AE %s has no pointOfAccess", errUnreachable, target)
	}
	return out, nil
}

// String names d in errors.
func (d dest) String() string {
	if d.onward != "" {
		return d.onward + " (through the registration tree)"
	}
	if d.conn {
		return "the connection of " + d.receiver
	}
	return d.addr
}

// sendTo makes one attempt to deliver req at d, within the timeout.
func (s *Service) sendTo(ctx context.Context, d dest, req *primitive.Request) (*primitive.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	if d.onward != "" {
		return s.core.SendOnward(ctx, req)
	}
	if d.conn {
		return s.core.Connections().Send(ctx, d.receiver, req)
	}
	if d.receiver != "" {
		ctx = cse.WithReceiver(ctx, d.receiver)
	}
	return s.send.Send(ctx, d.addr, d.format, req)
}

func formatOf(ct string) codec.Format {
	if ct == "cbor" {
		return codec.CBOR
	}
	return codec.JSON
}

// aeFormat picks the first serialisation of an AE's contentSerialization
// that onecse produces; both spellings are in use (protocol.md 14, item 8).
func aeFormat(csz []string) codec.Format {
	for _, c := range csz {
		switch {
		case c == "json" || strings.HasSuffix(c, "/json") || strings.HasSuffix(c, "+json"):
			return codec.JSON
		case c == "cbor" || strings.HasSuffix(c, "/cbor") || strings.HasSuffix(c, "+cbor"):
			return codec.CBOR
		}
	}
	return codec.JSON
}

// deliver sends one NOTIFY with content pc to target, trying its points of
// access in order, and returns the answer of the first one that answered.
func (s *Service) deliver(ctx context.Context, target string, pc map[string]any, ec int) (*primitive.Response, error) {
	dests, err := s.resolve(ctx, target)
	if err != nil {
		return nil, err
	}
	addr, _, _ := cse.SplitTarget(target)
	req := &primitive.Request{
		Op: primitive.OpNotify, To: addr, From: s.core.Config().CSEID, RQI: s.newRQI(),
		RVI: "3", Content: pc, EC: ec, RCN: primitive.RCNAbsent,
	}
	var errs []error
	for _, d := range dests {
		if d.local {
			// Addressed to this CSE itself, which has nothing more to do.
			return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI}, nil
		}
		if d.group != "" {
			return s.groupNotify(ctx, d.group, req), nil
		}
		if d.pch != "" {
			// Queued durably on the polling channel: delivered, as far as
			// this service is concerned; the AE fetches it when it polls.
			if err := s.core.PollingEnqueue(ctx, d.pch, req); err != nil {
				errs = append(errs, fmt.Errorf("pollingChannel of %s: %w", d.pch, err))
				continue
			}
			return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI}, nil
		}
		resp, err := s.sendTo(ctx, d, req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", d, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// Verify sends the verification request of a subscription (TS-0004
// 7.5.1.2.3): one attempt, which must be answered with 2000 OK.
func (s *Service) Verify(ctx context.Context, sur, creator, target string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opt.VerifyTimeout)
	defer cancel()
	if a, ok := primitive.ParseAddress(target); ok && a.Scope != primitive.ScopeCSERelative {
		if _, local := s.core.LocalID(target); !local {
			// The target's CSE checks the creator's privilege (TS-0004
			// 7.5.1.2.3), so it must be named as seen from there.
			creator = s.core.OutsideID(creator)
		}
	}
	sgn := map[string]any{"vrq": true, "sur": sur, "cr": creator}
	resp, err := s.deliver(ctx, target, map[string]any{"m2m:sgn": sgn}, 0)
	if err != nil {
		return err
	}
	if resp.RSC != primitive.RSCOK {
		return fmt.Errorf("answered %s", resp.RSC)
	}
	return nil
}

// Forward re-targets a NOTIFY addressed to the <AE> aei to the AE (TS-0004
// 7.3.3.9.1): to its points of access in order, until one answers; the
// request goes as it came (its originator, its request ID). When none
// answers, or the AE has no point of access, the answer is 5103
// TARGET_NOT_REACHABLE.
func (s *Service) Forward(ctx context.Context, req *primitive.Request, aei string) (*primitive.Response, error) {
	dests, err := s.resolve(ctx, aei)
	if err != nil {
		return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "%v", err)
	}
	var errs []error
	for _, d := range dests {
		if d.pch != "" {
			// The AE answers through its pollingChannelURI.
			cctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
			resp, err := s.core.PollingRequest(cctx, d.pch, req)
			cancel()
			return resp, err
		}
		resp, err := s.sendTo(ctx, d, req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", d, err))
	}
	return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "the AE %s did not answer: %v", aei, errors.Join(errs...))
}

// NotifyBlocking sends the blocking update notification of TS-0004
// 7.5.1.2.19 to target and returns its answer: one attempt per point of
// access, in order, all within one notification timeout, as the UPDATE
// waits for it. An AE reached through its <pollingChannel> answers through
// its pollingChannelURI; queuing the request is no answer.
func (s *Service) NotifyBlocking(ctx context.Context, target string, pc map[string]any) (*primitive.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	dests, err := s.resolve(ctx, target)
	if err != nil {
		return nil, err
	}
	addr, _, _ := cse.SplitTarget(target)
	req := &primitive.Request{
		Op: primitive.OpNotify, To: addr, From: s.core.Config().CSEID, RQI: s.newRQI(),
		RVI: "3", Content: pc, RCN: primitive.RCNAbsent,
	}
	var errs []error
	for _, d := range dests {
		var resp *primitive.Response
		var err error
		switch {
		case d.local:
			// The CSE itself consents: nobody else to ask.
			return &primitive.Response{RSC: primitive.RSCOK, RQI: req.RQI}, nil
		case d.pch != "":
			resp, err = s.core.PollingRequest(ctx, d.pch, req)
		case d.group != "":
			resp = s.groupNotify(ctx, d.group, req)
		default:
			resp, err = s.sendTo(ctx, d, req)
		}
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", d, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// groupNotify hands a notification to a <group> of this CSE, which
// aggregates it, and returns its answer (an error as its response, so that
// a refusal is final like any 4xxx answer).
func (s *Service) groupNotify(ctx context.Context, grp string, req *primitive.Request) *primitive.Response {
	resp, err := s.core.GroupNotify(ctx, grp, req)
	if err != nil {
		return primitive.ErrorResponse(req, err)
	}
	return resp
}
