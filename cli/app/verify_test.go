package app

// End-to-end tests of includeReferrers and cosign verification in sync:
// real registries (go-containerregistry's with and without the OCI 1.1
// referrers API, CNCF distribution without it), real Sigstore bundles from
// cosigntest verified against its trusted_root.json through --trusted-root.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
)

const (
	sigIssuer   = "https://token.actions.githubusercontent.com"
	sigIdentity = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0"
	acmeSubject = `^https://github\.com/acme/.*$`
	sbomType    = "application/spdx+json"
	foreignType = "application/vnd.example.foreign+json"
	imageIndex  = "application/vnd.oci.image.index.v1+json"
)

// registryKind is one way to start a test registry.
type registryKind struct {
	name string
	api  bool // serves the OCI 1.1 referrers API
	new  func(testing.TB) *registrytest.Server
}

var (
	withAPI     = registryKind{"oci-api", true, func(t testing.TB) *registrytest.Server { return registrytest.NewOCI(t) }}
	ociFallback = registryKind{"oci-fallback", false, func(t testing.TB) *registrytest.Server {
		return registrytest.NewOCI(t, registrytest.WithoutReferrersAPI())
	}}
	distFallback = registryKind{"distribution", false, func(t testing.TB) *registrytest.Server { return registrytest.NewDistribution(t) }}
)

// fallbackTag is the referrers tag schema's tag for digest, sha256-<hex>.
func fallbackTag(digest string) string { return strings.Replace(digest, ":", "-", 1) }

// descriptorOf returns the descriptor of the manifest digest in repo, to
// use as a subject.
func descriptorOf(t *testing.T, s *registrytest.Server, repo, digest string) registrytest.Descriptor {
	t.Helper()
	mt, body := s.Manifest(t, s.Ref(repo+"@"+digest))
	return registrytest.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(body))}
}

// pushTypedReferrer pushes to repo an artifact manifest whose subject is
// subject, with the given artifactType (may be empty) and config media type
// (empty: the OCI empty descriptor), and one random layer. It returns its
// digest. Registries without the referrers API get their fallback index
// updated by the client, as OCI 1.1 clients do. The subject need not exist
// in repo.
func pushTypedReferrer(t *testing.T, s *registrytest.Server, repo string, subject registrytest.Descriptor, artifactType, configType string) string {
	t.Helper()
	if configType == "" {
		configType = registrytest.MediaTypeEmptyJSON
	}
	cfg := []byte("{}")
	layer := registrytest.RandomBytes(t, 64)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        registrytest.Descriptor{MediaType: configType, Digest: s.PushBlob(t, repo, cfg), Size: int64(len(cfg))},
		"layers":        []registrytest.Descriptor{{MediaType: registrytest.MediaTypeArtifactLayer, Digest: s.PushBlob(t, repo, layer), Size: int64(len(layer))}},
		"subject":       subject,
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return s.PushManifest(t, s.Ref(repo+"@"+manifestDigest(body)), "application/vnd.oci.image.manifest.v1+json", body)
}

// manifestDigest is the sha256 digest of body.
func manifestDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// assertMirrored checks that the manifest digest of srcRepo is at dstRepo
// byte for byte, with every blob it references and, for an index, every
// child manifest.
func assertMirrored(t *testing.T, src *registrytest.Server, srcRepo string, dst *registrytest.Server, dstRepo, digest string) {
	t.Helper()
	if !dst.HasManifest(t, dst.Ref(dstRepo+"@"+digest)) {
		t.Errorf("%s@%s is missing at the destination", dstRepo, digest)
		return
	}
	smt, sbody := src.Manifest(t, src.Ref(srcRepo+"@"+digest))
	dmt, dbody := dst.Manifest(t, dst.Ref(dstRepo+"@"+digest))
	if smt != dmt || !bytes.Equal(sbody, dbody) {
		t.Errorf("%s@%s differs: media type %s vs %s, %d vs %d bytes", dstRepo, digest, dmt, smt, len(dbody), len(sbody))
		return
	}
	var m struct {
		Config    *struct{ Digest string }
		Layers    []struct{ Digest string }
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(sbody, &m); err != nil {
		t.Fatalf("decode %s: %v", digest, err)
	}
	var blobs []string
	if m.Config != nil {
		blobs = append(blobs, m.Config.Digest)
	}
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest)
	}
	for _, b := range blobs {
		if !dst.HasBlob(t, dstRepo, b) {
			t.Errorf("blob %s of %s is missing at the destination", b, digest)
			continue
		}
		if !bytes.Equal(src.Blob(t, srcRepo, b), dst.Blob(t, dstRepo, b)) {
			t.Errorf("blob %s of %s differs", b, digest)
		}
	}
	for _, c := range m.Manifests {
		assertMirrored(t, src, srcRepo, dst, dstRepo, c.Digest)
	}
}

