package hostauth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// staleSafety is how long before its expiry a cached credential is no
// longer handed out when a refresh fails.
const staleSafety = 5 * time.Second

// mintFunc mints a credential and says until when it may be reused; a
// refreshAt not after the mint time means "do not reuse".
type mintFunc func(ctx context.Context) (cred auth.Credential, refreshAt time.Time, err error)

// refresher caches a minted credential until its refresh time and lets
// concurrent callers share one mint (a singleflight). When a refresh fails
// while the cached credential is still valid, the cached one is returned
// and the next call tries again. Failures are never cached.
type refresher struct {
	mint mintFunc
	now  func() time.Time
	log  *slog.Logger

	mu        sync.Mutex
	have      bool
	cur       auth.Credential
	refreshAt time.Time
	inflight  *mintCall
}

type mintCall struct {
	done chan struct{}
	cred auth.Credential
	err  error
	// abandoned is set when the minting caller's context ended, so that
	// waiters whose context is still alive try again themselves.
	abandoned bool
}

func newRefresher(mint mintFunc, now func() time.Time, log *slog.Logger) *refresher {
	return &refresher{mint: mint, now: now, log: log}
}

// reset drops the cached credential, e.g. after the signing key changed.
func (r *refresher) reset() {
	r.mu.Lock()
	r.have = false
	r.mu.Unlock()
}

func (r *refresher) get(ctx context.Context) (auth.Credential, error) {
	for {
		r.mu.Lock()
		if r.have && r.now().Before(r.refreshAt) {
			c := r.cur
			r.mu.Unlock()
			return c, nil
		}
		if c := r.inflight; c != nil {
			r.mu.Unlock()
			select {
			case <-ctx.Done():
				return auth.Credential{}, context.Cause(ctx)
			case <-c.done:
			}
			if c.err != nil && c.abandoned && ctx.Err() == nil {
				continue
			}
			return c.cred, c.err
		}
		c := &mintCall{done: make(chan struct{})}
		r.inflight = c
		r.mu.Unlock()
		return r.lead(ctx, c)
	}
}

// lead runs the mint for every caller waiting on c. If the mint panics,
// the waiters get an error and the panic goes on.
func (r *refresher) lead(ctx context.Context, c *mintCall) (cred auth.Credential, err error) {
	finished := false
	defer func() {
		if !finished {
			err = errMintPanicked
		}
		r.mu.Lock()
		r.inflight = nil
		c.cred, c.err = cred, err
		c.abandoned = err != nil && ctx.Err() != nil
		r.mu.Unlock()
		close(c.done)
	}()
	fresh, refreshAt, err := r.mint(ctx)
	finished = true

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.have && r.now().Before(r.cur.ExpiresAt.Add(-staleSafety)) {
			r.log.Warn("refreshing the credential failed; reusing the cached one until it expires",
				"expiresAt", r.cur.ExpiresAt, "error", err)
			return r.cur, nil
		}
		return auth.Credential{}, err
	}
	r.cur, r.refreshAt, r.have = fresh, refreshAt, true
	return fresh, nil
}

var errMintPanicked = errors.New("minting the credential panicked")
