package enrol

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
)

// Handler answers requests: the core in-process (*cse.CSE), or a client
// that carries them to a running CSE (HTTPHandler).
type Handler interface {
	Handle(ctx context.Context, req *primitive.Request) *primitive.Response
}

// Target is where Apply writes.
type Target struct {
	CSE     Handler
	CSEName string // resource name of the IN-CSE's <CSEBase>, e.g. "cse-in"
	Admin   string // the administrator originator
	// CredentialFile receives the credentials ("" refuses a file with
	// credentials).
	CredentialFile string
}

// Report says what Apply did; a second Apply of the same file reports no
// change.
type Report struct {
	Created, Updated, Unchanged []string
}

// Changed reports whether anything was created or updated.
func (r *Report) Changed() bool { return len(r.Created)+len(r.Updated) > 0 }

func (r *Report) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", len(r.Created), len(r.Updated), len(r.Unchanged))
}

// Apply brings the target to the state the file describes. Credentials
// first (so that a rule never names a credential the CSE cannot know),
// then rules, subscriptions and their nodes. What exists and equals the
// file is left alone; what differs in an updatable attribute is updated;
// an attribute that cannot change (node-id, cse-id, device-ids of a node)
// is an error, which names the resource to delete first. Entries the file
// does not list are left alone: Apply adds and corrects, it never deletes.
func Apply(ctx context.Context, f *File, t Target, rep *Report) error {
	if err := ApplyCredentials(f, t.CredentialFile, rep); err != nil {
		return err
	}
	return ApplyResources(ctx, f, t, rep)
}

// ApplyCredentials is the credential part of Apply: it writes the
// credentials of f to the credential file at path.
func ApplyCredentials(f *File, path string, rep *Report) error {
	if len(f.Credentials) > 0 && path == "" {
		return fmt.Errorf("the enrolment file has credentials but the CSE has no credential file (credentials)")
	}
	for i := range f.Credentials {
		c := &f.Credentials[i]
		changed, err := putCredential(path, f, c)
		if err != nil {
			return err
		}
		rep.note("credential "+c.KpsaID, changed)
	}
	return nil
}

