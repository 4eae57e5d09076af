package e2e

import (
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
)

// TestNotifyRetrieveEmptyContainer: notificationEventType 5 (TS-0004 Table
// 6.3.4.2.19-1) — a RETRIEVE of a container's latest instance, or of the
// container with its children, while it holds none.
func TestNotifyRetrieveEmptyContainer(t *testing.T) {
	c := notifyCSE(t, nil)
	rcv := testcse.NewReceiver(t)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	// Only a <container> takes net 5.
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae", From: aei, Ty: 23,
		Body: map[string]any{"m2m:sub": map[string]any{"nu": []any{rcv.URL}, "enc": map[string]any{"net": []any{5}}}}}).Must(t, 4000)
	subscribeAt(t, c, aei, "/cse-in/ae/c", rcv, map[string]any{"rn": "s", "enc": map[string]any{"net": []any{5}}})

	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/la", From: aei}).Must(t, 4004)
	got := rcv.Wait(1, wait)[0]
	if got.Net() != 5 || got.Rep()["m2m:cnt"].(map[string]any)["rn"] != "c" {
		t.Fatalf("net 5 notification: %s", got.Body)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c?rcn=4", From: aei}).Must(t, 2000)
	rcv.Wait(2, wait)
	// Not for a plain RETRIEVE of the container, nor once it holds an instance.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c", From: aei}).Must(t, 2000)
	addCIN(t, c, aei, "/cse-in/ae/c", map[string]any{"con": "x"})
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/la", From: aei}).Must(t, 2000)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c?rcn=4", From: aei}).Must(t, 2000)
	// Nor for an originator that may not retrieve it.
	other := c.RegisterAE("other")
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/la", From: other}).Must(t, 4103)
	rcv.Quiet(2, 500*time.Millisecond)
}
