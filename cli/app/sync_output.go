package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/report"
)

// cancelledError is the error the engine gives a tag or an entry that a
// cancelled sync never finished (mirror's errCancelled).
const cancelledError = "cancelled"

// heartbeatEvery is how often a sync without a terminal says what it is
// doing, so a long copy in a CI log or a pod's log is not silent.
const heartbeatEvery = 30 * time.Second

// syncOutput is what a sync shows while it runs:
//   - with text output, each finished tag, a plan failure, a selector that
//     matched nothing or was cut by its limit, and an unreachable host, on
//     stdout (with --quiet, only what changed, drift and failures);
//   - with a structured log (--log-format, --log-level, --verbose), each
//     finished tag as a record at info (drift at warn, failures at error);
//   - on an interactive stderr, a live progress line: the planning phase,
//     then tags done of total, bytes of the total known so far, the rate and
//     an estimate of the time left;
//   - without a terminal, a heartbeat line at most every 30 s while work is
//     in flight: what is copying and how many bytes of how many.
//
// Once the sync is interrupted, the tags and entries it cancels are counted
// for one closing line instead of a line each.
type syncOutput struct {
	ctx       context.Context
	text      bool
	quiet     bool
	stdout    io.Writer
	stderr    io.Writer
	log       *slog.Logger
	logging   bool // a structured log is on: heartbeats are log records
	progress  bool
	heartbeat bool
	entries   int // entries in the config, for the planning phase

	mu           sync.Mutex
	start        time.Time
	planned      int // entries planned or failed
	total        int
	done         int
	bytes        int64
	bytesTotal   int64
	inFlight     []string // tags whose job runs, in start order
	retries      map[string]int64
	lastDraw     time.Time
	drawn        bool
	stop         chan struct{}
	stopped      chan struct{}
	stopOnce     sync.Once
	drawEvery    time.Duration
	beatEvery    time.Duration
	notAttempted int // tags cancelled by the interrupt
	notPlanned   int // entries cancelled by the interrupt before their tags were known
}

var (
	_ mirror.Observer            = (*syncOutput)(nil)
	_ mirror.ActivityObserver    = (*syncOutput)(nil)
	_ mirror.UnreachableObserver = (*syncOutput)(nil)
)

// newSyncOutput returns the output of a sync of entries config entries.
// log is the structured log (discarding when off); logging says whether it
// is on.
func newSyncOutput(ctx context.Context, e *env, c *syncCmd, entries int, log *slog.Logger, logging bool) *syncOutput {
	terminal := e.IsTerminal(e.Stderr)
	o := &syncOutput{
		ctx:       ctx,
		text:      c.Output == "text",
		quiet:     c.Quiet,
		stdout:    e.Stdout,
		stderr:    e.Stderr,
		log:       log,
		logging:   logging,
		progress:  !c.NoProgress && !logging && !c.Quiet && terminal,
		heartbeat: !c.Quiet && !terminal,
		entries:   entries,
		start:     time.Now(),
		retries:   map[string]int64{},
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
		drawEvery: 200 * time.Millisecond,
		beatEvery: heartbeatEvery,
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.progress || o.heartbeat {
		go o.ticker()
	} else {
		close(o.stopped)
	}
	return o
}

// EntryPlanned adds the entry's tags to the total and says what its
// selector did when people need to notice it.
func (o *syncOutput) EntryPlanned(_ int, res report.Result, tags int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.planned++
	o.total += tags
	if s := res.Selection; s != nil && s.Selected == 0 {
		o.log.Warn("selector matched nothing", "source", res.Source, "considered", s.Considered())
	}
	if o.text && (!o.quiet || (res.Selection != nil && res.Selection.Selected == 0)) {
		o.clearLocked()
		_ = report.WriteSelection(o.stdout, res)
	}
	o.drawLocked(false)
}

// EntryFailed prints the entry's plan failure.
func (o *syncOutput) EntryFailed(_ int, res report.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.planned++
	if o.interrupted(res.Error) {
		o.notPlanned++
		return
	}
	o.log.Error("entry failed", "source", res.Source, "destination", res.Destination, "error", res.Error)
	if !o.text {
		return
	}
	o.clearLocked()
	_ = report.WritePlanFailed(o.stdout, res)
	o.drawLocked(true)
}

// TagStarted notes a tag whose job runs, for the heartbeat.
func (o *syncOutput) TagStarted(_ int, res report.Result, tag string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inFlight = append(o.inFlight, res.Source+":"+tag)
}

// TagDone prints the finished tag.
func (o *syncOutput) TagDone(_ int, res report.Result, tag report.Tag) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done++
	o.finishedLocked(res.Source + ":" + tag.Tag)
	if tag.Status == report.StatusFailed && o.interrupted(tag.Error) {
		o.notAttempted++
		o.drawLocked(true)
		return
	}
	o.logTag(res, tag)
	if o.text && !(o.quiet && tag.Status == report.StatusSkipped) {
		o.clearLocked()
		_ = report.WriteTag(o.stdout, res, tag)
	}
	o.drawLocked(true)
}

