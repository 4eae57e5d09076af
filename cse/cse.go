// Package cse is the core of onecse: it takes one request primitive, finds the
// target, checks the originator and its access rights, runs the operation on
// the store in one transaction and answers with one response primitive. It
// never imports a binding.
package cse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// CSE types (m2m:cseTypeID).
const (
	TypeIN  = 1
	TypeMN  = 2
	TypeASN = 3
)

// Config is what the core needs to know about itself.
type Config struct {
	CSEID   string // SP-relative CSE-ID, e.g. "/id-in"
	CSEName string // resource name of the CSEBase, e.g. "cse-in"
	SPID    string // "//onecse.example"
	CSEType int    // TypeIN, TypeMN or TypeASN
	Admin   string // originator with every right
	// PoA are the CSE's points of access, shown in the CSEBase poa attribute.
	PoA []string
	// DefaultET is the lifetime of a resource created without et; MaxET caps
	// any et a client asks for.
	DefaultET, MaxET time.Duration
	// ExpiryInterval is how often expired resources are removed.
	ExpiryInterval time.Duration
	// AllowedAEOriginators is the fallback AE registration policy used when no
	// service subscription applies: patterns ('*' wildcard) the requested AE-ID
	// stem must match. Empty means C* and S*.
	AllowedAEOriginators []string
	// AEPolicy decides AE registrations beyond the core's own checks (service
	// subscriptions, S-type AE-IDs on an MN or ASN); nil means
	// AllowList(AllowedAEOriginators).
	AEPolicy AEPolicy
	// DefaultBatchDuration is the batchNotify duration a subscription gets
	// when it asks for batches without one (TS-0004 7.4.8.2.1).
	DefaultBatchDuration time.Duration
	// PollTimeout is how long a RETRIEVE of a pollingChannelURI without a
	// request expiration time waits for a request (default 30 s).
	PollTimeout time.Duration
	// RequestPersistence is how long the <request> of a non-blocking
	// request stays after its request, result and execution times when the
	// request gives no result persistence (rp); default 1 h.
	RequestPersistence time.Duration
	// FlexBlockingWait is how long a flexBlocking (rt=4) request to a
	// fanOutPoint waits for all members before it answers with a
	// <request> and the answers so far (TS-0004 7.4.14.2.5); default 2 s.
	FlexBlockingWait time.Duration

	// CSE registration and routing (remotecse.go, registree.go, forward.go).
	Registration
}

// Defaults fills zero fields with the defaults of a stand-alone IN-CSE.
func (c *Config) Defaults() {
	if c.CSEID == "" {
		c.CSEID = "/id-in"
	}
	if c.CSEName == "" {
		c.CSEName = "cse-in"
	}
	if c.SPID == "" {
		c.SPID = "//onecse.example"
	}
	if c.CSEType == 0 {
		c.CSEType = TypeIN
	}
	if c.Admin == "" {
		c.Admin = "CAdmin"
	}
	if c.DefaultET == 0 {
		c.DefaultET = 365 * 24 * time.Hour
	}
	if c.MaxET == 0 {
		c.MaxET = 5 * 365 * 24 * time.Hour
	}
	if c.ExpiryInterval == 0 {
		c.ExpiryInterval = time.Second
	}
	if len(c.AllowedAEOriginators) == 0 {
		c.AllowedAEOriginators = []string{"C*", "S*"}
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 30 * time.Second
	}
	if c.RequestPersistence <= 0 {
		c.RequestPersistence = time.Hour
	}
	if c.FlexBlockingWait <= 0 {
		c.FlexBlockingWait = 2 * time.Second
	}
	if c.DefaultBatchDuration <= 0 {
		c.DefaultBatchDuration = 60 * time.Second
	}
	if c.AEPolicy == nil {
		c.AEPolicy = AllowList(c.AllowedAEOriginators)
	}
}

