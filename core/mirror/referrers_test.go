package mirror_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

const (
	sigType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	sbomType = "application/spdx+json"
	attType  = "application/vnd.in-toto+json"
)

// referrer seeds an artifact of type typ referring to subject.
func referrer(reg *mirrortest.Registry, repo string, subject oci.Descriptor, typ, payload string) oci.Descriptor {
	s := subject
	s.Platform, s.Annotations, s.ArtifactType = nil, nil, ""
	return reg.SeedImage(repo, "", mirrortest.Image{
		ArtifactType: typ, ConfigMediaType: oci.MediaTypeEmptyJSON, Config: "{}",
		Layers: []string{payload}, Subject: &s,
		Annotations: map[string]string{"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
	})
}

func referrerRows(tag report.Tag) string {
	var parts []string
	for _, r := range tag.Referrers {
		s := r.ArtifactType + "=" + string(r.Status)
		if r.Reason != "" {
			s += "/" + string(r.Reason)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func digestsOf(ds []oci.Descriptor) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Digest)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestReferrerMissingIsCopiedOntoUpToDateTag(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	cfg := cfgOf(a)

	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=copied")

	// The signature is published upstream after the first mirror.
	sig := referrer(reg, src, tag, sigType, "signature bundle")
	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=skipped/up-to-date")
	got := rep.Report.Results[0].Tags[0]
	if rows := referrerRows(got); rows != sigType+"=copied" {
		t.Fatalf("referrers %q", rows)
	}
	if got.Referrers[0].Digest != sig.Digest {
		t.Errorf("referrer digest %s, want %s", got.Referrers[0].Digest, sig.Digest)
	}
	if l := reg.ReferrersOf(dst, tag.Digest); !slices.Equal(digestsOf(l), []string{sig.Digest}) {
		t.Errorf("destination referrers %v", l)
	}
	sb, _, _ := reg.Manifest(src, sig.Digest)
	db, _, _ := reg.Manifest(dst, sig.Digest)
	if string(sb) != string(db) {
		t.Error("referrer not copied byte for byte")
	}
	if rep.Report.Summary.ExitCode != report.ExitOK {
		t.Errorf("exit %d", rep.Report.Summary.ExitCode)
	}
	// The destination serves the referrers API: no fallback tag.
	if slices.Contains(reg.Tags(dst), mirror.FallbackTag(tag.Digest)) {
		t.Error("fallback tag written on a registry with the referrers API")
	}

	// No-op: tag list, a HEAD per side, the referrers snapshot (the tag's
	// and the signature's own), one destination listing. No writes.
	reg.ResetCalls()
	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	if rows := referrerRows(rep.Report.Results[0].Tags[0]); rows != sigType+"=skipped/up-to-date" {
		t.Fatalf("referrers %q", rows)
	}
	want := map[string]int{mirrortest.ListTags: 1, mirrortest.HeadManifest: 2, mirrortest.Referrers: 3}
	if got := reg.Counts(); !mapsEqual(got, want) {
		t.Errorf("no-op re-run made %v, want %v\n%s", got, want, describeCalls(reg))
	}
}

func TestReferrersFallbackTagMerged(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	reg.SetReferrersAPI(dstHost, false)
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	sig := referrer(reg, src, tag, sigType, "signature")
	sbom := referrer(reg, src, tag, sbomType, "sbom")
	att := referrer(reg, src, sbom, attType, "attestation of the sbom")

	// The destination has the tag already, and a fallback index with an
	// entry someone else wrote (with a field flux-mirror does not know).
	seedSame(reg, src, dst, "1.0.0")
	if reg.Digest(dst, "1.0.0") != tag.Digest {
		t.Fatal("seeding the destination differs from the source")
	}
	note := reg.SeedImage(dst, "", mirrortest.Image{ArtifactType: "application/vnd.example.note", ConfigMediaType: oci.MediaTypeEmptyJSON, Config: "{}", Layers: []string{"note"}})
	foreignEntry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + note.Digest + `","size":` + jsonInt(note.Size) + `,"artifactType":"application/vnd.example.note","x-extra":{"kept":true}}`
	reg.SeedManifest(dst, mirror.FallbackTag(tag.Digest), oci.MediaTypeImageIndex,
		[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+foreignEntry+`]}`))

	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	wantStatuses(t, rep, 0, "1.0.0=skipped/up-to-date")
	rows := strings.Fields(referrerRows(rep.Report.Results[0].Tags[0]))
	if slices.Sort(rows); !slices.Equal(rows, []string{sbomType + "=copied", sigType + "=copied", attType + "=copied"}) {
		t.Fatalf("referrers %q", rows)
	}

	// The tag's fallback index: the foreign entry kept verbatim, the two
	// referrers merged in.
	body, _, ok := reg.Manifest(dst, mirror.FallbackTag(tag.Digest))
	if !ok {
		t.Fatal("fallback tag missing")
	}
	var idx struct {
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 || string(idx.Manifests[0]) != foreignEntry {
		t.Errorf("fallback index %s", body)
	}
	if got := digestsOf(reg.ReferrersOf(dst, tag.Digest)); !slices.Equal(got, sorted(note.Digest, sig.Digest, sbom.Digest)) {
		t.Errorf("destination referrers of the tag %v", got)
	}
	for _, d := range reg.ReferrersOf(dst, tag.Digest) {
		if d.Digest == sig.Digest && (d.ArtifactType != sigType || d.Annotations["org.opencontainers.image.created"] == "") {
			t.Errorf("fallback entry of the signature %+v lacks its artifactType or annotations", d)
		}
	}
	// The nested attestation is indexed under the SBOM's fallback tag.
	if got := digestsOf(reg.ReferrersOf(dst, sbom.Digest)); !slices.Equal(got, []string{att.Digest}) {
		t.Errorf("destination referrers of the sbom %v", got)
	}
	// Each fallback tag is written after the manifests it lists.
	calls := reg.Calls()
	putAt := func(ref string) int {
		return slices.IndexFunc(calls, func(c mirrortest.Call) bool {
			return c.Method == mirrortest.PutManifest && c.Ref == ref && c.Err == nil
		})
	}
	if putAt(mirror.FallbackTag(tag.Digest)) < max(putAt(sig.Digest), putAt(sbom.Digest)) {
		t.Error("fallback tag written before its referrers")
	}
	if got := reg.Count(mirrortest.SupportsReferrersAPI); got != 1 {
		t.Errorf("referrers API probed %d times, want once per destination repository", got)
	}

	// Re-run: all up to date, nothing written.
	reg.ResetCalls()
	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	if rows := referrerRows(rep.Report.Results[0].Tags[0]); strings.Count(rows, "skipped/up-to-date") != 3 {
		t.Errorf("re-run referrers %q", rows)
	}
	if reg.Writes() != 0 {
		t.Errorf("re-run wrote:\n%s", describeCalls(reg))
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestReferrerDrift(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		api       bool
		overwrite bool
		dryRun    bool
		want      string
		exit      int
	}{
		{name: "differs: skipped", api: true, want: sigType + "=skipped/differs-at-destination", exit: report.ExitOK},
		{name: "differs: skipped in the fallback tag", want: sigType + "=skipped/differs-at-destination", exit: report.ExitOK},
		{name: "differs: dry run without overwrite", api: true, dryRun: true, want: sigType + "=skipped/differs-at-destination", exit: report.ExitOK},
		{name: "overwritten through the API", api: true, overwrite: true, want: sigType + "=overwritten", exit: report.ExitOK},
		{name: "overwritten in the fallback tag", overwrite: true, want: sigType + "=overwritten", exit: report.ExitOK},
		{name: "dry run", api: true, overwrite: true, dryRun: true, want: sigType + "=would-overwrite", exit: report.ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			reg.SetReferrersAPI(dstHost, tc.api)
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			tag := seedTags(reg, src, "1.0.0")["1.0.0"]
			sig := referrer(reg, src, tag, sigType, "new signature")
			seedSame(reg, src, dst, "1.0.0")
			old := referrer(reg, dst, tag, sigType, "old signature")
			a := artifact(src, dst, semverLimit(1))
			a.IncludeReferrers, a.Overwrite = true, tc.overwrite
			opts := fastOptions()
			opts.DryRun = tc.dryRun
			rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(a))
			wantStatuses(t, rep, 0, "1.0.0=skipped/up-to-date")
			if rows := referrerRows(rep.Report.Results[0].Tags[0]); rows != tc.want {
				t.Fatalf("referrers %q, want %q", rows, tc.want)
			}
			if got := rep.Report.Summary.ExitCode; got != tc.exit {
				t.Errorf("exit %d, want %d", got, tc.exit)
			}
			listed := digestsOf(reg.ReferrersOf(dst, tag.Digest))
			switch {
			case !tc.overwrite || tc.dryRun:
				if !slices.Equal(listed, []string{old.Digest}) || reg.Writes() != 0 {
					t.Errorf("destination changed: %v\n%s", listed, describeCalls(reg))
				}
			case tc.api: // nothing can be unlisted through the API
				if !slices.Equal(listed, sorted(old.Digest, sig.Digest)) {
					t.Errorf("destination referrers %v", listed)
				}
			default: // the fallback entry of the replaced signature is dropped
				if !slices.Equal(listed, []string{sig.Digest}) {
					t.Errorf("destination referrers %v", listed)
				}
			}
		})
	}
}

func TestReferrersOfIndexChildrenAndDepth(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	reg.SetReferrersAPI(srcHost, false) // the source lists through fallback tags
	src, dst := srcHost+"/org/multi", dstHost+"/mirror/multi"
	amd := reg.SeedImage(src, "", mirrortest.Image{Layers: []string{"amd64"}, Platform: &oci.Platform{OS: "linux", Architecture: "amd64"}})
	arm := reg.SeedImage(src, "", mirrortest.Image{Layers: []string{"arm64"}, Platform: &oci.Platform{OS: "linux", Architecture: "arm64"}})
	idx := reg.SeedIndex(src, "2.0.0", amd, arm)
	sbom := referrer(reg, src, amd, sbomType, "sbom of amd64")
	// A chain sig ← r2 ← r3 ← r4: depth 1..4 from the index.
	sig := referrer(reg, src, idx, sigType, "sig")
	r2 := referrer(reg, src, sig, attType, "depth 2")
	r3 := referrer(reg, src, r2, attType, "depth 3")
	r4 := referrer(reg, src, r3, attType, "depth 4")
	// A loop in the source's listing: the signature's fallback tag lists
	// the index itself.
	reg.SeedFallbackEntries(src, sig.Digest, idx)

	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	wantStatuses(t, rep, 0, "2.0.0=copied")
	tag := rep.Report.Results[0].Tags[0]
	var got []string
	for _, r := range tag.Referrers {
		if r.Status != report.StatusCopied {
			t.Errorf("referrer %+v", r)
		}
		got = append(got, r.Digest)
	}
	want := []string{sig.Digest, sbom.Digest, r2.Digest, r3.Digest}
	if !slices.Equal(sorted(got...), sorted(want...)) {
		t.Errorf("referrers %v, want %v (depth bounded at %d)", got, want, mirror.MaxReferrerDepth)
	}
	if reg.Digest(dst, r4.Digest) != "" {
		t.Error("referrer beyond the depth bound copied")
	}
	if l := digestsOf(reg.ReferrersOf(dst, amd.Digest)); !slices.Equal(l, []string{sbom.Digest}) {
		t.Errorf("referrers of the amd64 child at the destination %v", l)
	}
}

func TestReferrerFailureFailsTheTag(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	sig := referrer(reg, src, tag, sigType, "signature")
	sbom := referrer(reg, src, tag, sbomType, "sbom")
	first, second := sig, sbom
	if sbom.Digest < sig.Digest { // the registry lists referrers by digest
		first, second = sbom, sig
	}
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PutManifest, Repo: dst, Ref: first.Digest, Err: status(400)})
	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	wantStatuses(t, rep, 0, "1.0.0=failed")
	got := rep.Report.Results[0].Tags[0]
	if !strings.Contains(got.Error, "the tag was copied, but its referrers were not: referrer "+first.Digest) {
		t.Errorf("error %q", got.Error)
	}
	wantMirrored(t, reg, src, dst, "1.0.0")
	if len(got.Referrers) != 2 || got.Referrers[0].Status != report.StatusFailed || got.Referrers[0].Error == "" ||
		got.Referrers[1].Status != report.StatusFailed || !strings.HasPrefix(got.Referrers[1].Error, "not mirrored") {
		t.Errorf("referrer rows %+v", got.Referrers)
	}
	if reg.Digest(dst, second.Digest) != "" {
		t.Error("referrer after the failed one was copied")
	}
}

func TestReferrersDryRun(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	reg.SetReferrersAPI(dstHost, false)
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	referrer(reg, src, tag, sigType, "signature")
	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	opts := fastOptions()
	opts.DryRun = true
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(a))
	wantStatuses(t, rep, 0, "1.0.0=would-copy")
	if rows := referrerRows(rep.Report.Results[0].Tags[0]); rows != sigType+"=would-copy" {
		t.Errorf("referrers %q", rows)
	}
	if reg.Writes() != 0 || reg.Count(mirrortest.SupportsReferrersAPI) != 0 {
		t.Errorf("dry run wrote or probed:\n%s", describeCalls(reg))
	}
}

func TestReferrerTypesFromQuirkyListings(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	reg.ListConfigTypeAsArtifactType(srcHost)
	reg.ListConfigTypeAsArtifactType(dstHost)
	reg.SetReferrersAPI(dstHost, false)
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	sig := referrer(reg, src, tag, sigType, "signature")
	// The destination already has another artifact for the tag: both are
	// listed as "application/vnd.oci.empty.v1+json" by the source, which
	// must not read as drift.
	seedSame(reg, src, dst, "1.0.0")
	other := referrer(reg, dst, tag, sbomType, "someone's sbom")
	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	if rows := referrerRows(rep.Report.Results[0].Tags[0]); rows != sigType+"=copied" {
		t.Fatalf("referrers %q, want the type read from the manifest", rows)
	}
	var got []string
	for _, d := range reg.ReferrersOf(dst, tag.Digest) {
		got = append(got, d.Digest+" "+d.ArtifactType)
	}
	slices.Sort(got)
	want := []string{sig.Digest + " " + sigType, other.Digest + " " + sbomType}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fallback index lists %v, want %v", got, want)
	}
}