// finishedLocked drops ref from the tags in flight.
func (o *syncOutput) finishedLocked(ref string) {
	for i, r := range o.inFlight {
		if r == ref {
			o.inFlight = append(o.inFlight[:i], o.inFlight[i+1:]...)
			return
		}
	}
}

// logTag writes a finished tag as one record: info, warn for drift, error
// for a failure.
func (o *syncOutput) logTag(res report.Result, tag report.Tag) {
	level := slog.LevelInfo
	switch tag.Status {
	case report.StatusDrifted:
		level = slog.LevelWarn
	case report.StatusFailed:
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("source", res.Source), slog.String("destination", res.Destination),
		slog.String("tag", tag.Tag), slog.String("status", string(tag.Status)), slog.String("digest", tag.Digest),
	}
	if tag.Reason != "" {
		attrs = append(attrs, slog.String("reason", string(tag.Reason)))
	}
	if tag.Error != "" {
		attrs = append(attrs, slog.String("error", tag.Error))
	}
	o.log.LogAttrs(o.ctx, level, "tag "+string(tag.Status), attrs...)
}

// BytesTransferred adds to the byte count.
func (o *syncOutput) BytesTransferred(n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes += n
	o.drawLocked(false)
}

// BytesPlanned adds to the total of bytes to move.
func (o *syncOutput) BytesPlanned(n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytesTotal += n
}

// RequestRetried counts a retry against its host, for the metrics.
func (o *syncOutput) RequestRetried(host string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries[host]++
}

// HostUnreachable says once that a host was down and what it cost.
func (o *syncOutput) HostUnreachable(err *mirror.UnreachableError, tags, entries int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.text {
		return
	}
	o.clearLocked()
	fmt.Fprintf(o.stdout, "✗ %s\n", err.Summary(tags, entries))
	o.drawLocked(true)
}

// counts returns the bytes moved and the retries per host so far.
func (o *syncOutput) counts() (bytes int64, retries map[string]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bytes, maps.Clone(o.retries)
}

// interrupted reports whether errText is the engine's mark of work that a
// cancelled sync cut short.
func (o *syncOutput) interrupted(errText string) bool {
	return errText == cancelledError && o.ctx.Err() != nil
}

// writeInterrupted prints the one line that sums up what an interrupted sync
// left undone, e.g. "✗ interrupted: 12 tags not attempted", on stderr (the
// report on stdout stays complete and parseable). It prints nothing when the
// sync was not interrupted.
func (o *syncOutput) writeInterrupted() {
	if o.ctx.Err() == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	line := "✗ interrupted: " + plural(o.notAttempted, "tag") + " not attempted"
	switch {
	case o.notPlanned == 1:
		line += ", 1 entry not planned"
	case o.notPlanned > 1:
		line += fmt.Sprintf(", %d entries not planned", o.notPlanned)
	}
	fmt.Fprintln(o.stderr, line)
}

// writeFailures repeats every failure after the summary line, so the end
// of a long log says what went wrong without scrolling back. Work an
// interrupt cut short is left to writeInterrupted's one line.
func (o *syncOutput) writeFailures(rep *report.Report) {
	if !o.text || rep.Report.Summary.Failed == 0 {
		return
	}
	header := false
	say := func(write func() error) {
		if !header {
			fmt.Fprintln(o.stdout, "Failures:")
			header = true
		}
		_ = write()
	}
	for _, res := range rep.Report.Results {
		if res.Status == report.EntryFailed {
			if !o.interrupted(res.Error) {
				say(func() error { return report.WritePlanFailed(o.stdout, res) })
			}
			continue
		}
		for _, t := range res.Tags {
			if t.Status == report.StatusFailed && !o.interrupted(t.Error) {
				say(func() error { return report.WriteTag(o.stdout, res, t) })
			}
		}
	}
}

