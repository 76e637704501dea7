package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Text format, one block per finished tag, then a summary line:
//
//	✓ ghcr.io/stefanprodan/podinfo:6.10.2 (copied)
//	  → localhost:5050/podinfo:6.10.2
//	  ↳ referrer sha256:0123456789ab application/vnd.dev.sigstore.bundle.v0.3+json (copied)
//	! ghcr.io/stefanprodan/podinfo:6.10.1 (drifted)
//	  → localhost:5050/podinfo:6.10.1
//	✗ ghcr.io/stefanprodan/podinfo:6.10.0 — GET …: 500 Internal Server Error
//	  → localhost:5050/podinfo:6.10.0
//	✗ ghcr.io/stefanprodan/podinfo2 — plan failed: NAME_UNKNOWN
//	Summary: 1 copied, 1 drifted, 2 failed in 4.2s.
//
// An entry whose selector matched nothing, or whose limit cut the matches,
// first gets a line from WriteSelection.
//
// ✓ marks an expected outcome (copied, overwritten, skipped, would-*), !
// marks drift and ✗ a failure. A skip gives its reason unless it is the
// ordinary up-to-date. Referrer lines are shown for referrers that were
// not skipped as up to date, so an up-to-date re-run stays one block per
// tag; a referrer skipped for another reason shows it, e.g.
//
//	  ↳ referrer sha256:0123456789ab application/vnd.example.sig (skipped: differs-at-destination)

// WriteText writes every result of r in order, then the summary line.
func WriteText(w io.Writer, r *Report) error {
	for _, res := range r.Report.Results {
		if err := WriteResult(w, res); err != nil {
			return err
		}
	}
	return WriteSummary(w, r.Report.Summary, r.Duration())
}

// WriteResult writes one entry: its plan failure, or its selection lines
// (WriteSelection) and a block per tag.
func WriteResult(w io.Writer, res Result) error {
	if res.Status == EntryFailed {
		return WritePlanFailed(w, res)
	}
	if err := WriteSelection(w, res); err != nil {
		return err
	}
	for _, t := range res.Tags {
		if err := WriteTag(w, res, t); err != nil {
			return err
		}
	}
	return nil
}

// WriteSelection writes what a planned entry's selection needs people to
// notice, and nothing otherwise:
//
//	! ghcr.io/stefanprodan/podinfo: selector matched 0 of 20 tags
//	• ghcr.io/stefanprodan/podinfo: selected 1 of 20 matching (limit 1)
//
// The first is a warning for an entry that selected nothing (a selector
// that matches nothing is usually a mistake); the second notes that the
// limit cut the matches. A chart counts versions instead of tags. An entry
// that failed, or that has no Selection, writes nothing.
func WriteSelection(w io.Writer, res Result) error {
	s := res.Selection
	if s == nil || res.Status == EntryFailed {
		return nil
	}
	unit := "tag"
	if strings.Contains(res.Source, "://") { // a chart: source is an http(s) URL
		unit = "version"
	}
	var err error
	switch {
	case s.Selected == 0:
		_, err = fmt.Fprintf(w, "! %s: selector matched 0 of %s\n", res.Source, count(s.Considered(), unit))
	case s.Matched > s.Selected:
		_, err = fmt.Fprintf(w, "• %s: selected %d of %d matching (limit %d)\n", res.Source, s.Selected, s.Matched, s.Limit)
	}
	return err
}

// EmptySelectionError is the error of an entry whose selector matched
// nothing when an empty selection fails the entry (--fail-on-empty):
// "selector matched 0 of 20 tags".
func EmptySelectionError(s Selection, chart bool) string {
	unit := "tag"
	if chart {
		unit = "version"
	}
	return fmt.Sprintf("selector matched 0 of %s (fail-on-empty)", count(s.Considered(), unit))
}

