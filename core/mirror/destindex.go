package mirror

import (
	"context"
	"errors"
	"sync"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// A destination that lacks most of an entry's tags (a first mirror, a new
// repository) answers most manifest HEADs with 404. Once planning has seen
// destListAfterMisses of them, it lists the destination's tags once and
// uses the list for the entry's remaining tags: a tag absent from it is
// missing without a HEAD, a tag in it is HEADed as before. A no-op re-run
// sees no 404 and never lists, so it keeps its one HEAD per tag. A
// destination repository that does not exist yet (its tag list is 404)
// holds no blobs either, so its blobs are uploaded without a HEAD each.
const (
	destListAfterMisses = 4
	// destListMinTags: entries with fewer selected tags keep the HEADs.
	destListMinTags = 16
)

// destIndex is one entry's view of its destination tags.
type destIndex struct {
	mu      sync.Mutex
	misses  int
	state   destIndexState
	tags    map[string]bool
	done    chan struct{} // closed when listing ends
	enabled bool
}

type destIndexState int

const (
	destUnlisted destIndexState = iota
	destListing
	destListed
	destListFailed // keep HEADing
)

func newDestIndex(selected int) *destIndex {
	return &destIndex{enabled: selected >= destListMinTags, done: make(chan struct{})}
}

// lookup tells whether the list decides about tag: known is false when
// the caller must HEAD; otherwise missing says whether the tag is absent.
// While the list is being fetched, lookup waits for it.
func (d *destIndex) lookup(ctx context.Context, tag string) (known, missing bool) {
	d.mu.Lock()
	state := d.state
	d.mu.Unlock()
	if state == destListing {
		select {
		case <-d.done:
		case <-ctx.Done():
			return false, false
		}
		d.mu.Lock()
		state = d.state
		d.mu.Unlock()
	}
	if state != destListed {
		return false, false
	}
	return !d.tags[tag], !d.tags[tag]
}

// miss records a 404 and reports whether the caller should now list the
// destination's tags (it then calls listed).
func (d *destIndex) miss() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.misses++
	if !d.enabled || d.state != destUnlisted || d.misses < destListAfterMisses {
		return false
	}
	d.state = destListing
	return true
}

// listed stores the list's outcome and wakes the lookups waiting for it.
func (d *destIndex) listed(tags []string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		d.tags = make(map[string]bool, len(tags))
		for _, t := range tags {
			d.tags[t] = true
		}
		d.state = destListed
	} else {
		d.state = destListFailed
	}
	close(d.done)
}

// listDestination lists the destination tags of ent once for its index.
// A repository that does not exist has no tags (and no blobs: its blobs
// are uploaded without a check each). Any other failure keeps the HEADs.
func (r *run) listDestination(ctx context.Context, ent *artifactEntry) {
	tags, err := r.reg.ListTags(ctx, ent.dst)
	switch {
	case err == nil:
		ent.dstIndex.listed(tags, true)
	case errors.Is(err, core.ErrNotFound):
		r.markNewRepo(ent.dst)
		ent.dstIndex.listed(nil, true)
	default:
		r.log.Debug("destination tags not listed; checking each tag", "repo", ent.dst.String(), "error", err)
		ent.dstIndex.listed(nil, false)
		return
	}
	r.log.Debug("destination tags listed", "repo", ent.dst.String(), "tags", len(tags))
}

// markNewRepo records a destination repository this run found absent.
func (r *run) markNewRepo(repo oci.Repository) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.newRepos[repo.String()] = true
}

// isNewRepo reports a destination repository this run found absent: it
// holds only what this run put there.
func (r *run) isNewRepo(repo oci.Repository) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newRepos[repo.String()]
}
