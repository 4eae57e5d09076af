package cse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/sqlite"
)

// fakeNotifier records what the core asks of the notification service.
type fakeNotifier struct {
	mu       sync.Mutex
	verified []string // sur creator target
	refuse   string   // a target whose verification fails
	wakes    int
}

func (f *fakeNotifier) Verify(_ context.Context, sur, creator, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, sur+" "+creator+" "+target)
	if target == f.refuse {
		return errors.New("refused")
	}
	return nil
}

func (f *fakeNotifier) Forward(context.Context, *primitive.Request, string) (*primitive.Response, error) {
	return nil, primitive.Errorf(primitive.RSCTargetNotReachable, "not in this test")
}

func (f *fakeNotifier) NotifyBlocking(context.Context, string, map[string]any) (*primitive.Response, error) {
	return &primitive.Response{RSC: primitive.RSCOK}, nil
}

func (f *fakeNotifier) Wake() {
	f.mu.Lock()
	f.wakes++
	f.mu.Unlock()
}

type eventsFixture struct {
	t  *testing.T
	c  *cse.CSE
	st store.Store
	n  *fakeNotifier
	// seen is the last outbox Seq looked at.
	seen int64
}

func newEventsFixture(t *testing.T, withNotifier bool) *eventsFixture {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := cse.New(context.Background(), cse.Config{ExpiryInterval: time.Hour}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &eventsFixture{t: t, c: c, st: st, n: &fakeNotifier{}}
	if withNotifier {
		c.SetNotifier(f.n)
	}
	return f
}

func (f *eventsFixture) must(op primitive.Operation, from, to string, ty int, pc map[string]any, rsc primitive.RSC) map[string]any {
	f.t.Helper()
	r := do(f.c, op, from, to, ty, pc)
	if r.RSC != rsc {
		f.t.Fatalf("%s %s: %d %v, want %d", op, to, r.RSC, r.PC, rsc)
	}
	for _, v := range r.PC {
		m, _ := v.(map[string]any)
		return m
	}
	return nil
}

// events returns the notes written since the last call.
func (f *eventsFixture) events() []cse.Note {
	f.t.Helper()
	var notes []cse.Note
	err := f.st.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.Outbox(f.seen, 0)
		for _, e := range es {
			f.seen = e.Seq
			ev, err := cse.DecodeEvent(e.Data)
			if err != nil {
				return err
			}
			if ev.Time.IsZero() || time.Since(ev.Time) > time.Minute {
				f.t.Errorf("event time %v", ev.Time)
			}
			notes = append(notes, ev.Notes...)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return notes
}

func (f *eventsFixture) get(ri string) *resource.Resource {
	f.t.Helper()
	var r *resource.Resource
	err := f.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.Get(ri)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func kinds(notes []cse.Note) []string {
	var out []string
	for _, n := range notes {
		s := fmt.Sprintf("%d", n.Kind)
		if n.Kind == cse.NoteSubDeleted && n.SubjectGone {
			s += "+gone"
		}
		out = append(out, s)
	}
	return out
}

// TestEventsInTheOutbox: each change writes what happened into the outbox in
// its own transaction, and nothing when nobody subscribed.
func TestEventsInTheOutbox(t *testing.T) {
	f := newEventsFixture(t, true)
	aei := f.must(primitive.OpCreate, "Cev", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	cnt := f.must(primitive.OpCreate, aei, "cse-in/Cev", 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c", "mni": int64(2), "mbs": int64(100000)}}, primitive.RSCCreated)
	cntRI := cnt["ri"].(string)
	f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 4, map[string]any{"m2m:cin": map[string]any{"con": "x"}}, primitive.RSCCreated)
	f.must(primitive.OpUpdate, aei, "cse-in/Cev/c", 0, map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"a"}}}, primitive.RSCUpdated)
	if n := f.events(); len(n) != 0 {
		t.Fatalf("without subscriptions the outbox got %v", kinds(n))
	}
	if f.get(cntRI).Subs != 0 {
		t.Fatal("Subs without subscriptions")
	}

	// A subscription: verified (not the subscriber itself), counted in its
	// parent, and the parent's set of subscriptions changed.
	sub := f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 23, map[string]any{"m2m:sub": map[string]any{
		"rn": "s", "nu": []any{aei, "http://x.example/n"}, "su": "http://x.example/su", "enc": map[string]any{"net": []any{int64(1), int64(2), int64(3), int64(4)}}}}, primitive.RSCCreated)
	subRI := sub["ri"].(string)
	if want := []string{"/id-in/" + subRI + " " + aei + " http://x.example/n"}; !slices.Equal(f.n.verified, want) {
		t.Errorf("verified %v, want %v", f.n.verified, want)
	}
	if got := f.get(cntRI).Subs; got != 1 {
		t.Errorf("container Subs = %d, want 1", got)
	}
	if n := f.events(); !slices.Equal(kinds(n), []string{"101"}) || n[0].Subject != cntRI {
		t.Errorf("after the subscription: %v", n)
	}

	// A new instance: one note, with the instance.
	cin := f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 4, map[string]any{"m2m:cin": map[string]any{"rn": "i1", "con": "y"}}, primitive.RSCCreated)
	n := f.events()
	if !slices.Equal(kinds(n), []string{"3"}) || n[0].Subject != cntRI || n[0].Ty != 4 || n[0].Res["con"] != "y" || n[0].Res["ri"] != cin["ri"] {
		t.Errorf("instance created: %+v", n)
	}
	// An UPDATE: the attributes after, and those it changed.
	f.must(primitive.OpUpdate, aei, "cse-in/Cev/c", 0, map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"b"}, "mbs": nil}}, primitive.RSCUpdated)
	n = f.events()
	if !slices.Equal(kinds(n), []string{"1"}) || n[0].Subject != cntRI || fmt.Sprint(n[0].Res["lbl"]) != "[b]" {
		t.Fatalf("update: %+v", n)
	}
	mod := slices.Sorted(slices.Values(n[0].Mod))
	if !slices.Equal(mod, []string{"lbl", "lt", "mbs", "st"}) {
		t.Errorf("modified %v, want lbl lt mbs st", mod)
	}
	// The oldest instances dropped for mni are no deletion events (TS-0004
	// 7.4.7.2.1 d), the new instance is.
	f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 4, map[string]any{"m2m:cin": map[string]any{"rn": "i2", "con": "z"}}, primitive.RSCCreated)
	f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 4, map[string]any{"m2m:cin": map[string]any{"rn": "i3", "con": "z"}}, primitive.RSCCreated)
	if n := f.events(); !slices.Equal(kinds(n), []string{"3", "3"}) {
		t.Errorf("instances beyond mni: %v", kinds(n))
	}
	// An UPDATE that lowers mni: the note shows the container as stored,
	// after the oldest instance went (which is no event of its own).
	f.must(primitive.OpUpdate, aei, "cse-in/Cev/c", 0, map[string]any{"m2m:cnt": map[string]any{"mni": int64(1)}}, primitive.RSCUpdated)
	n = f.events()
	if !slices.Equal(kinds(n), []string{"1"}) || n[0].Res["cni"] != int64(1) || !slices.Contains(n[0].Mod, "cni") || !slices.Contains(n[0].Mod, "mni") {
		t.Errorf("mni lowered: %v, cni %v, modified %v", kinds(n), n[0].Res["cni"], n[0].Mod)
	}
	// A client's DELETE of an instance is.
	f.must(primitive.OpDelete, aei, "cse-in/Cev/c/i3", 0, nil, primitive.RSCDeleted)
	if n := f.events(); !slices.Equal(kinds(n), []string{"4"}) || n[0].Res["rn"] != "i3" {
		t.Errorf("instance deleted: %+v", n)
	}

	// A second container, with a subscription, inside the first; then the
	// AE goes with everything: each subscription is deleted with its
	// subscribed-to resource, and the AE's parent (the CSEBase) has no
	// subscriptions, so no child-deleted note.
	f.must(primitive.OpCreate, aei, "cse-in/Cev/c", 3, map[string]any{"m2m:cnt": map[string]any{"rn": "inner"}}, primitive.RSCCreated)
	inner := f.must(primitive.OpCreate, aei, "cse-in/Cev/c/inner", 23, map[string]any{"m2m:sub": map[string]any{"nu": []any{aei}}}, primitive.RSCCreated)
	if n := f.events(); !slices.Equal(kinds(n), []string{"3", "101"}) {
		t.Errorf("inner container and its subscription: %v", kinds(n))
	}
	f.must(primitive.OpDelete, aei, "cse-in/Cev", 0, nil, primitive.RSCDeleted)
	n = f.events()
	if !slices.Equal(kinds(n), []string{"100+gone", "100+gone"}) {
		t.Fatalf("AE deleted: %v", kinds(n))
	}
	bySub := map[string]cse.Note{}
	for _, x := range n {
		bySub[x.Sub["ri"].(string)] = x
	}
	if x := bySub[subRI]; x.Subject != cntRI || x.Res["rn"] != "c" || x.Ty != 3 || x.Sub["su"] != "http://x.example/su" {
		t.Errorf("the subscription to c: %+v", x)
	}
	if x := bySub[inner["ri"].(string)]; x.Res["rn"] != "inner" {
		t.Errorf("the subscription to inner: %+v", x)
	}
	if f.n.wakes == 0 {
		t.Error("the notifier was never woken")
	}
}

