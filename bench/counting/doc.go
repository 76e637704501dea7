// Package counting classifies OCI distribution API requests by route kind
// (tag list, manifest HEAD/GET/PUT, blob HEAD/GET, upload POST/PATCH/PUT,
// mount, referrers, ...) and counts them per registry with an HTTP
// middleware that also counts body bytes and can add latency per request.
//
//	c := counting.New()
//	c.SetLatency(20 * time.Millisecond)
//	srv := registrytest.NewDistribution(t, registrytest.WithMiddleware(c.Middleware))
//	// ... run a client against srv.Host() ...
//	got := c.Snapshot() // got.Requests[counting.ManifestHead], got.BytesOut, ...
package counting
