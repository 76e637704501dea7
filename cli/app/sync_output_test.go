package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fluxcd/flux-mirror/core/report"
)

func TestSyncOutputProgress(t *testing.T) {
	tests := []struct {
		name         string
		terminal     bool
		cmd          syncCmd
		wantProgress bool
		wantLines    bool
	}{
		{name: "terminal", terminal: true, cmd: syncCmd{Output: "text"}, wantProgress: true, wantLines: true},
		{name: "not a terminal", cmd: syncCmd{Output: "text"}, wantLines: true},
		{name: "--no-progress", terminal: true, cmd: syncCmd{Output: "text", NoProgress: true}, wantLines: true},
		{name: "--verbose", terminal: true, cmd: syncCmd{Output: "text", Verbose: true}, wantLines: true},
		{name: "json", terminal: true, cmd: syncCmd{Output: "json"}, wantProgress: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := &env{Config: Config{Stdout: &stdout, Stderr: &stderr, IsTerminal: func(io.Writer) bool { return tt.terminal }}}
			log, logging := tt.cmd.logger(&stderr)
			o := newSyncOutput(context.Background(), e, &tt.cmd, 0, log, logging)
			res := report.Result{Source: "src.example.com/app", Destination: "dst.example.com/app"}
			o.EntryPlanned(0, res, 2)
			o.BytesTransferred(3 << 20)
			o.TagDone(0, res, report.Tag{Tag: "1.0.0", Status: report.StatusCopied})
			o.TagDone(0, res, report.Tag{Tag: "1.1.0", Status: report.StatusSkipped, Reason: report.ReasonUpToDate})
			o.finish()

			progress := stderr.String()
			if got := strings.Contains(progress, "⟳ 2/2 tags · 3.0 MiB"); got != tt.wantProgress {
				t.Errorf("progress drawn = %v, want %v; stderr %q", got, tt.wantProgress, progress)
			}
			if tt.wantProgress && !strings.HasSuffix(progress, "\r\033[K") {
				t.Errorf("the progress line must be cleared at the end: %q", progress)
			}
			lines := stdout.String()
			if got := strings.Contains(lines, "✓ src.example.com/app:1.0.0 (copied)\n  → dst.example.com/app:1.0.0"); got != tt.wantLines {
				t.Errorf("tag lines printed = %v, want %v; stdout %q", got, tt.wantLines, lines)
			}
			if strings.Contains(lines, "⟳") {
				t.Error("progress must never go to stdout")
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 20: "3.0 MiB", 5 << 40: "5.0 TiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%v) = %q, want %q", in, got, want)
		}
	}
}

// outputFor returns a sync output for cmd writing to buffers, as if stderr
// were a terminal or not, for a config of entries entries.
func outputFor(t *testing.T, cmd syncCmd, terminal bool, entries int) (*syncOutput, *syncBuffer, *syncBuffer) {
	t.Helper()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	e := &env{Config: Config{Stdout: stdout, Stderr: stderr, IsTerminal: func(io.Writer) bool { return terminal }}}
	log, logging := cmd.logger(stderr)
	return newSyncOutput(context.Background(), e, &cmd, entries, log, logging), stdout, stderr
}

// syncBuffer is a bytes.Buffer safe for the output's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	outSrc = report.Result{Source: "src.example.com/app", Destination: "dst.example.com/app",
		Selection: &report.Selection{Listed: 20, Matched: 20, Selected: 5, Limit: 5}}
	outEmpty = report.Result{Source: "src.example.com/none", Destination: "dst.example.com/none",
		Selection: &report.Selection{Listed: 20}}
)

func TestSyncOutputQuiet(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		o, stdout, _ := outputFor(t, syncCmd{Output: "text", Quiet: quiet}, false, 2)
		o.EntryPlanned(0, outSrc, 4)
		o.EntryPlanned(1, outEmpty, 0)
		for _, tag := range []report.Tag{
			{Tag: "1.0.0", Status: report.StatusSkipped, Reason: report.ReasonUpToDate},
			{Tag: "1.1.0", Status: report.StatusCopied},
			{Tag: "1.2.0", Status: report.StatusDrifted},
			{Tag: "1.3.0", Status: report.StatusFailed, Error: "boom"},
		} {
			o.TagDone(0, outSrc, tag)
		}
		o.finish()
		out := stdout.String()
		for want, always := range map[string]bool{
			"app:1.1.0 (copied)":                  true,
			"app:1.2.0 (drifted)":                 true,
			"app:1.3.0 — boom":                    true,
			"none: selector matched 0 of 20 tags": true,
			"app:1.0.0 (skipped)":                 false,
			"selected 5 of 20 matching (limit 5)": false,
		} {
			if got, wantIt := strings.Contains(out, want), always || !quiet; got != wantIt {
				t.Errorf("quiet=%v: %q printed = %v, want %v\n%s", quiet, want, got, wantIt, out)
			}
		}
	}
}

