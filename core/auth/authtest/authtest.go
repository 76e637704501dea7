// Package authtest holds the contract of the auth.TokenProvider port as a
// reusable suite, TokenProviderContract, which every token provider module
// runs against a loopback server of its identity protocol, and Gate, an
// http middleware that lets such a server refuse or hold requests on
// demand. It uses the standard library only.
package authtest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Harness is one token provider under the contract, wired to a loopback
// identity server of its protocol. Each subtest gets a fresh one.
type Harness struct {
	// Provider is the factory under test.
	Provider auth.TokenProvider
	// Name is the credential.provider value the factory must carry.
	Name string
	// Settings are handed to Provider.New.
	Settings auth.Settings
	// Audience is an audience the identity server mints tokens for; the
	// suite also asks for Audience with an "other." prefix.
	Audience string
	// Check verifies a token as the relying party would (signature,
	// claims, a replay to the identity's verifier) and returns an error
	// unless it was minted for audience.
	Check func(tok auth.Token, audience string) error
	// Secrets must never appear in an error: the identity's own secrets
	// (request tokens, keys, client secrets).
	Secrets []string
	// Fail makes the identity server refuse every later request.
	Fail func()
	// Hang makes the identity server hold every later request without
	// answering until the request's context ends. The channel receives
	// once per request held, so the suite cancels only after the provider
	// is waiting on the server.
	Hang func() <-chan struct{}
}

// TokenProviderContract checks what callers rely on from a token provider:
//   - the factory carries its credential.provider name and creates a
//     source;
//   - Token returns a non-empty token for the audience asked, which the
//     relying party accepts for that audience and no other, with
//     ExpiresAt set and in the future;
//   - a source serves repeated and concurrent calls, each with a token
//     still valid, per audience (callers such as hostauth cache a token
//     until shortly before ExpiresAt; a source may cache too, but never
//     hands out an expired token or one minted for another audience);
//   - a canceled context ends a call waiting on the identity server, with
//     an error that wraps context.Canceled;
//   - every error names the provider and contains none of the secrets.
func TokenProviderContract(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"Factory", contractFactory},
		{"TokenForAudience", contractAudience},
		{"RepeatedAndConcurrent", contractRepeated},
		{"Cancellation", contractCancel},
		{"Errors", contractErrors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newHarness(t))
		})
	}
}

func newSource(t *testing.T, h Harness) auth.TokenSource {
	t.Helper()
	if h.Provider.New == nil {
		t.Fatalf("the %q factory has no New", h.Provider.Name)
	}
	src, err := h.Provider.New(t.Context(), h.Settings)
	if err != nil {
		t.Fatalf("%s: New: %v", h.Name, err)
	}
	if src == nil {
		t.Fatalf("%s: New returned no source and no error", h.Name)
	}
	return src
}

// checkToken checks a token minted for audience, as of now.
func checkToken(t *testing.T, h Harness, tok auth.Token, audience string) {
	t.Helper()
	if tok.Value == "" {
		t.Fatalf("Token(%q) returned an empty token", audience)
	}
	if tok.ExpiresAt.IsZero() {
		t.Errorf("Token(%q) has no ExpiresAt: callers cannot tell when to refresh it", audience)
	} else if !tok.ExpiresAt.After(time.Now()) {
		t.Errorf("Token(%q) expired at %v", audience, tok.ExpiresAt)
	}
	if err := h.Check(tok, audience); err != nil {
		t.Errorf("the token for %q does not verify for it: %v", audience, err)
	}
	for _, s := range h.Secrets {
		if s != "" && strings.Contains(tok.Value, s) {
			t.Errorf("the token for %q contains one of the identity's secrets", audience)
		}
	}
}

func contractFactory(t *testing.T, h Harness) {
	if h.Provider.Name != h.Name || h.Name == "" {
		t.Fatalf("factory name = %q, want %q", h.Provider.Name, h.Name)
	}
	if strings.ToLower(h.Name) != h.Name || strings.ContainsAny(h.Name, " \t") {
		t.Errorf("provider name %q: credential.provider values are lower case, without spaces", h.Name)
	}
	newSource(t, h)
}

