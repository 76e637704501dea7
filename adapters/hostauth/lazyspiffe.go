package hostauth

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/fluxcd/flux-mirror/core/retry"
)

// SPIFFEOpener connects to the SPIFFE Workload API and returns the
// workload's rotating X.509 material; the io.Closer ends the connection.
type SPIFFEOpener func(ctx context.Context) (SPIFFESource, io.Closer, error)

// LazySPIFFE is a SPIFFESource that connects to the Workload API on its
// first use, which is the first TLS handshake with a host whose tls block
// uses SPIFFE. A run whose entries reach no such host never contacts the
// Workload API, so a config may keep hosts for other environments.
//
// It connects once: the source, or the failure, serves every later call (a
// failure is marked permanent, as the next attempt would meet it again).
// It is safe for concurrent use.
type LazySPIFFE struct {
	ctx  context.Context
	open SPIFFEOpener

	once   sync.Once
	mu     sync.Mutex
	src    SPIFFESource
	closer io.Closer
	err    error
	closed bool
}

var _ SPIFFESource = (*LazySPIFFE)(nil)

// NewLazySPIFFE returns a source that calls open with ctx on first use. ctx
// bounds the connection attempt and should live as long as the run.
func NewLazySPIFFE(ctx context.Context, open SPIFFEOpener) *LazySPIFFE {
	return &LazySPIFFE{ctx: ctx, open: open}
}

func (l *LazySPIFFE) source() (SPIFFESource, error) {
	l.once.Do(func() {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			l.err = errors.New("the SPIFFE source is closed")
			return
		}
		src, c, err := l.open(l.ctx)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case err != nil:
			l.err = retry.Permanent(err)
		case src == nil:
			l.err = retry.Permanent(errors.New("the spiffe provider returned no source"))
		case l.closed:
			if c != nil {
				_ = c.Close()
			}
			l.err = errors.New("the SPIFFE source is closed")
		default:
			l.src, l.closer = src, c
		}
	})
	return l.src, l.err
}

// Opened reports whether the Workload API was contacted.
func (l *LazySPIFFE) Opened() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src != nil || l.err != nil
}

// GetX509SVID returns the workload's current X.509-SVID, connecting first
// if needed.
func (l *LazySPIFFE) GetX509SVID() (*x509svid.SVID, error) {
	src, err := l.source()
	if err != nil {
		return nil, err
	}
	return src.GetX509SVID()
}

// GetX509BundleForTrustDomain returns the X.509 bundle of td, connecting
// first if needed.
func (l *LazySPIFFE) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	src, err := l.source()
	if err != nil {
		return nil, err
	}
	return src.GetX509BundleForTrustDomain(td)
}

// Close ends the Workload API connection if one was made; later calls fail.
func (l *LazySPIFFE) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.closer == nil {
		return nil
	}
	c := l.closer
	l.closer = nil
	return c.Close()
}
