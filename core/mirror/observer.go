package mirror

import "github.com/fluxcd/flux-mirror/core/report"

// Observer is told about a sync's progress while it runs, for a progress
// display or per-tag output. The Engine serializes the calls (never two at
// once), so an implementation needs no locking of its own, but it must
// return quickly: the job that reports waits for it.
//
// entry is the index of the entry in the Report's results: artifacts first,
// then charts, in config order. res carries the entry's Source and
// Destination (its Tags are not filled in yet).
type Observer interface {
	// EntryPlanned reports that an entry was planned and that tags of its
	// tags will be reported by TagDone, for a "done/total" display.
	EntryPlanned(entry int, res report.Result, tags int)
	// EntryFailed reports that an entry's planning failed (res.Error says
	// why); none of its tags will be reported.
	EntryFailed(entry int, res report.Result)
	// TagDone reports one finished tag (or chart version).
	TagDone(entry int, res report.Result, tag report.Tag)
	// BytesTransferred reports n more blob bytes read from a source and
	// sent to a destination.
	BytesTransferred(n int64)
}

// ObserverFuncs adapts functions to an Observer; nil fields are no-ops.
type ObserverFuncs struct {
	OnEntryPlanned     func(entry int, res report.Result, tags int)
	OnEntryFailed      func(entry int, res report.Result)
	OnTagDone          func(entry int, res report.Result, tag report.Tag)
	OnBytesTransferred func(n int64)
}

// EntryPlanned calls OnEntryPlanned if set.
func (f ObserverFuncs) EntryPlanned(entry int, res report.Result, tags int) {
	if f.OnEntryPlanned != nil {
		f.OnEntryPlanned(entry, res, tags)
	}
}

// EntryFailed calls OnEntryFailed if set.
func (f ObserverFuncs) EntryFailed(entry int, res report.Result) {
	if f.OnEntryFailed != nil {
		f.OnEntryFailed(entry, res)
	}
}

// TagDone calls OnTagDone if set.
func (f ObserverFuncs) TagDone(entry int, res report.Result, tag report.Tag) {
	if f.OnTagDone != nil {
		f.OnTagDone(entry, res, tag)
	}
}

// BytesTransferred calls OnBytesTransferred if set.
func (f ObserverFuncs) BytesTransferred(n int64) {
	if f.OnBytesTransferred != nil {
		f.OnBytesTransferred(n)
	}
}

// ActivityObserver is an optional extension of Observer, found by type
// assertion, for live displays and run metrics: it hears when a tag's job
// starts, how many blob bytes the run has decided to transfer (so a display
// can show a total and a percentage), and each request retried. The calls
// are serialized with Observer's.
type ActivityObserver interface {
	// TagStarted reports that the job of one tag (or chart version) of
	// entry starts; TagDone reports its end.
	TagStarted(entry int, res report.Result, tag string)
	// BytesPlanned reports n more blob bytes that will be transferred (a
	// blob missing at its destination, counted once however often its
	// transfer is retried).
	BytesPlanned(n int64)
	// RequestRetried reports one request to host tried again after a
	// temporary failure.
	RequestRetried(host string)
}
