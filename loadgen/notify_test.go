package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// TestRunWithSubscriptions drives a real onecse: --subs subscribes to the
// container and the built-in receiver counts every notification; with
// criteria the CREATEs do not meet, none is due and none comes.
func TestRunWithSubscriptions(t *testing.T) {
	c := testcse.Start(t, nil)
	rep, err := Run(context.Background(), Config{Target: c.URL + "/cse-in", Connections: 4, Duration: 500 * time.Millisecond,
		Timeout: 5 * time.Second, Ops: []string{OpCreate}, Subs: 3, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	creates := rep.Phases[0].Requests
	n := rep.Notify
	if n == nil || creates == 0 || n.Subscriptions != 3 || n.Expected != 3*creates || n.Received != n.Expected || n.P50 <= 0 && n.Early == 0 {
		t.Fatalf("%d creates, notifications %+v", creates, n)
	}
	if r := rep.Phases[0].RPS; r > 260 {
		t.Errorf("%.0f creates/s with --rate 200", r)
	}
	rep, err = Run(context.Background(), Config{Target: c.URL + "/cse-in", Connections: 4, Duration: 300 * time.Millisecond,
		Timeout: 5 * time.Second, Ops: []string{OpCreate}, Subs: 5, SubsENC: `{"net":[3],"sza":1000{i}}`}) // none of 32 bytes is above 10000+i
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Notify; n == nil || n.Expected != 0 || n.Received != 0 {
		t.Fatalf("notifications %+v", n)
	}
	if _, err := Run(context.Background(), Config{Target: c.URL + "/cse-in", Connections: 1, Duration: time.Second,
		Timeout: time.Second, Subs: 1, SubsENC: "{"}); err == nil {
		t.Error("--subs-enc that is not JSON accepted")
	}
}

func TestSubsENC(t *testing.T) {
	if got := subsENC(`{"net":[3],"sza":{i},"szb":{i}}`, 12); got != `{"net":[3],"sza":12,"szb":12}` {
		t.Errorf("subsENC: %s", got)
	}
}
