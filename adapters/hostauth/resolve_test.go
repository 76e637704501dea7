package hostauth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenPath := writeFile(t, dir, "token", "file-token\n")
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	clk := newClock()
	cfg := &config.Config{Hosts: []config.Host{
		{Host: "ghcr.io", Username: "octocat", Credential: &config.Credential{Value: "gh-token"}},
		{Host: "tls-only.example", TLS: &config.TLS{ServerAuth: &config.ServerAuth{Value: "unused by login"}}},
		{Host: "file.example", Credential: &config.Credential{FromPath: tokenPath}},
		{Host: "jwt.example", Credential: &config.Credential{JWKValue: jwkJSON(t, ed, "k", "", true), Iss: "i", Sub: "s"}},
		{Host: "123.dkr.ecr.us-east-1.amazonaws.com", Provider: "ecr"},
		{Host: "chunks.example", MaxChunkSize: 1024},
	}}
	deps := Deps{
		RegistryProviders: map[string]auth.RegistryProvider{"ecr": (&fakeRegistry{now: clk.Now}).factory()},
		Now:               clk.Now,
	}
	got, err := Resolve(t.Context(), cfg, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		host, user, secret string
		skipped            bool
	}{
		{"ghcr.io", "octocat", "gh-token", false},
		{"tls-only.example", "", "", true},
		{"file.example", "", "file-token", false},
		{"jwt.example", "", "", false},
		{"123.dkr.ecr.us-east-1.amazonaws.com", "AWS", "pw-1", false},
		{"chunks.example", "", "", true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Host != w.host || g.Skipped != w.skipped || g.Credential.Username != w.user || (w.secret != "" && g.Credential.Secret != w.secret) {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
		}
	}
	if h, claims := verifyJWT(t, got[3].Credential.Secret, ed.Public()); h.KeyID != "k" || claims.Audience[0] != "jwt.example" {
		t.Errorf("jwt host: kid %q aud %v", h.KeyID, claims.Audience)
	}

	// Selected hosts only, in config order.
	got, err = Resolve(t.Context(), cfg, deps, []string{"file.example", "ghcr.io"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Host != "ghcr.io" || got[1].Host != "file.example" {
		t.Errorf("selection = %+v", got)
	}

	// An unknown host fails before anything is minted.
	_, err = Resolve(t.Context(), cfg, deps, []string{"ghcr.io", "quay.io"})
	want0 := `--host "quay.io" is not in the config's hosts (known: ghcr.io, tls-only.example, file.example, jwt.example, 123.dkr.ecr.us-east-1.amazonaws.com, chunks.example)`
	if err == nil || err.Error() != want0 {
		t.Errorf("unknown host: %v\nwant %s", err, want0)
	}
}

func TestResolveFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := &config.Config{Hosts: []config.Host{
		{Host: "ok.example", Credential: &config.Credential{Value: "secret-value"}},
		{Host: "empty.example", Credential: &config.Credential{FromPath: writeFile(t, dir, "empty", "")}},
		{Host: "gh.example", Credential: &config.Credential{Provider: "github"}},
	}}
	_, err := Resolve(t.Context(), cfg, Deps{}, nil)
	if err == nil || !strings.Contains(err.Error(), `hosts[2] "gh.example": credential.provider "github" (compiled in: none): provider not compiled in`) {
		t.Fatalf("construction failure: %v", err)
	}

	f := &fakeTokens{now: time.Now, gate: make(chan struct{})}
	deps := Deps{TokenProviders: map[string]auth.TokenProvider{"github": f.factory("github")}}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res, err := Resolve(ctx, cfg, deps, nil)
	if res != nil || err == nil {
		t.Fatalf("got %v, %v; want no results and an error", res, err)
	}
	msg := err.Error()
	for _, want := range []string{
		`hosts[1] "empty.example": credential.fromPath: file ` + dir + `/empty is empty`,
		`hosts[2] "gh.example": credential.provider "github": mint a token for audience "gh.example": context deadline exceeded`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, `host "empty.example"`) {
		t.Errorf("error %q repeats the host", msg)
	}
	if strings.Contains(msg, "secret-value") {
		t.Errorf("error %q leaks a secret", msg)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the deadline", err)
	}
}
