// Package reliability is flux-mirror's end-to-end reliability suite. Its
// tests (reliability_test.go) build the flux-mirror binary once, seed a
// real registry A with multi-layer images (a shared base layer, a
// multi-arch index), and mirror them to a real registry B, each side
// behind a faultproxy.Proxy that injects one kind of trouble per case:
// 5xx bursts, 429 with Retry-After, resets and truncation mid-blob, a
// stalled body, a 30-second outage of the destination, a response lost
// after the destination committed a tag, and SIGINT mid-copy. After every
// case the destination must be complete-or-absent: every tag at B names
// the source's manifest, and every child manifest and blob it references
// is at B, byte-identical. The proxy lives in the faultproxy package.
package reliability
