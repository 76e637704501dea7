package mirror

import "github.com/fluxcd/flux-mirror/core/report"

// The drift rule, written once: every job (a tag, a chart version, a
// referrer) first looks at the destination, then calls decide with what it
// saw, then carries out the decision. decide is pure; the callers own the
// network calls and the log lines.

// object is the kind of thing a job mirrors, which changes how a
// destination that differs is reported.
type object int

const (
	// objectTag is a tag of an artifacts entry or a version of a charts
	// entry: a differing destination is drift.
	objectTag object = iota
	// objectReferrer is a referrer of a mirrored manifest: content
	// addressed, so it cannot drift; a differing destination (another
	// referrer of its artifact type) makes it skipped with reason
	// differs-at-destination, which does not raise the exit code.
	objectReferrer
)

// destState is what a job found at the destination.
type destState int

const (
	// destMissing: nothing is there (for a tag, only a 404 means that).
	destMissing destState = iota
	// destSame: the source's content is there.
	destSame
	// destDiffers: other content of the same kind is there.
	destDiffers
	// destForeign: content of another kind is there, e.g. a chart
	// destination whose manifest is not a Helm chart.
	destForeign
)

// seen is what a job observed before deciding.
type seen struct {
	state destState
	// wrote is the status this job's own write gives the object (copied or
	// overwritten), set when an earlier attempt of the job sent it; "" when
	// none did. A destination found the same after such a write (whose
	// answer was lost) was written by this run.
	wrote report.Status
}

// action is what a job does about its object.
type action int

const (
	// actLeave writes nothing; the decision's status is final.
	actLeave action = iota
	// actCopy writes the object where nothing was.
	actCopy
	// actOverwrite replaces what was there.
	actOverwrite
	// actRefuse fails the job permanently: the destination holds content
	// of another kind and overwrite is not set.
	actRefuse
)

// decision is the outcome of the drift rule.
type decision struct {
	act action
	// status and reason are what the job reports: at once for actLeave,
	// once the write succeeded for actCopy and actOverwrite; empty for
	// actRefuse.
	status report.Status
	reason report.Reason
}

// decide applies the drift rule:
//
//   - same → skipped (up-to-date), or the status of this job's own earlier
//     write when it sent one (copied or overwritten);
//   - missing → copy (dry run: would-copy);
//   - differs → drifted and left alone (a referrer: skipped,
//     differs-at-destination), or with overwrite, overwrite (dry run:
//     would-overwrite);
//   - foreign → refuse, or with overwrite, overwrite (dry run:
//     would-overwrite).
func decide(obj object, s seen, overwrite, dryRun bool) decision {
	switch {
	case s.state == destSame && s.wrote != "":
		return decision{act: actLeave, status: s.wrote}
	case s.state == destSame:
		return decision{act: actLeave, status: report.StatusSkipped, reason: report.ReasonUpToDate}
	case s.state == destMissing && dryRun:
		return decision{act: actLeave, status: report.StatusWouldCopy}
	case s.state == destMissing:
		return decision{act: actCopy, status: report.StatusCopied}
	case !overwrite && s.state == destForeign:
		return decision{act: actRefuse}
	case !overwrite && obj == objectReferrer:
		return decision{act: actLeave, status: report.StatusSkipped, reason: report.ReasonReferrerDiffers}
	case !overwrite:
		return decision{act: actLeave, status: report.StatusDrifted}
	case dryRun:
		return decision{act: actLeave, status: report.StatusWouldOverwrite}
	default:
		return decision{act: actOverwrite, status: report.StatusOverwritten}
	}
}