// finish removes the progress line before the summary is printed.
func (o *syncOutput) finish() {
	o.stopOnce.Do(func() { close(o.stop) })
	<-o.stopped
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLocked()
	o.progress = false
}

func (o *syncOutput) ticker() {
	defer close(o.stopped)
	every := o.beatEvery
	if o.progress {
		every = o.drawEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.mu.Lock()
			if o.progress {
				o.drawLocked(true)
			} else {
				o.beatLocked()
			}
			o.mu.Unlock()
		}
	}
}

// planning reports whether some entries are still being planned.
func (o *syncOutput) planningLocked() bool { return o.planned < o.entries }

// beatLocked writes a heartbeat when work is in flight, e.g.
//
//	… 12/40 tags · copying ghcr.io/acme/app:1.2.0 (+2 more) · 1.2 GiB of 3.4 GiB (35%) · 2m0s
//
// as a line on stderr, or as an info record when a structured log is on.
func (o *syncOutput) beatLocked() {
	elapsed := time.Since(o.start)
	var line string
	switch {
	case o.planningLocked():
		line = fmt.Sprintf("… planning: %d/%d entries · %s so far", o.planned, o.entries, plural(o.total, "tag"))
	case len(o.inFlight) > 0:
		line = fmt.Sprintf("… %d/%d tags · copying %s", o.done, o.total, o.inFlight[0])
		if n := len(o.inFlight) - 1; n > 0 {
			line += fmt.Sprintf(" (+%d more)", n)
		}
		line += " · " + o.bytesLocked()
	default:
		return
	}
	if o.logging {
		o.log.Info("sync progress", "tagsDone", o.done, "tags", o.total, "bytes", o.bytes, "bytesTotal", o.bytesTotal,
			"inFlight", len(o.inFlight), "elapsed", elapsed.Round(time.Second).String())
		return
	}
	fmt.Fprintf(o.stderr, "%s · %s\n", line, report.FormatDuration(elapsed))
}

// bytesLocked renders the bytes moved, of the total known so far, e.g.
// "1.2 GiB of 3.4 GiB (35%)".
func (o *syncOutput) bytesLocked() string {
	if o.bytesTotal <= 0 {
		return humanBytes(float64(o.bytes))
	}
	pct := min(100, o.bytes*100/o.bytesTotal)
	return fmt.Sprintf("%s of %s (%d%%)", humanBytes(float64(o.bytes)), humanBytes(float64(o.bytesTotal)), pct)
}

// drawLocked redraws the progress line, at most every drawEvery unless forced.
func (o *syncOutput) drawLocked(force bool) {
	if !o.progress {
		return
	}
	now := time.Now()
	if !force && now.Sub(o.lastDraw) < o.drawEvery {
		return
	}
	o.lastDraw = now
	elapsed := now.Sub(o.start)
	if o.planningLocked() {
		fmt.Fprintf(o.stderr, "\r\033[K⟳ planning %d/%d entries · %s · %s", o.planned, o.entries, plural(o.total, "tag"), report.FormatDuration(elapsed))
		o.drawn = true
		return
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(o.bytes) / s
	}
	line := fmt.Sprintf("⟳ %d/%d tags · %s · %s/s", o.done, o.total, o.bytesLocked(), humanBytes(rate))
	if left := o.bytesTotal - o.bytes; left > 0 && rate > 0 {
		line += " · ETA " + report.FormatDuration(time.Duration(float64(left)/rate*float64(time.Second)))
	}
	fmt.Fprintf(o.stderr, "\r\033[K%s · %s", line, report.FormatDuration(elapsed))
	o.drawn = true
}

func (o *syncOutput) clearLocked() {
	if o.drawn {
		fmt.Fprint(o.stderr, "\r\033[K")
		o.drawn = false
	}
}

// humanBytes formats a byte count with binary units.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
