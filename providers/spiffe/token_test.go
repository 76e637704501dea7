package spiffe

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

const audience = "registry.example"

func env(vars map[string]string) Option {
	return withLookupEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func newTokenSource(t *testing.T, opts ...Option) auth.TokenSource {
	t.Helper()
	f := NewTokenFactory(opts...)
	if f.Name != "jwt-svid" {
		t.Fatalf("Name = %q", f.Name)
	}
	ts, err := f.New(t.Context(), auth.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// hangingSocket accepts connections on a unix socket and never answers, as
// a wedged agent would.
func hangingSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hang")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return "unix://" + l.Addr().String()
}

func TestTokenFetchesJWTSVID(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithJWTTTL(3*time.Minute))
	for name, opts := range map[string][]Option{
		"WithAddr":             {env(nil), WithAddr(w.Socket())},
		"from the environment": {env(map[string]string{EnvSocket: w.Socket()})},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok, err := newTokenSource(t, opts...).Token(t.Context(), audience)
			if err != nil {
				t.Fatal(err)
			}
			// The registry's view: signature by the trust domain's JWT
			// bundle, audience, subject and expiry.
			svid, err := jwtsvid.ParseAndValidate(tok.Value, w.JWTBundle(), []string{audience})
			if err != nil {
				t.Fatalf("the token does not verify against the JWT bundle: %v", err)
			}
			if svid.ID != w.ID() || svid.ID.String() != "spiffe://example.org/mirror" {
				t.Errorf("sub = %s", svid.ID)
			}
			if len(svid.Audience) != 1 || svid.Audience[0] != audience {
				t.Errorf("aud = %v, want [%s]", svid.Audience, audience)
			}
			if !tok.ExpiresAt.Equal(svid.Expiry) {
				t.Errorf("ExpiresAt = %v, want the exp claim %v", tok.ExpiresAt, svid.Expiry)
			}
			if d := time.Until(tok.ExpiresAt); d < 2*time.Minute || d > 3*time.Minute {
				t.Errorf("expires in %s, want about 3m", d)
			}
			if _, err := jwtsvid.ParseAndValidate(tok.Value, w.JWTBundle(), []string{"another.example"}); err == nil {
				t.Error("the token is also valid for another audience")
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	down := spiffetest.New(t, "example.org")
	down.Close()
	hang := hangingSocket(t)
	tests := []struct {
		name     string
		opts     []Option
		setup    func(w *spiffetest.WorkloadAPI) // runs on a fresh Workload API, whose address is set
		audience string
		want     []string
		wantErr  error
	}{
		{name: "SPIFFE_ENDPOINT_SOCKET missing", opts: []Option{env(nil)},
			want: []string{"jwt-svid provider: SPIFFE_ENDPOINT_SOCKET is not set: set it to the SPIFFE Workload API socket"}},
		{name: "SPIFFE_ENDPOINT_SOCKET a bare path", opts: []Option{env(map[string]string{EnvSocket: "/run/spire/agent.sock"})},
			want: []string{`jwt-svid provider: SPIFFE_ENDPOINT_SOCKET "/run/spire/agent.sock" is not a Workload API address`, "use unix:///run/spire/agent.sock"}},
		{name: "address with a bad scheme", opts: []Option{WithAddr("http://127.0.0.1:8081")},
			want: []string{`the Workload API address "http://127.0.0.1:8081" is not a Workload API address`, "tcp://<ip>:<port>"}},
		{name: "endpoint down", opts: []Option{WithAddr(down.Socket())},
			want: []string{"jwt-svid provider: fetch a JWT-SVID for audience \"registry.example\": the SPIFFE Workload API at " + down.Socket() + " is unavailable (is the SPIRE agent running"}},
		{name: "endpoint hangs", opts: []Option{WithAddr(hang), WithTimeout(300 * time.Millisecond)},
			want: []string{"from the SPIFFE Workload API at " + hang}, wantErr: context.DeadlineExceeded},
		{name: "permission denied", setup: func(w *spiffetest.WorkloadAPI) {
			w.FailWith(status.Error(codes.PermissionDenied, "no identity issued"))
		}, want: []string{"issued no identity to this workload (is a registration entry in place for it?): no identity issued"}},
		{name: "not a JWT", setup: func(w *spiffetest.WorkloadAPI) { w.ServeRawJWTSVID("not-a-jwt") },
			want: []string{"returned a malformed answer: jwtsvid: unable to parse JWT token"}},
		{name: "JWT-SVID for another audience", setup: func(w *spiffetest.WorkloadAPI) {
			w.ServeRawJWTSVID(w.SignJWTSVID([]string{"elsewhere"}, time.Now().Add(time.Hour)))
		}, want: []string{"malformed answer", `expected audience in ["registry.example"]`}},
		{name: "expired JWT-SVID", setup: func(w *spiffetest.WorkloadAPI) {
			w.ServeRawJWTSVID(w.SignJWTSVID([]string{audience}, time.Now().Add(-time.Hour)))
		}, want: []string{"malformed answer", "token has expired"}},
		{name: "no audience", audience: "-", want: []string{"jwt-svid provider: an audience is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			if opts == nil {
				w := spiffetest.New(t, "example.org")
				if tt.setup != nil {
					tt.setup(w)
				}
				opts = []Option{WithAddr(w.Socket())}
			}
			aud := audience
			if tt.audience == "-" {
				aud = ""
			}
			start := time.Now()
			tok, err := newTokenSource(t, opts...).Token(t.Context(), aud)
			if err == nil {
				t.Fatalf("got token %q, want an error", tok.Value)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("the failure took %s", time.Since(start))
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			// Tokens never reach error messages: every JWT starts with
			// the base64 of `{"`.
			if strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}