// listed returns the sorted digests of descriptors.
func listed(descs []v1.Descriptor) []string {
	out := make([]string, 0, len(descs))
	for _, d := range descs {
		out = append(out, d.Digest.String())
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// fallbackIndex returns the entries of the fallback-tag index of subject in
// repo, by digest, as raw JSON; nil when the tag does not exist.
func fallbackIndex(t *testing.T, s *registrytest.Server, repo, subject string) map[string]json.RawMessage {
	t.Helper()
	ref := s.Ref(repo + ":" + fallbackTag(subject))
	if !s.HasManifest(t, ref) {
		return nil
	}
	mt, body := s.Manifest(t, ref)
	if mt != imageIndex {
		t.Errorf("fallback tag %s is a %s, want an image index", ref, mt)
	}
	var idx struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("decode fallback index %s: %v", ref, err)
	}
	out := map[string]json.RawMessage{}
	for _, raw := range idx.Manifests {
		var d struct{ Digest string }
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out[d.Digest] = raw
	}
	return out
}

// keys returns the sorted keys of m.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// entryArtifactType returns the artifactType of a raw index entry.
func entryArtifactType(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var d struct{ ArtifactType string }
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.ArtifactType
}

// referrerRows returns the referrer rows of a reported tag by digest.
func referrerRows(tag report.Tag) map[string]report.Referrer {
	out := map[string]report.Referrer{}
	for _, r := range tag.Referrers {
		out[r.Digest] = r
	}
	return out
}

// wantRows checks a tag's referrer rows: digest → artifactType and status,
// nothing else. A status may name its reason ("skipped/differs-at-destination");
// a bare "skipped" means reason up-to-date.
func wantRows(t *testing.T, tag report.Tag, want map[string][2]string) {
	t.Helper()
	got := referrerRows(tag)
	if len(tag.Referrers) != len(want) || len(got) != len(want) {
		t.Errorf("tag %s: %d referrer rows %+v, want %d", tag.Tag, len(tag.Referrers), tag.Referrers, len(want))
	}
	for d, w := range want {
		r, ok := got[d]
		status, reason, _ := strings.Cut(w[1], "/")
		if status == string(report.StatusSkipped) && reason == "" {
			reason = string(report.ReasonUpToDate)
		}
		switch {
		case !ok:
			t.Errorf("tag %s: no referrer row for %s", tag.Tag, d)
		case r.ArtifactType != w[0] || string(r.Status) != status:
			t.Errorf("tag %s: referrer %s is %q %s, want %q %s", tag.Tag, d, r.ArtifactType, r.Status, w[0], status)
		case string(r.Reason) != reason:
			t.Errorf("tag %s: referrer %s (%s) has reason %q, want %q", tag.Tag, d, r.Status, r.Reason, reason)
		case r.Error != "":
			t.Errorf("tag %s: referrer %s has error %q", tag.Tag, d, r.Error)
		}
	}
}

func referrersEntry(src, dst string) string {
	return entry(src, dst, "      semver: \"*\"\n") + "    includeReferrers: true\n"
}

// TestSyncReferrersMatrix copies a tag with an SBOM and a cosign signature
// between every kind of source and destination, with and without the
// referrers API, onto a destination where someone else already attached a
// referrer of another type to the same subject.
func TestSyncReferrersMatrix(t *testing.T) {
	ss := cosigntest.New(t)
	for _, sk := range []registryKind{withAPI, distFallback} {
		for _, dk := range []registryKind{withAPI, ociFallback, distFallback} {
			t.Run(sk.name+"→"+dk.name, func(t *testing.T) {
				src, dst := sk.new(t), dk.new(t)
				tag := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 256)
				sbom := src.PushReferrer(t, src.Ref("app@"+tag), sbomType)
				sig := cosigntest.Attach(t, src.Host()+"/app", tag, ss.Sign(t, tag, sigIssuer, sigIdentity, time.Now().Add(-time.Hour)))
				// Someone else's referrer of another type, at the
				// destination before the tag itself.
				foreign := pushTypedReferrer(t, dst, "mirror/app", descriptorOf(t, src, "app", tag), foreignType, "")
				before := fallbackIndex(t, dst, "mirror/app", tag)
				if dk.api != (before == nil) {
					t.Fatalf("setup: fallback index at the destination: %v", keys(before))
				}

				cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(referrersEntry(src.Host()+"/app", dst.Host()+"/mirror/app")))
				rep, res := syncReport(t, runOpts{}, cfg)
				if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
					t.Fatalf("exit %d, statuses %v\n%s\n%s", res.code, statuses(rep, 0), res.stdout, res.stderr)
				}
				got := rep.Report.Results[0].Tags[0]
				if got.Digest != tag {
					t.Errorf("reported digest %s, want %s", got.Digest, tag)
				}
				wantRows(t, got, map[string][2]string{sbom: {sbomType, "copied"}, sig: {cosigntest.BundleMediaType, "copied"}})
				if dst.Digest(t, dst.Ref("mirror/app:1.0.0")) != tag {
					t.Error("the tag does not resolve to the source digest")
				}
				for _, d := range []string{tag, sbom, sig} {
					assertMirrored(t, src, "app", dst, "mirror/app", d)
				}
				if got, want := listed(dst.Referrers(t, "mirror/app", tag)), sorted(foreign, sbom, sig); !slices.Equal(got, want) {
					t.Errorf("destination lists referrers %v, want %v", got, want)
				}

				after := fallbackIndex(t, dst, "mirror/app", tag)
				if dk.api {
					if after != nil {
						t.Errorf("a fallback tag was written on a registry with the referrers API: %v", keys(after))
					}
				} else {
					if got, want := keys(after), sorted(foreign, sbom, sig); !slices.Equal(got, want) {
						t.Errorf("fallback index lists %v, want %v", got, want)
					}
					if !bytes.Equal(after[foreign], before[foreign]) {
						t.Errorf("the foreign fallback entry was rewritten:\n%s\nwas\n%s", after[foreign], before[foreign])
					}
					if at := entryArtifactType(t, after[sbom]); at != sbomType {
						t.Errorf("fallback entry of the SBOM has artifactType %q", at)
					}
					if at := entryArtifactType(t, after[sig]); at != cosigntest.BundleMediaType {
						t.Errorf("fallback entry of the signature has artifactType %q", at)
					}
				}

				// Idempotent: a second run skips everything and writes
				// nothing, not even the fallback tag.
				var fallbackDigest string
				if !dk.api {
					fallbackDigest = dst.Digest(t, dst.Ref("mirror/app:"+fallbackTag(tag)))
				}
				rep, res = syncReport(t, runOpts{}, cfg)
				if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" || rep.Report.Results[0].Tags[0].Reason != report.ReasonUpToDate {
					t.Fatalf("re-run: exit %d, %+v", res.code, rep.Report.Results[0].Tags)
				}
				wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "skipped"}, sig: {cosigntest.BundleMediaType, "skipped"}})
				if !dk.api {
					if d := dst.Digest(t, dst.Ref("mirror/app:"+fallbackTag(tag))); d != fallbackDigest {
						t.Errorf("the re-run rewrote the fallback index: %s, was %s", d, fallbackDigest)
					}
				}
			})
		}
	}
}

