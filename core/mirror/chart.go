package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/core/retry"
	"github.com/fluxcd/flux-mirror/core/selection"
)

// Charts are mirrored like this:
//
//   - Planning reads the repository index (ChartVersions; the adapter caches
//     it per repository URL) and selects versions with
//     selection.SelectVersions.
//   - A version's destination tag is the version with '+' written as '_',
//     in the repository <destination without oci://>/<name>.
//   - The job GETs the destination manifest (one request: a 404 means
//     missing). If it is not a Helm chart (config media type other than
//     oci.MediaTypeHelmConfig) the version fails, unless overwrite is set.
//     Otherwise its chart layer digest is compared with the sha256 of the
//     source tarball, so a chart pushed earlier by `helm push` (whose
//     manifest differs by a timestamp) is recognised as up to date.
//   - The tarball digest is taken from the index's digest field when the
//     index has one, so an up-to-date re-run downloads nothing; without it,
//     the chart is downloaded to be hashed. Whenever a chart is downloaded,
//     its digest must match the index's, else the version fails with
//     core.ErrDigestMismatch. The trade-off: an index whose digest field is
//     stale makes the comparison use the stale value until the copy catches
//     the mismatch.
//   - A copy pushes the config blob (ChartPackage.ConfigJSON) and the layer
//     blob (the tarball bytes unchanged), then ChartManifest, a
//     deterministic OCI image manifest, under the tag.

// chartEntry is the plan of one charts entry.
type chartEntry struct {
	index     int
	cfg       Chart
	dst       oci.Repository
	overwrite bool
	versions  []ChartVersion
}

// chartSource is the Report source of a chart entry: the repository URL
// without trailing slash, "/", the chart name.
func chartSource(c Chart) string {
	return strings.TrimRight(c.Source, "/") + "/" + c.Name
}

// chartDestination is the destination repository of a chart entry:
// host/path/name without the oci:// scheme.
func chartDestination(c Chart) string {
	return strings.TrimRight(strings.TrimPrefix(c.Destination, "oci://"), "/") + "/" + c.Name
}

// ChartTag returns the OCI tag of a chart version: '+' (semver build
// metadata), which OCI tags do not accept, is written as '_'.
func ChartTag(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}

// ChartManifest returns the OCI image manifest flux-mirror publishes for a
// chart: schemaVersion 2, the Helm config blob and one Helm chart layer,
// with no annotations, so the same chart always yields the same bytes and
// digest.
func ChartManifest(config, layer oci.Descriptor) []byte {
	m := struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Config        oci.Descriptor   `json:"config"`
		Layers        []oci.Descriptor `json:"layers"`
	}{2, oci.MediaTypeImageManifest, config, []oci.Descriptor{layer}}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain strings and numbers always encode
	}
	return b
}

func (r *run) planChart(i int, c Chart) {
	ent := &chartEntry{index: i, cfg: c, overwrite: c.Overwrite || r.opts.Overwrite}
	if !strings.HasPrefix(c.Destination, "oci://") {
		r.failEntry(i, fmt.Errorf("destination %q must start with oci://", c.Destination))
		return
	}
	var err error
	if ent.dst, err = oci.ParseRepository(chartDestination(c)); err != nil {
		r.failEntry(i, fmt.Errorf("destination: %w", err))
		return
	}
	if r.deps.Charts == nil {
		r.failEntry(i, errors.New("no Helm repository client is configured for charts"))
		return
	}
	r.sched.add(&task{
		hosts:  []string{urlHost(c.Source)},
		run:    func(ctx context.Context) { r.listChart(ctx, ent) },
		cancel: func() { r.failEntry(i, errCancelled) },
	})
}