// TestEventsSubscriptionLifecycle: an explicit DELETE, expiry, and the
// expirationCounter reaching zero each delete the subscription with a note,
// and keep the parent's count.
func TestEventsSubscriptionLifecycle(t *testing.T) {
	f := newEventsFixture(t, true)
	aei := f.must(primitive.OpCreate, "Clc", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	aeRI := aei
	sub := func(rn string, extra map[string]any) string {
		a := map[string]any{"rn": rn, "nu": []any{aei}}
		for k, v := range extra {
			a[k] = v
		}
		return f.must(primitive.OpCreate, aei, "cse-in/Clc", 23, map[string]any{"m2m:sub": a}, primitive.RSCCreated)["ri"].(string)
	}
	a := sub("a", map[string]any{"enc": map[string]any{"net": []any{int64(3), int64(4)}}})
	b := sub("b", map[string]any{"exc": int64(2)})
	sub("c", map[string]any{"et": primitive.FormatTime(time.Now().Add(time.Hour))})
	if r := f.get(aeRI); r.Subs != 3 || r.SubEvents != 1<<1|1<<3|1<<4 {
		t.Fatalf("AE Subs = %d, SubEvents %b; want 3, 11010", r.Subs, r.SubEvents)
	}
	// The others are seen to come: a wants net 3 on the AE.
	if n := f.events(); !slices.Equal(kinds(n), []string{"101", "3", "101", "3", "101"}) {
		t.Errorf("creating three: %v", kinds(n))
	}
	f.must(primitive.OpDelete, aei, "cse-in/Clc/a", 0, nil, primitive.RSCDeleted)
	n := f.events()
	if !slices.Equal(kinds(n), []string{"100", "4", "101"}) || n[0].Sub["ri"] != a || n[1].Res["ri"] != a {
		t.Errorf("explicit delete: %+v", n)
	}
	// expirationCounter 2: one notification leaves 1, the next deletes.
	ctx := context.Background()
	if gone, err := f.c.SubscriptionNotified(ctx, b); gone || err != nil {
		t.Fatalf("first notification: gone %v, %v", gone, err)
	}
	if exc, _ := f.get(b).Int("exc"); exc != 1 {
		t.Errorf("exc = %d, want 1", exc)
	}
	if n := f.events(); len(n) != 0 {
		t.Errorf("counting wrote %v", kinds(n))
	}
	if gone, err := f.c.SubscriptionNotified(ctx, b); !gone || err != nil {
		t.Fatalf("second notification: gone %v, %v", gone, err)
	}
	if n := f.events(); !slices.Equal(kinds(n), []string{"100", "4", "101"}) || n[0].Sub["ri"] != b {
		t.Errorf("exc ran out: %+v", kinds(n))
	}
	if _, err := f.c.SubscriptionNotified(ctx, b); err == nil {
		t.Error("counting for a deleted subscription: no error")
	}
	// Expiry.
	f.c.SetNow(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if _, err := f.c.ExpireNow(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.events(); !slices.Equal(kinds(n), []string{"100", "4", "101"}) {
		t.Errorf("expiry: %v", kinds(n))
	}
	if r := f.get(aeRI); r.Subs != 0 || r.SubEvents != 0 {
		t.Errorf("AE Subs = %d, SubEvents %b after all went, want 0", r.Subs, r.SubEvents)
	}
}

// TestEventsOnlyWhatIsWanted: a change no subscription asked for writes
// nothing, however many subscriptions there are.
func TestEventsOnlyWhatIsWanted(t *testing.T) {
	f := newEventsFixture(t, true)
	aei := f.must(primitive.OpCreate, "Cw", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	cnt := f.must(primitive.OpCreate, aei, "cse-in/Cw", 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, primitive.RSCCreated)["ri"].(string)
	for range 20 {
		f.must(primitive.OpCreate, aei, "cse-in/Cw/c", 23, map[string]any{"m2m:sub": map[string]any{"nu": []any{aei}}}, primitive.RSCCreated)
	}
	f.events()
	f.must(primitive.OpCreate, aei, "cse-in/Cw/c", 4, map[string]any{"m2m:cin": map[string]any{"con": "x"}}, primitive.RSCCreated)
	if n := f.events(); len(n) != 0 {
		t.Errorf("a new instance under subscriptions to updates only: %v", kinds(n))
	}
	f.must(primitive.OpUpdate, aei, "cse-in/Cw/c", 0, map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}, primitive.RSCUpdated)
	if n := f.events(); !slices.Equal(kinds(n), []string{"1"}) {
		t.Errorf("an update: %v", kinds(n))
	}
	// One of them changes to new instances: from now on they are written.
	sub := f.must(primitive.OpCreate, aei, "cse-in/Cw/c", 23, map[string]any{"m2m:sub": map[string]any{"rn": "late", "nu": []any{aei}}}, primitive.RSCCreated)
	f.must(primitive.OpUpdate, aei, "cse-in/Cw/c/late", 0, map[string]any{"m2m:sub": map[string]any{"enc": map[string]any{"net": []any{int64(3)}}}}, primitive.RSCUpdated)
	if r := f.get(cnt); r.SubEvents != 1<<1|1<<3 {
		t.Errorf("SubEvents %b after the UPDATE", r.SubEvents)
	}
	f.events()
	f.must(primitive.OpCreate, aei, "cse-in/Cw/c", 4, map[string]any{"m2m:cin": map[string]any{"con": "y"}}, primitive.RSCCreated)
	if n := f.events(); !slices.Equal(kinds(n), []string{"3"}) {
		t.Errorf("a new instance with a subscription to them: %v", kinds(n))
	}
	_ = sub
}

// TestEventsWithoutNotifier: without a notification service nothing is
// written nor verified, but the count of subscriptions is kept all the same.
func TestEventsWithoutNotifier(t *testing.T) {
	f := newEventsFixture(t, false)
	aei := f.must(primitive.OpCreate, "Cno", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	f.must(primitive.OpCreate, aei, "cse-in/Cno", 23, map[string]any{"m2m:sub": map[string]any{"nu": []any{"http://x.example/n"}}}, primitive.RSCCreated)
	f.must(primitive.OpCreate, aei, "cse-in/Cno", 3, map[string]any{"m2m:cnt": map[string]any{}}, primitive.RSCCreated)
	if n := f.events(); len(n) != 0 || len(f.n.verified) != 0 {
		t.Errorf("notes %v, verified %v", kinds(n), f.n.verified)
	}
	if got := f.get(aei).Subs; got != 1 {
		t.Errorf("Subs = %d, want 1", got)
	}
}

// TestEventsVerificationRefused: a refused verification is 5204 and nothing
// is written.
func TestEventsVerificationRefused(t *testing.T) {
	f := newEventsFixture(t, true)
	aei := f.must(primitive.OpCreate, "Cvr", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	f.n.refuse = "http://no.example/"
	f.must(primitive.OpCreate, aei, "cse-in/Cvr", 23, map[string]any{"m2m:sub": map[string]any{"rn": "s", "nu": []any{"http://ok.example/", "http://no.example/"}}}, primitive.RSCSubscriptionVerificationInitiationFailed)
	if len(f.n.verified) != 2 {
		t.Errorf("verified %v, want both targets asked", f.n.verified)
	}
	if n := f.events(); len(n) != 0 {
		t.Errorf("notes %v", kinds(n))
	}
	if got := f.get(aei).Subs; got != 0 {
		t.Errorf("Subs = %d", got)
	}
	f.must(primitive.OpRetrieve, aei, "cse-in/Cvr/s", 0, nil, primitive.RSCNotFound)
}

// TestEventsRecount: data written without the subscription counts (before
// they existed) is repaired when the core starts.
func TestEventsRecount(t *testing.T) {
	f := newEventsFixture(t, true)
	aei := f.must(primitive.OpCreate, "Crc", "cse-in", 2, ae("Nx"), primitive.RSCCreated)["aei"].(string)
	cnt := f.must(primitive.OpCreate, aei, "cse-in/Crc", 3, map[string]any{"m2m:cnt": map[string]any{"rn": "c"}}, primitive.RSCCreated)["ri"].(string)
	for _, net := range []int64{3, 4} {
		f.must(primitive.OpCreate, aei, "cse-in/Crc/c", 23, map[string]any{"m2m:sub": map[string]any{"nu": []any{aei}, "enc": map[string]any{"net": []any{net}}}}, primitive.RSCCreated)
	}
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		r, err := tx.Get(cnt)
		if err != nil {
			return err
		}
		r.Subs, r.SubEvents = 0, 0
		return tx.Put(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cse.New(context.Background(), cse.Config{ExpiryInterval: time.Hour}, f.st, nil); err != nil {
		t.Fatal(err)
	}
	if r := f.get(cnt); r.Subs != 2 || r.SubEvents != 1<<3|1<<4 {
		t.Errorf("after a restart: Subs %d, SubEvents %b; want 2, 11000", r.Subs, r.SubEvents)
	}
}
