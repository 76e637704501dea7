package hostauth

import (
	"errors"
	"fmt"
)

// HostError is a failure to obtain a host's credential or to complete its
// TLS handshake, as a source or a TLS callback reports it at run time. Its
// message never contains a secret.
type HostError struct {
	// Host is the registry host as configured.
	Host string
	// Err names the field and the problem, e.g. "credential.fromPath: …".
	Err error
}

// Error returns `host "<host>": <err>`.
func (e *HostError) Error() string { return fmt.Sprintf("host %q: %v", e.Host, e.Err) }

// Unwrap returns the underlying error.
func (e *HostError) Unwrap() error { return e.Err }

func hostErr(host string, err error) error { return &HostError{Host: host, Err: err} }

// hostError prefixes err with a host's position in the config, dropping a
// HostError's own host prefix for the same host.
func hostError(i int, host string, err error) error {
	var he *HostError
	if errors.As(err, &he) && he.Host == host && err == error(he) {
		err = he.Err
	}
	return fmt.Errorf("hosts[%d] %q: %w", i, host, err)
}