// TestSyncReferrerPublishedAfterTag: a signature published upstream after
// the tag was mirrored is copied on the next run; the tag stays skipped.
func TestSyncReferrerPublishedAfterTag(t *testing.T) {
	ss := cosigntest.New(t)
	src, dst := registrytest.NewOCI(t), registrytest.NewDistribution(t)
	tag := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 256)
	sbom := src.PushReferrer(t, src.Ref("app@"+tag), sbomType)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(referrersEntry(src.Host()+"/app", dst.Host()+"/app")))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("first run: exit %d %v\n%s", res.code, statuses(rep, 0), res.stderr)
	}
	wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "copied"}})

	sig := cosigntest.Attach(t, src.Host()+"/app", tag, ss.Sign(t, tag, sigIssuer, sigIdentity, time.Now()))
	res = run(t, runOpts{}, "sync", cfg, "--no-progress")
	if res.code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"✓ " + src.Host() + "/app:1.0.0 (skipped)\n",
		"  ↳ referrer " + sig[:len("sha256:")+12] + " " + cosigntest.BundleMediaType + " (copied)\n",
		"Summary: 1 skipped in ",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, sbom[:len("sha256:")+12]) {
		t.Errorf("an up-to-date referrer is listed in the text output:\n%s", res.stdout)
	}
	assertMirrored(t, src, "app", dst, "app", sig)
	if got, want := keys(fallbackIndex(t, dst, "app", tag)), sorted(sbom, sig); !slices.Equal(got, want) {
		t.Errorf("fallback index lists %v, want %v", got, want)
	}

	rep, res = syncReport(t, runOpts{}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
		t.Fatalf("third run: exit %d %v", res.code, statuses(rep, 0))
	}
	wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "skipped"}, sig: {cosigntest.BundleMediaType, "skipped"}})
}

