package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
	"github.com/fluxcd/flux-mirror/adapters/metrics"
	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/report"
)

type syncCmd struct {
	Config        string `arg:"" optional:"" name:"config" help:"Config file, or - for stdin (default $$FLUX_MIRROR_CONFIG)." predictor:"file"`
	Output        string `short:"o" enum:"text,yaml,json" default:"text" help:"Output format: text for people; yaml or json print the Report on stdout."`
	Concurrency   int    `default:"4" help:"Large blob transfers across all entries, in copy jobs (N > 0): at most 4xN blobs over 256 KiB move at once; checks, manifests and small blobs are bounded per host by --max-per-host."`
	MaxPerHost    int    `name:"max-per-host" default:"32" help:"Most requests in flight to one registry or Helm repository host (N > 0): each host's limit starts at 16 (or N if smaller), grows while it answers fast, halves on 429/503 or rising latency, and waits out Retry-After."`
	Retries       int    `default:"3" help:"Retry attempts per job (N >= 0), within the job's --timeout: the whole job again, for what retrying its failed request alone (--retry-window) did not fix."`
	Overwrite     bool   `help:"Force overwrite: true on every entry: replace destination tags whose digest differs from the source."`
	DriftExitCode int    `default:"2" help:"Exit code when drift is found and nothing failed (0..255)."`
	DryRun        bool   `help:"Plan and compare, write nothing; report would-copy and would-overwrite."`
	FailOnEmpty   bool   `name:"fail-on-empty" help:"Fail an entry (exit 1) whose selector selects no tag, instead of completing it with a warning."`
	Verbose       bool   `help:"Structured diagnostic log on stderr: every blob pushed or found, manifest digests, retries, referrer fallback-tag updates. No progress display. Same as --log-level debug."`
	LogFormat     string `name:"log-format" enum:",text,json" default:"" help:"Write a structured log to stderr, as text (key=value) or json: a record per finished tag at info (drift at warn, failures at error), request detail at debug."`
	LogLevel      string `name:"log-level" enum:",debug,info,warn,error" default:"" help:"Level of the structured log (default: info with --log-format, debug with --verbose)."`
	Quiet         bool   `short:"q" help:"Print only what changed, drift and failures, then the summary: no up-to-date tags, limit notes, progress or heartbeat."`
	NoProgress    bool   `help:"No live progress display; the per-tag lines and the summary still print."`
	Insecure      bool   `help:"Allow plain HTTP and skip TLS verification for every registry and Helm repository (development only)."`
	TrustedRoot   string `name:"trusted-root" env:"FLUX_MIRROR_TRUSTED_ROOT" type:"path" predictor:"file" help:"Sigstore trusted_root.json to verify cosign signatures against, instead of the public-good root fetched through TUF (air-gapped mirrors, private Sigstore)."`

	IdleTimeout time.Duration `name:"idle-timeout" default:"60s" help:"Fail a registry request when no byte moves for this long (no answer, a stalled download, an upload the registry stopped reading), so that it is retried on a fresh connection; every byte resets it, so slow transfers that keep moving are never cut (DURATION > 0)."`
	// Request-level retries; --retries above is the job level.
	unattendedFlags `embed:""`
	shardFlags      `embed:""`

	RetryWindow time.Duration `name:"retry-window" default:"60s" help:"How long one failed request (a tag list, a manifest or blob request, one blob transfer) is retried from its first failure, with backoff; 0 turns that off. A registry whose request fails for the whole window while nothing else on it answers is treated as unreachable for the rest of the run."`
}

func (c *syncCmd) Help() string {
	return `Plans every entry of the config (list the source tags or read the chart index, select, resolve digests, verify
signatures, snapshot referrers), then copies: --concurrency bounds the large blob streams, --max-per-host the
requests to each host. A destination tag that differs from the source is reported as drift and left alone unless
overwrite is set.

Exit codes: 0 everything copied or skipped as expected; 1 a tag or entry failed, or the config, flags or
credentials could not be loaded; 2 (or --drift-exit-code) drift and no failure; 130 or 143 when interrupted by
SIGINT or SIGTERM (nothing half-written, the report still printed, one line counting the tags not attempted).`
}

// Validate checks the flags' ranges before anything runs.
func (c *syncCmd) Validate() error {
	switch {
	case c.Concurrency <= 0:
		return fmt.Errorf("--concurrency must be greater than 0, got %d", c.Concurrency)
	case c.MaxPerHost <= 0:
		return fmt.Errorf("--max-per-host must be greater than 0, got %d", c.MaxPerHost)
	case c.Retries < 0:
		return fmt.Errorf("--retries must be 0 or more, got %d", c.Retries)
	case c.IdleTimeout <= 0:
		return fmt.Errorf("--idle-timeout must be greater than 0, got %s", c.IdleTimeout)
	case c.RetryWindow < 0:
		return fmt.Errorf("--retry-window must be 0 or more, got %s", c.RetryWindow)
	case c.DriftExitCode < 0 || c.DriftExitCode > 255:
		return fmt.Errorf("--drift-exit-code must be between 0 and 255, got %d", c.DriftExitCode)
	case c.Quiet && c.Verbose:
		return fmt.Errorf("--quiet and --verbose contradict each other; choose one")
	}
	if err := c.shardFlags.validate(); err != nil {
		return err
	}
	return c.unattendedFlags.validate()
}