func (r *run) listChart(ctx context.Context, ent *chartEntry) {
	c := ent.cfg
	var all []ChartVersion
	err := r.attempt(ctx, "index "+c.Source, func(ctx context.Context) error {
		var err error
		all, err = r.charts.ChartVersions(ctx, c.Source, c.Name)
		return err
	})
	if err != nil {
		if !errors.Is(err, errCancelled) {
			err = brief(fmt.Errorf("read chart %s from the index of %s: %w", c.Name, c.Source, err))
		}
		r.failEntry(ent.index, err)
		return
	}
	byVersion := make(map[string]ChartVersion, len(all))
	versions := make([]string, 0, len(all))
	for _, v := range all {
		if _, dup := byVersion[v.Version]; !dup {
			byVersion[v.Version] = v
			versions = append(versions, v.Version)
		}
	}
	sel, err := selection.ApplyVersions(versions, c.Version, c.Limit)
	if err != nil {
		r.failEntry(ent.index, err)
		return
	}
	selected := sel.Selected
	r.log.Info("chart versions selected", "source", chartSource(c), "listed", sel.Listed, "matched", sel.Matched, "selected", len(selected), "limit", sel.Limit)
	if !r.selectionDone(ent.index, sel, true) {
		return
	}
	if selected = r.ownTags(ent.index, ent.dst.String(), selected, ChartTag, nil); selected == nil {
		return
	}
	tags := make([]report.Tag, len(selected))
	ent.versions = make([]ChartVersion, len(selected))
	for j, v := range selected {
		cv := byVersion[v]
		ent.versions[j] = cv
		tags[j] = report.Tag{Tag: v, Digest: indexDigest(cv)}
	}
	r.results[ent.index].Tags = tags
	r.entryPlanned(ent.index, len(tags))
	for j := range tags {
		r.sched.add(&task{
			lane:  laneJob,
			hosts: []string{urlHost(c.Source), ent.dst.Host},
			run: func(ctx context.Context) {
				r.finishTag(ent.index, j, r.syncChartVersion(ctx, ent, j, tags[j]))
			},
			cancel: func() { r.finishTag(ent.index, j, failed(tags[j], errCancelled)) },
		})
	}
}

// indexDigest is the tarball digest the index announces, or "".
func indexDigest(cv ChartVersion) string {
	d := "sha256:" + strings.ToLower(cv.Digest)
	if !oci.ValidDigest(d) {
		return ""
	}
	return d
}

// chartJob is the progress of one chart version across attempts.
type chartJob struct {
	pkg    *ChartPackage
	digest string // sha256 of the tarball: the index's, then the download's
	status report.Status
	reason report.Reason
	// writing is the status this job's manifest PUT gives the version,
	// set when the PUT is first sent (see tagJob.writing).
	writing report.Status
}

func (r *run) syncChartVersion(ctx context.Context, ent *chartEntry, j int, out report.Tag) report.Tag {
	cv := ent.versions[j]
	js := &chartJob{digest: out.Digest}
	ref := chartSource(ent.cfg) + ":" + cv.Version
	r.activity(func(a ActivityObserver) { a.TagStarted(ent.index, r.header(ent.index), cv.Version) })
	err := r.attempt(ctx, "mirror "+ref, func(ctx context.Context) error {
		return r.runChartJob(ctx, ent, cv, js)
	})
	out.Digest = js.digest
	if err != nil {
		err = brief(err)
		r.health.count(err, false)
		r.log.Error("chart version failed", "ref", ref, "error", err)
		return failed(out, err)
	}
	out.Status, out.Reason = js.status, js.reason
	return out
}

// download fetches the chart once per job and checks it against the
// index's digest.
func (r *run) download(ctx context.Context, ent *chartEntry, cv ChartVersion, js *chartJob) error {
	if js.pkg != nil {
		return nil
	}
	pkg, err := r.charts.DownloadChart(ctx, ent.cfg.Source, cv)
	if err != nil {
		return withContext("download chart "+cv.Name+" "+cv.Version, err)
	}
	got := oci.Digest(pkg.Tarball)
	if want := indexDigest(cv); want != "" && got != want {
		return fmt.Errorf("%w: chart %s %s downloaded from %s hashes to %s, the index says %s", core.ErrDigestMismatch, cv.Name, cv.Version, ent.cfg.Source, got, want)
	}
	js.pkg, js.digest = &pkg, got
	r.log.Debug("chart downloaded", "chart", cv.Name, "version", cv.Version, "digest", got, "size", len(pkg.Tarball))
	return nil
}

