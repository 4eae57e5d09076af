package loadgen_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/loadgen"
)

// TestCoAPBinding drives a real onecse over CoAP: every phase runs without
// errors, and the AE is deleted at the end.
func TestCoAPBinding(t *testing.T) {
	c := testcse.StartCoAP(t, nil)
	var log bytes.Buffer
	rep, err := loadgen.Run(context.Background(), loadgen.Config{
		Binding: "coap", Target: "coap://" + c.Server.CoAPAddr() + "/cse-in",
		Connections: 2, Duration: 200 * time.Millisecond, Size: 32, Prefill: 5, Timeout: 5 * time.Second, Log: &log,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if rep.Prefill == nil || rep.Prefill.Created != 5 {
		t.Fatalf("prefill %+v", rep.Prefill)
	}
	if len(rep.Phases) != 3 {
		t.Fatalf("%d phases", len(rep.Phases))
	}
	for _, p := range rep.Phases {
		if p.Requests == 0 || p.Errors != 0 || p.Skipped != "" {
			t.Errorf("%s: %d requests, %d errors %v %s", p.Phase, p.Requests, p.Errors, p.ErrorKinds, p.Skipped)
		}
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/" + rep.AE, From: "CAdmin"}).Must(t, 4004)
	if len(rep.Warnings) > 0 {
		t.Fatalf("warnings %v", rep.Warnings)
	}
}