func (c *Config) validate() error {
	if !strings.HasPrefix(c.CSEID, "/") || strings.HasPrefix(c.CSEID, "//") || strings.Count(c.CSEID, "/") != 1 || len(c.CSEID) < 2 {
		return fmt.Errorf("cse-id %q must be an SP-relative CSE-ID such as /id-in", c.CSEID)
	}
	if !primitive.ValidResourceName(c.CSEName) {
		return fmt.Errorf("cse-name %q is not a valid resource name", c.CSEName)
	}
	if !strings.HasPrefix(c.SPID, "//") || len(c.SPID) < 3 || strings.Contains(c.SPID[2:], "/") {
		return fmt.Errorf("sp-id %q must look like //example.com", c.SPID)
	}
	if c.CSEType < TypeIN || c.CSEType > TypeASN {
		return fmt.Errorf("cse-type %d must be 1 (IN), 2 (MN) or 3 (ASN)", c.CSEType)
	}
	if r := c.Registrar; r.URL != "" {
		if !resource.IsCSEID(r.CSEID) || strings.HasPrefix(r.CSEID, "//") || r.CSEID == c.CSEID {
			return fmt.Errorf("registrar-id %q must be the SP-relative CSE-ID of another CSE, such as /id-in", r.CSEID)
		}
		if !primitive.ValidResourceName(r.Name) {
			return fmt.Errorf("registrar-name %q is not a valid resource name", r.Name)
		}
	}
	if c.INCSEID != "" && (!resource.IsCSEID(c.INCSEID) || strings.HasPrefix(c.INCSEID, "//")) {
		return fmt.Errorf("in-cse-id %q must be an SP-relative CSE-ID such as /id-in", c.INCSEID)
	}
	if c.MaxET < c.DefaultET {
		return fmt.Errorf("the maximum expiration (%s) is shorter than the default (%s)", c.MaxET, c.DefaultET)
	}
	return nil
}

// CSE is the core.
type CSE struct {
	cfg  Config
	st   store.Store
	log  *slog.Logger
	now  func() time.Time
	base *resource.Resource // the CSEBase as of start-up (it never changes through the API)
	acps *acpCache
	reg  regState // routing table and registree state
	// notifier is the notification service (nil: none, see SetNotifier).
	notifier Notifier
	// remote holds the application rules an MN-CSE or ASN-CSE fetched from
	// the IN-CSE (apprules.go).
	remote remoteRules
	polls  pollState // long polls of pollingChannelURIs (polling.go)
	// conns are the registrees' open connections (see SetConnections).
	conns Connections
	// blocks holds UPDATEs back while another waits for its blocking update
	// notification (blocking.go).
	blocks blockLocks
	// groupVerifs: subscription CREATEs fanned out with nfu (groupsub.go).
	groupVerifs groupVerifications
	// gids: the Group Request Identifiers seen, by target (gid.go).
	gids groupRequestIDs
	// nb holds the non-blocking requests running in this process
	// (nonblocking.go).
	nb nbState
}

// New opens the core on st, creating the CSEBase on first start.
func New(ctx context.Context, cfg Config, st store.Store, log *slog.Logger) (*CSE, error) {
	// A CSE with a registrar has S-type AE-IDs assigned by the IN-CSE.
	announce := cfg.AEPolicy == nil && cfg.Registrar.URL != ""
	cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CSE{cfg: cfg, st: st, log: log, now: time.Now, acps: newACPCache()}
	c.reg.kick = make(chan struct{}, 1)
	c.reg.round = make(chan struct{}, 1)
	c.nb.init()
	if announce {
		c.cfg.AEPolicy = &announcer{allow: AllowList(c.cfg.AllowedAEOriginators), c: c}
	}
	if err := c.ensureCSEBase(ctx); err != nil {
		return nil, err
	}
	if err := c.reloadRoutes(ctx); err != nil {
		return nil, err
	}
	if err := c.recountSubscriptions(ctx); err != nil {
		return nil, fmt.Errorf("counting subscriptions: %w", err)
	}
	if err := c.failOrphanedRequests(ctx); err != nil {
		return nil, fmt.Errorf("non-blocking requests left pending: %w", err)
	}
	return c, nil
}

// Config returns the effective configuration.
func (c *CSE) Config() Config { return c.cfg }

// CSEBase returns the CSEBase resource.
func (c *CSE) CSEBase() *resource.Resource { return c.base.Clone() }

