package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

// Referrers are content-addressed, so "the same referrer" is the same
// digest and there is no tag to drift. The engine applies the tag rules to
// them as follows, per subject (the tag's manifest, an index's child
// manifest, or a referrer):
//
//   - A source referrer the destination already lists for the subject is
//     skipped (up-to-date).
//   - A source referrer the destination does not list is copied (after its
//     subject, blobs first, the manifest by digest), even when the tag itself
//     was up to date: there is nothing to overwrite.
//   - Differs: if the destination lists, for the same subject, a referrer
//     of the same artifactType that the source does not have (e.g. an older
//     signature, replaced upstream), the missing source referrer of that
//     type is not copied and is reported skipped with reason
//     differs-at-destination (logged as a warning; unlike a drifted tag it
//     does not raise the exit code), unless overwrite is set; then it is
//     copied and reported overwritten, and where the engine maintains
//     the fallback tag the foreign entries of that type are dropped from it.
//     (Through the referrers API nothing can be unlisted: the foreign
//     referrer stays beside the new one.)
//   - Where the destination has no referrers API, the engine maintains the
//     referrers tag schema itself: after the referrer manifests are in
//     place, it merges their descriptors into the index tagged
//     <alg>-<hex> of the subject, keeping every entry others wrote.
//   - Under dry run, copies become would-copy (would-overwrite) and nothing
//     is written.

// referrerJob is the progress of a tag job's referrers across attempts.
type referrerJob struct {
	nodes    []referrerNode
	types    []string // artifact types, as listed or as read from the manifest
	status   []report.Status
	reason   []report.Reason
	failedAt int // index of the referrer whose copy failed last, or -1
	subjects []string
	// pending fallback-tag updates per subject, kept across attempts until
	// written: descriptors to add, digests to drop.
	add    map[string][]oci.Descriptor
	remove map[string][]string
}

func newReferrerJob(nodes []referrerNode) *referrerJob {
	j := &referrerJob{
		nodes:    nodes,
		types:    make([]string, len(nodes)),
		status:   make([]report.Status, len(nodes)),
		reason:   make([]report.Reason, len(nodes)),
		failedAt: -1,
		add:      map[string][]oci.Descriptor{},
		remove:   map[string][]string{},
	}
	for k, n := range nodes {
		j.types[k] = artifactType(n.desc)
		if !slices.Contains(j.subjects, n.subject) {
			j.subjects = append(j.subjects, n.subject)
		}
	}
	return j
}

// rows returns the report rows, marking the referrers that did not finish
// failed when the job failed with err.
func (j *referrerJob) rows(err error) []report.Referrer {
	out := make([]report.Referrer, len(j.nodes))
	for k, n := range j.nodes {
		row := report.Referrer{Digest: n.desc.Digest, ArtifactType: j.types[k], Status: j.status[k], Reason: j.reason[k]}
		if row.Status == "" {
			row.Status = report.StatusFailed
			switch {
			case k == j.failedAt && err != nil:
				row.Error = err.Error()
			case err != nil:
				row.Error = "not mirrored: the job failed first: " + err.Error()
			default:
				row.Error = "not mirrored"
			}
		}
		out[k] = row
	}
	return out
}

// artifactType is the type a referrer is listed under, "" when unknown. A
// listed type of the empty JSON media type is a registry's mistake (it took
// the config media type of an artifact that has a real artifactType), so
// it counts as unknown.
func artifactType(d oci.Descriptor) string {
	if d.ArtifactType == oci.MediaTypeEmptyJSON {
		return ""
	}
	return d.ArtifactType
}

// manifestArtifactType is the artifact type of a manifest as the OCI image
// spec defines it: artifactType, else the config media type (unless that
// is the empty JSON).
func manifestArtifactType(m oci.Manifest) string {
	switch {
	case m.ArtifactType != "":
		return m.ArtifactType
	case m.Config != nil && m.Config.MediaType != oci.MediaTypeEmptyJSON:
		return m.Config.MediaType
	}
	return ""
}

