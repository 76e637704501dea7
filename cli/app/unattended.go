package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/metrics"
	"github.com/fluxcd/flux-mirror/core/report"
)

// stepSummaryEnv is where GitHub Actions reads a job's Markdown summary.
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

// unattendedFlags are sync's outputs for runs nobody watches: the Report in
// a file beside the text log, a Markdown summary for the CI job page, and
// Prometheus metrics for a textfile collector or a Pushgateway.
type unattendedFlags struct {
	ReportFile  string `name:"report-file" placeholder:"PATH" predictor:"file" help:"Also write the Report to PATH, as JSON (.json) or YAML (.yaml, .yml), whatever -o prints."`
	SummaryFile string `name:"summary-file" placeholder:"PATH" predictor:"file" help:"Append a Markdown summary of the run to PATH (default: $$GITHUB_STEP_SUMMARY when set)."`
	MetricsFile string `name:"metrics-file" placeholder:"PATH" predictor:"file" help:"Write Prometheus metrics of the run to PATH in the node exporter's textfile format (*.prom)."`
	Pushgateway string `name:"pushgateway" placeholder:"URL" env:"FLUX_MIRROR_PUSHGATEWAY" help:"Push Prometheus metrics of the run to the Pushgateway at URL (job \"flux-mirror\")."`
}

// validate checks the output paths before the sync starts, so a typo does
// not surface only after an hour of copying.
func (f *unattendedFlags) validate() error {
	if f.ReportFile != "" {
		if _, err := reportFormat(f.ReportFile); err != nil {
			return err
		}
	}
	for _, p := range []struct{ flag, path string }{
		{"--report-file", f.ReportFile}, {"--summary-file", f.SummaryFile}, {"--metrics-file", f.MetricsFile},
	} {
		if p.path == "" {
			continue
		}
		dir := filepath.Dir(p.path)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s %s: the directory %s does not exist", p.flag, p.path, dir)
		}
	}
	if f.Pushgateway != "" && !strings.HasPrefix(f.Pushgateway, "http://") && !strings.HasPrefix(f.Pushgateway, "https://") {
		return fmt.Errorf("--pushgateway %q: it must be an http:// or https:// URL", f.Pushgateway)
	}
	return nil
}

// reportFormat is "json" or "yaml" by the file's extension.
func reportFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json", nil
	case ".yaml", ".yml":
		return "yaml", nil
	}
	return "", fmt.Errorf("--report-file %s: name it *.json or *.yaml (*.yml) to choose the format", path)
}

// summaryPath is --summary-file, else $GITHUB_STEP_SUMMARY, else "".
func (f *unattendedFlags) summaryPath(e *env) string {
	if f.SummaryFile != "" {
		return f.SummaryFile
	}
	return e.getenv(stepSummaryEnv)
}

// write writes every output the flags ask for. It tries them all and
// returns their errors together, so a Pushgateway that is down does not
// cost the report file.
func (f *unattendedFlags) write(ctx context.Context, e *env, run metrics.Run) error {
	var errs []error
	if f.ReportFile != "" {
		errs = append(errs, writeReportFile(f.ReportFile, run.Report))
	}
	if p := f.summaryPath(e); p != "" {
		errs = append(errs, appendSummary(p, run.Report))
	}
	if f.MetricsFile != "" {
		errs = append(errs, metrics.WriteTextfile(f.MetricsFile, run))
	}
	if f.Pushgateway != "" {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		client := &http.Client{Transport: http.DefaultTransport}
		grouping, pushed := pushGroup(run) // a shard pushes its own group
		errs = append(errs, metrics.Push(pctx, f.Pushgateway, metrics.DefaultJob, grouping, pushed, client))
	}
	return errors.Join(errs...)
}

// writeReportFile writes rep to path atomically: a temporary file in the
// same directory, renamed over path once complete.
func writeReportFile(path string, rep *report.Report) error {
	format, err := reportFormat(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if format == "json" {
		err = report.WriteJSON(&b, rep)
	} else {
		var y []byte
		if y, err = yaml.Marshal(rep); err == nil {
			b.Write(y)
		}
	}
	if err != nil {
		return fmt.Errorf("encode the report for %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// appendSummary appends the Markdown summary of rep to path, as CI systems
// expect of a step summary file (other steps write to it too).
func appendSummary(path string, rep *report.Report) error {
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, rep); err != nil {
		return fmt.Errorf("render the summary: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("append the summary to %s: %w", path, err)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("append the summary to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append the summary to %s: %w", path, err)
	}
	return nil
}
