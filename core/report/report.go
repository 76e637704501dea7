package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// APIVersion and Kind identify a Report document.
const (
	APIVersion = "mirror.plugin.fluxcd.io/v1beta1"
	Kind       = "Report"
)

// SchemaURL is where the Report's JSON Schema (report-v1beta1.json at the
// root of the repository) is published. JSON output carries it as "$schema".
const SchemaURL = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/report-v1beta1.json"

// Semantic exit codes of a sync, as carried by Summary.ExitCode. The CLI
// replaces ExitDrift with the value of --drift-exit-code.
const (
	// ExitOK: every tag was copied or skipped as expected (would-* included).
	ExitOK = 0
	// ExitFailed: a tag, a referrer or a whole entry failed. Failures win
	// over drift.
	ExitFailed = 1
	// ExitDrift: a tag drifted at the destination and nothing failed. A
	// referrer that differs at the destination is skipped and does not
	// count as drift.
	ExitDrift = 2
)

// Status is the outcome of one tag (or referrer).
type Status string

// The outcomes of a tag or referrer.
const (
	// StatusCopied: the destination lacked the tag and it was copied.
	StatusCopied Status = "copied"
	// StatusOverwritten: the destination tag had another digest and was
	// replaced because overwrite was set.
	StatusOverwritten Status = "overwritten"
	// StatusSkipped: nothing was written; Reason says why.
	StatusSkipped Status = "skipped"
	// StatusDrifted: the destination tag has another digest and was left
	// alone (overwrite not set).
	StatusDrifted Status = "drifted"
	// StatusWouldCopy: a dry run found the tag missing at the destination.
	StatusWouldCopy Status = "would-copy"
	// StatusWouldOverwrite: a dry run found a differing destination tag
	// that overwrite would replace.
	StatusWouldOverwrite Status = "would-overwrite"
	// StatusFailed: the tag could not be mirrored; Error says why.
	StatusFailed Status = "failed"
)

// Statuses lists every Status in documentation order.
var Statuses = []Status{
	StatusCopied, StatusOverwritten, StatusSkipped, StatusDrifted,
	StatusWouldCopy, StatusWouldOverwrite, StatusFailed,
}

// EntryStatus is the outcome of one config entry's planning.
type EntryStatus string

// The outcomes of an entry.
const (
	// EntryCompleted: the entry was planned; its tags carry their own outcomes.
	EntryCompleted EntryStatus = "completed"
	// EntryFailed: planning failed, nothing of the entry was copied, and
	// Result.Error says why.
	EntryFailed EntryStatus = "failed"
)

// EntryStatuses lists every EntryStatus.
var EntryStatuses = []EntryStatus{EntryCompleted, EntryFailed}

// Reason explains a skipped tag or referrer.
type Reason string

// The reasons of a skip.
const (
	// ReasonUpToDate: the destination already has the source digest.
	ReasonUpToDate Reason = "up-to-date"
	// ReasonSignatureTooNew: the signature is valid but younger than
	// verify.minAge, so the tag waits for a later run.
	ReasonSignatureTooNew Reason = "signature-too-new"
	// ReasonReferrerDiffers (a referrer row's reason): the destination
	// lists, for the same subject, another referrer of the same artifact
	// type that the source does not have (e.g. an older signature replaced
	// upstream), so the source's referrer was not copied (overwrite not
	// set). Unlike a drifted tag, it does not raise the exit code.
	ReasonReferrerDiffers Reason = "differs-at-destination"
)

// Reasons lists every Reason.
var Reasons = []Reason{ReasonUpToDate, ReasonSignatureTooNew, ReasonReferrerDiffers}

