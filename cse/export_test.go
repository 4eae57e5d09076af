package cse

import "time"

// SetNow replaces the core's clock (for tests of package cse_test).
func (c *CSE) SetNow(now func() time.Time) { c.now = now }
