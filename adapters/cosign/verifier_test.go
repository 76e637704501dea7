package cosign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/fluxcd/flux-mirror/adapters/cosign"
	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

const (
	ghIssuer  = "https://token.actions.githubusercontent.com"
	ghSubject = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
)

// signedAt is a signing time well in the past, as minAge tests need.
var signedAt = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// reader implements cosign.Reader on go-containerregistry, falling back to
// the referrers tag schema as the registry adapter does.
type reader struct{ opts []remote.Option }

func (r reader) repo(repo oci.Repository) (name.Repository, error) {
	return name.NewRepository(repo.String(), name.Insecure)
}

func classify(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %v", core.ErrNotFound, err)
	}
	return err
}

func (r reader) Referrers(_ context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	n, err := r.repo(repo)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(n.Digest(digest), r.opts...)
	if err != nil {
		return nil, classify(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []oci.Descriptor
	for _, d := range im.Manifests {
		out = append(out, oci.Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size,
			ArtifactType: d.ArtifactType, Annotations: d.Annotations})
	}
	return out, nil
}

func (r reader) GetManifest(_ context.Context, repo oci.Repository, ref string) (oci.Descriptor, []byte, error) {
	n, err := r.repo(repo)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	// A reference is a digest or, for cosign's signature tag, a tag.
	var nref name.Reference = n.Tag(ref)
	if oci.ValidDigest(ref) {
		nref = n.Digest(ref)
	}
	d, err := remote.Get(nref, r.opts...)
	if err != nil {
		return oci.Descriptor{}, nil, classify(err)
	}
	return oci.Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}, d.Manifest, nil
}

func (r reader) OpenBlob(_ context.Context, repo oci.Repository, digest string) (io.ReadCloser, error) {
	n, err := r.repo(repo)
	if err != nil {
		return nil, err
	}
	l, err := remote.Layer(n.Digest(digest), r.opts...)
	if err != nil {
		return nil, classify(err)
	}
	return l.Compressed()
}

// corruptBlobs flips a byte of every blob read, as a broken registry or a
// man in the middle would.
type corruptBlobs struct{ cosign.Reader }

