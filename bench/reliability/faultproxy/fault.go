package faultproxy

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

type faultKind int

const (
	kindPass faultKind = iota
	kindStatus
	kindReset
	kindResetAfter
	kindTruncate
	kindStall
	kindLost
)

// Fault is what the proxy does to a request instead of forwarding it
// untouched. The zero Fault forwards the request (a Rule with it only
// observes). Build one with Status, TooManyRequests, Reset, ResetAfter,
// Truncate, Stall or Lost.
type Fault struct {
	kind   faultKind
	status int
	header http.Header
	n      int64
}

// Status answers with code (and header) without forwarding the request;
// the request body is read and discarded first.
func Status(code int, header ...http.Header) Fault {
	h := http.Header{}
	for _, x := range header {
		for k, v := range x {
			h[k] = append(h[k], v...)
		}
	}
	return Fault{kind: kindStatus, status: code, header: h}
}

// TooManyRequests answers 429 with a Retry-After of d (whole seconds,
// rounded up) without forwarding the request.
func TooManyRequests(d time.Duration) Fault {
	secs := int64((d + time.Second - 1) / time.Second)
	return Status(http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}})
}

// Reset resets the connection (TCP RST) without forwarding the request or
// answering it.
func Reset() Fault { return Fault{kind: kindReset} }

// ResetAfter resets the connection after n body bytes passed the proxy:
// for a request that carries a body (an upload), n bytes of it are read
// and the upstream never sees the request; otherwise the request is
// forwarded and the client gets the upstream's response headers and n
// bytes of its body. A body of n bytes or fewer is cut before its last
// byte, so the fault always strikes.
func ResetAfter(n int64) Fault { return Fault{kind: kindResetAfter, n: max(n, 0)} }

// Truncate forwards the request and gives the client the upstream's
// response headers, Content-Length included, then n bytes of the body
// (all but the last byte of a shorter one), then closes the connection
// cleanly: the body ends early without any error at the TCP level.
func Truncate(n int64) Fault { return Fault{kind: kindTruncate, n: max(n, 0)} }

// Stall forwards the request and gives the client the upstream's response
// headers and n bytes of the body (all but the last byte of a shorter
// one), then sends nothing more until the client closes the connection or
// the proxy closes. Stall(0) is headers, then silence.
func Stall(n int64) Fault { return Fault{kind: kindStall, n: max(n, 0)} }

// Lost forwards the request, lets the upstream commit it and answer (the
// answer is read in full and discarded), then closes the client's
// connection without a byte of response: the write happened, the client
// cannot know.
func Lost() Fault { return Fault{kind: kindLost} }

// String describes the fault, e.g. "503", "reset after 1024 bytes".
func (f Fault) String() string {
	switch f.kind {
	case kindStatus:
		if ra := f.header.Get("Retry-After"); ra != "" {
			return fmt.Sprintf("%d (Retry-After: %s)", f.status, ra)
		}
		return strconv.Itoa(f.status)
	case kindReset:
		return "reset"
	case kindResetAfter:
		return fmt.Sprintf("reset after %d bytes", f.n)
	case kindTruncate:
		return fmt.Sprintf("truncate after %d bytes", f.n)
	case kindStall:
		return fmt.Sprintf("stall after %d bytes", f.n)
	case kindLost:
		return "lost response"
	default:
		return "pass"
	}
}

// Rule says which requests get a fault and when. Rules are checked in the
// order they were injected; the first one that strikes a request decides.
type Rule struct {
	// Class selects the requests the rule applies to.
	Class Class
	// Fault is what happens to them.
	Fault Fault
	// Skip lets this many matching requests through untouched first.
	Skip int
	// Times is how many requests the fault strikes before the rule is
	// spent; 0 means no limit (bounded by For, if set).
	Times int
	// For, when positive, makes the fault a window: from the first
	// request it strikes, it strikes every matching request for this long
	// (an outage), then the rule is spent.
	For time.Duration
	// After, when set, arms the rule only once a request of this class
	// has arrived; that request is itself subject to the rule.
	After *Class
}