// TestSyncReferrersOfIndexChildrenAndReferrers: the referrers of a
// multi-arch index's child manifest, and a signature on the index's SBOM (a
// referrer of a referrer), are copied with the index.
func TestSyncReferrersOfIndexChildrenAndReferrers(t *testing.T) {
	ss := cosigntest.New(t)
	for _, dk := range []registryKind{withAPI, distFallback} {
		t.Run(dk.name, func(t *testing.T) {
			src, dst := registrytest.NewOCI(t), dk.new(t)
			idx := src.PushIndex(t, src.Ref("multi:2.0.0"), "linux/amd64", "linux/arm64")
			var index struct{ Manifests []struct{ Digest string } }
			if err := json.Unmarshal(src.ManifestBytes(t, src.Ref("multi@"+idx)), &index); err != nil || len(index.Manifests) != 2 {
				t.Fatalf("index: %v %+v", err, index)
			}
			child := index.Manifests[1].Digest
			prov := src.PushReferrer(t, src.Ref("multi@"+child), "application/vnd.example.provenance+json")
			sbom := src.PushReferrer(t, src.Ref("multi@"+idx), sbomType)
			sbomSig := cosigntest.Attach(t, src.Host()+"/multi", sbom, ss.Sign(t, sbom, sigIssuer, sigIdentity, time.Now()))

			cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(referrersEntry(src.Host()+"/multi", dst.Host()+"/multi")))
			rep, res := syncReport(t, runOpts{}, cfg)
			if res.code != 0 || statuses(rep, 0)["2.0.0"] != "copied" {
				t.Fatalf("exit %d %v\n%s", res.code, statuses(rep, 0), res.stderr)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{
				prov:    {"application/vnd.example.provenance+json", "copied"},
				sbom:    {sbomType, "copied"},
				sbomSig: {cosigntest.BundleMediaType, "copied"},
			})
			for _, d := range []string{idx, prov, sbom, sbomSig} {
				assertMirrored(t, src, "multi", dst, "multi", d)
			}
			for subject, want := range map[string][]string{idx: {sbom}, child: {prov}, sbom: {sbomSig}, index.Manifests[0].Digest: nil} {
				if got := listed(dst.Referrers(t, "multi", subject)); !slices.Equal(got, sorted(want...)) {
					t.Errorf("destination lists referrers of %s: %v, want %v", subject, got, want)
				}
				if fb := fallbackIndex(t, dst, "multi", subject); !dk.api && len(want) > 0 && !slices.Equal(keys(fb), want) {
					t.Errorf("fallback index of %s lists %v, want %v", subject, keys(fb), want)
				} else if dk.api && fb != nil {
					t.Errorf("fallback tag written for %s on a registry with the referrers API", subject)
				}
			}
		})
	}
}

// TestSyncReferrerDrift pins the engine's referrer drift rule
// (core/mirror/referrers.go, spec "Overwrite and drift behavior"): a
// destination referrer of the same artifact type that the source does not
// have makes the source's referrer of that type skipped with reason
// differs-at-destination (not copied, exit 0: only tag drift raises the
// exit code), also under --dry-run, unless overwrite is set; with
// overwrite it is copied and reported overwritten, and the foreign entry
// is dropped from a fallback index (through the referrers API it stays
// listed beside the new one).
func TestSyncReferrerDrift(t *testing.T) {
	const sigType = "application/vnd.example.signature.v1+json"
	for _, dk := range []registryKind{withAPI, distFallback} {
		t.Run(dk.name, func(t *testing.T) {
			src, dst := registrytest.NewOCI(t), dk.new(t)
			tag := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 256)
			subject := descriptorOf(t, src, "app", tag)
			// A config media type, so that even go-containerregistry's
			// referrers API (which reports only config.mediaType) lists the
			// type.
			upstream := pushTypedReferrer(t, src, "app", subject, "", sigType)
			dir := t.TempDir()
			plain := writeFile(t, dir, "plain.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
			if res := run(t, runOpts{}, "sync", plain); res.code != 0 {
				t.Fatalf("mirror the tag: exit %d %s", res.code, res.stderr)
			}
			// The mirror has an older signature that upstream replaced.
			stale := pushTypedReferrer(t, dst, "app", subject, "", sigType)
			cfg := writeFile(t, dir, "refs.yaml", artifactConfig(referrersEntry(src.Host()+"/app", dst.Host()+"/app")))

			differs := "skipped/" + string(report.ReasonReferrerDiffers)
			rep, res := syncReport(t, runOpts{}, cfg)
			if res.code != 0 || rep.Report.Summary.ExitCode != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
				t.Fatalf("differing referrer: exit %d, summary %+v, %v\n%s", res.code, rep.Report.Summary, statuses(rep, 0), res.stderr)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{upstream: {sigType, differs}})
			if dst.HasManifest(t, dst.Ref("app@"+upstream)) {
				t.Error("a differing referrer was copied without overwrite")
			}
			if got := listed(dst.Referrers(t, "app", tag)); !slices.Equal(got, []string{stale}) {
				t.Errorf("destination lists %v, want only the stale %s", got, stale)
			}
			// The text output names the reason; --drift-exit-code does not
			// apply, as nothing drifted.
			if res := run(t, runOpts{}, "sync", cfg, "--drift-exit-code", "7"); res.code != 0 || !strings.Contains(res.stdout, sigType+" (skipped: differs-at-destination)") {
				t.Errorf("text output: exit %d\n%s", res.code, res.stdout)
			}
			rep, res = syncReport(t, runOpts{}, cfg, "--dry-run")
			if res.code != 0 {
				t.Fatalf("dry run: exit %d %s", res.code, res.stderr)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{upstream: {sigType, differs}})

			rep, res = syncReport(t, runOpts{}, cfg, "--dry-run", "--overwrite")
			if res.code != 0 {
				t.Fatalf("dry-run overwrite: exit %d %s", res.code, res.stderr)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{upstream: {sigType, "would-overwrite"}})
			if dst.HasManifest(t, dst.Ref("app@"+upstream)) || !slices.Equal(listed(dst.Referrers(t, "app", tag)), []string{stale}) {
				t.Error("the dry run wrote a referrer")
			}

			rep, res = syncReport(t, runOpts{}, cfg, "--overwrite")
			if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
				t.Fatalf("overwrite: exit %d, %v %s", res.code, statuses(rep, 0), res.stderr)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{upstream: {sigType, "overwritten"}})
			assertMirrored(t, src, "app", dst, "app", upstream)
			want := []string{upstream}
			if dk.api {
				want = sorted(upstream, stale) // the API cannot unlist it
			}
			if got := listed(dst.Referrers(t, "app", tag)); !slices.Equal(got, want) {
				t.Errorf("after overwrite the destination lists %v, want %v", got, want)
			}
			if !dst.HasManifest(t, dst.Ref("app@"+stale)) {
				t.Error("overwrite deleted the stale referrer's manifest; it should only be unlisted")
			}

			rep, res = syncReport(t, runOpts{}, cfg)
			if res.code != 0 {
				t.Fatalf("after overwrite: exit %d, %+v", res.code, rep.Report.Results[0].Tags)
			}
			wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{upstream: {sigType, "skipped"}})
		})
	}

	// A drifted tag is left alone with its referrers: they are neither
	// copied nor reported.
	t.Run("drifted tag", func(t *testing.T) {
		src, dst := registrytest.NewOCI(t), registrytest.NewDistribution(t)
		tag := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 256)
		sbom := src.PushReferrer(t, src.Ref("app@"+tag), sbomType)
		other := dst.PushRandomImage(t, dst.Ref("app:1.0.0"), 1, 256)
		cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(referrersEntry(src.Host()+"/app", dst.Host()+"/app")))
		rep, res := syncReport(t, runOpts{}, cfg)
		if res.code != 2 || statuses(rep, 0)["1.0.0"] != "drifted" {
			t.Fatalf("exit %d %v", res.code, statuses(rep, 0))
		}
		if n := len(rep.Report.Results[0].Tags[0].Referrers); n != 0 {
			t.Errorf("a drifted tag reports %d referrer rows", n)
		}
		if dst.HasManifest(t, dst.Ref("app@"+sbom)) || dst.Digest(t, dst.Ref("app:1.0.0")) != other {
			t.Error("a drifted tag's referrer was copied or the tag changed")
		}
		rep, res = syncReport(t, runOpts{}, cfg, "--overwrite")
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "overwritten" {
			t.Fatalf("overwrite: exit %d %v", res.code, statuses(rep, 0))
		}
		wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "copied"}})
		assertMirrored(t, src, "app", dst, "app", sbom)
	})
}

