package cosign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/cosign"
	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// failSignatureTag fails every read of a cosign signature tag, as a
// registry outage would.
type failSignatureTag struct{ cosign.Reader }

var errOutage = errors.New("registry outage")

func (f failSignatureTag) GetManifest(ctx context.Context, repo oci.Repository, ref string) (oci.Descriptor, []byte, error) {
	if strings.HasSuffix(ref, ".sig") {
		return oci.Descriptor{}, nil, errOutage
	}
	return f.Reader.GetManifest(ctx, repo, ref)
}

// flipSignature flips a bit of a legacy signature's base64 signature.
func flipSignature(t *testing.T, s cosigntest.LegacySignature) cosigntest.LegacySignature {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0x01
	s.Signature = base64.StdEncoding.EncodeToString(raw)
	return s
}

// backdate moves the integrated time of a legacy signature's Rekor bundle,
// as someone would to get past minAge, without re-signing it.
func backdate(t *testing.T, s cosigntest.LegacySignature, by time.Duration) cosigntest.LegacySignature {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal([]byte(s.Bundle), &b); err != nil {
		t.Fatal(err)
	}
	p := b["Payload"].(map[string]any)
	p["integratedTime"] = p["integratedTime"].(float64) - by.Seconds()
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	s.Bundle = string(out)
	return s
}

