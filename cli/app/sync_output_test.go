package app

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

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
			o := newSyncOutput(context.Background(), e, &tt.cmd)
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
