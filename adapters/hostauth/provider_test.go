package hostauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// fakeTokens is a TokenProvider factory whose tokens count their mints.
type fakeTokens struct {
	now      func() time.Time
	lifetime time.Duration // zero: no ExpiresAt

	news  atomic.Int32
	mints atomic.Int32

	mu       sync.Mutex
	fail     error
	newFail  error
	gate     chan struct{} // when set, Token waits for it (or ctx)
	entered  chan struct{} // when set, Token signals entry
	audience []string
	settings auth.Settings
}

func (f *fakeTokens) factory(name string) auth.TokenProvider {
	return auth.TokenProvider{Name: name, New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
		f.news.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.settings = s
		if f.newFail != nil {
			return nil, f.newFail
		}
		return f, nil
	}}
}

func (f *fakeTokens) Token(ctx context.Context, aud string) (auth.Token, error) {
	f.mu.Lock()
	gate, entered, fail := f.gate, f.entered, f.fail
	f.audience = append(f.audience, aud)
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return auth.Token{}, ctx.Err()
		}
	}
	if fail != nil {
		return auth.Token{}, fail
	}
	n := f.mints.Add(1)
	t := auth.Token{Value: fmt.Sprintf("token-%d", n)}
	if f.lifetime > 0 {
		t.ExpiresAt = f.now().Add(f.lifetime)
	}
	return t, nil
}

