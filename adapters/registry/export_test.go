package registry

import "time"

// SetClock replaces the clock of c's token cache, so that a test moves
// past a token's lifetime without waiting for it. Call it before c's
// first request.
func SetClock(c *Client, now func() time.Time) { c.now = now }