func (c *CSE) ensureCSEBase(ctx context.Context) error {
	now := c.now()
	return c.st.Update(ctx, func(tx store.Tx) error {
		var found *resource.Resource
		others, err := tx.Children("", store.ChildQuery{Types: []int{resource.TyCSEBase}})
		if err != nil {
			return err
		}
		for _, r := range others {
			if r.Path != c.cfg.CSEName {
				return fmt.Errorf("the data directory holds the CSE %q (%s), not %q: use another data directory", r.Path, r.Str("csi"), c.cfg.CSEName)
			}
			found = r
		}
		if found != nil && found.Str("csi") != c.cfg.CSEID {
			return fmt.Errorf("the data directory belongs to CSE-ID %s, not %s", found.Str("csi"), c.cfg.CSEID)
		}
		b := found
		if b == nil {
			b = &resource.Resource{Ty: resource.TyCSEBase, RI: strings.TrimPrefix(c.cfg.CSEID, "/"), PI: "", RN: c.cfg.CSEName, Path: c.cfg.CSEName, Attrs: map[string]any{}}
			b.SetTime("ct", now)
			b.SetTime("lt", now)
		}
		a := b.Attrs
		a["ty"], a["ri"], a["rn"], a["pi"] = int64(resource.TyCSEBase), b.RI, b.RN, ""
		a["csi"] = c.cfg.CSEID
		a["cst"] = int64(c.cfg.CSEType)
		srt := []any{}
		for _, ty := range resource.Supported() {
			if t, _ := resource.Lookup(ty); t.INOnly && c.cfg.CSEType != TypeIN {
				continue // refused here (4005): not a supported type
			}
			srt = append(srt, int64(ty))
		}
		a["srt"] = srt
		poa := []any{}
		for _, p := range c.cfg.PoA {
			poa = append(poa, p)
		}
		a["poa"] = poa
		a["srv"] = []any{"2a", "3", "4", "5"}
		a["csz"] = []any{"application/json", "application/cbor"}
		c.base = b
		if found == nil {
			return tx.Create(b)
		}
		return tx.Put(b)
	})
}

// Run removes expired resources until ctx ends.
func (c *CSE) Run(ctx context.Context) error {
	if c.cfg.Registrar.URL != "" {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); c.runRegistree(ctx) }()
	}
	if c.cfg.RegistreeTimeout > 0 {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); c.runRegistrar(ctx) }()
	}
	t := time.NewTicker(c.cfg.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := c.ExpireNow(ctx); err != nil && ctx.Err() == nil {
				c.log.WarnContext(ctx, "expiry", "err", err)
			}
		}
	}
}