// TestSyncReferrersDryRun: a dry run reports the referrers it would copy
// and writes nothing, neither for a new tag nor for an up-to-date one.
func TestSyncReferrersDryRun(t *testing.T) {
	ss := cosigntest.New(t)
	src, dst := registrytest.NewOCI(t), registrytest.NewDistribution(t)
	tag := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 256)
	sbom := src.PushReferrer(t, src.Ref("app@"+tag), sbomType)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(referrersEntry(src.Host()+"/app", dst.Host()+"/app")))

	rep, res := syncReport(t, runOpts{}, cfg, "--dry-run")
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "would-copy" || rep.Report.Summary.WouldCopy != 1 {
		t.Fatalf("exit %d, summary %+v", res.code, rep.Report.Summary)
	}
	wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "would-copy"}})
	if tags := dst.Tags(t, "app"); len(tags) != 0 {
		t.Errorf("the dry run wrote tags %v", tags)
	}
	if dst.HasManifest(t, dst.Ref("app@"+sbom)) || dst.HasManifest(t, dst.Ref("app@"+tag)) {
		t.Error("the dry run wrote a manifest")
	}

	if res := run(t, runOpts{}, "sync", cfg); res.code != 0 {
		t.Fatalf("sync: exit %d %s", res.code, res.stderr)
	}
	fallback := dst.Digest(t, dst.Ref("app:"+fallbackTag(tag)))
	sig := cosigntest.Attach(t, src.Host()+"/app", tag, ss.Sign(t, tag, sigIssuer, sigIdentity, time.Now()))
	rep, res = syncReport(t, runOpts{}, cfg, "--dry-run")
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
		t.Fatalf("dry run after sync: exit %d %v", res.code, statuses(rep, 0))
	}
	wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{sbom: {sbomType, "skipped"}, sig: {cosigntest.BundleMediaType, "would-copy"}})
	if dst.HasManifest(t, dst.Ref("app@"+sig)) {
		t.Error("the dry run copied the new referrer")
	}
	if got := dst.Digest(t, dst.Ref("app:"+fallbackTag(tag))); got != fallback {
		t.Error("the dry run rewrote the fallback index")
	}
}