// count renders "1 tag" or "20 tags".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// WritePlanFailed writes the line of an entry whose planning failed:
// "✗ <source> — plan failed: <error>".
func WritePlanFailed(w io.Writer, res Result) error {
	_, err := fmt.Fprintf(w, "✗ %s — plan failed: %s\n", res.Source, oneLine(res.Error))
	return err
}

// WriteTag writes the block of one finished tag of res.
func WriteTag(w io.Writer, res Result, t Tag) error {
	var b strings.Builder
	src := res.Source + ":" + t.Tag
	switch t.Status {
	case StatusFailed:
		fmt.Fprintf(&b, "✗ %s — %s\n", src, oneLine(t.Error))
	case StatusDrifted:
		fmt.Fprintf(&b, "! %s (drifted)\n", src)
	case StatusSkipped:
		if t.Reason != "" && t.Reason != ReasonUpToDate {
			fmt.Fprintf(&b, "✓ %s (skipped: %s%s)\n", src, t.Reason, ageNote(t))
		} else {
			fmt.Fprintf(&b, "✓ %s (skipped)\n", src)
		}
	default:
		fmt.Fprintf(&b, "✓ %s (%s)\n", src, t.Status)
	}
	fmt.Fprintf(&b, "  → %s:%s\n", res.Destination, destinationTag(res, t.Tag))
	for _, ref := range t.Referrers {
		outcome := string(ref.Status)
		if ref.Status == StatusSkipped {
			if ref.Reason == "" || ref.Reason == ReasonUpToDate {
				continue
			}
			outcome += ": " + string(ref.Reason)
		}
		typ := ref.ArtifactType
		if typ == "" {
			typ = "unknown type"
		}
		fmt.Fprintf(&b, "  ↳ referrer %s %s (%s)", shortDigest(ref.Digest), typ, outcome)
		if ref.Error != "" {
			fmt.Fprintf(&b, ": %s", oneLine(ref.Error))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// destinationTag is the tag as written at the destination: chart versions
// carry '_' for '+', because OCI tags do not accept '+'.
func destinationTag(res Result, tag string) string {
	if strings.Contains(res.Source, "://") { // a chart: source is an http(s) URL
		return strings.ReplaceAll(tag, "+", "_")
	}
	return tag
}

func ageNote(t Tag) string {
	v := t.Verification
	if t.Reason != ReasonSignatureTooNew || v == nil || v.MinAge == "" {
		return ""
	}
	return fmt.Sprintf(", signed %s ago, minAge %s", v.Age, v.MinAge)
}

// shortDigest abbreviates a digest to 12 hex characters for display.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}

// oneLine keeps a multi-line error on the output's one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// WriteSummary writes the summary line, e.g. "Summary: 1 copied, 1
// skipped, 1 failed in 4.2s.". Zero counts are left out; a sync that
// selected nothing prints "Summary: nothing to mirror in 0.3s.".
func WriteSummary(w io.Writer, s Summary, d time.Duration) error {
	_, err := fmt.Fprintf(w, "Summary: %s in %s.\n", FormatCounts(s), FormatDuration(d))
	return err
}

// FormatCounts lists the non-zero counts of s in a fixed order: copied,
// overwritten, would copy, would overwrite, skipped, drifted, failed; or
// "nothing to mirror" when all are zero.
func FormatCounts(s Summary) string {
	counts := []struct {
		n    int
		what string
	}{
		{s.Copied, "copied"},
		{s.Overwritten, "overwritten"},
		{s.WouldCopy, "would copy"},
		{s.WouldOverwrite, "would overwrite"},
		{s.Skipped, "skipped"},
		{s.Drifted, "drifted"},
		{s.Failed, "failed"},
	}
	var parts []string
	for _, c := range counts {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "nothing to mirror"
	}
	return strings.Join(parts, ", ")
}

// FormatDuration renders a run time for people: tenths of a second below a
// minute ("4.2s"), whole seconds above ("2m5s").
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