// ExpireNow deletes every resource whose expiration time has passed, with its
// subtree, and returns how many top-level resources it removed.
func (c *CSE) ExpireNow(ctx context.Context) (int, error) {
	total := 0
	for {
		var batch []*resource.Resource
		err := c.st.View(ctx, func(tx store.Tx) error {
			var err error
			batch, err = tx.Expired(c.now(), 256)
			return err
		})
		if err != nil || len(batch) == 0 {
			return total, err
		}
		for _, r := range batch {
			gone := false
			var annc []string
			err := c.write(ctx, func(tx store.Tx, ev *events) error {
				gone = false
				cur, err := tx.Get(r.RI)
				if err != nil {
					return err
				}
				if cur.ET.IsZero() || cur.ET.After(c.now()) {
					return nil // renewed meanwhile
				}
				if annc, err = c.announcedBelow(tx, cur); err != nil {
					return err
				}
				if err := c.deleteInTx(tx, ev, cur); err != nil {
					return err
				}
				gone = true
				return nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return total, err
			}
			if gone {
				c.forget(r)
				c.deannounce(ctx, r, annc)
				c.aeGone(ctx, r)
				c.csrGone(ctx, r, "")
				total++
			}
		}
		if len(batch) < 256 {
			return total, nil
		}
	}
}

// Handle answers one request. It never returns nil.
func (c *CSE) Handle(ctx context.Context, req *primitive.Request) *primitive.Response {
	resp, err := c.handle(ctx, req)
	if err != nil {
		resp = primitive.ErrorResponse(req, err)
		lvl := slog.LevelDebug
		if resp.RSC == primitive.RSCInternalServerError {
			lvl = slog.LevelError
		}
		c.log.Log(ctx, lvl, "request failed", "rqi", req.RQI, "originator", req.From, "op", req.Op.String(), "to", req.To, "rsc", int(resp.RSC), "err", err)
	}
	resp.RQI, resp.RVI = req.RQI, req.RVI
	return resp
}

func (c *CSE) handle(ctx context.Context, req *primitive.Request) (*primitive.Response, error) {
	if req.RQI == "" {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the request identifier (rqi, X-M2M-RI) is missing")
	}
	if req.Op < primitive.OpCreate || req.Op > primitive.OpNotify {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "operation %d is not one of 1..5", int(req.Op))
	}
	if !primitive.ReleaseSupported(req.RVI) {
		return nil, primitive.Errorf(primitive.RSCReleaseVersionNotSupported, "release version %q is not supported (supported: %s)", req.RVI, strings.Join(primitive.SupportedReleases[1:], ", "))
	}
	now := c.now()
	if !req.RQET.IsZero() && req.RQET.Before(now) {
		return nil, primitive.Errorf(primitive.RSCRequestTimeout, "the request expiration time has passed")
	}
	if !req.RSET.IsZero() && req.RSET.Before(now) {
		return nil, primitive.Errorf(primitive.RSCRequestTimeout, "the result expiration time has passed")
	}
	if !req.OET.IsZero() && !req.RQET.IsZero() && req.OET.After(req.RQET) {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the operation execution time is after the request expiration time")
	}
	if req.RT != nil {
		switch req.RT.RTV {
		case 0, primitive.RTBlocking, primitive.RTNonBlockingSynch, primitive.RTNonBlockingAsynch:
			// Non-blocking requests are taken below, once the originator is known.
		case primitive.RTFlexBlocking:
			// The receiver may choose (TS-0001 8.2.2): onecse answers blocking,
			// except a fanOutPoint whose members are slow (flexFanOut).
		default:
			return nil, primitive.Errorf(primitive.RSCNotImplemented, "response type %d is not supported", req.RT.RTV)
		}
	}
	if req.DA != nil && *req.DA {
		// Aggregating deliveries is CMDH (TS-0001 10.2.9), which onecse does
		// not do; ignoring the wish would change the request's meaning.
		return nil, primitive.Errorf(primitive.RSCNotImplemented, "delivery aggregation (da=true) is not supported")
	}
	isAECreate := req.Op == primitive.OpCreate && req.Ty == resource.TyAE
	// A registree CSE that does not know its CSE-ID yet sends no From (the
	// change request to TS-0001 10.1.1.2.1): registerCSE decides.
	isCSRCreate := req.Op == primitive.OpCreate && req.Ty == resource.TyRemoteCSE
	if req.From == "" && !isAECreate && !isCSRCreate {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the originator (fr, X-M2M-Origin) is missing")
	}
	if req.Op == primitive.OpCreate {
		if req.Ty == 0 {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "a CREATE needs the resource type (ty)")
		}
		if req.FC != nil {
			return nil, primitive.Errorf(primitive.RSCBadRequest, "filter criteria are not allowed in a CREATE")
		}
	} else if (req.Op == primitive.OpUpdate || req.Op == primitive.OpDelete) && req.FC.IsDiscovery() {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "filterUsage 1 (discovery) is for a RETRIEVE, not an %s", req.Op)
	} else if req.Ty != 0 {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the resource type (ty) is only allowed in a CREATE")
	}
	if err := checkRCN(req); err != nil {
		return nil, err
	}
	orig, err := c.originator(ctx, req, isAECreate)
	if err != nil {
		return nil, err
	}
	// rt=1/2: a <request>, an acknowledgement now, the request itself in
	// the background through this same path (nonblocking.go).
	if isNonBlocking(req) {
		return c.nonBlocking(ctx, req, orig)
	}
	// A target on another CSE is forwarded (TS-0004 7.3.2.6; forward.go).
	if resp, err := c.route(ctx, req, orig); resp != nil || err != nil {
		return resp, err
	}
	// <group>/fopt[/path] is fanned out to the members (group.go).
	if resp, err := c.fanOut(ctx, req, orig); resp != nil || err != nil {
		return resp, err
	}
	tgt, err := c.resolve(ctx, req.To)
	if err != nil {
		return nil, err
	}
	if err := c.checkGroupRequest(req, tgt.res.RI+"/"+tgt.virtual+"#"+tgt.attr); err != nil {
		return nil, err
	}
	if tgt.res.Ty == resource.TyPollingCh {
		if err := c.checkPollingChannelUse(orig, tgt.res); err != nil {
			return nil, err
		}
	}
	if err := c.waitForOET(ctx, req); err != nil {
		return nil, err
	}
	if req.Op == primitive.OpUpdate || req.Op == primitive.OpDelete {
		if err := c.mayChangeAnnounced(orig, tgt.res); err != nil {
			return nil, err
		}
	}
	switch req.Op {
	case primitive.OpCreate:
		return c.create(ctx, req, orig, tgt)
	case primitive.OpRetrieve:
		return c.retrieve(ctx, req, orig, tgt)
	case primitive.OpUpdate:
		return c.update(ctx, req, orig, tgt)
	case primitive.OpDelete:
		return c.delete(ctx, req, orig, tgt)
	default:
		return c.notify(ctx, req, orig, tgt)
	}
}

