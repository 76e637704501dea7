package helmrepo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/core/mirror"
)

// indexFile is the part of a Helm repository index that a mirror needs.
// Unknown fields are ignored, as Helm ignores fields it does not know.
type indexFile struct {
	APIVersion string                   `json:"apiVersion"`
	Entries    map[string][]*indexEntry `json:"entries"`
}

// indexEntry is one chart version of an index.
type indexEntry struct {
	// Version stays raw JSON: YAML would turn an unquoted `version: 1.10`
	// into the number 1.1 and a string field would silently receive "1.1".
	// Only string versions are kept (Helm refuses the whole index instead).
	Version json.RawMessage `json:"version"`
	URLs    []string        `json:"urls"`
	Digest  string          `json:"digest"`
}

var (
	errEmptyIndex = errors.New("the index is empty")
	errNoEntries  = errors.New(`the index has no "entries": it is not a Helm repository index`)
)

// parseIndex decodes a whole repository index held in memory, YAML or JSON
// as Helm accepts both, into the versions of each chart (see
// versionBuilder). It is the reference the streaming scanIndex agrees with,
// and scanIndex's fallback for documents it cannot split into small parts.
func parseIndex(data []byte, base *url.URL) (map[string][]mirror.ChartVersion, error) {
	idx, err := decodeIndex(data)
	if err != nil {
		return nil, err
	}
	if idx.Entries == nil {
		return nil, errNoEntries
	}
	charts := make(map[string][]mirror.ChartVersion, len(idx.Entries))
	for name, entries := range idx.Entries {
		vb := newVersionBuilder(name, base)
		for _, e := range entries {
			vb.add(e)
		}
		charts[name] = vb.versions
	}
	return charts, nil
}

// decodeIndex decodes a whole index document: JSON when it is valid JSON,
// else YAML.
func decodeIndex(data []byte) (*indexFile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errEmptyIndex
	}
	var idx indexFile
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, &idx)
	} else {
		err = yaml.Unmarshal(data, &idx)
	}
	if err != nil {
		return nil, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: %w", decodeError(err, data))
	}
	return &idx, nil
}

// versionBuilder turns the index entries of one chart, in index order, into
// its versions. Versions keep their raw strings (e.g. "1.2.3+build.1");
// URLs are resolved against base as Helm resolves them; digests are
// lower-case hex without an algorithm prefix. Empty entries, entries
// without a version and entries whose version is not a string (an unquoted
// number) are skipped, and a version listed twice keeps its first entry.
type versionBuilder struct {
	name     string
	base     *url.URL
	seen     map[string]bool
	versions []mirror.ChartVersion
}

func newVersionBuilder(name string, base *url.URL) *versionBuilder {
	return &versionBuilder{name: name, base: base, seen: map[string]bool{}, versions: []mirror.ChartVersion{}}
}

// add appends the version of one index entry.
func (vb *versionBuilder) add(e *indexEntry) {
	if e == nil {
		return
	}
	version, ok := stringValue(e.Version)
	if !ok || version == "" || vb.seen[version] {
		return
	}
	vb.seen[version] = true
	urls := make([]string, 0, len(e.URLs))
	for _, u := range e.URLs {
		if u == "" {
			continue
		}
		if resolved, err := resolveReference(vb.base, u); err == nil {
			u = resolved
		}
		// An unparsable URL stays as is, so that downloading it fails
		// with a message that names it.
		urls = append(urls, u)
	}
	vb.versions = append(vb.versions, mirror.ChartVersion{
		Name:    vb.name,
		Version: version,
		URLs:    urls,
		Digest:  normalizeDigest(e.Digest),
	})
}

// stringValue decodes a raw JSON value that must be a string.
func stringValue(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// normalizeDigest turns an index digest into lower-case hex: Helm writes
// bare hex, some generators prefix "sha256:".
func normalizeDigest(d string) string {
	d = strings.TrimSpace(d)
	if alg, hex, ok := strings.Cut(d, ":"); ok && strings.EqualFold(alg, "sha256") {
		d = hex
	}
	return strings.ToLower(d)
}

// validDigest reports whether d is 64 lower-case hex digits.
func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for _, c := range d {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// decodeError rewrites a decoding error in the index's terms, without the
// Go type names of encoding/json's messages.
func decodeError(err error, data []byte) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	if te.Field == "" {
		return fmt.Errorf("the document is %s, not a mapping (it starts with %s)", article(te.Value), preview(data))
	}
	return fmt.Errorf("field %q is %s, which a Helm index does not allow there", te.Field, article(te.Value))
}

// preview quotes the start of data for an error message.
func preview(data []byte) string {
	data = bytes.TrimSpace(data)
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	const max = 40
	if len(data) > max {
		return fmt.Sprintf("%q...", data[:max])
	}
	return fmt.Sprintf("%q", data)
}

// article prefixes a JSON type name with "a" or "an".
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
