package app

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/report"
)

// cancelledError is the error the engine gives a tag or an entry that a
// cancelled sync never finished (mirror's errCancelled).
const cancelledError = "cancelled"

// syncOutput prints each finished tag (text output) as the engine reports it
// and, on an interactive stderr, a live progress line: tags done/total,
// bytes moved and the transfer rate. Once the sync is interrupted, the tags
// and entries it cancels are counted for one closing line instead of a
// line each.
type syncOutput struct {
	ctx      context.Context
	text     bool
	stdout   io.Writer
	stderr   io.Writer
	progress bool

	mu        sync.Mutex
	start     time.Time
	total     int
	done      int
	bytes     int64
	lastDraw  time.Time
	drawn     bool
	stop      chan struct{}
	stopped   chan struct{}
	stopOnce  sync.Once
	drawEvery time.Duration

	notAttempted int // tags cancelled by the interrupt
	notPlanned   int // entries cancelled by the interrupt before their tags were known
}

var _ mirror.Observer = (*syncOutput)(nil)

func newSyncOutput(ctx context.Context, e *env, c *syncCmd) *syncOutput {
	o := &syncOutput{
		ctx:       ctx,
		text:      c.Output == "text",
		stdout:    e.Stdout,
		stderr:    e.Stderr,
		progress:  !c.NoProgress && !c.Verbose && e.IsTerminal(e.Stderr),
		start:     time.Now(),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
		drawEvery: 200 * time.Millisecond,
	}
	if o.progress {
		go o.ticker()
	} else {
		close(o.stopped)
	}
	return o
}

// EntryPlanned adds the entry's tags to the total.
func (o *syncOutput) EntryPlanned(_ int, _ report.Result, tags int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total += tags
	o.drawLocked(false)
}

// EntryFailed prints the entry's plan failure.
func (o *syncOutput) EntryFailed(_ int, res report.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.interrupted(res.Error) {
		o.notPlanned++
		return
	}
	if !o.text {
		return
	}
	o.clearLocked()
	_ = report.WritePlanFailed(o.stdout, res)
	o.drawLocked(true)
}

// TagDone prints the finished tag.
func (o *syncOutput) TagDone(_ int, res report.Result, tag report.Tag) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done++
	if tag.Status == report.StatusFailed && o.interrupted(tag.Error) {
		o.notAttempted++
		o.drawLocked(true)
		return
	}
	if o.text {
		o.clearLocked()
		_ = report.WriteTag(o.stdout, res, tag)
	}
	o.drawLocked(true)
}

// BytesTransferred adds to the byte count.
func (o *syncOutput) BytesTransferred(n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes += n
	o.drawLocked(false)
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

// finish removes the progress line before the summary is printed.
func (o *syncOutput) finish() {
	o.stopOnce.Do(func() {
		if o.progress {
			close(o.stop)
		}
	})
	<-o.stopped
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLocked()
	o.progress = false
}

func (o *syncOutput) ticker() {
	defer close(o.stopped)
	t := time.NewTicker(o.drawEvery)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.mu.Lock()
			o.drawLocked(true)
			o.mu.Unlock()
		}
	}
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
	elapsed := now.Sub(o.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(o.bytes) / elapsed
	}
	fmt.Fprintf(o.stderr, "\r\033[K⟳ %d/%d tags · %s · %s/s · %s", o.done, o.total, humanBytes(float64(o.bytes)), humanBytes(rate), report.FormatDuration(now.Sub(o.start)))
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