func TestVerifyLegacySignatureTag(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	foreign := cosigntest.New(t)
	accept := policyOf(gh(`https://github\.com/acme/.*`))
	valid := &mirror.Verification{Provider: "cosign", Issuer: ghIssuer, Identity: ghSubject, IntegratedTime: signedAt}
	// recent is younger than any sensible minAge: the verifier reports its
	// integrated time, and the engine holds the tag back.
	recent := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	legacy := func(t *testing.T, e env, at time.Time) cosigntest.LegacySignature {
		return ss.SignLegacy(t, e.digest, ghIssuer, ghSubject, at)
	}
	attach := func(t *testing.T, e env, sigs ...cosigntest.LegacySignature) {
		cosigntest.AttachLegacy(t, e.repoRef, e.digest, sigs)
	}

	tests := []struct {
		name    string
		setup   func(t *testing.T, e env)
		policy  mirror.VerifyPolicy
		opts    func(o *cosign.Options)
		want    *mirror.Verification
		wantErr error    // with want nil; default ErrNoValidSignature
		wantMsg []string // substrings of the error
	}{
		{
			name:   "valid keyless signature",
			setup:  func(t *testing.T, e env) { attach(t, e, legacy(t, e, signedAt)) },
			policy: accept,
			want:   valid,
		},
		{
			name:   "valid and recent: its integrated time is reported for minAge",
			setup:  func(t *testing.T, e env) { attach(t, e, legacy(t, e, recent)) },
			policy: accept,
			want:   &mirror.Verification{Provider: "cosign", Issuer: ghIssuer, Identity: ghSubject, IntegratedTime: recent},
		},
		{
			name:  "valid without a chain annotation",
			setup: func(t *testing.T, e env) { s := legacy(t, e, signedAt); s.Chain = ""; attach(t, e, s) },
			// The trusted root holds the CAs; the chain annotation is not needed.
			policy: accept,
			want:   valid,
		},
		{
			name:    "wrong identity",
			setup:   func(t *testing.T, e env) { attach(t, e, legacy(t, e, signedAt)) },
			policy:  policyOf(gh(`https://github\.com/other/.*`)),
			wantMsg: []string{"matches no verify.matchOIDCIdentity entry", ghSubject, "no Sigstore bundle attached as a referrer", "of cosign signature tag"},
		},
		{
			name: "payload signs another digest",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacyRequest(t, cosigntest.LegacyRequest{Digest: e.digest, ClaimedDigest: e.other,
					Issuer: ghIssuer, Subject: ghSubject, At: signedAt}))
			},
			policy:  accept,
			wantMsg: []string{"payload signs digest"},
		},
		{
			name: "payload of another type",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacyRequest(t, cosigntest.LegacyRequest{Digest: e.digest, Type: "cosign container image attestation",
					Issuer: ghIssuer, Subject: ghSubject, At: signedAt}))
			},
			policy:  accept,
			wantMsg: []string{"critical.type"},
		},
		{
			name: "signature copied from another image's tag",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacy(t, e.other, ghIssuer, ghSubject, signedAt))
			},
			policy:  accept,
			wantMsg: []string{"payload signs digest"},
		},
		{
			name:    "tampered signature annotation",
			setup:   func(t *testing.T, e env) { attach(t, e, flipSignature(t, legacy(t, e, signedAt))) },
			policy:  accept,
			wantMsg: []string{"signature does not match"},
		},
		{
			name: "certificate annotation swapped for another signer's",
			setup: func(t *testing.T, e env) {
				s := legacy(t, e, signedAt)
				s.Certificate = legacy(t, e, signedAt).Certificate
				attach(t, e, s)
			},
			policy:  accept,
			wantMsg: []string{"certificate does not match"},
		},
		{
			name: "payload altered after signing",
			setup: func(t *testing.T, e env) {
				s := legacy(t, e, signedAt)
				s.Payload = []byte(strings.Replace(string(s.Payload), `"optional":null`, `"optional":{"tampered":"yes"}`, 1))
				attach(t, e, s)
			},
			policy:  accept,
			wantMsg: []string{"does not match artifact"},
		},
		{
			name:    "integrated time backdated in the Rekor bundle",
			setup:   func(t *testing.T, e env) { attach(t, e, backdate(t, legacy(t, e, recent), 72*time.Hour)) },
			policy:  accept,
			wantMsg: []string{"not signed by a transparency log of the trusted root"},
		},
		{
			name: "signed by a Sigstore not in the trusted root",
			setup: func(t *testing.T, e env) {
				attach(t, e, foreign.SignLegacy(t, e.digest, ghIssuer, ghSubject, signedAt))
			},
			policy:  accept,
			wantMsg: []string{"not signed by a transparency log of the trusted root"},
		},
		{
			name: "not logged in Rekor",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacyRequest(t, cosigntest.LegacyRequest{Digest: e.digest, Issuer: ghIssuer, Subject: ghSubject,
					At: signedAt, NoRekor: true}))
			},
			policy:  accept,
			wantMsg: []string{"dev.sigstore.cosign/bundle is missing", "not logged in Rekor"},
		},
		{
			name: "key-based signature",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacyRequest(t, cosigntest.LegacyRequest{Digest: e.digest, At: signedAt, Key: true}))
			},
			policy:  accept,
			wantMsg: []string{"signed with a key, not keyless; flux-mirror verifies keyless signatures only"},
		},
		{
			name: "certificate without SCT",
			setup: func(t *testing.T, e env) {
				attach(t, e, ss.SignLegacyRequest(t, cosigntest.LegacyRequest{Digest: e.digest, Issuer: ghIssuer, Subject: ghSubject,
					At: signedAt, NoSCT: true}))
			},
			policy:  accept,
			wantMsg: []string{"certificate timestamp"},
		},
		{
			name:  "payload corrupted in transit",
			setup: func(t *testing.T, e env) { attach(t, e, legacy(t, e, signedAt)) },
			opts: func(o *cosign.Options) {
				o.Registry = corruptBlobs{o.Registry}
			},
			policy:  accept,
			wantMsg: []string{"digest mismatch"},
		},
		{
			name: "oversized annotation",
			setup: func(t *testing.T, e env) {
				s := legacy(t, e, signedAt)
				s.Chain = strings.Repeat(s.Chain, 64<<10/len(s.Chain)+1)
				attach(t, e, s)
			},
			policy:  accept,
			wantMsg: []string{"dev.sigstore.cosign/chain", "over the 65536-byte limit"},
		},
		{
			name: "invalid signature next to a valid one",
			setup: func(t *testing.T, e env) {
				attach(t, e, flipSignature(t, legacy(t, e, signedAt)), legacy(t, e, signedAt))
			},
			policy: policyOf(mirror.OIDCIdentity{Issuer: "https://accounts.google.com", Subject: ".*"},
				gh(`https://github\.com/acme/.*`)),
			want: valid,
		},
		{
			name: "earliest of several valid signatures",
			setup: func(t *testing.T, e env) {
				attach(t, e, legacy(t, e, signedAt.Add(time.Hour)), legacy(t, e, signedAt), legacy(t, e, signedAt.Add(2*time.Hour)))
			},
			policy: accept,
			want:   valid,
		},
		{
			name: "only the first signatures are examined",
			setup: func(t *testing.T, e env) {
				bad := foreign.SignLegacy(t, e.digest, ghIssuer, ghSubject, signedAt)
				sigs := make([]cosigntest.LegacySignature, 0, cosign.MaxLegacySignatures+1)
				for range cosign.MaxLegacySignatures {
					sigs = append(sigs, bad)
				}
				attach(t, e, append(sigs, legacy(t, e, signedAt))...)
			},
			policy:  accept,
			wantMsg: []string{"32 signature(s) of cosign signature tag", "and 29 more"},
		},
		{
			name: "a valid bundle referrer wins over the signature tag",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt.Add(time.Hour)))
				attach(t, e, legacy(t, e, signedAt))
			},
			policy: accept,
			want:   &mirror.Verification{Provider: "cosign", Issuer: ghIssuer, Identity: ghSubject, IntegratedTime: signedAt.Add(time.Hour)},
		},
		{
			name: "a valid bundle referrer does not need a readable signature tag",
			setup: func(t *testing.T, e env) {
				e.attach(t, ss.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
			},
			opts:   func(o *cosign.Options) { o.Registry = failSignatureTag{o.Registry} },
			policy: accept,
			want:   valid,
		},
		{
			name: "the signature tag verifies when the bundle referrer does not",
			setup: func(t *testing.T, e env) {
				e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
				attach(t, e, legacy(t, e, signedAt))
			},
			policy: accept,
			want:   valid,
		},
		{
			name: "neither the bundle referrer nor the signature tag verifies",
			setup: func(t *testing.T, e env) {
				e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt))
				attach(t, e, flipSignature(t, legacy(t, e, signedAt)))
			},
			policy:  accept,
			wantMsg: []string{"1 bundle(s) rejected: bundle sha256:", "1 signature(s) of cosign signature tag", "signature does not match"},
		},
		{
			name:    "bundle referrer rejected and no signature tag",
			setup:   func(t *testing.T, e env) { e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt)) },
			policy:  accept,
			wantMsg: []string{"1 bundle(s) rejected", "no cosign signature tag sha256-"},
		},
		{
			name:    "neither a bundle nor a signature tag",
			setup:   func(t *testing.T, e env) {},
			policy:  accept,
			wantErr: cosign.ErrNoBundle,
			wantMsg: []string{"as a referrer, and no cosign signature tag sha256-"},
		},
		{
			name:    "signature tag unreadable",
			setup:   func(t *testing.T, e env) {},
			opts:    func(o *cosign.Options) { o.Registry = failSignatureTag{o.Registry} },
			policy:  accept,
			wantErr: errOutage,
			wantMsg: []string{"get cosign signature tag"},
		},
		{
			name:    "signature tag unreadable after a rejected bundle",
			setup:   func(t *testing.T, e env) { e.attach(t, foreign.Sign(t, e.digest, ghIssuer, ghSubject, signedAt)) },
			opts:    func(o *cosign.Options) { o.Registry = failSignatureTag{o.Registry} },
			policy:  accept,
			wantErr: errOutage,
			wantMsg: []string{"1 bundle(s) rejected", "get cosign signature tag", "registry outage"},
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
					tc.opts(&opts)
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
				if !strings.Contains(msg, e.repo.String()) || !strings.Contains(msg, strings.TrimPrefix(e.digest, "sha256:")) {
					t.Errorf("error %q does not name %s and %s", msg, e.repo, e.digest)
				}
				for _, s := range tc.wantMsg {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q lacks %q", msg, s)
					}
				}
			})
		}
	}
}