func (c corruptBlobs) OpenBlob(ctx context.Context, repo oci.Repository, digest string) (io.ReadCloser, error) {
	rc, err := c.Reader.OpenBlob(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	b[len(b)/2] ^= 0x01
	return io.NopCloser(bytes.NewReader(b)), nil
}

// env is one registry with one pushed image to verify.
type env struct {
	repoRef string // host:port/path for cosigntest.Attach
	repo    oci.Repository
	digest  string
	other   string // digest of a second image in the same repository
	ss      *cosigntest.Sigstore
}

func newEnv(t *testing.T, ss *cosigntest.Sigstore, referrersAPI bool) env {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrersAPI), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repoRef := strings.TrimPrefix(srv.URL, "http://") + "/acme/app"
	repo, err := oci.ParseRepository(repoRef)
	if err != nil {
		t.Fatal(err)
	}
	push := func(tag string) string {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(repoRef+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	return env{repoRef: repoRef, repo: repo, digest: push("v1"), other: push("v2"), ss: ss}
}

func (e env) attach(t *testing.T, bundle []byte) string {
	t.Helper()
	return cosigntest.Attach(t, e.repoRef, e.digest, bundle)
}

// attachRaw pushes a referrer manifest of any shape with one layer.
func (e env) attachRaw(t *testing.T, artifactType, configType, layerType string, layer []byte) {
	t.Helper()
	n, err := name.NewRepository(e.repoRef, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	var descs []map[string]any
	for _, x := range []struct {
		content []byte
		mt      string
	}{{[]byte("{}"), configType}, {layer, layerType}} {
		l := static.NewLayer(x.content, types.MediaType(x.mt))
		if err := remote.WriteLayer(n, l); err != nil {
			t.Fatal(err)
		}
		descs = append(descs, map[string]any{"mediaType": x.mt, "digest": oci.Digest(x.content), "size": len(x.content)})
	}
	subj, err := remote.Head(n.Digest(e.digest))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest,
		"config": descs[0], "layers": descs[1:],
		"subject": map[string]any{"mediaType": subj.MediaType, "digest": subj.Digest.String(), "size": subj.Size},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(n.Digest(oci.Digest(raw)), rawManifest(raw)); err != nil {
		t.Fatal(err)
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error) { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) {
	return types.MediaType(oci.MediaTypeImageManifest), nil
}

func policyOf(ids ...mirror.OIDCIdentity) mirror.VerifyPolicy {
	return mirror.VerifyPolicy{Provider: cosign.Provider, MatchOIDCIdentity: ids}
}

func gh(subject string) mirror.OIDCIdentity {
	return mirror.OIDCIdentity{Issuer: ghIssuer, Subject: subject}
}

// tamper flips a bit of the DSSE signature inside a bundle.
func tamper(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(bundle, &m); err != nil {
		t.Fatal(err)
	}
	sigs := m["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	sig := sigs[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(sig["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0x01
	sig["sig"] = base64.StdEncoding.EncodeToString(raw)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	foreign := cosigntest.New(t)
	accept := policyOf(gh(`https://github\.com/acme/.*`))
	valid := &mirror.Verification{Provider: "cosign", Issuer: ghIssuer, Identity: ghSubject, IntegratedTime: signedAt}
	sign := func(t *testing.T, e env) []byte { return ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt) }

	tests := []struct {
		name    string
		setup   func(t *testing.T, e env)
		policy  mirror.VerifyPolicy
		opts    func(t *testing.T, e env, o *cosign.Options)
		want    *mirror.Verification
		wantErr error    // with want nil; default ErrNoValidSignature
		wantMsg []string // substrings of the error
	}{
		{
			name:   "valid signature",
			setup:  func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy: accept,
			want:   valid,
		},
		{
			name: "message signature over the digest",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.SignRequest(t, cosigntest.SignRequest{Digest: e.digest, Issuer: ghIssuer, Subject: ghSubject,
					At: signedAt, Kind: cosigntest.KindMessageSignature}))
			},
			policy: accept,
			want:   valid,
		},
		{
			name:    "wrong issuer",
			setup:   func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy:  policyOf(mirror.OIDCIdentity{Issuer: "https://accounts.google.com", Subject: ".*"}),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry", ghSubject},
		},
		{
			name:    "issuer is matched exactly, not as a prefix",
			setup:   func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy:  policyOf(mirror.OIDCIdentity{Issuer: "https://token.actions.githubusercontent.co", Subject: ".*"}),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry"},
		},
		{
			name:    "subject not matching",
			setup:   func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy:  policyOf(gh(`https://github\.com/other/.*`)),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry"},
		},
		{
			name:    "subject matching only a prefix is anchored",
			setup:   func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy:  policyOf(gh(`https://github\.com/acme/app`)),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry"},
		},
		{
			name:    "subject matching only a substring is anchored",
			setup:   func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy:  policyOf(gh(`acme`)),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry"},
		},
		{
			name:  "second identity matches",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy: policyOf(mirror.OIDCIdentity{Issuer: "https://accounts.google.com", Subject: ".*"},
				gh(`https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*`)),
			want: valid,
		},
		{
			name:   "explicitly anchored exact subject",
			setup:  func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			policy: policyOf(gh(`^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v1\.2\.3$`)),
			want:   valid,
		},
		{
			name: "signature for another digest",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.Sign(t, e.other, ghIssuer, ghSubject, signedAt))
			},
			policy:  accept,
			wantMsg: []string{"digest"},
		},
		{
			name:   "tampered bundle",
			setup:  func(t *testing.T, e env) { e.attach(t, tamper(t, sign(t, e))) },
			policy: accept,
		},
		{
			name:  "bundle blob corrupted in transit",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				o.Registry = corruptBlobs{o.Registry}
			},
			policy:  accept,
			wantMsg: []string{"digest mismatch"},
		},
		{
			name:    "no bundle",
			setup:   func(t *testing.T, e env) {},
			policy:  accept,
			wantErr: cosign.ErrNoBundle,
		},
		{
			name: "only unrelated referrers",
			setup: func(t *testing.T, e env) {
				e.attachRaw(t, "application/spdx+json", oci.MediaTypeEmptyJSON, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
				e.attachRaw(t, "", oci.MediaTypeEmptyJSON, "text/plain", []byte("hello"))
			},
			policy:  accept,
			wantErr: cosign.ErrNoBundle,
		},
		{
			name:    "Sigstore not in the trusted root",
			setup:   func(t *testing.T, e env) { e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt)) },
			policy:  accept,
			wantMsg: []string{"not signed by a transparency log of the trusted root"},
		},
		{
			name:  "CA not trusted although its logs are",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				tm, err := root.NewTrustedRoot(root.TrustedRootMediaType01, foreign.TrustedMaterial().FulcioCertificateAuthorities(),
					ss.TrustedMaterial().CTLogs(), nil, ss.TrustedMaterial().RekorLogs())
				if err != nil {
					t.Fatal(err)
				}
				o.TrustedRoot = tm
			},
			policy:  accept,
			wantMsg: []string{"leaf certificate verification failed"},
		},
		{
			name:  "local trusted_root.json",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				o.TrustedRoot, o.TrustedRootPath = nil, ss.WriteTrustedRoot(t)
			},
			policy: accept,
			want:   valid,
		},
		{
			name:  "local trusted_root.json of another Sigstore",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				o.TrustedRoot, o.TrustedRootPath = nil, foreign.WriteTrustedRoot(t)
			},
			policy: accept,
		},
		{
			name:  "missing trusted_root.json",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				o.TrustedRoot, o.TrustedRootPath = nil, filepath.Join(t.TempDir(), "nope.json")
			},
			policy:  accept,
			wantErr: os.ErrNotExist,
			wantMsg: []string{"nope.json", "trusted_root.json"},
		},
		{
			name: "attestation is not a signature",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.SignRequest(t, cosigntest.SignRequest{Digest: e.digest, Issuer: ghIssuer, Subject: ghSubject,
					At: signedAt, Kind: cosigntest.KindAttestation, PredicateType: "https://slsa.dev/provenance/v1"}))
			},
			policy:  accept,
			wantMsg: []string{"attestation", "https://slsa.dev/provenance/v1"},
		},
		{
			name: "certificate without SCT",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.SignRequest(t, cosigntest.SignRequest{Digest: e.digest, Issuer: ghIssuer, Subject: ghSubject,
					At: signedAt, NoSCT: true}))
			},
			policy:  accept,
			wantMsg: []string{"certificate timestamp"},
		},
		{
			name: "invalid bundle next to a valid one",
			setup: func(t *testing.T, e env) {
				e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
				e.attach(t, sign(t, e))
			},
			policy: accept,
			want:   valid,
		},
		{
			name: "earliest of several valid signatures",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt.Add(72*time.Hour)))
				e.attach(t, sign(t, e))
				e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt.Add(time.Hour)))
			},
			policy: accept,
			want:   valid,
		},
		{
			name:  "integrated time in the future",
			setup: func(t *testing.T, e env) { e.attach(t, sign(t, e)) },
			opts: func(t *testing.T, e env, o *cosign.Options) {
				o.Now = func() time.Time { return signedAt.Add(-time.Hour) }
			},
			policy:  accept,
			wantMsg: []string{"in the future"},
		},
		{
			name: "bundle media type with a version parameter",
			setup: func(t *testing.T, e env) {
				mt := "application/vnd.dev.sigstore.bundle+json;version=0.3"
				e.attachRaw(t, mt, oci.MediaTypeEmptyJSON, mt, sign(t, e))
			},
			policy: accept,
			want:   valid,
		},
		{
			name: "bundle type only in config media type",
			setup: func(t *testing.T, e env) {
				e.attachRaw(t, "", cosigntest.BundleMediaType, cosigntest.BundleMediaType, sign(t, e))
			},
			policy: accept,
			want:   valid,
		},
	}

	for _, referrersAPI := range []bool{true, false} {
		mode := map[bool]string{true: "referrers-api", false: "tag-fallback"}[referrersAPI]
		for _, tc := range tests {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, ss, referrersAPI)
				tc.setup(t, e)
				opts := cosign.Options{Registry: reader{}, TrustedRoot: ss.TrustedMaterial()}
				if tc.opts != nil {
					tc.opts(t, e, &opts)
				}
				v, err := cosign.New(opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.Verify(context.Background(), e.repo, e.digest, tc.policy)
				if tc.want != nil {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if got != *tc.want {
						t.Fatalf("Verify = %+v, want %+v", got, *tc.want)
					}
					return
				}
				if err == nil {
					t.Fatalf("Verify succeeded with %+v, want an error", got)
				}
				t.Logf("error: %v", err)
				wantErr := tc.wantErr
				if wantErr == nil {
					wantErr = cosign.ErrNoValidSignature
				}
				if !errors.Is(err, wantErr) {
					t.Fatalf("error %q does not wrap %q", err, wantErr)
				}
				msg := err.Error()
				if !strings.Contains(msg, e.repo.String()+"@"+e.digest) && !errors.Is(err, os.ErrNotExist) {
					t.Errorf("error %q does not name %s@%s", msg, e.repo, e.digest)
				}
				for _, s := range tc.wantMsg {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q lacks %q", msg, s)
					}
				}
				if errors.Is(err, cosign.ErrNoBundle) && !strings.Contains(msg, "no Sigstore bundle attached to "+e.repo.String()+"@"+e.digest) {
					t.Errorf("error %q is not the no-bundle message", msg)
				}
			})
		}
	}
}
