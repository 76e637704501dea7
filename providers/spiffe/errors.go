package spiffe

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// apiError is a Workload API failure explained in words; it unwraps to the
// gRPC status or parse error it explains.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// describe explains a Workload API failure at addr: a gRPC status from the
// endpoint (or from dialing it), or, for anything else, an answer that
// go-spiffe could not parse.
func describe(addr string, err error) error {
	// Not status.FromError: for a wrapped status (go-spiffe joins errors)
	// it returns the whole text as the message.
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return &apiError{msg: fmt.Sprintf("the SPIFFE Workload API at %s returned a malformed answer: %v", addr, err), err: err}
	}
	st := se.GRPCStatus()
	var msg string
	switch st.Code() {
	case codes.Unavailable:
		msg = fmt.Sprintf("the SPIFFE Workload API at %s is unavailable (is the SPIRE agent running, and does %s point at its socket?): %s", addr, EnvSocket, st.Message())
	case codes.PermissionDenied:
		msg = fmt.Sprintf("the SPIFFE Workload API at %s issued no identity to this workload (is a registration entry in place for it?): %s", addr, st.Message())
	case codes.DeadlineExceeded, codes.Canceled:
		msg = fmt.Sprintf("the SPIFFE Workload API at %s did not answer in time: %s", addr, st.Message())
	case codes.Unimplemented:
		msg = fmt.Sprintf("the endpoint at %s does not implement the SPIFFE Workload API call: %s", addr, st.Message())
	default:
		msg = fmt.Sprintf("the SPIFFE Workload API at %s refused the request (%s): %s", addr, st.Code(), st.Message())
	}
	return &apiError{msg: msg, err: err}
}

// watchLog adapts go-spiffe's logger to slog and remembers the last watch
// error, which explains a source that never received its first update.
type watchLog struct {
	log *slog.Logger

	mu   sync.Mutex
	last error
}

func (l *watchLog) Debugf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l *watchLog) Infof(format string, args ...any)  { l.log.Info(fmt.Sprintf(format, args...)) }
func (l *watchLog) Warnf(format string, args ...any)  { l.log.Warn(fmt.Sprintf(format, args...)) }

// Errorf is called by go-spiffe with the watch or parse error as an
// argument; watching continues with backoff.
func (l *watchLog) Errorf(format string, args ...any) {
	l.log.Warn("SPIFFE Workload API: " + fmt.Sprintf(format, args...))
	for _, a := range args {
		if err, ok := a.(error); ok {
			l.mu.Lock()
			l.last = err
			l.mu.Unlock()
			return
		}
	}
}

func (l *watchLog) lastErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}
