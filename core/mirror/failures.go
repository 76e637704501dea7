package mirror

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// withContext returns err under the clause that says what the engine was
// doing ("list tags of r/a"). When err already starts with the same
// operation (its first clause has the same first two words, as when an
// adapter names the request itself), that clause is replaced rather than
// repeated, so every context appears once. err stays reachable through
// errors.Is and errors.As.
func withContext(clause string, err error) error {
	if err == nil {
		return nil
	}
	return &contextError{clause: clause, err: err}
}

type contextError struct {
	clause string
	err    error
}

func (e *contextError) Error() string { return e.clause + ": " + trimClause(e.err.Error(), e.clause) }
func (e *contextError) Unwrap() error { return e.err }

// trimClause drops the first clause of msg when it names the same
// operation as clause.
func trimClause(msg, clause string) string {
	head, rest, ok := strings.Cut(msg, ": ")
	if ok && operation(head) == operation(clause) {
		return rest
	}
	return msg
}

// operation is the first two words of a clause, lower-cased ("push blob").
func operation(clause string) string {
	w := strings.Fields(strings.ToLower(clause))
	if len(w) > 2 {
		w = w[:2]
	}
	return strings.Join(w, " ")
}

// Sides of a blob transfer, as TransferError.Side names them.
const (
	SideSource      = "source"
	SideDestination = "destination"
)

// TransferError is a failed blob transfer, blamed on the side that failed:
// reading the blob from the source (opening it, or its stream breaking,
// stalling or ending early, or its content not matching its digest) or
// pushing it to the destination.
type TransferError struct {
	// Side is SideSource or SideDestination.
	Side string
	// Repo is the repository of that side; Digest the blob's.
	Repo   oci.Repository
	Digest string
	Err    error
}

// Error reads "read blob <digest> from source <repo>: …" or "push blob
// <digest> to destination <repo>: …".
func (e *TransferError) Error() string {
	clause := fmt.Sprintf("push blob %s to destination %s", e.Digest, e.Repo)
	if e.Side == SideSource {
		clause = fmt.Sprintf("read blob %s from source %s", e.Digest, e.Repo)
	}
	return clause + ": " + trimClause(e.Err.Error(), clause)
}

// Unwrap returns the side's own error.
func (e *TransferError) Unwrap() error { return e.Err }

// sourceReader is a blob's stream from its source. It remembers the first
// read error, so that when an upload fails, the engine can tell a broken
// source stream from a failing destination.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && s.err == nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// UnreachableError is the error of work not attempted because its host
// was proven unreachable earlier in the run (see Options.RetryWindow). The
// failure that proved it is reported in full where it happened, and once
// more at the end of the run (UnreachableObserver, the log); this error
// names it briefly.
type UnreachableError struct {
	// Kind is "registry" or "Helm repository".
	Kind string
	Host string
	// Err is the failure that proved the host unreachable.
	Err error
}

// Error reads "registry r.example is unreachable (connection refused);
// not attempted".
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s %s is unreachable (%s); not attempted", e.Kind, e.Host, cause(e.Err))
}

// Summary says it once for the whole run: "registry r.example is
// unreachable: <the failure>; 19 remaining tags not attempted".
func (e *UnreachableError) Summary(tags, entries int) string {
	s := fmt.Sprintf("%s %s is unreachable: %v; %s not attempted", e.Kind, e.Host, e.Err, plural(tags, "remaining tag"))
	if entries > 0 {
		s += fmt.Sprintf(", %d %s not planned", entries, map[bool]string{true: "entry", false: "entries"}[entries == 1])
	}
	return s
}

// UnreachableObserver is an optional extension of Observer, found by type
// assertion. At the end of a run it hears once about each host the run
// found unreachable, with how many tags and entries failed without being
// attempted because of it, so that a CLI can say so once instead of on
// every tag.
type UnreachableObserver interface {
	HostUnreachable(err *UnreachableError, tags, entries int)
}

// brief returns the UnreachableError err holds, if any, without the
// context it was wrapped in: the failure behind it is reported once for
// the whole run, so every tag it stopped says the same short thing.
func brief(err error) error {
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return ue
	}
	return err
}

// cause is the innermost part of an error message: a status line for an
// HTTP error, else the text after the last ": ".
func cause(err error) string {
	var he *core.HTTPError
	if errors.As(err, &he) {
		return fmt.Sprintf("%d %s", he.StatusCode, http.StatusText(he.StatusCode))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
