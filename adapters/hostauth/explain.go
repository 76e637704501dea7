package hostauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
)

// ExplainTLSError adds a hint to a failed TLS handshake with host, saying
// which side rejected which certificate and which hosts[].tls field to
// check; any other error is returned unchanged. Adapters call it on
// transport errors so that users see more than "bad certificate".
func ExplainTLSError(host string, err error) error {
	if err == nil {
		return nil
	}
	var he *HostError
	if errors.As(err, &he) {
		return err // our own TLS callbacks already name the field
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var op *net.OpError
	switch {
	case errors.As(err, &ua):
		return explained(err, "the registry %s presents a certificate from an authority this client does not trust; set hosts[].tls.serverAuth (fromPath or value) to the CA bundle that issued it", host)
	case errors.As(err, &hn):
		return explained(err, "the registry's certificate is not valid for the name %s; the registry must present a certificate for this host", host)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return explained(err, "the registry %s presents a certificate that has expired or is not yet valid", host)
	case errors.As(err, &op) && op.Op == "remote error":
		alert := strings.TrimPrefix(op.Err.Error(), "tls: ")
		switch alert {
		case "certificate required":
			return explained(err, "the registry %s requires a client certificate (mTLS); set hosts[].tls.clientAuth", host)
		case "bad certificate", "unsupported certificate", "revoked certificate", "expired certificate",
			"unknown certificate", "unknown certificate authority", "access denied":
			return explained(err, "the registry %s rejected the client certificate (%s); check hosts[].tls.clientAuth: the registry must trust its issuer, and it must be valid and not revoked", host, alert)
		}
	}
	return err
}

// explainedError keeps the original error for errors.Is/As and adds a hint.
type explainedError struct {
	hint string
	err  error
}

func (e *explainedError) Error() string { return e.hint + ": " + e.err.Error() }
func (e *explainedError) Unwrap() error { return e.err }

func explained(err error, format string, args ...any) error {
	return &explainedError{hint: fmt.Sprintf(format, args...), err: err}
}