// Report is the mirror.plugin.fluxcd.io/v1beta1 Report document of one sync.
type Report struct {
	// Schema is the JSON Schema URL; WriteJSON sets it, other encodings leave it out.
	Schema     string `json:"$schema,omitempty" desc:"URL of this document's JSON Schema."`
	APIVersion string `json:"apiVersion" desc:"Always mirror.plugin.fluxcd.io/v1beta1."`
	Kind       string `json:"kind" desc:"Always Report."`
	Report     Body   `json:"report" desc:"The outcome of the sync."`
}

// Body is the content of a Report: who ran it, when, and what happened.
type Body struct {
	// Reporter is flux-mirror/<version>.
	Reporter string `json:"reporter" desc:"The program that ran the sync, flux-mirror/<version>."`
	// Timestamp is when the sync started, in UTC.
	Timestamp time.Time `json:"timestamp" desc:"When the sync started (RFC 3339, UTC)."`
	// DurationMs is the wall time of the sync in milliseconds.
	DurationMs int64 `json:"durationMs" desc:"Wall time of the sync in milliseconds."`
	// Shard is "I/N" when the sync ran as shard I of N (sync --shard) and
	// reports only the tags that shard owns; empty for a whole run and for
	// a report merged from all shards (Merge).
	Shard string `json:"shard,omitempty" desc:"I/N when the sync ran as shard I (0-based) of N (sync --shard) and reports only that shard's tags; absent for a whole run and for a merged report." pattern:"^(0|[1-9][0-9]*)/[1-9][0-9]*$"`
	// Summary counts the outcomes.
	Summary Summary `json:"summary" desc:"Counts of the outcomes and the semantic exit code."`
	// Results holds one Result per config entry: artifacts, then charts,
	// in config order.
	Results []Result `json:"results" desc:"One result per config entry: artifacts, then charts, in config order."`
}

// Summary counts the tags of a sync by outcome.
type Summary struct {
	Entries        int `json:"entries" desc:"Config entries processed."`
	Copied         int `json:"copied" desc:"Tags copied."`
	Overwritten    int `json:"overwritten" desc:"Tags overwritten."`
	Skipped        int `json:"skipped" desc:"Tags skipped (up to date, or signature too new)."`
	Drifted        int `json:"drifted" desc:"Tags whose destination differs and was left alone."`
	WouldCopy      int `json:"wouldCopy" desc:"Tags a dry run would copy."`
	WouldOverwrite int `json:"wouldOverwrite" desc:"Tags a dry run would overwrite."`
	// Failed counts failed tags plus entries whose planning failed.
	Failed int `json:"failed" desc:"Failed tags plus entries whose planning failed."`
	// ExitCode is ExitFailed, ExitDrift or ExitOK, before --drift-exit-code.
	ExitCode int `json:"exitCode" desc:"Semantic exit code before --drift-exit-code: 1 on any failure, else 2 on any drift, else 0."`
}

// Result is the outcome of one config entry.
type Result struct {
	// Source is the entry's source as configured; for a chart, the
	// repository URL without trailing slash, then "/" and the chart name.
	Source string `json:"source" desc:"The source as configured; for a chart, <repository URL>/<name>."`
	// Destination is the entry's destination as configured; for a chart,
	// host/path/name without the oci:// scheme.
	Destination string `json:"destination" desc:"The destination as configured; for a chart, <host/path>/<name>."`
	// Status is EntryFailed when planning failed.
	Status EntryStatus `json:"status" desc:"failed when planning failed, else completed."`
	// Error is the planning error, set only when Status is EntryFailed.
	Error string `json:"error,omitempty" desc:"The planning error; only when status is failed."`
	// Selection counts what the selector saw and kept; nil when planning
	// failed before the tags (versions) were listed.
	Selection *Selection `json:"selection,omitempty" desc:"What the selector saw and kept; absent when planning failed before the source was listed."`
	// Tags are the selected tags in plan order; never nil once finalized.
	Tags []Tag `json:"tags" desc:"The selected tags in plan order (highest first)."`
}

