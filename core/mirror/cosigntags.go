package mirror

import (
	"context"
	"errors"
	"fmt"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/report"
)

// CosignTagSuffixes are the suffixes of the tags cosign attaches to a
// manifest before (or instead of) OCI referrers: sha256-<hex>.sig
// (signatures), .att (attestations) and .sbom (SBOMs).
var CosignTagSuffixes = []string{".sig", ".att", ".sbom"}

// CosignTag returns the tag under which cosign attaches to the manifest
// digest what suffix names, e.g. sha256-0123….sig.
func CosignTag(digest, suffix string) string { return FallbackTag(digest) + suffix }

// cosignTag is one of a tag's cosign tags found at the source, and what
// its job made of it. Like a referrer it is mirrored with the tag under
// includeReferrers and follows the referrer drift rule (decide with
// objectReferrer): missing is copied, the same is skipped, and another
// manifest under the name is skipped differs-at-destination unless
// overwrite is set.
type cosignTag struct {
	tag    string
	digest string
	status report.Status
	reason report.Reason
}

// snapshotCosignTags HEADs the cosign tags of a resolved source tag that
// the source's tag listing has (a 404 still means there is none). A name the selector picked as an ordinary tag
// of the entry is left to that tag's own job, so it is copied once.
func (r *run) snapshotCosignTags(ctx context.Context, ent *artifactEntry, digest string) ([]cosignTag, error) {
	var out []cosignTag
	for _, suffix := range CosignTagSuffixes {
		name := CosignTag(digest, suffix)
		if !ent.listed[name] || ent.selected[name] {
			continue
		}
		desc, err := r.headManifest(ctx, ent.src, name)
		switch {
		case errors.Is(err, core.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("look for cosign tag %s: %w", refString(ent.src, name), err)
		}
		out = append(out, cosignTag{tag: name, digest: desc.Digest})
	}
	return out, nil
}

// syncCosignTags mirrors the cosign tags of a tag job that are not done
// yet; a retry resumes with the first unfinished one.
func (r *run) syncCosignTags(ctx context.Context, ent *artifactEntry, tags []cosignTag) error {
	for k := range tags {
		ct := &tags[k]
		if ct.status != "" {
			continue
		}
		dref := refString(ent.dst, ct.tag)
		have, err := r.headManifest(ctx, ent.dst, ct.tag)
		var s seen
		switch {
		case err == nil && have.Digest == ct.digest:
			s.state = destSame
		case err == nil:
			s.state = destDiffers
		case !errors.Is(err, core.ErrNotFound):
			return withContext("check destination "+dref, err)
		}
		d := decide(objectReferrer, s, ent.overwrite, r.opts.DryRun)
		if d.reason == report.ReasonReferrerDiffers {
			r.log.Warn("destination has another manifest under this cosign tag; left alone (set overwrite to replace it)",
				"ref", dref, "sourceDigest", ct.digest, "destinationDigest", have.Digest)
		}
		if d.act == actCopy || d.act == actOverwrite {
			want, body, err := r.reg.GetManifest(ctx, ent.src, ct.tag)
			if err != nil {
				return fmt.Errorf("get cosign tag %s: %w", refString(ent.src, ct.tag), err)
			}
			if want.Digest != ct.digest {
				return fmt.Errorf("cosign tag %s moved at the source during the run (%s, planned %s)", refString(ent.src, ct.tag), want.Digest, ct.digest)
			}
			if err := r.copyTagged(ctx, ent.src, ent.dst, ct.tag, want, body, func() {}); err != nil {
				return fmt.Errorf("cosign tag %s: %w", ct.tag, err)
			}
			r.log.Info("cosign tag copied", "ref", dref, "digest", ct.digest)
		}
		ct.status, ct.reason = d.status, d.reason
	}
	return nil
}

// cosignRows are the report rows of a job's cosign tags; those not done
// when the job ended with err are failed.
func cosignRows(tags []cosignTag, err error) []report.Referrer {
	var out []report.Referrer
	for _, ct := range tags {
		row := report.Referrer{Digest: ct.digest, Tag: ct.tag, Status: ct.status, Reason: ct.reason}
		if row.Status == "" {
			row.Status = report.StatusFailed
			row.Error = "not mirrored"
			if err != nil {
				row.Error = "not mirrored: " + err.Error()
			}
		}
		out = append(out, row)
	}
	return out
}