// verifyEntry is an artifacts entry with includeReferrers and a cosign
// verify block accepting ids (issuer, subject pairs).
func verifyEntry(src, dst, minAge string, ids ...[2]string) string {
	var b strings.Builder
	b.WriteString(referrersEntry(src, dst))
	b.WriteString("    verify:\n      provider: cosign\n")
	if minAge != "" {
		fmt.Fprintf(&b, "      minAge: %s\n", minAge)
	}
	b.WriteString("      matchOIDCIdentity:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "        - issuer: %s\n          subject: '%s'\n", id[0], id[1])
	}
	return b.String()
}

// tamper changes the signed statement inside a DSSE bundle, keeping its
// signature.
func tamper(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env, _ := b["dsseEnvelope"].(map[string]any)
	payload, _ := env["payload"].(string)
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || !bytes.Contains(raw, []byte(cosigntest.SignPredicateType)) {
		t.Fatalf("unexpected bundle payload: %v %q", err, raw)
	}
	if !bytes.Contains(raw, []byte(`"predicate":{}`)) {
		t.Fatalf("unexpected statement %s", raw)
	}
	raw = bytes.Replace(raw, []byte(`"predicate":{}`), []byte(`"predicate":{"tampered":true}`), 1)
	env["payload"] = base64.StdEncoding.EncodeToString(raw)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(out, bundle) {
		t.Fatal("tamper changed nothing")
	}
	return out
}

// TestSyncVerifyPlanning runs one sync over entries whose signatures pass
// or fail verification: the passing ones are copied with their referrers,
// the failing ones fail planning and nothing of them is copied, without
// affecting each other.
func TestSyncVerifyPlanning(t *testing.T) {
	ss := cosigntest.New(t)
	rogue := cosigntest.New(t) // a Sigstore the trusted root does not list
	trustedRoot := ss.WriteTrustedRoot(t)
	src, dst := registrytest.NewOCI(t), registrytest.NewDistribution(t)
	signedAt := time.Now().Add(-3 * time.Hour)
	acme := [2]string{sigIssuer, acmeSubject}

	type tc struct {
		repo string
		ids  [][2]string
		// sign attaches what the case needs to the tag digest; it returns
		// the referrers attached.
		sign    func(t *testing.T, digest string) []string
		wantErr string // empty: copied
		wantID  string // the reported issuer and identity when copied
		wantIss string
	}
	attach := func(t *testing.T, repo, digest string, bundle []byte) string {
		return cosigntest.Attach(t, src.Host()+"/"+repo, digest, bundle)
	}
	cases := []tc{
		{repo: "valid", ids: [][2]string{acme}, wantIss: sigIssuer, wantID: sigIdentity,
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "valid", d, ss.Sign(t, d, sigIssuer, sigIdentity, signedAt))}
			}},
		{repo: "wrong-issuer", ids: [][2]string{acme}, wantErr: `signed by issuer "https://accounts.google.com"`,
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "wrong-issuer", d, ss.Sign(t, d, "https://accounts.google.com", sigIdentity, signedAt))}
			}},
		{repo: "wrong-subject", ids: [][2]string{acme}, wantErr: "matches no verify.matchOIDCIdentity entry",
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "wrong-subject", d, ss.Sign(t, d, sigIssuer, "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main", signedAt))}
			}},
		{repo: "second-identity", ids: [][2]string{acme, {"https://gitlab.example.com", `^https://gitlab\.example\.com/acme/app//\.gitlab-ci\.yml@refs/tags/.*$`}},
			wantIss: "https://gitlab.example.com", wantID: "https://gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v1.0.0",
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "second-identity", d, ss.Sign(t, d, "https://gitlab.example.com", "https://gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v1.0.0", signedAt))}
			}},
		{repo: "other-digest", ids: [][2]string{acme}, wantErr: "does not match any digest in statement",
			sign: func(t *testing.T, d string) []string {
				other := src.PushRandomImage(t, src.Ref("other-digest:other"), 1, 64)
				return []string{attach(t, "other-digest", d, ss.Sign(t, other, sigIssuer, sigIdentity, signedAt))}
			}},
		{repo: "no-bundle", ids: [][2]string{acme}, wantErr: "no Sigstore bundle attached",
			sign: func(t *testing.T, d string) []string {
				return []string{src.PushReferrer(t, src.Ref("no-bundle@"+d), sbomType)}
			}},
		{repo: "tampered", ids: [][2]string{acme}, wantErr: "payload hash",
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "tampered", d, tamper(t, ss.Sign(t, d, sigIssuer, sigIdentity, signedAt)))}
			}},
		{repo: "untrusted", ids: [][2]string{acme}, wantErr: "not signed by a transparency log of the trusted root",
			sign: func(t *testing.T, d string) []string {
				return []string{attach(t, "untrusted", d, rogue.Sign(t, d, sigIssuer, sigIdentity, signedAt))}
			}},
	}
	var entries []string
	tags := map[string]string{}
	refs := map[string][]string{}
	for _, c := range cases {
		d := src.PushRandomImage(t, src.Ref(c.repo+":1.0.0"), 1, 128)
		tags[c.repo] = d
		refs[c.repo] = append(c.sign(t, d), src.PushReferrer(t, src.Ref(c.repo+"@"+d), sbomType))
		entries = append(entries, verifyEntry(src.Host()+"/"+c.repo, dst.Host()+"/"+c.repo, "", c.ids...))
	}
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entries...))
	rep, res := syncReport(t, runOpts{}, cfg, "--trusted-root", trustedRoot)
	if res.code != 1 || rep.Report.Summary.Copied != 2 || rep.Report.Summary.Failed != 6 {
		t.Fatalf("exit %d, summary %+v\n%s", res.code, rep.Report.Summary, res.stderr)
	}
	for i, c := range cases {
		t.Run(c.repo, func(t *testing.T) {
			r := rep.Report.Results[i]
			if c.wantErr != "" {
				if r.Status != report.EntryFailed || !strings.Contains(r.Error, c.wantErr) || !strings.Contains(r.Error, tags[c.repo]) {
					t.Fatalf("status %s, error %q; want a planning failure naming the digest and %q", r.Status, r.Error, c.wantErr)
				}
				t.Logf("planning error: %s", r.Error)
				if len(r.Tags) != 0 {
					t.Errorf("a failed entry reports tags %+v", r.Tags)
				}
				if got := dst.Tags(t, c.repo); len(got) != 0 {
					t.Errorf("tags written for a failed entry: %v", got)
				}
				for _, d := range append([]string{tags[c.repo]}, refs[c.repo]...) {
					if dst.HasManifest(t, dst.Ref(c.repo+"@"+d)) {
						t.Errorf("%s was copied for a failed entry", d)
					}
				}
				return
			}
			if r.Status != report.EntryCompleted || len(r.Tags) != 1 || r.Tags[0].Status != report.StatusCopied {
				t.Fatalf("status %s %q, tags %+v", r.Status, r.Error, r.Tags)
			}
			tag := r.Tags[0]
			v := tag.Verification
			if v == nil {
				t.Fatal("no verification block")
			}
			if v.Provider != "cosign" || v.Issuer != c.wantIss || v.Identity != c.wantID || v.MinAge != "" {
				t.Errorf("verification %+v", *v)
			}
			if !v.IntegratedTime.Equal(signedAt.Truncate(time.Second)) {
				t.Errorf("integratedTime %s, want %s", v.IntegratedTime, signedAt.UTC().Truncate(time.Second))
			}
			if age, err := time.ParseDuration(v.Age); err != nil || age < 3*time.Hour || age > 3*time.Hour+10*time.Minute {
				t.Errorf("age %q, want about 3h", v.Age)
			}
			for _, d := range append([]string{tags[c.repo]}, refs[c.repo]...) {
				assertMirrored(t, src, c.repo, dst, c.repo, d)
			}
			wantRows(t, tag, map[string][2]string{refs[c.repo][0]: {cosigntest.BundleMediaType, "copied"}, refs[c.repo][1]: {sbomType, "copied"}})
		})
	}
}

