package mirror

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/core/retry"
	"github.com/fluxcd/flux-mirror/core/selection"
)

// artifactEntry is the plan of one artifacts entry.
type artifactEntry struct {
	index     int
	cfg       Artifact
	src, dst  oci.Repository
	overwrite bool

	tags   []plannedTag    // in plan order
	listed map[string]bool // the source's tags, for includeReferrers
	// selected are the names of tags, read-only once planning starts: the
	// resolving tasks write into tags concurrently.
	selected map[string]bool
	// dstIndex lists the destination tags once most of them turn out
	// missing (destindex.go).
	dstIndex *destIndex
	mu       sync.Mutex
	pending  int // tags still being resolved
}

// plannedTag is a selected tag, resolved at plan time.
type plannedTag struct {
	tag  string
	desc oci.Descriptor // the source manifest, from one HEAD
	// verification is the accepted signature, when verify is set.
	verification *report.Verification
	// tooNew: the signature is younger than verify.minAge; not copied.
	tooNew bool
	// referrers is the snapshot of the tag's referrers (includeReferrers),
	// parents before children.
	referrers       []referrerNode
	referrersLoaded bool
	// cosign are the tag's cosign tags (.sig, .att, .sbom) present at the
	// source (includeReferrers).
	cosign           []cosignTag
	cosignLoaded     bool
	verificationDone bool
	err              error

	// dst is the destination tag as planning found it, for entries that
	// neither verify nor copy referrers (see resolveTag); nil when the job
	// looks itself.
	dst *destCheck
	// body is the source manifest when planning read it with a GET (the
	// destination lacks the tag), so the copy reads it only once.
	body []byte
}

// destCheck is a destination tag looked at during planning.
type destCheck struct {
	desc    oci.Descriptor // when present
	missing bool
	err     error // the check failed; the job reports it as its own
}

// referrerNode is one referrer found at plan time: desc refers to subject.
type referrerNode struct {
	subject string
	desc    oci.Descriptor
}

// planArtifact queues the planning of artifacts entry i: list the source
// tags and select; then one resolve task per selected tag (HEAD, verify,
// referrers snapshot); once all are resolved, the copy jobs.
func (r *run) planArtifact(i int, a Artifact) {
	ent := &artifactEntry{index: i, cfg: a, overwrite: a.Overwrite || r.opts.Overwrite}
	var err error
	if ent.src, err = oci.ParseRepository(a.Source); err != nil {
		r.failEntry(i, fmt.Errorf("source: %w", err))
		return
	}
	if ent.dst, err = oci.ParseRepository(a.Destination); err != nil {
		r.failEntry(i, fmt.Errorf("destination: %w", err))
		return
	}
	r.sched.add(&task{
		hosts:  []string{ent.src.Host},
		run:    func(ctx context.Context) { r.listArtifact(ctx, ent) },
		cancel: func() { r.failEntry(i, errCancelled) },
	})
}

func (r *run) listArtifact(ctx context.Context, ent *artifactEntry) {
	a := ent.cfg
	if a.Selector == nil {
		r.failEntry(ent.index, errors.New("selector is required"))
		return
	}
	policy, err := selection.NewPolicy(*a.Selector)
	if err != nil {
		r.failEntry(ent.index, err)
		return
	}
	if a.Verify != nil && r.deps.Verifier == nil {
		r.failEntry(ent.index, errors.New("verify is set but no signature verifier is configured"))
		return
	}
	r.warm(ent.dst)
	var tags []string
	err = r.attempt(ctx, "list "+ent.src.String(), func(ctx context.Context) error {
		var err error
		tags, err = r.reg.ListTags(ctx, ent.src)
		return err
	})
	if err != nil {
		if !errors.Is(err, errCancelled) {
			err = brief(withContext("list tags of "+ent.src.String(), err))
		}
		r.failEntry(ent.index, err)
		return
	}
	if a.IncludeReferrers {
		// The cosign tags of the selected tags are looked up in this
		// listing, so a repository without any costs no request more.
		ent.listed = make(map[string]bool, len(tags))
		for _, t := range tags {
			ent.listed[t] = true
		}
	}
	sel := selection.Apply(tags, policy)
	selected := sel.Selected
	if sel.FallbackTags > 0 {
		r.log.Info("referrers fallback tags excluded from selection", "source", ent.src.String(), "excluded", sel.FallbackTags)
	}
	r.log.Info("tags selected", "source", ent.src.String(), "listed", sel.Listed, "excludedFallbackTags", sel.FallbackTags,
		"matched", sel.Matched, "selected", len(selected), "limit", sel.Limit)
	if !r.selectionDone(ent.index, sel, false) {
		return
	}
	if selected = r.ownTags(ent.index, ent.dst.String(), selected, nil, ent.listed); selected == nil {
		return
	}
	ent.tags = make([]plannedTag, len(selected))
	ent.selected = make(map[string]bool, len(selected))
	ent.dstIndex = newDestIndex(len(selected))
	for j, t := range selected {
		ent.tags[j].tag = t
		ent.selected[t] = true
	}
	ent.pending = len(selected)
	for j := range ent.tags {
		r.sched.add(&task{
			hosts:  []string{ent.src.Host},
			run:    func(ctx context.Context) { r.resolved(ent, j, r.resolveTag(ctx, ent, j)) },
			cancel: func() { r.resolved(ent, j, errCancelled) },
		})
	}
}