// Selection counts the tags (for a chart, the versions) of an entry
// through its selector, so that an empty or capped selection is visible:
// Listed, minus FallbackTags, is what the selector saw; Matched passed its
// filters; Selected is Matched capped by Limit.
type Selection struct {
	// Listed is the number of distinct tags (versions) the source listed.
	Listed int `json:"listed" desc:"Distinct tags the source listed (for a chart, versions in the index)."`
	// FallbackTags is the number of referrers fallback tags
	// ("sha256-<hex>") excluded before the selector ran; they are never
	// selected (the engine maintains them through includeReferrers).
	FallbackTags int `json:"fallbackTags" desc:"Referrers fallback tags (sha256-<hex>) excluded before the selector ran; never selected. Always 0 for a chart."`
	// Matched is the number that passed the selector's filters.
	Matched int `json:"matched" desc:"Tags (versions) that passed the selector's filters, before the limit."`
	// Selected is the number selected: Matched capped by Limit.
	Selected int `json:"selected" desc:"Tags (versions) selected: matched, capped by limit."`
	// Limit is the cap that applied; 0 means none.
	Limit int `json:"limit" desc:"The limit that applied; 0 means no cap."`
}

// Considered is the number of tags (versions) the selector saw.
func (s Selection) Considered() int { return s.Listed - s.FallbackTags }

// Tag is the outcome of one selected tag (or chart version).
type Tag struct {
	// Tag is the tag; for a chart, the version as published, with '+'.
	Tag    string `json:"tag" desc:"The tag; for a chart, the version as published (with '+')."`
	Status Status `json:"status" desc:"The outcome."`
	// Digest is the source manifest digest; for a chart, the sha256 of the
	// .tgz. Empty only when it could not be determined.
	Digest string `json:"digest" desc:"The source manifest digest; for a chart, sha256 of the .tgz."`
	// Reason is set only when Status is StatusSkipped.
	Reason Reason `json:"reason,omitempty" desc:"Why the tag was skipped; only when status is skipped."`
	// Error is set only when Status is StatusFailed.
	Error string `json:"error,omitempty" desc:"What went wrong; only when status is failed."`
	// Position is the 1-based position of the tag in its entry's whole
	// selection (plan order), set only in a shard's report, where the tags
	// are a part of that selection; Merge puts the shards' tags back in
	// this order and clears it.
	Position int `json:"position,omitempty" desc:"1-based position of the tag in the entry's whole selection (plan order); only in a shard's report (sync --shard), so that report merge restores the plan order." minimum:"1"`
	// Referrers are the outcomes of the tag's referrers (includeReferrers),
	// in a deterministic order whatever order the source registry lists
	// them in: subject by subject, breadth first (the tag's manifest, an
	// index's child manifests in index order, then referrers of
	// referrers), and each subject's referrers by artifact type, then
	// digest.
	Referrers []Referrer `json:"referrers,omitempty" desc:"The tag's referrers and their outcomes (includeReferrers), ordered subject by subject (the tag, an index's children in index order, then referrers of referrers) and within a subject by artifactType, then digest."`
	// Verification is the signature that was accepted (verify).
	Verification *Verification `json:"verification,omitempty" desc:"The accepted signature (verify)."`
}

// Referrer is the outcome of one referrer of a tag: a signature, SBOM or
// attestation, or a referrer of one of those.
type Referrer struct {
	Digest       string `json:"digest" desc:"The referrer manifest digest."`
	ArtifactType string `json:"artifactType" desc:"The referrer's artifact type."`
	Tag          string `json:"tag,omitempty" desc:"The cosign tag (sha256-<hex>.sig, .att or .sbom) this manifest is mirrored under; only for cosign's tag-based attachments, which includeReferrers mirrors with their tag."`
	Status       Status `json:"status" desc:"The outcome, as for tags."`
	Reason       Reason `json:"reason,omitempty" desc:"Why the referrer was skipped; only when status is skipped. differs-at-destination: the destination has another referrer of the same artifact type and overwrite is not set."`
	Error        string `json:"error,omitempty" desc:"What went wrong; only when status is failed."`
}