// MaxOETDelay is how far ahead an operation execution time may lie: a
// blocking request is held until then, and a longer wait would outlast the
// bindings' response timeouts.
const MaxOETDelay = 30 * time.Second

// waitForOET holds the request until its operation execution time (TS-0001
// 8.1.2: the operation is executed no earlier than oet).
func (c *CSE) waitForOET(ctx context.Context, req *primitive.Request) error {
	if req.OET.IsZero() {
		return nil
	}
	d := req.OET.Sub(c.now())
	if d <= 0 {
		return nil
	}
	if d > MaxOETDelay {
		return primitive.Errorf(primitive.RSCNotImplemented, "an operation execution time more than %s ahead is not supported", MaxOETDelay)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return primitive.Errorf(primitive.RSCRequestTimeout, "the request was cancelled while waiting for its operation execution time")
	}
}

// checkRCN enforces which result content each operation allows (TS-0001
// Table 8.1.2-1, protocol.md 1.5). rcn 7 (original resource) is answered for
// announced resources only (retrieveOriginal, 4000 on any other); 10
// (semantic content) needs semantic support, which onecse does not have: it
// is refused like any value the operation does not take.
func checkRCN(req *primitive.Request) error {
	if req.RCN == primitive.RCNAbsent {
		return nil
	}
	var ok bool
	switch req.Op {
	case primitive.OpCreate:
		ok = req.RCN >= 0 && req.RCN <= 3 || req.RCN == primitive.RCNModifiedAttributes
	case primitive.OpRetrieve:
		if req.FC.IsDiscovery() {
			ok = req.RCN == primitive.RCNChildRefs || req.RCN == primitive.RCNDiscoveryResultReferences
		} else {
			switch req.RCN {
			case 1, 4, 5, 6, 7, 8:
				ok = true
			}
		}
	case primitive.OpUpdate:
		ok = req.RCN == 0 || req.RCN == 1 || req.RCN == primitive.RCNModifiedAttributes
	case primitive.OpDelete:
		switch req.RCN {
		case 0, 1, 4, 5, 6, 8:
			ok = true
		}
	}
	if !ok {
		return primitive.Errorf(primitive.RSCBadRequest, "result content %d is not allowed for %s", req.RCN, req.Op)
	}
	return nil
}

// storeErr maps store errors that reach a client.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return primitive.Errorf(primitive.RSCNotFound, "%s not found", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return primitive.Errorf(primitive.RSCRequestTimeout, "the request was cancelled")
	}
	var pe *primitive.Error
	if errors.As(err, &pe) {
		return pe
	}
	return fmt.Errorf("store: %w", err)
}
