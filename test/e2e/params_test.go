package e2e

import (
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// TestOperationExecutionTime: a blocking request is executed no earlier than
// its oet (X-M2M-OET, absolute or relative milliseconds); one too far ahead
// is refused with 5001 and does nothing.
func TestOperationExecutionTime(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("oet")
	for _, abs := range []bool{false, true} {
		start := time.Now()
		oet := "400"
		if abs {
			oet = primitive.FormatTime(start.Add(400 * time.Millisecond))
		}
		r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/oet", From: aei, Ty: 3,
			Body: map[string]any{"m2m:cnt": map[string]any{}}, Header: map[string]string{"X-M2M-OET": oet}}).Must(t, 2001)
		if el := time.Since(start); el < 350*time.Millisecond {
			t.Errorf("oet %s: answered after %s, before the execution time", oet, el)
		}
		ct, _ := primitive.ParseTime(r.Res("m2m:cnt")["ct"].(string))
		if ct.Before(start.Add(350 * time.Millisecond)) {
			t.Errorf("oet %s: created at %s, before the execution time (request at %s)", oet, ct, start)
		}
	}
	before := snap(t, c, "/cse-in/oet")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/oet", From: aei, Ty: 3,
		Body: map[string]any{"m2m:cnt": map[string]any{"rn": "late"}}, Header: map[string]string{"X-M2M-OET": "3600000"}}).Must(t, 5001)
	before.mustEqual(t, c, "/cse-in/oet")
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/oet/late", From: aei}).Must(t, 4004)
	// oet after rqet cannot be honoured.
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/oet", From: aei, Header: map[string]string{"X-M2M-OET": "2000", "X-M2M-RET": "1000"}}).Must(t, 4000)
}

// TestDeliveryAggregation: da=true asks for CMDH aggregation, which onecse
// does not do: 5001, nothing created; da=false is the normal case.
func TestDeliveryAggregation(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("da")
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/da?da=true", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "x"}}}).Must(t, 5001)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/da/x", From: aei}).Must(t, 4004)
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in/da?da=false", From: aei, Ty: 3, Body: map[string]any{"m2m:cnt": map[string]any{"rn": "x"}}}).Must(t, 2001)
}