// Verification describes the signature that was accepted for a tag.
type Verification struct {
	Provider string `json:"provider" desc:"The verification provider (cosign)."`
	Issuer   string `json:"issuer" desc:"The OIDC issuer of the signing certificate."`
	Identity string `json:"identity" desc:"The signing certificate's subject alternative name."`
	// IntegratedTime is the verified transparency-log time.
	IntegratedTime time.Time `json:"integratedTime" desc:"The verified transparency-log integration time."`
	// Age is the signature's age at plan time, as a Go duration ("52h3m0s").
	Age string `json:"age" desc:"The signature's age at plan time, as a Go duration."`
	// MinAge is verify.minAge, as a Go duration; empty when not set.
	MinAge string `json:"minAge,omitempty" desc:"verify.minAge as a Go duration; only when set."`
}

// Summarize counts the outcomes of results and computes the semantic exit
// code: ExitFailed if any entry, tag or referrer failed, else ExitDrift if
// any tag drifted, else ExitOK. would-* outcomes and skipped referrers
// (whatever their reason) do not raise it.
func Summarize(results []Result) Summary {
	s := Summary{Entries: len(results)}
	failed, drifted := false, false
	for _, r := range results {
		if r.Status == EntryFailed {
			s.Failed++
			failed = true
		}
		for _, t := range r.Tags {
			switch t.Status {
			case StatusCopied:
				s.Copied++
			case StatusOverwritten:
				s.Overwritten++
			case StatusSkipped:
				s.Skipped++
			case StatusDrifted:
				s.Drifted++
				drifted = true
			case StatusWouldCopy:
				s.WouldCopy++
			case StatusWouldOverwrite:
				s.WouldOverwrite++
			case StatusFailed:
				s.Failed++
				failed = true
			}
			for _, ref := range t.Referrers {
				if ref.Status == StatusFailed {
					failed = true
				}
			}
		}
	}
	switch {
	case failed:
		s.ExitCode = ExitFailed
	case drifted:
		s.ExitCode = ExitDrift
	default:
		s.ExitCode = ExitOK
	}
	return s
}

// New returns an empty Report started at start by reporter (e.g.
// "flux-mirror/v1.2.3"). Call Finish once the results are in.
func New(reporter string, start time.Time) *Report {
	return &Report{
		APIVersion: APIVersion,
		Kind:       Kind,
		Report: Body{
			Reporter:  reporter,
			Timestamp: start.UTC().Truncate(time.Second),
			Results:   []Result{},
		},
	}
}

// Finish records the duration up to end, makes every tag list non-nil and
// recomputes the summary from the results.
func (r *Report) Finish(start, end time.Time) {
	r.Report.DurationMs = end.Sub(start).Milliseconds()
	if r.Report.Results == nil {
		r.Report.Results = []Result{}
	}
	for i := range r.Report.Results {
		if r.Report.Results[i].Tags == nil {
			r.Report.Results[i].Tags = []Tag{}
		}
	}
	r.Report.Summary = Summarize(r.Report.Results)
}

// Duration returns the wall time of the sync.
func (r *Report) Duration() time.Duration {
	return time.Duration(r.Report.DurationMs) * time.Millisecond
}

// ExitCode returns the semantic exit code with driftCode in place of
// ExitDrift, as --drift-exit-code asks.
func (r *Report) ExitCode(driftCode int) int {
	if r.Report.Summary.ExitCode == ExitDrift {
		return driftCode
	}
	return r.Report.Summary.ExitCode
}

// WriteJSON writes the report as indented JSON with "$schema" set to
// SchemaURL, followed by a newline.
func WriteJSON(w io.Writer, r *Report) error {
	c := *r
	c.Schema = SchemaURL
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // error messages keep their < > &
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