func contractAudience(t *testing.T, h Harness) {
	src := newSource(t, h)
	other := "other." + h.Audience
	tok, err := src.Token(t.Context(), h.Audience)
	if err != nil {
		t.Fatalf("Token(%q): %v", h.Audience, err)
	}
	checkToken(t, h, tok, h.Audience)
	if h.Check(tok, other) == nil {
		t.Errorf("the token for %q is also accepted for %q", h.Audience, other)
	}
	tok2, err := src.Token(t.Context(), other)
	if err != nil {
		t.Fatalf("Token(%q): %v", other, err)
	}
	checkToken(t, h, tok2, other)
	if h.Check(tok2, h.Audience) == nil {
		t.Errorf("the token for %q is also accepted for %q", other, h.Audience)
	}
}

func contractRepeated(t *testing.T, h Harness) {
	src := newSource(t, h)
	for i := range 2 {
		tok, err := src.Token(t.Context(), h.Audience)
		if err != nil {
			t.Fatalf("call %d: Token: %v", i+1, err)
		}
		checkToken(t, h, tok, h.Audience)
	}
	const n = 6
	var wg sync.WaitGroup
	toks, errs := make([]auth.Token, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			aud := h.Audience
			if i%2 == 1 {
				aud = "other." + h.Audience
			}
			toks[i], errs[i] = src.Token(t.Context(), aud)
		})
	}
	wg.Wait()
	for i := range n {
		aud := h.Audience
		if i%2 == 1 {
			aud = "other." + h.Audience
		}
		if errs[i] != nil {
			t.Fatalf("concurrent call %d: Token(%q): %v", i+1, aud, errs[i])
		}
		checkToken(t, h, toks[i], aud)
	}
}

func contractCancel(t *testing.T, h Harness) {
	src := newSource(t, h)
	held := h.Hang()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx, h.Audience)
		done <- err
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("Token returned before the identity server answered: %v", err)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Token after cancel = %v, want an error wrapping context.Canceled", err)
	}
	checkError(t, h, err)
}

func contractErrors(t *testing.T, h Harness) {
	src := newSource(t, h)
	h.Fail()
	tok, err := src.Token(t.Context(), h.Audience)
	if err == nil {
		t.Fatalf("Token succeeded against a refusing identity server: %v", tok)
	}
	checkError(t, h, err)
}

// checkError checks that err names the provider and leaks no secret.
func checkError(t *testing.T, h Harness, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, h.Name) {
		t.Errorf("error %q does not name the provider %q", msg, h.Name)
	}
	for _, s := range h.Secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains a secret", msg)
		}
	}
}

// Gate sits in front of a loopback identity server's handler and refuses
// or holds its requests on demand, for a Harness's Fail and Hang. The
// zero value passes every request through.
type Gate struct {
	mu      sync.Mutex
	status  int           // refuse with this status if non-zero
	held    chan struct{} // hold requests, announcing each here, if non-nil
	release chan struct{} // closed when the test that called Hang ends
}

// Wrap returns next behind the gate.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		status, held, release := g.status, g.held, g.release
		g.mu.Unlock()
		switch {
		case held != nil:
			select {
			case held <- struct{}{}:
			case <-r.Context().Done():
			case <-release:
			}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case status != 0:
			http.Error(w, "refused by the test's gate", status)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Fail makes every later request answer status.
func (g *Gate) Fail(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = status
}

// Hang makes every later request wait, without an answer, until its
// context ends (the client gave up) or t ends; the channel receives once
// for each request held. Some SDKs finish a request in the background
// after the caller's context ended: the end of t releases it, before the
// servers started earlier in t are closed.
func (g *Gate) Hang(t testing.TB) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.release = make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(g.release) })
	return g.held
}
