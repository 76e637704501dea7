// Package faultproxy is a fault-injecting HTTP reverse proxy for
// reliability tests: it listens on 127.0.0.1 in front of a real registry
// and, for the requests of a Class (method and path pattern, e.g. blob GET
// or manifest PUT), answers with a status (5xx bursts, 429 with
// Retry-After, an outage window), resets the connection mid-body, cuts a
// body short behind an intact Content-Length, stalls after the response
// headers, or loses the response after the upstream committed the request.
// It counts every request by class, and an Injection's Started channel
// tells a test the moment its fault first struck, so that tests order
// events on what happened, never on sleeps.
//
//	p, err := faultproxy.New(registryURL)
//	defer p.Close()
//	in := p.Inject(faultproxy.Rule{Class: faultproxy.BlobGet, Fault: faultproxy.Status(503), Times: 3})
//	// point the client at p.Host(); later: in.Applied(), p.Count(faultproxy.BlobGet)
//
// The proxy speaks HTTP/1.1 and keeps the client's Host header, so a
// registry's upload Location URLs point back through the proxy.
package faultproxy
