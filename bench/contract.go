package bench

import (
	"fmt"
	"strings"

	"github.com/fluxcd/flux-mirror/bench/counting"
)

// Contract is the most requests of each kind one registry may see during a
// sync. A kind that is absent allows none.
type Contract map[counting.Kind]int

// Check returns an error that lists every kind whose count exceeds the
// contract (every kind Classify returns is in counting.Kinds), or nil. Fewer requests than allowed pass: the contract is an
// upper bound, and the benchmark checks the copy's result separately.
func (c Contract) Check(got counting.Counts) error {
	var over []string
	for _, k := range counting.Kinds {
		if n := got.Requests[k]; n > c[k] {
			over = append(over, fmt.Sprintf("%s %d (contract %d)", k, n, c[k]))
		}
	}
	if len(over) == 0 {
		return nil
	}
	return fmt.Errorf("more requests than the contract: %s", strings.Join(over, ", "))
}

// Workload describes what one sync has to mirror.
type Workload struct {
	// Entries is the number of config entries (repositories).
	Entries int
	// Tags is the number of selected tags across all entries.
	Tags int
	// Children is the number of distinct child manifests of the selected
	// tags that are indexes (one per platform image); 0 for plain images.
	Children int
	// Blobs is the number of distinct blobs (layers and configs) of all
	// selected images; a blob shared by several images counts once.
	Blobs int
	// Mounts is how many times a blob may be mounted at the destination
	// instead of uploaded: a blob needed in several destination
	// repositories of one registry is uploaded once and mounted into the
	// others.
	Mounts int
}

// NoOpContract is the most a sync may ask when every tag is already at the
// destination: on the source, one /v2/ ping, one tag list per entry (one
// page) and one manifest HEAD per tag; on the destination, one ping and one
// manifest HEAD per tag. Nothing is read or written.
func NoOpContract(w Workload) (source, destination Contract) {
	source = Contract{counting.Ping: 1, counting.TagList: w.Entries, counting.ManifestHead: w.Tags}
	destination = Contract{counting.Ping: 1, counting.ManifestHead: w.Tags}
	return source, destination
}

// CopyContract is the most a sync may ask when the destination is empty
// and nothing has referrers: the no-op requests and one destination tag
// list per entry, plus a manifest GET per tag
// and per child manifest and a GET per distinct blob on the source, and on
// the destination a HEAD per child manifest (is it there already?), per
// distinct blob one HEAD, one POST and one PUT (a blob shared by several
// tags is checked and uploaded once), then a manifest PUT per child and per
// tag, and up to Workload.Mounts mounts of blobs this run already put in
// another destination repository. Source and destination are different
// registries, so nothing is mounted from the source.
func CopyContract(w Workload) (source, destination Contract) {
	source, destination = NoOpContract(w)
	// A destination that lacks the first tags it is asked about is
	// listed once per entry, which spares the HEADs of the others.
	destination[counting.TagList] = w.Entries
	source[counting.ManifestGet] = w.Tags + w.Children
	source[counting.BlobGet] = w.Blobs
	destination[counting.ManifestHead] = w.Tags + w.Children
	destination[counting.BlobHead] = w.Blobs
	destination[counting.UploadPost] = w.Blobs
	destination[counting.UploadPut] = w.Blobs
	destination[counting.ManifestPut] = w.Tags + w.Children
	if w.Mounts > 0 {
		destination[counting.Mount] = w.Mounts
	}
	return source, destination
}
