package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core/shard"
)

// Part is one shard's Report and the name it is known by (its file), for
// error messages.
type Part struct {
	Name   string
	Report *Report
}

// Merge combines the Reports of the N shards of one sharded sync (sync
// --shard I/N, each reporting only the tags its shard owns) into the Report
// an unsharded run would have written: the same schema, the entries in
// config order, each entry's tags the union of the shards' tags in plan
// order (Tag.Position), an entry failed when its planning failed in any
// shard (with every shard's distinct error), the selection and summary as
// one run's, and the combined semantic exit code. The merged Report has no
// shard; it starts when the first shard started and lasts until the last
// one finished.
//
// Merge fails, saying which files and how to fix it, when a part has no
// shard, the parts disagree on N, a shard is given twice or is missing, the
// parts ran different configs (their entries differ), or two shards claim
// the same tag of an entry (or the same position in its selection). It
// does not modify the parts.
func Merge(parts []Part) (*Report, error) {
	if len(parts) == 0 {
		return nil, errors.New("no reports to merge: pass the report file of every shard")
	}
	ordered, err := orderParts(parts)
	if err != nil {
		return nil, err
	}
	first := ordered[0]
	out := &Report{APIVersion: APIVersion, Kind: Kind}
	out.Report.Reporter = first.Report.Report.Reporter
	out.Report.Results = make([]Result, len(first.Report.Report.Results))
	start, end := first.Report.Report.Timestamp, time.Time{}
	for _, p := range ordered {
		b := p.Report.Report
		if b.Timestamp.Before(start) {
			start = b.Timestamp
		}
		if e := b.Timestamp.Add(time.Duration(b.DurationMs) * time.Millisecond); e.After(end) {
			end = e
		}
		if len(b.Results) != len(out.Report.Results) {
			return nil, fmt.Errorf("%s has %d entries but %s has %d: the shards ran different configs; run every shard with the same config",
				p.Name, len(b.Results), first.Name, len(out.Report.Results))
		}
	}
	out.Report.Timestamp = start.UTC()
	out.Report.DurationMs = end.Sub(start).Milliseconds()
	for i := range out.Report.Results {
		res, err := mergeEntry(ordered, i)
		if err != nil {
			return nil, err
		}
		out.Report.Results[i] = res
	}
	out.Report.Summary = Summarize(out.Report.Results)
	return out, nil
}

// orderParts checks that parts are the N shards of one run, each once, and
// returns them by shard index.
func orderParts(parts []Part) ([]Part, error) {
	count := 0
	byIndex := map[int]Part{}
	var countFrom string
	for _, p := range parts {
		if p.Report == nil {
			return nil, fmt.Errorf("%s holds no report", p.Name)
		}
		if p.Report.Report.Shard == "" {
			return nil, fmt.Errorf("%s has no shard: merge takes the reports of sync --shard I/N (or --shards N), one per shard", p.Name)
		}
		s, err := shard.Parse(p.Report.Report.Shard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		if count == 0 {
			count, countFrom = s.Count, p.Name
		} else if s.Count != count {
			return nil, fmt.Errorf("%s is shard %s but %s is one of %d shards: merge the reports of one sharded run only", p.Name, s, countFrom, count)
		}
		if prev, dup := byIndex[s.Index]; dup {
			return nil, fmt.Errorf("%s and %s are both shard %s: pass each shard's report once", prev.Name, p.Name, s)
		}
		byIndex[s.Index] = p
	}
	var missing []string
	ordered := make([]Part, 0, count)
	for i := range count {
		p, ok := byIndex[i]
		if !ok {
			missing = append(missing, shard.Shard{Index: i, Count: count}.String())
			continue
		}
		ordered = append(ordered, p)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing the report of shard %s (%d of %d given): wait for every shard, or re-run a missing one with sync --shard I/N",
			strings.Join(missing, ", "), len(ordered), count)
	}
	return ordered, nil
}

// claim is a tag of an entry and the part that reported it.
type claim struct {
	tag  Tag
	part string
}

// mergeEntry merges entry i of the ordered parts.
func mergeEntry(ordered []Part, i int) (Result, error) {
	base := ordered[0].Report.Report.Results[i]
	out := Result{Source: base.Source, Destination: base.Destination, Status: EntryCompleted, Tags: []Tag{}}
	var errs []string
	byTag := map[string]string{}
	byPos := map[int]claim{}
	var tags []claim
	for _, p := range ordered {
		r := p.Report.Report.Results[i]
		if r.Source != base.Source || r.Destination != base.Destination {
			return Result{}, fmt.Errorf("entry %d is %s -> %s in %s but %s -> %s in %s: the shards ran different configs; run every shard with the same config",
				i+1, base.Source, base.Destination, ordered[0].Name, r.Source, r.Destination, p.Name)
		}
		if r.Status == EntryFailed {
			out.Status = EntryFailed
			msg := "shard " + p.Report.Report.Shard + ": " + r.Error
			if !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
		}
		if out.Selection == nil && r.Selection != nil {
			sel := *r.Selection
			out.Selection = &sel
		}
		for _, t := range r.Tags {
			if prev, dup := byTag[t.Tag]; dup {
				return Result{}, fmt.Errorf("tag %s of %s is claimed by both %s and %s: no tag may be written by two shards; were they run with the same shard count and config?",
					t.Tag, out.Destination, prev, p.Name)
			}
			byTag[t.Tag] = p.Name
			if t.Position > 0 {
				if prev, dup := byPos[t.Position]; dup {
					return Result{}, fmt.Errorf("position %d of the selection of %s is tag %s in %s but %s in %s: the source changed between the shards' listings; run the shards again",
						t.Position, out.Destination, prev.tag.Tag, prev.part, t.Tag, p.Name)
				}
				byPos[t.Position] = claim{tag: t, part: p.Name}
			}
			tags = append(tags, claim{tag: t, part: p.Name})
		}
	}
	// Plan order; tags without a position (a report of an older version)
	// keep their shard order after the others.
	slices.SortStableFunc(tags, func(a, b claim) int {
		pa, pb := a.tag.Position, b.tag.Position
		switch {
		case pa == pb:
			return 0
		case pa == 0:
			return 1
		case pb == 0:
			return -1
		}
		return pa - pb
	})
	for _, c := range tags {
		t := c.tag
		t.Position = 0
		out.Tags = append(out.Tags, t)
	}
	if out.Status == EntryFailed {
		out.Error = strings.Join(errs, "; ")
	}
	return out, nil
}