// TestLegacySignatureMissingIsNotFound pins the Reader contract the
// fallback relies on: a missing signature tag is core.ErrNotFound.
func TestLegacySignatureMissingIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, true)
	_, _, err := reader{}.GetManifest(context.Background(), e.repo, cosign.LegacyTag(e.digest))
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetManifest of a missing signature tag = %v, want core.ErrNotFound", err)
	}
}

func TestLegacyTag(t *testing.T) {
	t.Parallel()
	tests := []struct{ digest, want string }{
		{"sha256:" + strings.Repeat("ab", 32), "sha256-" + strings.Repeat("ab", 32) + ".sig"},
		{"sha512:" + strings.Repeat("cd", 64), "sha512-" + strings.Repeat("cd", 64) + ".sig"},
	}
	for _, tc := range tests {
		if got := cosign.LegacyTag(tc.digest); got != tc.want {
			t.Errorf("LegacyTag(%q) = %q, want %q", tc.digest, got, tc.want)
		}
		if got := cosigntest.LegacyTag(tc.digest); got != tc.want {
			t.Errorf("cosigntest.LegacyTag(%q) = %q, want %q", tc.digest, got, tc.want)
		}
	}
}

func FuzzLegacyBundle(f *testing.F) {
	ss := cosigntest.New(f)
	digest := "sha256:" + strings.Repeat("ab", 32)
	s := ss.SignLegacy(f, digest, ghIssuer, ghSubject, signedAt)
	f.Add(s.Signature, s.Certificate, s.Chain, s.Bundle, s.Payload)
	f.Add(s.Signature, "", "", s.Bundle, s.Payload)
	f.Add("!!", s.Certificate, "-----BEGIN CERTIFICATE-----\n", `{"SignedEntryTimestamp":"AA==","Payload":{}}`, []byte("{}"))
	f.Fuzz(func(t *testing.T, sig, cert, chain, bundle string, payload []byte) {
		a := map[string]string{}
		for k, v := range map[string]string{cosigntest.AnnotationSignature: sig, cosigntest.AnnotationCertificate: cert,
			cosigntest.AnnotationChain: chain, cosigntest.AnnotationBundle: bundle} {
			if v != "" {
				a[k] = v
			}
		}
		err := cosign.LegacyBundle(a, payload)
		if cert == "" && err == nil {
			t.Fatal("a signature without a certificate was converted")
		}
	})
}

func FuzzCheckPayload(f *testing.F) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"sha256:00"},"type":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if cosign.CheckPayload(payload, digest) != nil {
			return
		}
		var p struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
				Type string `json:"type"`
			} `json:"critical"`
		}
		if err := json.Unmarshal(payload, &p); err != nil || p.Critical.Image.Digest != digest || p.Critical.Type != cosign.SimpleSigningType {
			t.Fatalf("CheckPayload accepted %q", payload)
		}
	})
}
