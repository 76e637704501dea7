package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxCount is the most shards a run may be split into. It is far above any
// useful parallelism and keeps "I/N" strings short and bounded.
const MaxCount = 10000

// Shard is one part of a run split into Count parts: the part with the
// 0-based Index (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX). The zero
// value is the whole, unsharded run: it owns every tag.
type Shard struct {
	Index int
	Count int
}

// Whole reports whether s is the zero value, an unsharded run.
func (s Shard) Whole() bool { return s == Shard{} }

// String returns "I/N", or "" for the whole run.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// Validate checks that s is the whole run or 0 <= Index < Count <= MaxCount.
func (s Shard) Validate() error {
	if s.Whole() {
		return nil
	}
	if s.Count < 1 || s.Count > MaxCount {
		return fmt.Errorf("shard count %d is out of range: it must be between 1 and %d", s.Count, MaxCount)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard index %d is out of range: with %d shards it must be between 0 and %d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// ErrSyntax is returned (wrapped) by Parse for a string that is not "I/N".
var ErrSyntax = errors.New(`a shard is written "I/N": a 0-based index, a slash and the number of shards, e.g. "0/4"`)

// Parse reads "I/N" (decimal, no sign or spaces) and validates it. The
// empty string is an error: the whole run has no shard to parse.
func Parse(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("parse shard %q: %w", s, ErrSyntax)
	}
	i, err1 := parseCount(is)
	n, err2 := parseCount(ns)
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("parse shard %q: %w", s, ErrSyntax)
	}
	sh := Shard{Index: i, Count: n}
	if n == 0 {
		return Shard{}, fmt.Errorf("parse shard %q: the number of shards must be at least 1", s)
	}
	if err := sh.Validate(); err != nil {
		return Shard{}, fmt.Errorf("parse shard %q: %w", s, err)
	}
	return sh, nil
}

// parseCount reads a small non-negative decimal without sign, spaces or
// superfluous leading zeros.
func parseCount(s string) (int, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, ErrSyntax
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, ErrSyntax
		}
	}
	return strconv.Atoi(s)
}

// Of returns the shard, in [0, n), that owns tag of the destination
// repository repo (host/path, as the run normalizes it) when a run is split
// into n shards. n below 1 counts as 1.
func Of(repo, tag string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(key(repo, tag) % uint64(n))
}

// key is the tag's stable 64-bit hash: the first 8 bytes, big-endian, of
// sha256(repo ":" tag). A tag never contains ':', so distinct (repo, tag)
// pairs hash distinct strings.
func key(repo, tag string) uint64 {
	h := sha256.New()
	h.Write([]byte(repo))
	h.Write([]byte{':'})
	h.Write([]byte(tag))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// Owns reports whether s owns tag of the destination repository repo. The
// whole run owns every tag.
func (s Shard) Owns(repo, tag string) bool {
	if s.Whole() {
		return true
	}
	return Of(repo, tag, s.Count) == s.Index
}

// Filter returns the positions, in tags, of the tags of repo that s owns,
// in their order. tagOf maps an element of tags to the destination tag it is
// stored under (nil: the element is the tag).
func (s Shard) Filter(repo string, tags []string, tagOf func(string) string) []int {
	own := make([]int, 0, len(tags))
	for i, t := range tags {
		if tagOf != nil {
			t = tagOf(t)
		}
		if s.Owns(repo, t) {
			own = append(own, i)
		}
	}
	return own
}