// resolveTag resolves tag j of ent: its source digest, its signature and its
// referrers, as far as the entry asks for them.
func (r *run) resolveTag(ctx context.Context, ent *artifactEntry, j int) error {
	p := &ent.tags[j]
	a := ent.cfg
	ref := ent.src.String() + ":" + p.tag
	return r.attempt(ctx, "resolve "+ref, func(ctx context.Context) error {
		if a.Verify == nil && !a.IncludeReferrers && p.desc.Digest == "" {
			return r.resolveAgainstDestination(ctx, ent, p)
		}
		if p.desc.Digest == "" {
			desc, err := r.headManifest(ctx, ent.src, p.tag)
			if err != nil {
				return fmt.Errorf("resolve %s: %w", ref, err)
			}
			if !oci.ValidDigest(desc.Digest) {
				return retry.Permanent(fmt.Errorf("resolve %s: registry returned invalid digest %q", ref, desc.Digest))
			}
			p.desc = desc
			r.log.Debug("tag resolved", "ref", ref, "digest", desc.Digest, "mediaType", desc.MediaType)
		}
		if a.Verify != nil && !p.verificationDone {
			if err := r.verifyTag(ctx, ent, p); err != nil {
				return err
			}
			p.verificationDone = true
		}
		if a.IncludeReferrers && !p.tooNew && !p.referrersLoaded {
			nodes, err := r.snapshotReferrers(ctx, ent.src, p.desc)
			if err != nil {
				return withContext("list referrers of "+ref, err)
			}
			p.referrers, p.referrersLoaded = nodes, true
		}
		if a.IncludeReferrers && !p.tooNew && !p.cosignLoaded {
			tags, err := r.snapshotCosignTags(ctx, ent, p.desc.Digest)
			if err != nil {
				return err
			}
			p.cosign, p.cosignLoaded = tags, true
		}
		return nil
	})
}

// resolveAgainstDestination resolves a tag of an entry that neither
// verifies nor copies referrers, looking at the destination first: where
// the destination has the tag, one HEAD on each side decides; where it
// lacks it, the source manifest is read with one GET that both resolves
// the tag and gives the bytes the copy puts (never a HEAD and then a GET
// of the same manifest). Planning rules stay: a source that cannot be
// resolved fails the entry; a destination that cannot be checked fails
// only the tag's job, which reports it.
func (r *run) resolveAgainstDestination(ctx context.Context, ent *artifactEntry, p *plannedTag) error {
	ref := ent.src.String() + ":" + p.tag
	if p.dst == nil {
		d := &destCheck{}
		if known, missing := ent.dstIndex.lookup(ctx, p.tag); known && missing {
			d.missing = true
		} else {
			have, err := r.headManifest(ctx, ent.dst, p.tag)
			switch {
			case err == nil:
				d.desc = have
			case errors.Is(err, core.ErrNotFound):
				d.missing = true
				if ent.dstIndex.miss() {
					r.listDestination(ctx, ent)
				}
			case errors.Is(err, context.Canceled) && ctx.Err() != nil:
				return err
			default:
				d.err = err
			}
		}
		p.dst = d
	}
	var (
		desc oci.Descriptor
		body []byte
		err  error
	)
	if p.dst.missing {
		desc, body, err = r.reg.GetManifest(ctx, ent.src, p.tag)
	} else {
		desc, err = r.headManifest(ctx, ent.src, p.tag)
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", ref, err)
	}
	if body != nil {
		got, derr := digestOf(desc.Digest, body)
		switch {
		case desc.Digest == "":
			if got, derr = digestOf("sha256:", body); derr != nil {
				return retry.Permanent(fmt.Errorf("resolve %s: %w", ref, derr))
			}
			desc.Digest = got
		case derr != nil || !oci.ValidDigest(desc.Digest):
			return retry.Permanent(fmt.Errorf("resolve %s: registry returned invalid digest %q", ref, desc.Digest))
		case got != desc.Digest:
			return fmt.Errorf("resolve %s: %w: the manifest announced as %s hashes to %s", ref, core.ErrDigestMismatch, desc.Digest, got)
		}
		desc.Size = int64(len(body))
		p.body = body
	}
	if !oci.ValidDigest(desc.Digest) {
		return retry.Permanent(fmt.Errorf("resolve %s: registry returned invalid digest %q", ref, desc.Digest))
	}
	p.desc = desc
	r.log.Debug("tag resolved", "ref", ref, "digest", desc.Digest, "mediaType", desc.MediaType)
	return nil
}

