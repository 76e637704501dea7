package mirror

import (
	"fmt"

	"github.com/fluxcd/flux-mirror/core/report"
)

// ownTags narrows the whole selection of entry i (selected, in plan order)
// to the names whose destination tag in repository dst Options.Shard owns;
// tagOf maps a selected name to that tag (nil: the name is the tag). It
// remembers the names' positions in the whole selection, for the report
// (report.Tag.Position), and returns the kept names. When the shard owns
// none of them it completes the entry with no tags and returns nil.
//
// The selection itself (sort, limit, fail-on-empty) is computed on the whole
// listing before this, so that every shard agrees on it; referrers and
// cosign tags then follow the tag they hang from. listed, when not nil, is
// the entry's source listing as the cosign-tag lookup sees it: the selected
// names that another shard owns leave it, so that a cosign tag the selector
// also picked is mirrored by its own shard only.
func (r *run) ownTags(i int, dst string, selected []string, tagOf func(string) string, listed map[string]bool) []string {
	sh := r.opts.Shard
	if sh.Whole() {
		return selected
	}
	if err := sh.Validate(); err != nil {
		r.failEntry(i, fmt.Errorf("shard: %w", err))
		return nil
	}
	pos := sh.Filter(dst, selected, tagOf)
	own := make([]string, len(pos))
	mine := make(map[string]bool, len(pos))
	for k, p := range pos {
		own[k] = selected[p]
		mine[own[k]] = true
	}
	if listed != nil {
		for _, t := range selected {
			if !mine[t] {
				delete(listed, t)
			}
		}
	}
	r.mu.Lock()
	if r.positions == nil {
		r.positions = map[int][]int{}
	}
	r.positions[i] = pos
	r.mu.Unlock()
	r.log.Info("shard owns tags", "destination", dst, "shard", sh.String(), "owned", len(own), "selected", len(selected))
	if len(own) == 0 {
		r.entryPlanned(i, 0)
		return nil
	}
	return own
}

// shardReport records the shard in the report body and, in a sharded run,
// each tag's 1-based position in its entry's whole selection. It runs once
// the run is over.
func (r *run) shardReport(b *report.Body) {
	sh := r.opts.Shard
	b.Shard = sh.String()
	if sh.Whole() {
		return
	}
	for i, pos := range r.positions {
		tags := b.Results[i].Tags
		if len(tags) != len(pos) {
			continue // planning failed after the selection: no tags
		}
		for j := range tags {
			tags[j].Position = pos[j] + 1
		}
	}
}