// ApplyResources is the resource part of Apply: rules, subscriptions and
// their nodes.
func ApplyResources(ctx context.Context, f *File, t Target, rep *Report) error {
	base := t.CSEName
	for _, r := range f.AppRules {
		attrs := map[string]any{"aai": list(r.AppIDs), "aae": list(r.AEIDs)}
		if !r.NoCredential {
			ids := slices.Clone(r.CredentialIDs)
			for _, k := range r.Credentials {
				ids = append(ids, credentials.CredentialID(k))
			}
			attrs["apci"] = list(ids)
		} else {
			attrs["apci"] = nil
		}
		if !r.Expires.IsZero() {
			attrs["et"] = primitive.FormatTime(r.Expires)
		}
		if err := t.ensure(ctx, rep, base, r.Name, 19, "m2m:asar", attrs, nil); err != nil {
			return err
		}
	}
	for _, s := range f.Subscriptions {
		attrs := map[string]any{"lbl": list(s.Labels)}
		if len(s.Labels) == 0 {
			attrs["lbl"] = nil
		}
		if !s.Expires.IsZero() {
			attrs["et"] = primitive.FormatTime(s.Expires)
		}
		if err := t.ensure(ctx, rep, base, s.Name, 11, "m2m:mssp", attrs, nil); err != nil {
			return err
		}
		for _, n := range s.Nodes {
			fixed := map[string]any{"ni": n.NodeID}
			if n.CSEID != "" {
				fixed["csi"] = n.CSEID
			}
			if len(n.DeviceIDs) > 0 {
				fixed["di"] = list(n.DeviceIDs)
			}
			attrs := map[string]any{"nrq": n.NIDD, "rlk": nil}
			if n.AppRules != nil {
				links := make([]string, len(n.AppRules))
				for i, r := range n.AppRules {
					links[i] = base + "/" + r
				}
				attrs["rlk"] = list(links)
			}
			if !s.Expires.IsZero() {
				attrs["et"] = primitive.FormatTime(s.Expires)
			}
			if err := t.ensure(ctx, rep, base+"/"+s.Name, n.Name, 20, "m2m:svsn", attrs, fixed); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Report) note(what string, changed int) {
	switch changed {
	case created:
		r.Created = append(r.Created, what)
	case updated:
		r.Updated = append(r.Updated, what)
	default:
		r.Unchanged = append(r.Unchanged, what)
	}
}

const (
	unchanged = iota
	created
	updated
)

func list(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

var rqiSeq atomic.Int64

func (t *Target) do(ctx context.Context, op primitive.Operation, to string, ty int, pc map[string]any) *primitive.Response {
	req := primitive.NewRequest()
	req.Op, req.To, req.From, req.FromPresent, req.Ty, req.Content, req.RVI = op, to, t.Admin, true, ty, pc, "3"
	req.RQI = fmt.Sprintf("enrol-%d", rqiSeq.Add(1))
	return t.CSE.Handle(ctx, req)
}

// ensure makes the resource parent/rn of type ty hold attrs (nil: absent)
// and fixed (attributes that cannot be updated).
func (t *Target) ensure(ctx context.Context, rep *Report, parent, rn string, ty int, key string, attrs, fixed map[string]any) error {
	path := parent + "/" + rn
	what := fmt.Sprintf("%s %s", key, path)
	rsp := t.do(ctx, primitive.OpRetrieve, path, 0, nil)
	switch rsp.RSC {
	case primitive.RSCNotFound:
		body := map[string]any{"rn": rn}
		for k, v := range attrs {
			if v != nil {
				body[k] = v
			}
		}
		for k, v := range fixed {
			body[k] = v
		}
		rsp = t.do(ctx, primitive.OpCreate, parent, ty, map[string]any{key: body})
		if rsp.RSC != primitive.RSCCreated {
			return fmt.Errorf("creating %s: %s", what, failure(rsp))
		}
		rep.note(what, created)
		return checkET(what, key, attrs["et"], rsp)
	case primitive.RSCOK:
	default:
		return fmt.Errorf("reading %s: %s", what, failure(rsp))
	}
	cur, _ := rsp.PC[key].(map[string]any)
	if cur == nil {
		return fmt.Errorf("reading %s: the answer holds no %s", what, key)
	}
	if cur["ty"] != nil && fmt.Sprint(cur["ty"]) != fmt.Sprint(ty) {
		return fmt.Errorf("%s exists but is not a %s: delete it or choose another name", path, key)
	}
	for k, v := range fixed {
		if !same(cur[k], v) {
			return fmt.Errorf("%s: %s is %v, the file says %v, and it cannot be changed: delete the resource (DELETE as %s) and apply again", what, k, cur[k], v, t.Admin)
		}
	}
	upd := map[string]any{}
	for k, v := range attrs {
		if !same(cur[k], v) {
			upd[k] = v
		}
	}
	if len(upd) == 0 {
		rep.note(what, unchanged)
		return nil
	}
	rsp = t.do(ctx, primitive.OpUpdate, path, 0, map[string]any{key: upd})
	if rsp.RSC != primitive.RSCUpdated {
		return fmt.Errorf("updating %s: %s", what, failure(rsp))
	}
	rep.note(what, updated)
	return checkET(what, key, upd["et"], rsp)
}

// checkET reports an expiry the CSE did not keep as asked: it caps et at
// its max-expiration, and a file whose expiry the CSE shortens would be
// "changed" at every apply and would let credentials outlive their
// subscription's resources.
func checkET(what, key string, want any, rsp *primitive.Response) error {
	w, ok := want.(string)
	if !ok {
		return nil
	}
	got, _ := rsp.PC[key].(map[string]any)
	if got == nil || got["et"] == nil || same(got["et"], w) {
		return nil
	}
	return fmt.Errorf("%s: the CSE set its expiration time to %v rather than %s (its max-expiration): choose an earlier expires or raise max-expiration", what, got["et"], w)
}

// same compares a stored value with the wanted one: lists by their
// strings, timestamps by the instant they name, nil with absent or empty.
func same(cur, want any) bool {
	if want == nil {
		return cur == nil
	}
	switch w := want.(type) {
	case []any:
		c, ok := cur.([]any)
		if !ok || len(c) != len(w) {
			return false
		}
		for i := range w {
			if fmt.Sprint(c[i]) != fmt.Sprint(w[i]) {
				return false
			}
		}
		return true
	case string:
		cs, ok := cur.(string)
		if !ok {
			return false
		}
		if tw, ok := primitive.ParseTime(w); ok {
			if tc, ok := primitive.ParseTime(cs); ok {
				return tw.Equal(tc)
			}
		}
		return cs == w
	}
	return reflect.DeepEqual(cur, want)
}

func failure(rsp *primitive.Response) string {
	if dbg, ok := rsp.PC["m2m:dbg"]; ok {
		return fmt.Sprintf("%d: %v", rsp.RSC, dbg)
	}
	return fmt.Sprintf("status %d", rsp.RSC)
}

// putCredential makes the credential file hold c. An existing credential
// keeps its key unless the file gives one; a new one without a key gets a
// generated key, written to key-out for its holder. A revoked credential
// stays revoked.
func putCredential(path string, f *File, c *Credential) (int, error) {
	var key credentials.Secret
	switch {
	case c.Key != "":
		k, _ := hex.DecodeString(c.Key)
		key = k
	case c.KeyFile != "":
		k, err := credentials.ReadKeyFile(c.KeyFile)
		if err != nil {
			return 0, fmt.Errorf("credential %q: %w", c.KpsaID, err)
		}
		key = k
	}
	want := credentials.Credential{KpsaID: c.KpsaID, Key: key, CSEID: c.CSEID, AEIDs: c.AEIDs, AppIDs: c.AppIDs, NotAfter: f.NotAfter(c)}
	res, err := credentials.PutPSK(path, want, func() (credentials.Secret, error) {
		if c.KeyOut == "" {
			return nil, fmt.Errorf("credential %q: new and without key or key-file: name key-out, the file its generated key goes to", c.KpsaID)
		}
		k := credentials.NewKey()
		if err := credentials.WriteKeyFile(c.KeyOut, k); err != nil {
			return nil, fmt.Errorf("credential %q: key-out: %w", c.KpsaID, err)
		}
		return k, nil
	})
	return int(res), err
}

// Sender is the client side of a binding (binding/http's Client).
type Sender interface {
	Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error)
}

// Remote carries the requests of Apply to a running CSE at URL (its point
// of access, e.g. http://127.0.0.1:8080).
type Remote struct {
	Sender Sender
	URL    string
}

// Handle sends req and answers 5103 when no answer came.
func (r Remote) Handle(ctx context.Context, req *primitive.Request) *primitive.Response {
	rsp, err := r.Sender.Send(ctx, r.URL, codec.JSON, req)
	if err != nil {
		return primitive.ErrorResponse(req, primitive.Errorf(primitive.RSCTargetNotReachable, "%s: %v", r.URL, err))
	}
	return rsp
}