// verifyTag checks the signature of a resolved tag and its age.
func (r *run) verifyTag(ctx context.Context, ent *artifactEntry, p *plannedTag) error {
	pol := *ent.cfg.Verify
	ref := ent.src.String() + ":" + p.tag
	v, err := r.deps.Verifier.Verify(ctx, ent.src, p.desc.Digest, pol)
	if err != nil {
		return verdict(fmt.Errorf("verify signature of %s (%s): %w", ref, p.desc.Digest, err))
	}
	rv := &report.Verification{Provider: v.Provider, Issuer: v.Issuer, Identity: v.Identity, IntegratedTime: v.IntegratedTime.UTC()}
	if rv.Provider == "" {
		rv.Provider = pol.Provider
	}
	var age time.Duration
	if !v.IntegratedTime.IsZero() {
		age = r.now.Sub(v.IntegratedTime)
		rv.Age = age.Truncate(time.Second).String()
	}
	if pol.MinAge != nil {
		rv.MinAge = pol.MinAge.String()
		if v.IntegratedTime.IsZero() {
			return retry.Permanent(fmt.Errorf("verify signature of %s (%s): the signature has no verified integrated time, so minAge %s cannot be enforced", ref, p.desc.Digest, rv.MinAge))
		}
		if age < *pol.MinAge {
			p.tooNew = true
			r.log.Info("signature too new, tag skipped", "ref", ref, "digest", p.desc.Digest, "age", rv.Age, "minAge", rv.MinAge)
		}
	}
	p.verification = rv
	r.log.Info("signature verified", "ref", ref, "digest", p.desc.Digest, "issuer", v.Issuer, "identity", v.Identity, "integratedTime", v.IntegratedTime)
	return nil
}

// snapshotReferrers lists the referrers of a source manifest, of its child
// manifests when it is an index, and their referrers down to
// MaxReferrerDepth, each digest once (so a loop ends). The order is
// deterministic whatever order the registry lists them in: subject by
// subject, breadth first (the tag's manifest, an index's children in index
// order, then referrers of referrers), and each subject's referrers by
// artifact type, then digest (compareReferrers).
func (r *run) snapshotReferrers(ctx context.Context, src oci.Repository, desc oci.Descriptor) ([]referrerNode, error) {
	subjects := []string{desc.Digest}
	if oci.IsIndex(desc.MediaType) {
		_, body, err := r.reg.GetManifest(ctx, src, desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("get index %s: %w", desc.Digest, err)
		}
		if err := checkDigest(desc.Digest, body); err != nil {
			return nil, err
		}
		_, refs, err := oci.ParseManifest(desc.MediaType, body)
		if err != nil {
			return nil, retry.Permanent(fmt.Errorf("parse index %s: %w", desc.Digest, err))
		}
		for _, c := range refs.Manifests {
			subjects = append(subjects, c.Digest)
		}
	}
	type item struct {
		digest string
		depth  int
	}
	seen := map[string]bool{}
	queue := make([]item, 0, len(subjects))
	for _, s := range subjects {
		seen[s] = true
		queue = append(queue, item{s, 1})
	}
	var nodes []referrerNode
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		list, err := r.reg.Referrers(ctx, src, it.digest)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return nil, fmt.Errorf("referrers of %s: %w", it.digest, err)
		}
		batch := make([]oci.Descriptor, 0, len(list))
		for _, d := range list {
			if seen[d.Digest] || !oci.ValidDigest(d.Digest) {
				continue
			}
			seen[d.Digest] = true
			if artifactType(d) == "" {
				d.ArtifactType = r.referrerTypeOf(ctx, src, d)
			}
			batch = append(batch, d)
		}
		// The registry's listing order may change between runs; the
		// report's must not.
		slices.SortFunc(batch, compareReferrers)
		for _, d := range batch {
			nodes = append(nodes, referrerNode{subject: it.digest, desc: d})
			if it.depth < MaxReferrerDepth {
				queue = append(queue, item{d.Digest, it.depth + 1})
			}
		}
	}
	return nodes, nil
}