// logger returns the structured log the flags ask for on w, and whether it
// is on: --verbose is debug in text; --log-format alone is info; nothing
// asked discards it.
func (c *syncCmd) logger(w io.Writer) (*slog.Logger, bool) {
	level := c.LogLevel
	if c.Verbose && level == "" {
		level = "debug"
	}
	if level == "" && c.LogFormat != "" {
		level = "info"
	}
	if level == "" {
		return slog.New(slog.DiscardHandler), false
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // the enum admits only valid levels
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), true
	}
	return slog.New(slog.NewTextHandler(w, opts)), true
}

func (c *syncCmd) Run(ctx context.Context, e *env, g *Globals) error {
	path, err := e.resolveConfigPath(c.Config, "")
	if err != nil {
		return err
	}
	sh, err := c.shard(e)
	if err != nil {
		return err
	}
	log, logging := c.logger(e.Stderr)
	// The same load as validate's (openConfig): hosts are set up offline,
	// and contacted only when an entry uses them.
	loaded, err := e.openConfig(ctx, path, g, config.PurposeSync, log)
	if err != nil {
		return err
	}
	defer loaded.close()
	cfg := loaded.cfg
	reg, err := registry.New(registry.Options{
		Hosts:       loaded.hosts,
		Insecure:    c.Insecure,
		Logger:      log,
		UserAgent:   userAgent(),
		IdleTimeout: c.IdleTimeout,
	})
	if err != nil {
		return err
	}
	var engineDeps mirror.Deps
	if len(cfg.Charts) > 0 {
		charts, err := helmrepo.New(helmrepo.Options{Insecure: c.Insecure, Logger: log, UserAgent: userAgent()})
		if err != nil {
			return err
		}
		engineDeps.Charts = charts
	}
	if needsVerifier(cfg) {
		// loadConfig refused a verify block in a build without the part.
		v, err := e.Verify(reg, VerifyOptions{TrustedRoot: c.TrustedRoot, Logger: log})
		if err != nil {
			return err
		}
		engineDeps.Verifier = v
	}

	in := cfg.MirrorInput()
	out := newSyncOutput(ctx, e, c, len(in.Artifacts)+len(in.Charts), log, logging)
	engine := mirror.New(reg, mirror.Options{
		Concurrency: c.Concurrency,
		MaxPerHost:  c.MaxPerHost,
		Retries:     c.Retries,
		RetryWindow: requestRetryWindow(c.RetryWindow),
		Timeout:     g.timeoutOr(mirror.DefaultTimeout),
		Overwrite:   c.Overwrite,
		DryRun:      c.DryRun,
		FailOnEmpty: c.FailOnEmpty,
		Logger:      log,
		Observer:    out,
		Reporter:    "flux-mirror/" + Version(),
		Shard:       sh,
	}, engineDeps)
	rep := engine.Run(ctx, in)
	out.finish()
	if err := c.writeReport(e.Stdout, rep); err != nil {
		return err
	}
	out.writeFailures(rep)
	out.writeInterrupted()
	bytes, retries := out.counts()
	outputs := c.unattendedFlags.write(ctx, e, metrics.Run{Report: rep, BytesCopied: bytes, Hosts: hostStats(reg.Stats(), retries), Labels: shardLabels(sh)})
	code := rep.ExitCode(c.DriftExitCode)
	switch {
	case outputs != nil && code == 0:
		return outputs
	case outputs != nil:
		fmt.Fprintf(e.Stderr, "✗ %v\n", outputs)
	}
	if code != 0 {
		return silentExit(code)
	}
	return nil
}

// hostStats merges the registry adapter's request counts with the retries
// the engine reported per host.
func hostStats(wire map[string]registry.HostStats, retries map[string]int64) map[string]metrics.HostStats {
	out := make(map[string]metrics.HostStats, len(wire))
	for host, w := range wire {
		out[host] = metrics.HostStats{Requests: w.Requests, Throttled: w.Throttled, Retries: retries[host]}
	}
	for host, n := range retries {
		if _, ok := out[host]; !ok {
			out[host] = metrics.HostStats{Retries: n}
		}
	}
	return out
}

func needsVerifier(cfg *config.Config) bool {
	for _, a := range cfg.Artifacts {
		if a.Verify != nil {
			return true
		}
	}
	return false
}

// writeReport prints the summary (text) or the whole Report (yaml, json).
func (c *syncCmd) writeReport(w io.Writer, rep *report.Report) error {
	switch c.Output {
	case "json":
		return report.WriteJSON(w, rep)
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return fmt.Errorf("encode the report: %w", err)
		}
		_, err = w.Write(b)
		return err
	default:
		return report.WriteSummary(w, rep.Report.Summary, rep.Duration())
	}
}

// timeoutOr returns --timeout, or def when it was not given.
func (g *Globals) timeoutOr(def time.Duration) time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return def
}

// requestRetryWindow maps --retry-window to mirror.Options.RetryWindow,
// where a negative window (not zero, the default) turns request retries off.
func requestRetryWindow(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
