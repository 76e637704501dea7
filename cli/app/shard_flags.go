package app

import (
	"fmt"
	"strconv"

	"github.com/fluxcd/flux-mirror/adapters/metrics"
	"github.com/fluxcd/flux-mirror/core/shard"
)

// jobCompletionIndexEnv is the 0-based index Kubernetes gives each pod of
// an Indexed Job (completionMode: Indexed).
const jobCompletionIndexEnv = "JOB_COMPLETION_INDEX"

// shardFlags split one sync over the pods of a Kubernetes Indexed Job (or
// any N processes): each mirrors the tags its shard owns.
type shardFlags struct {
	Shard  string `name:"shard" placeholder:"I/N" help:"Mirror only shard I (0-based) of N: the selected tags whose destination tag hashes to I, and their referrers. Selection still sees every tag; the report records the shard for report merge."`
	Shards int    `name:"shards" placeholder:"N" help:"Like --shard I/N, with I taken from $$JOB_COMPLETION_INDEX (set in each pod of a Kubernetes Indexed Job)."`
}

// validate checks the flags' syntax and ranges; the index of --shards is
// only known in Run, from the environment.
func (f *shardFlags) validate() error {
	switch {
	case f.Shard != "" && f.Shards != 0:
		return fmt.Errorf("--shard %s and --shards %d both set the shard; use --shard I/N, or --shards N in an Indexed Job", f.Shard, f.Shards)
	case f.Shards < 0 || f.Shards > shard.MaxCount:
		return fmt.Errorf("--shards must be between 1 and %d, got %d", shard.MaxCount, f.Shards)
	case f.Shard != "":
		if _, err := shard.Parse(f.Shard); err != nil {
			return fmt.Errorf("--shard: %w", err)
		}
	}
	return nil
}

// shard returns the shard the flags select, the whole run without them.
func (f *shardFlags) shard(e *env) (shard.Shard, error) {
	switch {
	case f.Shard != "":
		s, err := shard.Parse(f.Shard)
		if err != nil {
			return shard.Shard{}, fmt.Errorf("--shard: %w", err)
		}
		return s, nil
	case f.Shards > 0:
		v, ok := e.LookupEnv(jobCompletionIndexEnv)
		if !ok || v == "" {
			return shard.Shard{}, fmt.Errorf("--shards %d: $%s is not set; run in a Kubernetes Indexed Job (completionMode: Indexed), or give the index with --shard I/%d", f.Shards, jobCompletionIndexEnv, f.Shards)
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i >= f.Shards {
			return shard.Shard{}, fmt.Errorf("--shards %d: $%s is %q; it must be an index between 0 and %d (set completions: %d on the Job)", f.Shards, jobCompletionIndexEnv, v, f.Shards-1, f.Shards)
		}
		return shard.Shard{Index: i, Count: f.Shards}, nil
	}
	return shard.Shard{}, nil
}

// shardLabels are the metric labels of a sharded run: shard="I/N".
func shardLabels(s shard.Shard) map[string]string {
	if s.Whole() {
		return nil
	}
	return map[string]string{"shard": s.String()}
}

// pushGroup returns the Pushgateway grouping key of run and the run to
// push: the shard label moves from the metrics into the grouping key, so
// that each pod of an Indexed Job replaces only its own group.
func pushGroup(run metrics.Run) (map[string]string, metrics.Run) {
	v, ok := run.Labels["shard"]
	if !ok {
		return nil, run
	}
	labels := make(map[string]string, len(run.Labels)-1)
	for k, l := range run.Labels {
		if k != "shard" {
			labels[k] = l
		}
	}
	run.Labels = labels
	return map[string]string{"shard": v}, run
}