// compareReferrers orders the referrers of one subject by artifact type
// (unknown types first), then digest.
func compareReferrers(a, b oci.Descriptor) int {
	if c := strings.Compare(artifactType(a), artifactType(b)); c != 0 {
		return c
	}
	return strings.Compare(a.Digest, b.Digest)
}

// referrerTypeOf reads the artifact type of a referrer the source listed
// without one (or as the empty JSON type, as registries that take it from
// config.mediaType do) from its manifest, so that report rows and the drift
// rule see the real type also for referrers that are not copied. When the
// manifest cannot be read or has no type it keeps the listed type: the
// copy reads the manifest again, and an unknown type never counts as drift.
func (r *run) referrerTypeOf(ctx context.Context, src oci.Repository, d oci.Descriptor) string {
	if d.MediaType != "" && d.MediaType != oci.MediaTypeImageManifest {
		return d.ArtifactType
	}
	_, body, err := r.reg.GetManifest(ctx, src, d.Digest)
	if err == nil {
		err = checkDigest(d.Digest, body)
	}
	var m oci.Manifest
	if err == nil {
		m, _, err = oci.ParseManifest(oci.MediaTypeImageManifest, body)
	}
	if err != nil {
		r.log.Debug("referrer type unknown", "ref", refString(src, d.Digest), "error", err)
		return d.ArtifactType
	}
	if t := manifestArtifactType(m); t != "" {
		return t
	}
	return d.ArtifactType
}

// resolved records the end of tag j's resolution; the last one of an entry
// completes its plan.
func (r *run) resolved(ent *artifactEntry, j int, err error) {
	ent.mu.Lock()
	ent.tags[j].err = err
	ent.pending--
	last := ent.pending == 0
	ent.mu.Unlock()
	if last {
		r.planned(ent)
	}
}

// planned fails the entry if any tag failed to resolve (nothing of it is
// copied), else records its tags and queues their jobs.
func (r *run) planned(ent *artifactEntry) {
	var errs []error
	for _, p := range ent.tags {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	if len(errs) > 0 {
		err := brief(errs[0])
		for _, e := range errs {
			if errors.Is(e, errCancelled) {
				err = errCancelled
				break
			}
		}
		if len(errs) > 1 && err != errCancelled {
			err = fmt.Errorf("%w (and %d more of the %d selected tags failed planning)", err, len(errs)-1, len(ent.tags))
		}
		r.failEntry(ent.index, err)
		return
	}
	tags := make([]report.Tag, len(ent.tags))
	for j, p := range ent.tags {
		tags[j] = report.Tag{Tag: p.tag, Digest: p.desc.Digest, Verification: p.verification}
	}
	r.results[ent.index].Tags = tags
	r.entryPlanned(ent.index, len(tags))
	for j := range ent.tags {
		if ent.tags[j].tooNew {
			t := tags[j]
			t.Status, t.Reason = report.StatusSkipped, report.ReasonSignatureTooNew
			r.finishTag(ent.index, j, t)
			continue
		}
		r.sched.add(&task{
			lane:  laneJob,
			hosts: []string{ent.src.Host, ent.dst.Host},
			run: func(ctx context.Context) {
				r.finishTag(ent.index, j, r.syncArtifactTag(ctx, ent, j))
			},
			cancel: func() {
				r.finishTag(ent.index, j, failed(tags[j], errCancelled))
			},
		})
	}
}

// failed returns t marked failed with err.
func failed(t report.Tag, err error) report.Tag {
	t.Status, t.Reason, t.Error = report.StatusFailed, "", errorText(err)
	return t
}

// checkDigest verifies that body hashes to digest.
func checkDigest(digest string, body []byte) error {
	got, err := digestOf(digest, body)
	if err != nil {
		return retry.Permanent(err)
	}
	if got != digest {
		return fmt.Errorf("%w: content announced as %s hashes to %s", core.ErrDigestMismatch, digest, got)
	}
	return nil
}

// verdict treats a verification failure as final unless it is a transport
// failure (an HTTP exchange or a network error), which retry classifies:
// a signature that does not match will not match on a second try.
func verdict(err error) error {
	var he *core.HTTPError
	var ne net.Error
	if errors.As(err, &he) || errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return retry.Permanent(err)
}
