package mirror

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/retry"
)

func TestClassifyOutcome(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		host string
		err  error
		want outcome
	}{
		{"success", "r.example", nil, outcomeAnswered},
		{"404 is an answer", "r.example", &core.HTTPError{StatusCode: 404}, outcomeAnswered},
		{"401 is an answer", "r.example", &core.HTTPError{StatusCode: 401}, outcomeAnswered},
		{"digest mismatch is an answer", "r.example", fmt.Errorf("blob: %w", core.ErrDigestMismatch), outcomeAnswered},
		{"503", "r.example", &core.HTTPError{StatusCode: 503}, outcomeFailed},
		{"refused", "r.example", refused, outcomeFailed},
		{"cancelled", "r.example", context.Canceled, outcomeNone},
		{"deadline", "r.example", fmt.Errorf("get: %w", context.DeadlineExceeded), outcomeNone},
		{"host name does not exist", "r.example", &net.DNSError{Name: "r.example", Err: "no such host", IsNotFound: true}, outcomeDown},
		{"with a port", "r.example:5000", &net.DNSError{Name: "r.example", Err: "no such host", IsNotFound: true}, outcomeDown},
		{"another name does not exist (a redirect)", "r.example", &net.DNSError{Name: "storage.example", Err: "no such host", IsNotFound: true}, outcomeAnswered},
		{"DNS server failure", "r.example", &net.DNSError{Name: "r.example", Err: "server misbehaving", IsTemporary: true}, outcomeFailed},
		{"breaker refusal", "r.example", retry.Permanent(&UnreachableError{Kind: kindRegistry, Host: "r.example", Err: refused}), outcomeNone},
	}
	for _, tt := range tests {
		if got := classify(tt.host, tt.err); got != tt.want {
			t.Errorf("%s: classify(%q, %v) = %v, want %v", tt.name, tt.host, tt.err, got, tt.want)
		}
	}
}

func TestProvesDown(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	exhausted := &retry.AttemptsError{Attempts: 14, Err: refused, Exhausted: true}
	cut := &retry.AttemptsError{Attempts: 3, Err: refused} // the job's deadline came first
	tests := []struct {
		name       string
		last       outcome
		err        error
		lastAnswer time.Time
		want       bool
	}{
		{"window used up, the host never answered", outcomeFailed, exhausted, time.Time{}, true},
		{"window used up, the host answered before the trouble", outcomeFailed, exhausted, t0.Add(-time.Second), true},
		{"window used up, the host answered another request meanwhile", outcomeFailed, exhausted, t0.Add(time.Second), false},
		{"window used up on a wrapped error", outcomeFailed, fmt.Errorf("put manifest r/a:1: %w", exhausted), time.Time{}, true},
		{"stopped by the job's deadline", outcomeFailed, cut, time.Time{}, false},
		{"one attempt only (no request retry)", outcomeFailed, refused, time.Time{}, false},
		{"last attempt was an answer", outcomeAnswered, exhausted, time.Time{}, false},
		{"cancelled", outcomeNone, exhausted, time.Time{}, false},
		{"host name does not exist", outcomeDown, &net.DNSError{IsNotFound: true}, t0.Add(time.Hour), true},
	}
	for _, tt := range tests {
		if got := provesDown(tt.last, tt.err, t0, tt.lastAnswer); got != tt.want {
			t.Errorf("%s: provesDown = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHealthTripsOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHealth()
	refused := errors.New("dial tcp: connection refused")
	exhausted := &retry.AttemptsError{Attempts: 9, Err: refused, Exhausted: true}
	tripped := h.trippedChan(kindRegistry, "a.example")
	h.record(kindRegistry, "a.example", outcomeAnswered, t0)
	if h.failed(kindRegistry, "a.example", outcomeFailed, exhausted, t0.Add(-time.Second)) {
		t.Fatal("tripped although the host answered after the request's first failure")
	}
	if !h.failed(kindRegistry, "a.example", outcomeFailed, exhausted, t0.Add(time.Second)) {
		t.Fatal("did not trip")
	}
	if h.failed(kindRegistry, "a.example", outcomeFailed, fmt.Errorf("other: %w", exhausted), t0.Add(2*time.Second)) {
		t.Error("tripped twice")
	}
	select {
	case <-tripped:
	default:
		t.Error("waiting retries were not woken")
	}
	err := h.check(kindRegistry, "a.example")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Err != exhausted {
		t.Fatalf("check = %v, want the first failure's UnreachableError", err)
	}
	if want := "registry a.example is unreachable (connection refused); not attempted"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if h.check(kindRegistry, "b.example") != nil || h.check(kindHelmRepo, "a.example") != nil {
		t.Error("another host, or another kind of host of the same name, is affected")
	}
	h.count(fmt.Errorf("x: %w", err), false)
	h.count(err, false)
	h.count(err, true)
	h.count(refused, false)
	down := h.unreachable()
	if len(down) != 1 || down[0].tags != 2 || down[0].entries != 1 {
		t.Fatalf("unreachable = %+v", down)
	}
	want := "registry a.example is unreachable: after 9 attempts: dial tcp: connection refused; 2 remaining tags not attempted, 1 entry not planned"
	if got := down[0].err.Summary(down[0].tags, down[0].entries); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestWithContextWrapsOnce(t *testing.T) {
	t.Parallel()
	http503 := &core.HTTPError{Method: "GET", URL: "https://r/v2/a/tags/list", StatusCode: 503}
	tests := []struct {
		clause string
		err    error
		want   string
	}{
		{"list tags of r/a", http503, "list tags of r/a: GET https://r/v2/a/tags/list: 503 Service Unavailable"},
		{"list tags of r/a", fmt.Errorf("list tags of r/a: %w", http503), "list tags of r/a: GET https://r/v2/a/tags/list: 503 Service Unavailable"},
		{"put manifest r/a:1", fmt.Errorf("Put manifest r/a:1 (as sent): %w", http503), "put manifest r/a:1: GET https://r/v2/a/tags/list: 503 Service Unavailable"},
		{"check destination r/a:1", fmt.Errorf("head manifest r/a:1: %w", http503), "check destination r/a:1: head manifest r/a:1: GET https://r/v2/a/tags/list: 503 Service Unavailable"},
	}
	for _, tt := range tests {
		err := withContext(tt.clause, tt.err)
		if err.Error() != tt.want {
			t.Errorf("withContext(%q, %q) = %q, want %q", tt.clause, tt.err, err, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("withContext(%q, …) does not unwrap to the error", tt.clause)
		}
	}
	if withContext("x y", nil) != nil {
		t.Error("withContext of nil is not nil")
	}
}