// TestSyncOutputHeartbeat runs the heartbeat in a synctest bubble, whose
// clock only moves when every goroutine waits: the first line comes after
// exactly 30 s of a copy in flight, and says what is copying and how far.
func TestSyncOutputHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, _, stderr := outputFor(t, syncCmd{Output: "json"}, false, 1)
		o.EntryPlanned(0, outSrc, 2)
		o.TagStarted(0, outSrc, "1.0.0")
		o.TagStarted(0, outSrc, "1.1.0")
		o.BytesPlanned(4 << 20)
		o.BytesTransferred(1 << 20)
		time.Sleep(heartbeatEvery - time.Second)
		synctest.Wait()
		if got := stderr.String(); got != "" {
			t.Fatalf("a heartbeat before 30 s: %q", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		want := "… 0/2 tags · copying src.example.com/app:1.0.0 (+1 more) · 1.0 MiB of 4.0 MiB (25%) · 30.0s\n"
		if got := stderr.String(); got != want {
			t.Fatalf("heartbeat = %q, want %q", got, want)
		}
		o.TagDone(0, outSrc, report.Tag{Tag: "1.0.0", Status: report.StatusCopied})
		o.TagDone(0, outSrc, report.Tag{Tag: "1.1.0", Status: report.StatusCopied})
		time.Sleep(heartbeatEvery)
		synctest.Wait()
		if got := strings.Count(stderr.String(), "\n"); got != 1 {
			t.Errorf("a heartbeat with nothing in flight:\n%s", stderr.String())
		}
		o.finish()
	})
}

func TestSyncOutputProgressPhases(t *testing.T) {
	o, _, stderr := outputFor(t, syncCmd{Output: "text"}, true, 2)
	o.mu.Lock()
	o.drawLocked(true)
	o.mu.Unlock()
	o.EntryPlanned(0, outSrc, 3)
	o.mu.Lock()
	o.drawLocked(true)
	o.mu.Unlock()
	o.EntryPlanned(1, outEmpty, 0)
	o.BytesPlanned(8 << 20)
	o.BytesTransferred(2 << 20)
	o.mu.Lock()
	o.drawLocked(true)
	o.mu.Unlock()
	o.finish()
	got := stderr.String()
	for _, want := range []string{"⟳ planning 0/2 entries · 0 tags", "⟳ planning 1/2 entries · 3 tags", "⟳ 0/3 tags · 2.0 MiB of 8.0 MiB (25%) · ", " · ETA "} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%q", want, got)
		}
	}
}

func TestSyncOutputLogsEachTag(t *testing.T) {
	o, stdout, stderr := outputFor(t, syncCmd{Output: "text", LogFormat: "json"}, true, 1)
	o.EntryPlanned(0, outSrc, 2)
	o.TagDone(0, outSrc, report.Tag{Tag: "1.0.0", Status: report.StatusCopied, Digest: "sha256:aa"})
	o.TagDone(0, outSrc, report.Tag{Tag: "1.1.0", Status: report.StatusFailed, Error: "boom"})
	o.finish()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr is not JSON lines (a progress line leaked?): %q", stderr.String())
		}
		records = append(records, rec)
	}
	if len(records) != 2 || records[0]["level"] != "INFO" || records[0]["status"] != "copied" || records[0]["digest"] != "sha256:aa" ||
		records[1]["level"] != "ERROR" || records[1]["error"] != "boom" {
		t.Errorf("records: %v", records)
	}
	if !strings.Contains(stdout.String(), "app:1.0.0 (copied)") {
		t.Errorf("text lines must still print:\n%s", stdout.String())
	}
}

func TestSyncOutputRepeatsFailuresAfterSummary(t *testing.T) {
	o, stdout, _ := outputFor(t, syncCmd{Output: "text"}, false, 2)
	rep := report.New("flux-mirror", time.Now())
	rep.Report.Results = []report.Result{
		{Source: "src.example.com/app", Destination: "dst.example.com/app", Status: report.EntryCompleted, Tags: []report.Tag{
			{Tag: "1.0.0", Status: report.StatusCopied}, {Tag: "1.1.0", Status: report.StatusFailed, Error: "boom"}}},
		{Source: "src.example.com/gone", Destination: "dst.example.com/gone", Status: report.EntryFailed, Error: "NAME_UNKNOWN"},
	}
	rep.Finish(time.Now(), time.Now())
	o.finish()
	o.writeFailures(rep)
	want := "Failures:\n✗ src.example.com/app:1.1.0 — boom\n  → dst.example.com/app:1.1.0\n✗ src.example.com/gone — plan failed: NAME_UNKNOWN\n"
	if got := stdout.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