// runChartJob looks at the destination, decides (decide), and publishes
// the chart or leaves the destination alone.
func (r *run) runChartJob(ctx context.Context, ent *chartEntry, cv ChartVersion, js *chartJob) error {
	if js.status != "" {
		return nil
	}
	tag := ChartTag(cv.Version)
	dref := refString(ent.dst, tag)
	_, body, err := r.reg.GetManifest(ctx, ent.dst, tag)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return withContext("check destination "+dref, err)
	}
	s := seen{state: destMissing, wrote: js.writing}
	var layer string
	if err == nil {
		var isChart bool
		layer, isChart = chartLayer(body)
		s.state = destForeign
		if isChart {
			s.state = destDiffers
		}
	}
	// The report gives the tarball digest, and a chart is compared by it:
	// without one from the index, the chart is downloaded to hash it.
	if js.digest == "" && s.state != destForeign {
		if err := r.download(ctx, ent, cv, js); err != nil {
			return err
		}
	}
	if s.state == destDiffers && layer == js.digest {
		s.state = destSame
	}
	d := decide(objectTag, s, ent.overwrite, r.opts.DryRun)
	switch {
	case d.act == actRefuse:
		return retry.Permanent(fmt.Errorf("destination %s exists and is not a Helm chart (its config media type is not %s); set overwrite: true to replace it", dref, oci.MediaTypeHelmConfig))
	case d.act == actLeave && s.state == destSame && s.wrote != "":
		r.log.Info("chart found written by an earlier attempt of this job", "ref", dref, "digest", js.digest)
	case d.act == actLeave && s.state == destSame:
		r.log.Debug("chart up to date", "ref", dref, "digest", js.digest)
	case d.status == report.StatusDrifted:
		r.log.Warn("destination chart drifted from source; left alone (set overwrite to replace it)",
			"ref", dref, "sourceDigest", js.digest, "destinationLayerDigest", layer)
	case d.act == actOverwrite:
		r.log.Info("overwriting destination chart", "ref", dref, "sourceDigest", js.digest)
	}
	if d.act == actCopy || d.act == actOverwrite {
		if err := r.pushChart(ctx, ent, cv, js, tag, d.status); err != nil {
			return err
		}
	}
	js.status, js.reason = d.status, d.reason
	return nil
}

// chartLayer returns the digest of the Helm chart layer of a destination
// manifest, and whether the manifest is a Helm chart at all.
func chartLayer(body []byte) (string, bool) {
	m, _, err := oci.ParseManifest("", body)
	if err != nil || m.Config == nil || m.Config.MediaType != oci.MediaTypeHelmConfig {
		return "", false
	}
	for _, l := range m.Layers {
		if l.MediaType == oci.MediaTypeHelmChart {
			return l.Digest, true
		}
	}
	return "", true
}

// pushChart publishes the downloaded chart: config blob, layer blob, then
// the manifest under the tag, which gives the version the status writing.
func (r *run) pushChart(ctx context.Context, ent *chartEntry, cv ChartVersion, js *chartJob, tag string, writing report.Status) error {
	if err := r.download(ctx, ent, cv, js); err != nil {
		return err
	}
	cfg := oci.Descriptor{MediaType: oci.MediaTypeHelmConfig, Digest: oci.Digest(js.pkg.ConfigJSON), Size: int64(len(js.pkg.ConfigJSON))}
	layer := oci.Descriptor{MediaType: oci.MediaTypeHelmChart, Digest: js.digest, Size: int64(len(js.pkg.Tarball))}
	if err := r.ensureBlobBytes(ctx, ent.dst, cfg, js.pkg.ConfigJSON); err != nil {
		return err
	}
	if err := r.ensureBlobBytes(ctx, ent.dst, layer, js.pkg.Tarball); err != nil {
		return err
	}
	body := ChartManifest(cfg, layer)
	js.writing = writing
	if err := r.reg.PutManifest(ctx, ent.dst, tag, oci.MediaTypeImageManifest, body); err != nil {
		return withContext("put manifest "+refString(ent.dst, tag), err)
	}
	r.objects.mark(objectKey(ent.dst, oci.Digest(body)))
	r.log.Info("chart pushed", "ref", refString(ent.dst, tag), "digest", oci.Digest(body), "layer", js.digest)
	return nil
}