func (f *fakeTokens) set(fn func(f *fakeTokens)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func providerHost(user, aud string) config.Host {
	return config.Host{Host: "r.example", Username: user, Credential: &config.Credential{Provider: "github", Aud: aud}}
}

func TestTokenProviderCachesAndRefreshes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lifetime time.Duration
		refresh  time.Duration // age at which the token is re-minted
	}{
		{"one hour: 10% margin", time.Hour, 54 * time.Minute},
		{"ten minutes: 60s margin", 10 * time.Minute, 9 * time.Minute},
		{"two minutes: 30s minimum margin", 2 * time.Minute, 90 * time.Second},
		{"forty seconds: half-life cap", 40 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			f := &fakeTokens{now: clk.Now, lifetime: tt.lifetime}
			src, err := NewSource(providerHost("", ""), Deps{
				TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")},
				Settings:       auth.Settings{UserAgent: "flux-mirror/test"},
				Now:            clk.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.news.Load() != 0 {
				t.Error("the provider must be set up lazily, on the first call")
			}
			get := func() auth.Credential {
				t.Helper()
				c, err := src.Credential(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			first := get()
			if first.Secret != "token-1" || !first.Bearer() || !first.ExpiresAt.Equal(clk.Now().Add(tt.lifetime)) {
				t.Fatalf("first credential = %q bearer=%v expires %v", first.Secret, first.Bearer(), first.ExpiresAt)
			}
			clk.Add(tt.refresh - time.Second)
			if got := get(); got.Secret != "token-1" {
				t.Errorf("before the refresh time got %q, want the cached token", got.Secret)
			}
			clk.Add(time.Second)
			if got := get(); got.Secret != "token-2" {
				t.Errorf("at the refresh time got %q, want a new token", got.Secret)
			}
			if n := f.news.Load(); n != 1 {
				t.Errorf("factory New called %d times, want 1", n)
			}
			if f.settings.UserAgent != "flux-mirror/test" {
				t.Errorf("settings not handed to the factory: %+v", f.settings)
			}
			if f.audience[0] != "r.example" {
				t.Errorf("audience = %q, want the host by default", f.audience[0])
			}
		})
	}
}

func TestTokenProviderSingleflight(t *testing.T) {
	t.Parallel()
	// In a synctest bubble, synctest.Wait returns once every caller is
	// blocked, which orders the test without sleeping.
	synctest.Test(t, func(t *testing.T) {
		clk := newClock()
		f := &fakeTokens{now: clk.Now, lifetime: time.Hour, gate: make(chan struct{}), entered: make(chan struct{}, 100)}
		src, err := NewSource(providerHost("ci", "aud-x"), Deps{
			TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")},
			Now:            clk.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		const n = 50
		results := make(chan auth.Credential, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				c, err := src.Credential(t.Context())
				if err != nil {
					t.Error(err)
				}
				results <- c
			})
		}
		<-f.entered
		synctest.Wait() // the other callers queue up behind the mint
		close(f.gate)
		wg.Wait()
		close(results)
		for c := range results {
			if c.Secret != "token-1" || c.Username != "ci" {
				t.Errorf("caller got %q/%q, want the one shared token-1 for ci", c.Username, c.Secret)
			}
		}
		if m := f.mints.Load(); m != 1 {
			t.Errorf("%d mints for %d concurrent callers, want 1", m, n)
		}
		if f.audience[0] != "aud-x" {
			t.Errorf("audience = %q, want aud-x", f.audience[0])
		}
	})
}

func TestTokenProviderFailures(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := &fakeTokens{now: clk.Now, lifetime: 10 * time.Minute}
	boom := errors.New("OIDC endpoint said 500")
	f.set(func(f *fakeTokens) { f.newFail = errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is not set") })
	src, err := NewSource(providerHost("", ""), Deps{
		TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")},
		Now:            clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Credential(t.Context())
	if err == nil || !strings.Contains(err.Error(), `credential.provider "github": set up the provider: ACTIONS_ID_TOKEN_REQUEST_URL`) {
		t.Fatalf("setup failure: %v", err)
	}
	f.set(func(f *fakeTokens) { f.newFail, f.fail = nil, boom })
	_, err = src.Credential(t.Context())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `host "r.example": credential.provider "github": mint a token for audience "r.example"`) {
		t.Fatalf("mint failure: %v", err)
	}
	// Failures are not cached, and the setup is retried after failing.
	f.set(func(f *fakeTokens) { f.fail = nil })
	c, err := src.Credential(t.Context())
	if err != nil || c.Secret != "token-1" {
		t.Fatalf("after recovery: %q, %v", c.Secret, err)
	}
	if n := f.news.Load(); n != 2 {
		t.Errorf("factory New called %d times, want 2 (one failed)", n)
	}
	// A refresh that fails while the cached token is still valid reuses it.
	clk.Add(9 * time.Minute)
	f.set(func(f *fakeTokens) { f.fail = boom })
	c, err = src.Credential(t.Context())
	if err != nil || c.Secret != "token-1" {
		t.Fatalf("failed refresh of a valid token: %q, %v; want the cached token", c.Secret, err)
	}
	// …but not once it is about to expire.
	clk.Add(time.Minute - staleSafety)
	if _, err = src.Credential(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("failed refresh of an expiring token: %v, want the mint error", err)
	}
}

func TestTokenProviderAbandonedMint(t *testing.T) {
	t.Parallel()
	// In a synctest bubble, synctest.Wait returns once every caller is
	// blocked, which orders the test without sleeping.
	synctest.Test(t, func(t *testing.T) {
		clk := newClock()
		f := &fakeTokens{now: clk.Now, lifetime: time.Hour, gate: make(chan struct{}), entered: make(chan struct{}, 10)}
		src, err := NewSource(providerHost("", ""), Deps{
			TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")},
			Now:            clk.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		leaderCtx, cancel := context.WithCancel(t.Context())
		leaderErr := make(chan error, 1)
		go func() {
			_, err := src.Credential(leaderCtx)
			leaderErr <- err
		}()
		<-f.entered
		waiter := make(chan auth.Credential, 1)
		go func() {
			c, err := src.Credential(t.Context())
			if err != nil {
				t.Error(err)
			}
			waiter <- c
		}()
		synctest.Wait() // the waiter queues up behind the leader
		cancel()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: %v, want context.Canceled", err)
		}
		<-f.entered // the waiter took over the mint
		close(f.gate)
		if c := <-waiter; c.Secret != "token-1" {
			t.Errorf("waiter got %q, want token-1", c.Secret)
		}
	})
}

func TestTokenProviderUnknownExpiry(t *testing.T) {
	t.Parallel()
	f := &fakeTokens{now: time.Now}
	src, err := NewSource(providerHost("", ""), Deps{TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := src.Credential(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if m := f.mints.Load(); m != 3 {
		t.Errorf("a token without known expiry must not be cached: %d mints for 3 calls", m)
	}
}

func TestProvidersNotCompiled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    config.Host
		want string
		is   error
	}{
		{"token provider", providerHost("", ""), `credential.provider "github" (compiled in: none): provider not compiled in`, core.ErrProviderNotCompiled},
		{"registry provider", config.Host{Host: "x.dkr.ecr.us-east-1.amazonaws.com", Provider: "ecr"}, `provider "ecr" (compiled in: none): provider not compiled in`, core.ErrProviderNotCompiled},
		{"another token provider", config.Host{Host: "r", Credential: &config.Credential{Provider: "okta"}}, `credential.provider "okta" (compiled in: none): provider not compiled in`, core.ErrProviderNotCompiled},
		{"another registry provider", config.Host{Host: "r", Provider: "quay"}, `provider "quay" (compiled in: none): provider not compiled in`, core.ErrProviderNotCompiled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSource(tt.h, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

// fakeRegistry is a RegistryProvider whose credentials count their calls.
type fakeRegistry struct {
	now   func() time.Time
	calls atomic.Int32
	host  string
	fail  error
}

func (f *fakeRegistry) factory() auth.RegistryProvider {
	return auth.RegistryProvider{Name: "ecr", New: func(_ context.Context, host string, _ auth.Settings) (auth.Source, error) {
		f.host = host
		return auth.SourceFunc(func(context.Context) (auth.Credential, error) {
			if f.fail != nil {
				return auth.Credential{}, f.fail
			}
			n := f.calls.Add(1)
			return auth.Credential{Username: "AWS", Secret: fmt.Sprintf("pw-%d", n), ExpiresAt: f.now().Add(12 * time.Hour)}, nil
		}), nil
	}}
}

func TestRegistryProvider(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := &fakeRegistry{now: clk.Now}
	host := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	src, err := NewSource(config.Host{Host: host, Username: "ignored", Provider: "ecr"}, Deps{
		RegistryProviders: map[string]auth.RegistryProvider{"ecr": f.factory()},
		Now:               clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "AWS" || c.Secret != "pw-1" || f.host != host {
		t.Errorf("got %s for host %q; want the provider's own AWS/pw-1 for %q", c, f.host, host)
	}
	clk.Add(12*time.Hour - 73*time.Minute) // refresh margin is 10% of 12h = 72m
	if c, _ := src.Credential(t.Context()); c.Secret != "pw-1" {
		t.Errorf("got %q, want the cached pw-1", c.Secret)
	}
	clk.Add(time.Minute)
	if c, _ := src.Credential(t.Context()); c.Secret != "pw-2" {
		t.Errorf("got %q, want a refreshed pw-2", c.Secret)
	}
	f.fail = errors.New("no IRSA role")
	clk.Add(12 * time.Hour)
	_, err = src.Credential(t.Context())
	if err == nil || !strings.Contains(err.Error(), `provider "ecr": get the registry credential: no IRSA role`) {
		t.Errorf("failure: %v", err)
	}
}

func TestProviderRefreshAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		exp, want time.Time
	}{
		{time.Time{}, now},
		{now.Add(-time.Second), now},
		{now.Add(time.Hour), now.Add(54 * time.Minute)},
		{now.Add(4 * time.Minute), now.Add(3*time.Minute + 30*time.Second)},
		{now.Add(10 * time.Second), now.Add(5 * time.Second)},
	}
	for _, tt := range tests {
		if got := providerRefreshAt(now, tt.exp); !got.Equal(tt.want) {
			t.Errorf("providerRefreshAt(exp %v) = %v, want %v", tt.exp.Sub(now), got.Sub(now), tt.want.Sub(now))
		}
	}
}