// syncReferrers mirrors the snapshot of a tag's referrers, subject by
// subject, and maintains the destination's fallback tags where needed.
func (r *run) syncReferrers(ctx context.Context, ent *artifactEntry, j *referrerJob) error {
	for _, subject := range j.subjects {
		if err := r.syncSubjectReferrers(ctx, ent, j, subject); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) syncSubjectReferrers(ctx context.Context, ent *artifactEntry, j *referrerJob, subject string) error {
	src, dst := ent.src, ent.dst
	var todo []int
	sourceSet := map[string]bool{}
	for k, n := range j.nodes {
		if n.subject != subject {
			continue
		}
		sourceSet[n.desc.Digest] = true
		if j.status[k] == "" {
			todo = append(todo, k)
		}
	}
	if len(todo) > 0 {
		listed, err := r.reg.Referrers(ctx, dst, subject)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return withContext("list referrers of "+refString(dst, subject), err)
		}
		present := map[string]bool{}
		for _, d := range listed {
			present[d.Digest] = true
		}
		for _, k := range todo {
			n := j.nodes[k]
			typ := j.types[k]
			var foreign []string
			for _, d := range listed {
				if typ != "" && artifactType(d) == typ && !sourceSet[d.Digest] {
					foreign = append(foreign, d.Digest)
				}
			}
			var st seen
			switch {
			case present[n.desc.Digest]:
				st.state = destSame
				r.objects.mark(objectKey(dst, n.desc.Digest))
			case len(foreign) > 0:
				st.state = destDiffers
			}
			d := decide(objectReferrer, st, ent.overwrite, r.opts.DryRun)
			if d.status == report.StatusSkipped && d.reason == report.ReasonReferrerDiffers {
				r.log.Warn("destination has another referrer of this type; source referrer skipped (set overwrite to replace it)",
					"subject", refString(dst, subject), "artifactType", typ, "sourceDigest", n.desc.Digest, "destinationDigests", foreign)
			}
			if d.act != actCopy && d.act != actOverwrite {
				j.status[k], j.reason[k] = d.status, d.reason
				continue
			}
			m, err := r.ensureManifest(ctx, newTransfers(), src, dst, n.desc)
			if err != nil {
				j.failedAt = k
				return fmt.Errorf("referrer %s (%s): %w", n.desc.Digest, typ, err)
			}
			fd := fallbackDescriptor(n.desc)
			if m != nil { // the manifest itself is the authority on its type
				if t := manifestArtifactType(*m); t != "" {
					typ, fd.ArtifactType, j.types[k] = t, t, t
				}
				fd.Annotations = m.Annotations
			}
			j.status[k], j.reason[k] = d.status, d.reason
			if d.act == actOverwrite {
				j.remove[subject] = append(j.remove[subject], foreign...)
			}
			j.add[subject] = append(j.add[subject], fd)
			r.log.Info("referrer copied", "subject", refString(dst, subject), "digest", n.desc.Digest, "artifactType", typ)
		}
	}
	if len(j.add[subject]) == 0 {
		return nil
	}
	api, err := r.supportsReferrersAPI(ctx, dst)
	if err != nil {
		return err
	}
	if !api {
		if err := r.updateFallbackTag(ctx, dst, subject, j.add[subject], j.remove[subject]); err != nil {
			return err
		}
	}
	delete(j.add, subject)
	delete(j.remove, subject)
	return nil
}

// fallbackDescriptor is the entry of a referrer in a fallback-tag index.
func fallbackDescriptor(d oci.Descriptor) oci.Descriptor {
	return oci.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: d.ArtifactType, Annotations: d.Annotations}
}

// supportsReferrersAPI asks once per run and destination repository.
func (r *run) supportsReferrersAPI(ctx context.Context, dst oci.Repository) (bool, error) {
	key := dst.String()
	r.mu.Lock()
	api, ok := r.referrerAPI[key]
	r.mu.Unlock()
	if ok {
		return api, nil
	}
	api, err := r.reg.SupportsReferrersAPI(ctx, dst)
	if err != nil {
		return false, withContext("probe the referrers API of "+dst.String(), err)
	}
	r.mu.Lock()
	r.referrerAPI[key] = api
	r.mu.Unlock()
	r.log.Debug("referrers API probed", "repo", key, "supported", api)
	return api, nil
}

