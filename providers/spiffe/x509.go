package spiffe

import (
	"context"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// X509Source is the workload's X.509-SVID and the X.509 trust bundles,
// kept current from the Workload API's FetchX509SVID stream: SVID and CA
// rotations pushed by the agent take effect on the next TLS handshake. It
// satisfies go-spiffe's x509svid.Source and x509bundle.Source (and so
// hostauth.SPIFFESource). Should the stream break, it keeps serving the
// last SVID and bundles while reconnecting with backoff, until the SVID
// expires. It is safe for concurrent use; Close it when done.
type X509Source struct {
	src  *workloadapi.X509Source
	addr string
	now  func() time.Time
}

var (
	_ x509svid.Source   = (*X509Source)(nil)
	_ x509bundle.Source = (*X509Source)(nil)
)

// NewX509Source connects to the Workload API and waits for the first
// X.509-SVID, at most until ctx ends or the WithTimeout bound passes
// (default DefaultTimeout). A failure says why the SVID did not come: the
// address is missing or invalid, the endpoint is unavailable, it issued no
// identity to this workload, or its answer was malformed.
func NewX509Source(ctx context.Context, opts ...Option) (*X509Source, error) {
	o := newOptions(opts)
	addr, err := o.address()
	if err != nil {
		return nil, fmt.Errorf("spiffe: %w", err)
	}
	wl := &watchLog{log: o.log()}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(wctx, workloadapi.WithClientOptions(
		workloadapi.WithAddr(addr), workloadapi.WithLogger(wl)))
	if err != nil {
		if wctx.Err() == nil {
			return nil, fmt.Errorf("spiffe: watch the X.509-SVID: %w", describe(addr, err))
		}
		waited := time.Since(start).Round(time.Millisecond)
		if last := wl.lastErr(); last != nil {
			return nil, fmt.Errorf("spiffe: no X.509-SVID from the SPIFFE Workload API after %s: %w", waited, describe(addr, last))
		}
		return nil, fmt.Errorf("spiffe: no X.509-SVID from the SPIFFE Workload API at %s after %s (is the SPIRE agent healthy, and a registration entry in place for this workload?): %w", addr, waited, wctx.Err())
	}
	svid, err := src.GetX509SVID()
	if err != nil {
		_ = src.Close()
		return nil, fmt.Errorf("spiffe: %w", err)
	}
	o.log().Debug("connected to the SPIFFE Workload API", "addr", addr, "spiffeID", svid.ID.String(), "expiresAt", svid.Certificates[0].NotAfter)
	return &X509Source{src: src, addr: addr, now: o.now}, nil
}

// GetX509SVID returns the current X.509-SVID. An SVID that expired because
// the Workload API stopped renewing it is an error, rather than a
// certificate the registry would reject.
func (s *X509Source) GetX509SVID() (*x509svid.SVID, error) {
	svid, err := s.src.GetX509SVID()
	if err != nil {
		return nil, fmt.Errorf("spiffe: %w", err)
	}
	if leaf := svid.Certificates[0]; s.now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("spiffe: the X.509-SVID %s expired at %s and the SPIFFE Workload API at %s has not renewed it (is the SPIRE agent running?)",
			svid.ID, leaf.NotAfter.UTC().Format(time.RFC3339), s.addr)
	}
	return svid, nil
}

// GetX509BundleForTrustDomain returns the current X.509 bundle of td: the
// workload's own trust domain or a federated one.
func (s *X509Source) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	b, err := s.src.GetX509BundleForTrustDomain(td)
	if err != nil {
		return nil, fmt.Errorf("spiffe: the SPIFFE Workload API at %s sent no X.509 bundle for trust domain %q (is it federated with this workload's?): %w", s.addr, td.Name(), err)
	}
	return b, nil
}

// Updated receives a value whenever the Workload API pushes a new SVID or
// bundle.
func (s *X509Source) Updated() <-chan struct{} { return s.src.Updated() }

// Close ends the Workload API stream. The source returns errors afterwards.
func (s *X509Source) Close() error { return s.src.Close() }

// X509Factory opens X509Sources with fixed options; the CLI holds one and
// opens a source only when a host uses SPIFFE transport. The zero value
// reads SPIFFE_ENDPOINT_SOCKET and logs nothing.
type X509Factory struct {
	opts []Option
}

// X509ProviderName is the tls.clientAuth.provider value of X509Sources
// (which also serve tls.serverAuth.spiffe).
const X509ProviderName = "x509-svid"

// NewX509Factory returns a factory of X509Sources with opts.
func NewX509Factory(opts ...Option) X509Factory {
	return X509Factory{opts: append([]Option(nil), opts...)}
}

// New opens an X509Source (see NewX509Source); extra options follow the
// factory's.
func (f X509Factory) New(ctx context.Context, opts ...Option) (*X509Source, error) {
	return NewX509Source(ctx, append(append([]Option(nil), f.opts...), opts...)...)
}
