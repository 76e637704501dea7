package cosign_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/cosign"
	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

func TestNew(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	tests := []struct {
		name    string
		opts    cosign.Options
		wantErr string
	}{
		{name: "registry required", opts: cosign.Options{}, wantErr: "registry reader is required"},
		{name: "one trust root", opts: cosign.Options{Registry: reader{}, TrustedRoot: ss.TrustedMaterial(), TrustedRootPath: "x.json"}, wantErr: "not both"},
		{name: "defaults", opts: cosign.Options{Registry: reader{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := cosign.New(tc.opts)
			if tc.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("New = %v, %v", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyRejectsBadPolicyBeforeAnyIO(t *testing.T) {
	t.Parallel()
	// A registry that cannot be reached: any I/O fails the test's expectations.
	repo := oci.Repository{Host: "127.0.0.1:1", Path: "acme/app"}
	digest := oci.Digest([]byte("x"))
	v, err := cosign.New(cosign.Options{Registry: reader{}, TrustedRootPath: filepath.Join(t.TempDir(), "absent.json")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		policy  mirror.VerifyPolicy
		digest  string
		wantErr string
	}{
		{name: "no identities", policy: mirror.VerifyPolicy{Provider: "cosign"}, wantErr: "verify.matchOIDCIdentity is empty"},
		{name: "other provider", policy: mirror.VerifyPolicy{Provider: "notary", MatchOIDCIdentity: []mirror.OIDCIdentity{gh(".*")}}, wantErr: `verify.provider "notary"`},
		{name: "empty issuer", policy: policyOf(mirror.OIDCIdentity{Subject: ".*"}), wantErr: "verify.matchOIDCIdentity[0].issuer is empty"},
		{name: "empty subject", policy: policyOf(gh(".*"), gh("")), wantErr: "verify.matchOIDCIdentity[1].subject is empty"},
		{name: "bad regexp", policy: policyOf(gh("https://github.com/(acme")), wantErr: `verify.matchOIDCIdentity[0].subject "https://github.com/(acme" is not a valid Go regular expression`},
		{name: "bad digest", policy: policyOf(gh(".*")), digest: "sha256:abc", wantErr: "not a valid sha256 or sha512 digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := digest
			if tc.digest != "" {
				d = tc.digest
			}
			_, err := v.Verify(context.Background(), repo, d, tc.policy)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestTrustRootIsLoadedOnceAndOnlyWhenABundleIsFound(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	e := newEnv(t, ss, true)
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	v, err := cosign.New(cosign.Options{Registry: reader{}, TrustedRootPath: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := policyOf(gh(".*"))

	// Nothing attached: the missing trust root is not even read.
	if _, err := v.Verify(ctx, e.repo, e.digest, p); !errors.Is(err, cosign.ErrNoBundle) {
		t.Fatalf("Verify without bundles = %v, want ErrNoBundle", err)
	}
	e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
	if _, err := v.Verify(ctx, e.repo, e.digest, p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Verify with a missing trust root = %v, want a not-exist error", err)
	}
	// The failure is remembered: the trust root is loaded once per Verifier.
	if err := os.WriteFile(path, ss.TrustedRootJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, e.repo, e.digest, p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("second Verify = %v, want the remembered load error", err)
	}
	// A new Verifier reads the file now present.
	v2, err := cosign.New(cosign.Options{Registry: reader{}, TrustedRootPath: path})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Verify(ctx, e.repo, e.digest, p)
	if err != nil || !got.IntegratedTime.Equal(signedAt) {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
}

func TestVerifyWithoutCTLogDoesNotRequireSCTs(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t, cosigntest.WithoutCTLog())
	e := newEnv(t, ss, false)
	e.attach(t, ss.SignRequest(t, cosigntest.SignRequest{Digest: e.digest, Issuer: ghIssuer, Subject: "release@acme.example", At: signedAt, NoSCT: true}))
	v, err := cosign.New(cosign.Options{Registry: reader{}, TrustedRoot: ss.TrustedMaterial()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), e.repo, e.digest, policyOf(gh(`release@acme\.example`)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity != "release@acme.example" || got.Issuer != ghIssuer || !got.IntegratedTime.Equal(signedAt) {
		t.Fatalf("Verify = %+v", got)
	}
}

func TestVerifyConcurrently(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	e := newEnv(t, ss, true)
	e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
	v, err := cosign.New(cosign.Options{Registry: reader{}, TrustedRootPath: ss.WriteTrustedRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), e.repo, e.digest, policyOf(gh(".*")))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// offlineFetcher stands in for the network: it records the URLs the TUF
// client asks for and fails every download.
type offlineFetcher struct {
	mu   sync.Mutex
	urls []string
}

func (f *offlineFetcher) DownloadFile(u string, _ int64, _ time.Duration) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, u)
	return nil, errors.New("offline")
}

func TestDefaultTrustRootComesFromPublicGoodTUF(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	e := newEnv(t, ss, true)
	cache := filepath.Join(t.TempDir(), "tuf")
	v, err := cosign.New(cosign.Options{Registry: reader{}, TUFCacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	f := &offlineFetcher{}
	cosign.SetTUFFetcher(v, f)
	if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New touched the TUF cache: %v", err)
	}

	e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
	_, err = v.Verify(context.Background(), e.repo, e.digest, policyOf(gh(".*")))
	if err == nil {
		t.Fatal("Verify succeeded without a reachable trust root")
	}
	for _, want := range []string{cosign.PublicGoodTUFURL, cache, "local trusted_root.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	f.mu.Lock()
	urls := append([]string(nil), f.urls...)
	f.mu.Unlock()
	if len(urls) == 0 {
		t.Fatal("the TUF client fetched nothing")
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, cosign.PublicGoodTUFURL+"/") {
			t.Errorf("TUF fetched %s, outside %s", u, cosign.PublicGoodTUFURL)
		}
	}
	// The TUF client keeps its metadata under the cache directory.
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) == 0 {
		t.Fatalf("TUF cache %s is empty: %v", cache, err)
	}
}

func TestDefaultTUFCacheDir(t *testing.T) {
	// Not parallel: it changes the environment.
	t.Setenv("XDG_CACHE_HOME", "/var/cache/test")
	t.Setenv("HOME", "/home/test")
	if got, err := os.UserCacheDir(); err == nil && strings.HasPrefix(got, "/var/cache/test") {
		if want := "/var/cache/test/flux-mirror/sigstore-tuf"; cosign.DefaultTUFCacheDir() != want {
			t.Fatalf("DefaultTUFCacheDir = %q, want %q", cosign.DefaultTUFCacheDir(), want)
		}
	} else if !strings.HasSuffix(cosign.DefaultTUFCacheDir(), filepath.Join("flux-mirror", "sigstore-tuf")) {
		t.Fatalf("DefaultTUFCacheDir = %q", cosign.DefaultTUFCacheDir())
	}
}