// TestSyncVerifyMinAge: a signature younger than minAge skips its tag
// (signature-too-new, exit 0, nothing written); an old enough one is
// copied, also from a source without the referrers API; and the mirrored
// signature verifies again at the destination, where the engine wrote the
// fallback index. The trusted root comes from FLUX_MIRROR_TRUSTED_ROOT.
func TestSyncVerifyMinAge(t *testing.T) {
	ss := cosigntest.New(t)
	t.Setenv("FLUX_MIRROR_TRUSTED_ROOT", ss.WriteTrustedRoot(t))
	src, fallbackSrc, dst := registrytest.NewOCI(t), registrytest.NewDistribution(t), registrytest.NewDistribution(t)
	acme := [2]string{sigIssuer, acmeSubject}
	now, old := time.Now(), time.Now().Add(-72*time.Hour)

	fresh := src.PushRandomImage(t, src.Ref("fresh:1.0.0"), 1, 128)
	freshSig := cosigntest.Attach(t, src.Host()+"/fresh", fresh, ss.Sign(t, fresh, sigIssuer, sigIdentity, now))
	settled := src.PushRandomImage(t, src.Ref("settled:1.0.0"), 1, 128)
	settledSig := cosigntest.Attach(t, src.Host()+"/settled", settled, ss.Sign(t, settled, sigIssuer, sigIdentity, old))
	fb := fallbackSrc.PushRandomImage(t, fallbackSrc.Ref("app:1.0.0"), 1, 128)
	fbSig := cosigntest.Attach(t, fallbackSrc.Host()+"/app", fb, ss.Sign(t, fb, sigIssuer, sigIdentity, old))
	fbSBOM := fallbackSrc.PushReferrer(t, fallbackSrc.Ref("app@"+fb), sbomType)

	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(
		verifyEntry(src.Host()+"/fresh", dst.Host()+"/fresh", "48h", acme),
		verifyEntry(src.Host()+"/settled", dst.Host()+"/settled", "48h", acme),
		verifyEntry(fallbackSrc.Host()+"/app", dst.Host()+"/app", "48h", acme),
	))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || rep.Report.Summary.Copied != 2 || rep.Report.Summary.Skipped != 1 {
		t.Fatalf("exit %d, summary %+v, results %+v\n%s", res.code, rep.Report.Summary, rep.Report.Results, res.stderr)
	}

	tooNew := rep.Report.Results[0].Tags[0]
	if tooNew.Status != report.StatusSkipped || tooNew.Reason != report.ReasonSignatureTooNew || tooNew.Digest != fresh {
		t.Errorf("fresh signature: %+v", tooNew)
	}
	if v := tooNew.Verification; v == nil || v.MinAge != "48h0m0s" || v.Identity != sigIdentity || !v.IntegratedTime.Equal(now.Truncate(time.Second)) {
		t.Errorf("fresh signature's verification: %+v", v)
	} else if age, err := time.ParseDuration(v.Age); err != nil || age > 10*time.Minute {
		t.Errorf("fresh signature's age %q", v.Age)
	}
	if len(tooNew.Referrers) != 0 || dst.HasManifest(t, dst.Ref("fresh@"+fresh)) || dst.HasManifest(t, dst.Ref("fresh@"+freshSig)) || len(dst.Tags(t, "fresh")) != 0 {
		t.Error("a tag whose signature is too new was (partly) copied")
	}

	for i, c := range []struct {
		src         *registrytest.Server
		repo, tag   string
		referrers   map[string][2]string
		wantMirrors []string
	}{
		{src, "settled", settled, map[string][2]string{settledSig: {cosigntest.BundleMediaType, "copied"}}, []string{settled, settledSig}},
		{fallbackSrc, "app", fb, map[string][2]string{fbSig: {cosigntest.BundleMediaType, "copied"}, fbSBOM: {sbomType, "copied"}}, []string{fb, fbSig, fbSBOM}},
	} {
		got := rep.Report.Results[i+1].Tags[0]
		if got.Status != report.StatusCopied {
			t.Errorf("%s: %+v", c.repo, got)
			continue
		}
		v := got.Verification
		if v == nil || v.Provider != "cosign" || v.Issuer != sigIssuer || v.Identity != sigIdentity || v.MinAge != "48h0m0s" || !v.IntegratedTime.Equal(old.Truncate(time.Second)) {
			t.Errorf("%s: verification %+v", c.repo, v)
		} else if age, err := time.ParseDuration(v.Age); err != nil || age < 72*time.Hour || age > 72*time.Hour+10*time.Minute {
			t.Errorf("%s: age %q, want about 72h", c.repo, v.Age)
		}
		wantRows(t, got, c.referrers)
		for _, d := range c.wantMirrors {
			assertMirrored(t, c.src, c.repo, dst, c.repo, d)
		}
	}

	res = run(t, runOpts{}, "sync", cfg, "--no-progress")
	if res.code != 0 || !strings.Contains(res.stdout, "✓ "+src.Host()+"/fresh:1.0.0 (skipped: signature-too-new, signed ") ||
		!strings.Contains(res.stdout, "minAge 48h0m0s)") {
		t.Errorf("text output of a too-new signature: exit %d\n%s", res.code, res.stdout)
	}

	// The mirrored signature, on a registry without the referrers API,
	// verifies at the mirror through the fallback index the engine wrote.
	again := writeFile(t, t.TempDir(), "again.yaml", artifactConfig(verifyEntry(dst.Host()+"/settled", dst.Host()+"/settled-copy", "48h", acme)))
	rep, res = syncReport(t, runOpts{}, again)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("verify at the mirror: exit %d, %+v", res.code, rep.Report.Results[0])
	}
	wantRows(t, rep.Report.Results[0].Tags[0], map[string][2]string{settledSig: {cosigntest.BundleMediaType, "copied"}})
}

// TestSyncVerifyBadTrustedRoot: an unreadable trust root fails the entries
// that need it with a message naming the file, and copies nothing.
func TestSyncVerifyBadTrustedRoot(t *testing.T) {
	ss := cosigntest.New(t)
	src, dst := registrytest.NewOCI(t), registrytest.NewOCI(t)
	d := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 128)
	cosigntest.Attach(t, src.Host()+"/app", d, ss.Sign(t, d, sigIssuer, sigIdentity, time.Now().Add(-time.Hour)))
	dir := t.TempDir()
	bad := writeFile(t, dir, "trusted_root.json", `{"mediaType": "not a trusted root"}`)
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(verifyEntry(src.Host()+"/app", dst.Host()+"/app", "", [2]string{sigIssuer, acmeSubject})))
	rep, res := syncReport(t, runOpts{}, cfg, "--trusted-root", bad)
	if res.code != 1 || rep.Report.Results[0].Status != report.EntryFailed || !strings.Contains(rep.Report.Results[0].Error, bad) {
		t.Fatalf("exit %d, %+v", res.code, rep.Report.Results[0])
	}
	if len(dst.Tags(t, "app")) != 0 {
		t.Error("copied without a usable trust root")
	}
}
