package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/core/report"
)

// reportCmd works on Reports that sync wrote.
type reportCmd struct {
	Merge reportMergeCmd `cmd:"" help:"Merge the reports of the shards of one sync (sync --shard I/N --report-file …) into one Report."`
}

// reportMergeCmd is `report merge`.
type reportMergeCmd struct {
	Reports       []string `arg:"" name:"report" placeholder:"FILE" predictor:"file" help:"The report file (JSON or YAML) of every shard, in any order."`
	Output        string   `short:"o" enum:"text,yaml,json" default:"text" help:"Output format: text for people (every tag, then the summary); yaml or json print the merged Report."`
	DriftExitCode int      `default:"2" help:"Exit code when drift is found and nothing failed (0..255)."`
}

func (c *reportMergeCmd) Help() string {
	return `Each pod of a sharded sync (an Indexed Job) writes the report of its shard with --report-file. This merges
them into the Report one unsharded run would have written: the same schema, entries in config order, each entry's
tags in plan order, an entry failed if its planning failed in any shard, and the summary recomputed.

It fails when a shard's report is missing or given twice, when the reports come from different shard counts or
configs, or when two shards claim the same tag. Exit codes as for sync: 0, 1 on any failure, 2 (or
--drift-exit-code) on drift.`
}

// Validate checks the flags' ranges before anything runs.
func (c *reportMergeCmd) Validate() error {
	if c.DriftExitCode < 0 || c.DriftExitCode > 255 {
		return fmt.Errorf("--drift-exit-code must be between 0 and 255, got %d", c.DriftExitCode)
	}
	return nil
}

func (c *reportMergeCmd) Run(_ context.Context, e *env) error {
	parts := make([]report.Part, 0, len(c.Reports))
	for _, path := range c.Reports {
		rep, err := readReport(path)
		if err != nil {
			return err
		}
		parts = append(parts, report.Part{Name: path, Report: rep})
	}
	merged, err := report.Merge(parts)
	if err != nil {
		return fmt.Errorf("merge reports: %w", err)
	}
	switch c.Output {
	case "json":
		err = report.WriteJSON(e.Stdout, merged)
	case "yaml":
		var b []byte
		if b, err = yaml.Marshal(merged); err == nil {
			_, err = e.Stdout.Write(b)
		}
	default:
		err = report.WriteText(e.Stdout, merged)
	}
	if err != nil {
		return fmt.Errorf("write the merged report: %w", err)
	}
	if code := merged.ExitCode(c.DriftExitCode); code != 0 {
		return silentExit(code)
	}
	return nil
}

// readReport reads a Report written by sync (-o json|yaml or
// --report-file): JSON, or YAML converted to JSON, decoded strictly.
func readReport(path string) (*report.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return nil, fmt.Errorf("report %s is neither JSON nor YAML: %w", path, err)
		}
	}
	var head struct{ APIVersion, Kind string }
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("report %s is not a flux-mirror Report: %w", path, err)
	}
	if head.APIVersion != report.APIVersion || head.Kind != report.Kind {
		return nil, fmt.Errorf("report %s is %s %s, not a %s %s written by flux-mirror sync",
			path, noneIfEmpty(head.APIVersion), noneIfEmpty(head.Kind), report.APIVersion, report.Kind)
	}
	var rep report.Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("report %s is not a flux-mirror Report: %w", path, err)
	}
	return &rep, nil
}

func noneIfEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}
