package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// TestDefaultKeychain checks that a host without Host.Credentials is
// authenticated from the Docker config ($DOCKER_CONFIG) by default.
func TestDefaultKeychain(t *testing.T) {
	s := registrytest.NewDistribution(t, registrytest.WithTokenAuth("carol", "pw"))
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host(), base64.StdEncoding.EncodeToString([]byte("carol:pw")))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	c, err := registry.New(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo := repoOf(t, s, "app")
	newImage(t, 10).push(t, c, repo, "1.0")
	if tags, err := c.ListTags(t.Context(), repo); err != nil || len(tags) != 1 {
		t.Fatalf("ListTags = %v, %v", tags, err)
	}
}

// TestConcurrentUse copies images concurrently through one Client (run it
// with -race) against a token-auth registry, where scopes differ per
// repository.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	rec := registrytest.NewRecorder()
	s := registrytest.NewDistribution(t, registrytest.WithTokenAuth("dan", "pw"), registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			repo := repoOf(t, s, fmt.Sprintf("team/app%d", i%4))
			img := newImage(t, 512, 1024)
			for _, b := range img.blobs() {
				if err := c.PushBlob(ctx, repo, oci.Descriptor{Digest: oci.Digest(b), Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
					errs <- err
					return
				}
			}
			tag := fmt.Sprintf("v%d", i)
			if err := c.PutManifest(ctx, repo, tag, oci.MediaTypeImageManifest, img.manifest); err != nil {
				errs <- err
				return
			}
			d, body, err := c.GetManifest(ctx, repo, tag)
			if err != nil || d.Digest != img.digest || !bytes.Equal(body, img.manifest) {
				errs <- fmt.Errorf("GetManifest %s: %v, %v", tag, d, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := counts(rec)["GET ping"]; n != 1 {
		t.Errorf("%d pings for one host, want 1", n)
	}
	// One push token per repository (reads reuse it); a few extra at most
	// when goroutines race for the same scope.
	if n := s.TokensIssued(); n > 8 {
		t.Errorf("%d tokens issued for 4 repositories", n)
	}
}

// TestManifestMediaTypes reads indexes and Docker manifests seeded by
// go-containerregistry and checks media types, digests and exact bytes.
func TestManifestMediaTypes(t *testing.T) {
	t.Parallel()
	for name, newServer := range map[string]newServerFunc{"distribution": registrytest.NewDistribution, "oci": registrytest.NewOCI} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			c := clientFor(t, s)
			repo := repoOf(t, s, "app")
			for _, tc := range []struct {
				tag, digest, mediaType string
			}{
				{"index", s.PushIndex(t, "app:index", "linux/amd64", "linux/arm/v7"), oci.MediaTypeImageIndex},
				{"docker", s.PushRandomImage(t, "app:docker", 1, 64, registrytest.AsDocker()), oci.MediaTypeDockerManifest},
				{"oci", s.PushRandomImage(t, "app:oci", 1, 64, registrytest.ImageAnnotations(map[string]string{"a": "b"})), oci.MediaTypeImageManifest},
			} {
				d, err := c.HeadManifest(t.Context(), repo, tc.tag)
				if err != nil || d.Digest != tc.digest || d.MediaType != tc.mediaType {
					t.Fatalf("HeadManifest(%s) = %+v, %v; want %s %s", tc.tag, d, err, tc.mediaType, tc.digest)
				}
				d, body, err := c.GetManifest(t.Context(), repo, tc.tag)
				if err != nil || d.Digest != tc.digest || d.MediaType != tc.mediaType || !bytes.Equal(body, s.ManifestBytes(t, "app:"+tc.tag)) {
					t.Fatalf("GetManifest(%s) = %+v, %v", tc.tag, d, err)
				}
				if _, refs, err := oci.ParseManifest(d.MediaType, body); err != nil || len(refs.Manifests)+len(refs.Blobs) == 0 {
					t.Fatalf("ParseManifest(%s): %v", tc.tag, err)
				}
			}
		})
	}
}

// TestBearerChallengeWithoutRealm covers registries that validate
// self-contained bearer tokens and offer no token endpoint: without a
// bearer credential the answer is a final 401 that says what to configure.
func TestBearerChallengeWithoutRealm(t *testing.T) {
	t.Parallel()
	s := registrytest.NewOCI(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer jwt" {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="a signed JWT is required"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	c := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.Credentials = staticCred("user", "pw") })
	_, err := c.ListTags(t.Context(), repoOf(t, s, "app"))
	if !errors.Is(err, core.ErrUnauthorized) || retry.Retryable(err) ||
		!strings.Contains(err.Error(), "a signed JWT is required") || !strings.Contains(err.Error(), "bearer credential") {
		t.Fatalf("ListTags = %v", err)
	}
	ok := clientFor(t, s, func(_ *registry.Options, h *registry.Host) {
		h.Credentials = auth.SourceFunc(func(context.Context) (auth.Credential, error) { return auth.Credential{Secret: "jwt"}, nil })
	})
	if _, err := ok.ListTags(t.Context(), repoOf(t, s, "app")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("with the bearer credential: %v, want the registry's 404 for an empty repository", err)
	}
}