// FallbackTag returns the tag under which the referrers tag schema indexes
// the referrers of digest on registries without the referrers API:
// "<alg>-<hex>", e.g. sha256-0123…, truncated to the 128 characters a tag
// may have.
func FallbackTag(digest string) string {
	t := strings.Replace(digest, ":", "-", 1)
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// updateFallbackTag merges add into the fallback-tag index of subject at
// dst and drops the entries whose digests are in remove, keeping every
// other entry (and field) exactly as others wrote them. It writes nothing
// when the index already says all of that.
func (r *run) updateFallbackTag(ctx context.Context, dst oci.Repository, subject string, add []oci.Descriptor, remove []string) error {
	tag := FallbackTag(subject)
	unlock := r.lockFallback(dst, tag)
	defer unlock()

	desc, body, err := r.reg.GetManifest(ctx, dst, tag)
	switch {
	case errors.Is(err, core.ErrNotFound):
		body = nil
	case err != nil:
		return fmt.Errorf("get referrers fallback tag %s: %w", refString(dst, tag), err)
	case desc.MediaType != "" && desc.MediaType != oci.MediaTypeImageIndex:
		return fmt.Errorf("referrers fallback tag %s holds a %s, not an image index; refusing to replace it", refString(dst, tag), desc.MediaType)
	}
	out, added, removed, total, err := mergeFallbackIndex(body, add, remove)
	if err != nil {
		return fmt.Errorf("referrers fallback tag %s: %w", refString(dst, tag), err)
	}
	if added == 0 && removed == 0 {
		return nil
	}
	if err := r.reg.PutManifest(ctx, dst, tag, oci.MediaTypeImageIndex, out); err != nil {
		return fmt.Errorf("put referrers fallback tag %s: %w", refString(dst, tag), err)
	}
	r.log.Info("referrers fallback tag updated", "ref", refString(dst, tag), "added", added, "removed", removed, "entries", total)
	return nil
}

// mergeFallbackIndex merges the descriptors add into a fallback-tag index
// (existing; nil when there is none yet) and drops the entries whose
// digests are in remove. Every other entry, and every other field of the
// index, is kept as it was (re-encoded compactly). It reports how many
// entries were added and removed, and how many the result lists.
func mergeFallbackIndex(existing []byte, add []oci.Descriptor, remove []string) (out []byte, added, removed, total int, err error) {
	doc := map[string]json.RawMessage{}
	var entries []json.RawMessage
	if existing == nil {
		doc["schemaVersion"] = json.RawMessage(`2`)
		doc["mediaType"] = json.RawMessage(`"` + oci.MediaTypeImageIndex + `"`)
	} else {
		if err := json.Unmarshal(existing, &doc); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("decode the index: %w", err)
		}
		if doc == nil {
			return nil, 0, 0, 0, errors.New("decode the index: it is null")
		}
		if raw, ok := doc["manifests"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &entries); err != nil {
				return nil, 0, 0, 0, fmt.Errorf("decode the index: manifests: %w", err)
			}
		}
	}
	kept := []json.RawMessage{}
	listed := map[string]bool{}
	for _, e := range entries {
		var d struct {
			Digest string `json:"digest"`
		}
		if err := json.Unmarshal(e, &d); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("decode the index: manifests entry: %w", err)
		}
		if slices.Contains(remove, d.Digest) {
			removed++
			continue
		}
		listed[d.Digest] = true
		kept = append(kept, e)
	}
	for _, d := range add {
		if listed[d.Digest] {
			continue
		}
		b, err := marshal(d)
		if err != nil {
			return nil, 0, 0, 0, fmt.Errorf("encode referrer descriptor: %w", err)
		}
		kept = append(kept, b)
		listed[d.Digest] = true
		added++
	}
	raw, err := marshal(kept)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("encode the index: %w", err)
	}
	doc["manifests"] = raw
	if out, err = marshal(doc); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("encode the index: %w", err)
	}
	return out, added, removed, len(kept), nil
}

// marshal encodes v compactly without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// lockFallback serializes the writers of one fallback tag within a run.
func (r *run) lockFallback(dst oci.Repository, tag string) func() {
	key := refString(dst, tag)
	r.mu.Lock()
	m, ok := r.fallbackMu[key]
	if !ok {
		m = &sync.Mutex{}
		r.fallbackMu[key] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}
