package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

// tagJob is the progress of one tag job. It lives across the attempts of
// the job, so that a retry resumes where the previous attempt failed
// instead of redoing (or misreporting) finished steps.
type tagJob struct {
	status report.Status // of the tag itself; empty until decided
	reason report.Reason
	refs   *referrerJob // includeReferrers
	cosign []cosignTag  // includeReferrers: the tag's cosign tags
	// writing is the status the tag gets from this job's write (copied or
	// overwritten), set when its PUT is first sent: if that attempt then
	// failed although the PUT took effect (its answer was lost), a retry
	// finds the tag up to date, and it was this run that wrote it.
	writing report.Status
	// precheckUsed: the first attempt took planning's look at the
	// destination (plannedTag.dst); later attempts send their own HEAD.
	precheckUsed bool
}

// syncArtifactTag runs the job of tag j of ent: compare the destination
// tag with the planned source digest, then copy, overwrite, or leave it
// alone, then mirror the tag's referrers.
func (r *run) syncArtifactTag(ctx context.Context, ent *artifactEntry, j int) report.Tag {
	p := &ent.tags[j]
	out := report.Tag{Tag: p.tag, Digest: p.desc.Digest, Verification: p.verification}
	js := &tagJob{}
	if ent.cfg.IncludeReferrers {
		js.refs = newReferrerJob(p.referrers)
		js.cosign = slices.Clone(p.cosign)
	}
	ref := ent.src.String() + ":" + p.tag
	r.activity(func(a ActivityObserver) { a.TagStarted(ent.index, r.header(ent.index), p.tag) })
	err := r.attempt(ctx, "mirror "+ref, func(ctx context.Context) error {
		return r.runTagJob(ctx, ent, p, js)
	})
	if js.refs != nil && js.status != "" && js.status != report.StatusDrifted {
		out.Referrers = append(js.refs.rows(err), cosignRows(js.cosign, err)...)
	}
	if err != nil {
		if js.status == "" {
			err = brief(err)
			r.health.count(err, false)
		}
		switch {
		case js.status == report.StatusCopied || js.status == report.StatusOverwritten:
			err = fmt.Errorf("the tag was %s, but its referrers were not: %w", js.status, err)
		case js.status != "":
			err = fmt.Errorf("referrers: %w", err)
		}
		r.log.Error("tag failed", "ref", ref, "error", err)
		return failed(out, err)
	}
	out.Status, out.Reason = js.status, js.reason
	return out
}

func (r *run) runTagJob(ctx context.Context, ent *artifactEntry, p *plannedTag, js *tagJob) error {
	if js.status == "" {
		if err := r.syncTag(ctx, ent, p, js); err != nil {
			return err
		}
	}
	if js.refs != nil && js.status != report.StatusDrifted {
		if err := r.syncReferrers(ctx, ent, js.refs); err != nil {
			return err
		}
		return r.syncCosignTags(ctx, ent, js.cosign)
	}
	return nil
}

// syncTag looks at the destination tag, decides (decide), and copies,
// overwrites, or leaves it alone.
func (r *run) syncTag(ctx context.Context, ent *artifactEntry, p *plannedTag, js *tagJob) error {
	src, dst, want := ent.src, ent.dst, p.desc
	dref := dst.String() + ":" + p.tag
	var have oci.Descriptor
	var err error
	if pre := p.dst; pre != nil && !js.precheckUsed {
		// Planning looked already; a retry of the job looks again.
		js.precheckUsed = true
		have, err = pre.desc, pre.err
		if pre.missing {
			err = core.ErrNotFound
		}
	} else {
		have, err = r.headManifest(ctx, dst, p.tag)
	}
	s := seen{state: destMissing, wrote: js.writing}
	switch {
	case err == nil && have.Digest == want.Digest:
		s.state = destSame
		r.objects.mark(objectKey(dst, want.Digest))
	case err == nil:
		s.state = destDiffers
	case !errors.Is(err, core.ErrNotFound):
		return withContext("check destination "+dref, err)
	}
	d := decide(objectTag, s, ent.overwrite, r.opts.DryRun)
	switch {
	case d.act == actLeave && s.state == destSame && s.wrote != "":
		r.log.Info("tag found written by an earlier attempt of this job", "ref", dref, "digest", want.Digest)
	case d.act == actLeave && s.state == destSame:
		r.log.Debug("tag up to date", "ref", dref, "digest", want.Digest)
	case d.status == report.StatusDrifted:
		r.log.Warn("destination tag drifted from source; left alone (set overwrite to replace it)",
			"ref", dref, "source", src.String()+":"+p.tag, "sourceDigest", want.Digest, "destinationDigest", have.Digest)
	case d.act == actOverwrite:
		r.log.Info("overwriting drifted destination tag", "ref", dref, "sourceDigest", want.Digest, "destinationDigest", have.Digest)
	}
	if d.act == actCopy || d.act == actOverwrite {
		body := p.body
		p.body = nil // read once; a retry of the job reads it again
		if err := r.copyTagged(ctx, src, dst, p.tag, want, body, func() { js.writing = d.status }); err != nil {
			return err
		}
	}
	js.status, js.reason = d.status, d.reason
	return nil
}
