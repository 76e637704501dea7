package mirror_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

func verifyPolicy(minAge time.Duration) *config.Verify {
	v := &config.Verify{Provider: "cosign", MatchOIDCIdentity: []config.OIDCIdentity{{Issuer: "https://token.actions.githubusercontent.com", Subject: "^https://github.com/org/.*$"}}}
	if minAge > 0 {
		v.MinAge = &config.Duration{Duration: minAge}
	}
	return v
}

func TestVerification(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const id = "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"

	t.Run("accepted, old enough, and too new", func(t *testing.T) {
		t.Parallel()
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		d := seedTags(reg, src, "1.0.0", "1.1.0")
		ver := mirrortest.NewVerifier()
		ver.Accept(d["1.0.0"].Digest, id, now.Add(-72*time.Hour))
		ver.Accept(d["1.1.0"].Digest, id, now.Add(-90*time.Minute))
		a := artifact(src, dst, semverLimit(2))
		a.Verify = verifyPolicy(48 * time.Hour)
		opts := fastOptions()
		opts.Now = func() time.Time { return now }
		rep := runSync(t, reg, opts, mirror.Deps{Verifier: ver}, cfgOf(a))
		wantStatuses(t, rep, 0, "1.1.0=skipped/signature-too-new 1.0.0=copied")
		if rep.Report.Summary.ExitCode != report.ExitOK {
			t.Errorf("exit %d: a too-new signature is an expected skip", rep.Report.Summary.ExitCode)
		}
		young, old := rep.Report.Results[0].Tags[0], rep.Report.Results[0].Tags[1]
		wantV := report.Verification{Provider: "cosign", Issuer: "https://token.actions.githubusercontent.com", Identity: id,
			IntegratedTime: now.Add(-90 * time.Minute), Age: "1h30m0s", MinAge: "48h0m0s"}
		if young.Verification == nil || *young.Verification != wantV {
			t.Errorf("verification %+v, want %+v", young.Verification, wantV)
		}
		if old.Verification == nil || old.Verification.Age != "72h0m0s" {
			t.Errorf("verification %+v", old.Verification)
		}
		if reg.Digest(dst, "1.1.0") != "" {
			t.Error("a tag with a too-new signature was copied")
		}
		wantMirrored(t, reg, src, dst, "1.0.0")
		if ver.Calls() != 2 {
			t.Errorf("verifier called %d times", ver.Calls())
		}
	})

	t.Run("one failing tag fails the whole entry", func(t *testing.T) {
		t.Parallel()
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		d := seedTags(reg, src, "1.0.0", "1.1.0", "1.2.0")
		seedTags(reg, srcHost+"/org/other", "3.0.0")
		ver := mirrortest.NewVerifier()
		ver.Accept(d["1.2.0"].Digest, id, now.Add(-72*time.Hour))
		ver.Accept(d["1.0.0"].Digest, id, now.Add(-72*time.Hour))
		// 1.1.0 has no signature.
		a := artifact(src, dst, semverLimit(0))
		a.Verify = verifyPolicy(0)
		other := artifact(srcHost+"/org/other", dstHost+"/mirror/other", semverLimit(1))
		rep := runSync(t, reg, fastOptions(), mirror.Deps{Verifier: ver}, cfgOf(a, other))
		res := rep.Report.Results[0]
		if res.Status != report.EntryFailed || !strings.Contains(res.Error, "verify signature of "+src+":1.1.0") || !strings.Contains(res.Error, "no signature") {
			t.Fatalf("entry %+v", res)
		}
		if len(res.Tags) != 0 {
			t.Errorf("failed entry lists tags %v", res.Tags)
		}
		if got := reg.CountWhere(func(c mirrortest.Call) bool { return strings.HasPrefix(c.Repo, dst) }); got != 0 {
			t.Errorf("%d requests to the destination of an entry that failed planning", got)
		}
		// A verdict is not retried.
		if ver.Calls() != 3 {
			t.Errorf("verifier called %d times, want 3", ver.Calls())
		}
		wantStatuses(t, rep, 1, "3.0.0=copied")
		if rep.Report.Summary.ExitCode != report.ExitFailed {
			t.Errorf("exit %d", rep.Report.Summary.ExitCode)
		}
	})

	t.Run("transport failures of the verifier are retried", func(t *testing.T) {
		t.Parallel()
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		d := seedTags(reg, src, "1.0.0")
		ver := &flakyVerifier{Verifier: mirrortest.NewVerifier(), failures: 2}
		ver.Accept(d["1.0.0"].Digest, id, now.Add(-72*time.Hour))
		a := artifact(src, dst, semverLimit(1))
		a.Verify = verifyPolicy(0)
		rep := runSync(t, reg, fastOptions(), mirror.Deps{Verifier: ver}, cfgOf(a))
		wantStatuses(t, rep, 0, "1.0.0=copied")
	})

	t.Run("minAge without an integrated time fails", func(t *testing.T) {
		t.Parallel()
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		d := seedTags(reg, src, "1.0.0")
		ver := mirrortest.NewVerifier()
		ver.Accept(d["1.0.0"].Digest, id, time.Time{})
		a := artifact(src, dst, semverLimit(1))
		a.Verify = verifyPolicy(time.Hour)
		rep := runSync(t, reg, fastOptions(), mirror.Deps{Verifier: ver}, cfgOf(a))
		if res := rep.Report.Results[0]; res.Status != report.EntryFailed || !strings.Contains(res.Error, "no verified integrated time") {
			t.Errorf("entry %+v", res)
		}
	})

	t.Run("verify without a verifier", func(t *testing.T) {
		t.Parallel()
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		seedTags(reg, src, "1.0.0")
		a := artifact(src, dst, semverLimit(1))
		a.Verify = verifyPolicy(0)
		rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
		if res := rep.Report.Results[0]; res.Status != report.EntryFailed || res.Error != "verify is set but no signature verifier is configured" {
			t.Errorf("entry %+v", res)
		}
		if reg.Writes() != 0 {
			t.Error("wrote without verification")
		}
	})
}

// flakyVerifier fails its first calls the way a registry outage does.
type flakyVerifier struct {
	*mirrortest.Verifier
	failures int
}

func (f *flakyVerifier) Verify(ctx context.Context, repo oci.Repository, digest string, policy mirror.VerifyPolicy) (mirror.Verification, error) {
	if f.failures > 0 {
		f.failures--
		return mirror.Verification{}, errors.Join(errors.New("list referrers"), &core.HTTPError{Method: "GET", URL: "https://" + srcHost + "/v2/org/app/referrers/" + digest, StatusCode: 502})
	}
	return f.Verifier.Verify(ctx, repo, digest, policy)
}
