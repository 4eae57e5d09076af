package cse_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

// fakePolicy stands in for a service-subscription policy and an IN-CSE that
// assigns S-type AE-IDs, to prove the core calls AEPolicy where it says.
type fakePolicy struct {
	mu        sync.Mutex
	admitted  []cse.AERegistration
	announced []string
	gone      []string
}

func (f *fakePolicy) Admit(_ context.Context, reg *cse.AERegistration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.admitted = append(f.admitted, *reg)
	if reg.AppID == "Nforbidden" {
		return primitive.Errorf(primitive.RSCAppRuleValidationFailed, "no rule for %s", reg.AppID)
	}
	if reg.AppID == "Nnoprofile" {
		return primitive.Errorf(primitive.RSCServiceSubscriptionNotEstablished, "no profile")
	}
	return nil
}

func (f *fakePolicy) AnnounceS(_ context.Context, reg *cse.AERegistration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announced = append(f.announced, reg.Stem)
	if reg.Stem == "S" {
		reg.Stem = "Sfromin"
	}
	return nil
}

func (f *fakePolicy) Deregistered(_ context.Context, aei string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = append(f.gone, aei)
}

func newMN(t *testing.T, p cse.AEPolicy) *cse.CSE {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := cse.New(context.Background(), cse.Config{CSEID: "/id-mn", CSEName: "cse-mn", CSEType: cse.TypeMN, AEPolicy: p}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var rqi int

func do(c *cse.CSE, op primitive.Operation, from, to string, ty int, pc map[string]any) *primitive.Response {
	rqi++
	req := primitive.NewRequest()
	req.Op, req.From, req.To, req.Ty, req.Content, req.RVI = op, from, to, ty, pc, "3"
	req.RQI = fmt.Sprintf("rqi-%d", rqi)
	return c.Handle(context.Background(), req)
}

func ae(api string) map[string]any {
	return map[string]any{"m2m:ae": map[string]any{"api": api, "rr": false, "srv": []any{"3"}}}
}

func TestAEPolicyHooks(t *testing.T) {
	p := &fakePolicy{}
	c := newMN(t, p)

	// "S" on an MN: the IN-CSE (AnnounceS) assigns the stem, which becomes ri and aei.
	r := do(c, primitive.OpCreate, "S", "cse-mn", 2, ae("Napp"))
	if r.RSC != primitive.RSCCreated {
		t.Fatalf("S: %d %v", r.RSC, r.PC)
	}
	got := r.PC["m2m:ae"].(map[string]any)
	if got["aei"] != "Sfromin" || got["ri"] != "Sfromin" {
		t.Fatalf("S: %v", got)
	}
	// A full S stem is confirmed with the IN-CSE too; a C stem is not.
	if r := do(c, primitive.OpCreate, "Smine", "cse-mn", 2, ae("Napp")); r.RSC != primitive.RSCCreated {
		t.Fatalf("Smine: %d %v", r.RSC, r.PC)
	}
	if r := do(c, primitive.OpCreate, "Cmine", "cse-mn", 2, ae("Napp")); r.RSC != primitive.RSCCreated {
		t.Fatalf("Cmine: %d %v", r.RSC, r.PC)
	}
	// An S stem registered already is refused before asking the IN-CSE.
	if r := do(c, primitive.OpCreate, "Smine", "cse-mn", 2, ae("Napp")); r.RSC != primitive.RSCOriginatorHasAlreadyRegistered {
		t.Fatalf("Smine again: %d %v", r.RSC, r.PC)
	}
	p.mu.Lock()
	if len(p.announced) != 2 || p.announced[0] != "S" || p.announced[1] != "Smine" {
		t.Fatalf("announced %v", p.announced)
	}
	if len(p.admitted) != 4 || p.admitted[0].Stem != "S" || p.admitted[0].AppID != "Napp" || p.admitted[2].Stem != "Cmine" {
		t.Fatalf("admitted %+v", p.admitted)
	}
	p.mu.Unlock()

	// The policy's refusals are answered as they are, and nothing is stored.
	for api, rsc := range map[string]primitive.RSC{"Nforbidden": primitive.RSCAppRuleValidationFailed, "Nnoprofile": primitive.RSCServiceSubscriptionNotEstablished} {
		if r := do(c, primitive.OpCreate, "Cref", "cse-mn", 2, ae(api)); r.RSC != rsc {
			t.Fatalf("%s: %d, want %d", api, r.RSC, rsc)
		}
		if r := do(c, primitive.OpRetrieve, "CAdmin", "Cref", 0, nil); r.RSC != primitive.RSCNotFound {
			t.Fatalf("%s: refused AE exists: %d", api, r.RSC)
		}
	}

	// Deregistration is reported, by DELETE and by expiry.
	if r := do(c, primitive.OpDelete, "Sfromin", "Sfromin", 0, nil); r.RSC != primitive.RSCDeleted {
		t.Fatalf("DELETE: %d %v", r.RSC, r.PC)
	}
	short := ae("Napp")
	short["m2m:ae"].(map[string]any)["et"] = primitive.FormatTime(time.Now().Add(50 * time.Millisecond))
	if r := do(c, primitive.OpCreate, "Cshort", "cse-mn", 2, short); r.RSC != primitive.RSCCreated {
		t.Fatalf("Cshort: %d %v", r.RSC, r.PC)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := c.ExpireNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.gone) != 2 || p.gone[0] != "Sfromin" || p.gone[1] != "Cshort" {
		t.Fatalf("deregistered %v", p.gone)
	}
}
