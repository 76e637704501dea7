package cosigntest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
)

const (
	issuer  = "https://token.actions.githubusercontent.com"
	subject = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0"
)

func digestOf(s string) (string, []byte) {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:]), sum[:]
}

// strictVerifier is what a production verifier requires: an SCT, a tlog
// entry and a verified integrated time.
func strictVerifier(t *testing.T, tm root.TrustedMaterial) *verify.Verifier {
	t.Helper()
	v, err := verify.NewVerifier(tm,
		verify.WithSignedCertificateTimestamps(1),
		verify.WithTransparencyLog(1),
		verify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignedBundlesVerifyWithSigstoreGo(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	fromFile, err := root.NewTrustedRootFromPath(ss.WriteTrustedRoot(t))
	if err != nil {
		t.Fatalf("trusted_root.json does not load: %v", err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", subject, "")
	if err != nil {
		t.Fatal(err)
	}
	longAgo := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name          string
		req           cosigntest.SignRequest
		wantPredicate string
	}{
		{name: "cosign signature now", req: cosigntest.SignRequest{At: time.Now()}, wantPredicate: cosigntest.SignPredicateType},
		{name: "cosign signature years ago", req: cosigntest.SignRequest{At: longAgo}, wantPredicate: cosigntest.SignPredicateType},
		{name: "message signature", req: cosigntest.SignRequest{At: longAgo, Kind: cosigntest.KindMessageSignature}},
		{name: "attestation", req: cosigntest.SignRequest{At: longAgo, Kind: cosigntest.KindAttestation, PredicateType: "https://slsa.dev/provenance/v1"}, wantPredicate: "https://slsa.dev/provenance/v1"},
		{name: "email subject", req: cosigntest.SignRequest{At: longAgo, Subject: "release@acme.example"}, wantPredicate: cosigntest.SignPredicateType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			digest, raw := digestOf(tc.name)
			req := tc.req
			req.Digest, req.Issuer = digest, issuer
			if req.Subject == "" {
				req.Subject = subject
			}
			js := ss.SignRequest(t, req)
			var b bundle.Bundle
			if err := b.UnmarshalJSON(js); err != nil {
				t.Fatalf("bundle does not parse: %v", err)
			}
			if !b.HasInclusionProof() || !b.HasInclusionPromise() {
				t.Fatalf("bundle lacks inclusion proof (%v) or promise (%v)", b.HasInclusionProof(), b.HasInclusionPromise())
			}
			want, err := verify.NewShortCertificateIdentity(issuer, "", req.Subject, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, tm := range []root.TrustedMaterial{ss.TrustedMaterial(), fromFile} {
				res, err := strictVerifier(t, tm).Verify(&b, verify.NewPolicy(
					verify.WithArtifactDigest("sha256", raw), verify.WithCertificateIdentity(want)))
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if len(res.VerifiedTimestamps) != 1 || !res.VerifiedTimestamps[0].Timestamp.Equal(req.At.Truncate(time.Second)) {
					t.Fatalf("verified timestamps = %+v, want one at %s", res.VerifiedTimestamps, req.At.Truncate(time.Second))
				}
				if got := res.Signature.Certificate.SubjectAlternativeName; got != req.Subject {
					t.Errorf("SAN = %q, want %q", got, req.Subject)
				}
				if got := res.Signature.Certificate.Issuer; got != issuer {
					t.Errorf("issuer = %q, want %q", got, issuer)
				}
				gotPredicate := ""
				if res.Statement != nil {
					gotPredicate = res.Statement.PredicateType
				}
				if gotPredicate != tc.wantPredicate {
					t.Errorf("predicate type = %q, want %q", gotPredicate, tc.wantPredicate)
				}
			}
		})
	}

	t.Run("other digest fails", func(t *testing.T) {
		digest, _ := digestOf("signed")
		_, other := digestOf("other")
		var b bundle.Bundle
		if err := b.UnmarshalJSON(ss.Sign(t, digest, issuer, subject, longAgo)); err != nil {
			t.Fatal(err)
		}
		_, err := strictVerifier(t, ss.TrustedMaterial()).Verify(&b, verify.NewPolicy(
			verify.WithArtifactDigest("sha256", other), verify.WithCertificateIdentity(id)))
		if err == nil {
			t.Fatal("a signature over another digest verified")
		}
	})

	t.Run("no SCT fails when SCTs are required", func(t *testing.T) {
		digest, raw := digestOf("nosct")
		var b bundle.Bundle
		if err := b.UnmarshalJSON(ss.SignRequest(t, cosigntest.SignRequest{
			Digest: digest, Issuer: issuer, Subject: subject, At: longAgo, NoSCT: true})); err != nil {
			t.Fatal(err)
		}
		_, err := strictVerifier(t, ss.TrustedMaterial()).Verify(&b, verify.NewPolicy(
			verify.WithArtifactDigest("sha256", raw), verify.WithCertificateIdentity(id)))
		if err == nil || !strings.Contains(err.Error(), "signed certificate timestamp") {
			t.Fatalf("err = %v, want an SCT failure", err)
		}
	})

	t.Run("other instance is not trusted", func(t *testing.T) {
		digest, raw := digestOf("foreign")
		var b bundle.Bundle
		if err := b.UnmarshalJSON(cosigntest.New(t).Sign(t, digest, issuer, subject, longAgo)); err != nil {
			t.Fatal(err)
		}
		_, err := strictVerifier(t, ss.TrustedMaterial()).Verify(&b, verify.NewPolicy(
			verify.WithArtifactDigest("sha256", raw), verify.WithCertificateIdentity(id)))
		if err == nil {
			t.Fatal("a bundle of another instance verified")
		}
	})
}

func TestWithoutCTLogHasNoCTLogs(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t, cosigntest.WithoutCTLog())
	if n := len(ss.TrustedMaterial().CTLogs()); n != 0 {
		t.Fatalf("CT logs = %d, want 0", n)
	}
	digest, raw := digestOf("noct")
	var b bundle.Bundle
	if err := b.UnmarshalJSON(ss.SignRequest(t, cosigntest.SignRequest{
		Digest: digest, Issuer: issuer, Subject: subject, At: time.Now(), NoSCT: true})); err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(ss.TrustedMaterial(), verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := verify.NewShortCertificateIdentity(issuer, "", subject, "")
	if _, err := v.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", raw), verify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestSignRejectsTimesOutsideValidity(t *testing.T) {
	t.Parallel()
	from := time.Now().Add(-time.Hour)
	ss := cosigntest.New(t, cosigntest.WithValidity(from, time.Now().Add(time.Hour)))
	digest, _ := digestOf("x")
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		ss.Sign(ft, digest, issuer, subject, from.Add(-time.Minute))
	}()
	if !ft.failed {
		t.Fatal("signing before the validity window did not fail")
	}
}

// fakeT records Fatalf instead of stopping the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

func TestAttach(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	for _, referrersAPI := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag fallback"}[referrersAPI], func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrersAPI), registry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(srv.Close)
			repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/app"
			ref, err := name.ParseReference(repo+":v1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			img, err := random.Image(64, 1)
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
			digest := h.String()

			first := cosigntest.Attach(t, repo, digest, ss.Sign(t, digest, issuer, subject, time.Now()))
			second := cosigntest.Attach(t, "http://"+repo, digest, ss.SignRequest(t, cosigntest.SignRequest{
				Digest: digest, Issuer: issuer, Subject: subject, At: time.Now(), Kind: cosigntest.KindMessageSignature}))

			idx, err := remote.Referrers(ref.Context().Digest(digest))
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, d := range im.Manifests {
				got[d.Digest.String()] = true
			}
			if len(im.Manifests) != 2 || !got[first] || !got[second] {
				t.Fatalf("referrers = %v, want %s and %s", got, first, second)
			}

			fallback, err := name.ParseReference(repo+":"+strings.Replace(digest, ":", "-", 1), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Head(fallback)
			if referrersAPI && err == nil {
				t.Error("a fallback tag was written although the registry has the referrers API")
			}
			if !referrersAPI && err != nil {
				t.Errorf("fallback tag missing: %v", err)
			}

			desc, err := remote.Get(ref.Context().Digest(first))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"artifactType":"` + cosigntest.BundleMediaType + `"`,
				`"dev.sigstore.bundle.predicateType":"` + cosigntest.SignPredicateType + `"`,
				`"subject":{"mediaType"`} {
				if !strings.Contains(string(desc.Manifest), want) {
					t.Errorf("referrer manifest lacks %s: %s", want, desc.Manifest)
				}
			}
		})
	}
}

// TestAttachLegacy checks the layout of a pushed cosign signature tag: one
// simple-signing layer per signature whose blob is the payload naming the
// digest, with the annotations each kind of signature has. The adapter's
// tests verify their content.
func TestAttachLegacy(t *testing.T) {
	t.Parallel()
	ss := cosigntest.New(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/app"
	digest, _ := digestOf("legacy")

	tests := []struct {
		name     string
		req      cosigntest.LegacyRequest
		wantCert bool
		wantLog  bool
	}{
		{name: "keyless", req: cosigntest.LegacyRequest{Issuer: issuer, Subject: subject}, wantCert: true, wantLog: true},
		{name: "key", req: cosigntest.LegacyRequest{Key: true}, wantLog: true},
		{name: "unlogged", req: cosigntest.LegacyRequest{Issuer: issuer, Subject: subject, NoRekor: true}, wantCert: true},
	}
	var sigs []cosigntest.LegacySignature
	for _, tc := range tests {
		req := tc.req
		req.Digest, req.At = digest, time.Now()
		sigs = append(sigs, ss.SignLegacyRequest(t, req))
	}
	cosigntest.AttachLegacy(t, "http://"+repo, digest, sigs)

	ref, err := name.ParseReference(repo+":"+cosigntest.LegacyTag(digest), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("signature tag: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != len(tests) {
		t.Fatalf("%d layers, want %d", len(m.Layers), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := m.Layers[i]
			if l.MediaType != cosigntest.SimpleSigningMediaType {
				t.Errorf("layer media type %s", l.MediaType)
			}
			blob, err := img.LayerByDigest(l.Digest)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := blob.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got, err := io.ReadAll(rc); err != nil || string(got) != string(sigs[i].Payload) {
				t.Errorf("layer blob %q (%v), want the payload %q", got, err, sigs[i].Payload)
			}
			if !strings.Contains(string(sigs[i].Payload), `"docker-manifest-digest":"`+digest+`"`) ||
				!strings.Contains(string(sigs[i].Payload), `"type":"`+cosigntest.SimpleSigningType+`"`) {
				t.Errorf("payload %s", sigs[i].Payload)
			}
			if l.Annotations[cosigntest.AnnotationSignature] != sigs[i].Signature || sigs[i].Signature == "" {
				t.Error("signature annotation missing")
			}
			if has := l.Annotations[cosigntest.AnnotationCertificate] != ""; has != tc.wantCert {
				t.Errorf("certificate annotation present = %v", has)
			}
			if has := l.Annotations[cosigntest.AnnotationChain] != ""; has != tc.wantCert {
				t.Errorf("chain annotation present = %v", has)
			}
			if has := l.Annotations[cosigntest.AnnotationBundle] != ""; has != tc.wantLog {
				t.Errorf("bundle annotation present = %v", has)
			}
			if tc.wantLog && !strings.Contains(l.Annotations[cosigntest.AnnotationBundle], `"SignedEntryTimestamp":"`) {
				t.Errorf("bundle annotation %s", l.Annotations[cosigntest.AnnotationBundle])
			}
		})
	}
}
