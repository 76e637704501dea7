package helmrepo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/core/mirror"
)

// DefaultMaxIndexPart bounds the part of an index that is decoded at once:
// one version entry of a chart, or a whole document that cannot be split
// (a small JSON-like YAML document, say). Helm's own entries are a few KiB.
const DefaultMaxIndexPart = 1 << 20

var (
	// errUnsupported reports YAML that is valid but that the streaming
	// reader does not split; no index generator writes it.
	errUnsupported = errors.New("unsupported YAML form in a Helm repository index")
	// errPartTooLarge reports an index part over the part limit.
	errPartTooLarge = errors.New("index part too large")
	// errAliases reports YAML aliases that the reader refuses: to an
	// anchor in another part, or expanding beyond reason (an alias bomb).
	errAliases = errors.New("YAML aliases refused")
)

// chartScan is what one pass over an index yields for one chart.
type chartScan struct {
	// versions of the chart, valid when found.
	versions []mirror.ChartVersion
	found    bool
	// charts counts the chart keys of the index, similar lists the chart
	// names that equal the wanted one but for case (for hints).
	charts  int
	similar []string
	// entries is false when the index has no (or a null) "entries".
	entries bool
}

// reset forgets what an earlier "entries" key held: the last one wins.
func (cs *chartScan) reset(present bool) {
	*cs = chartScan{entries: present}
}

// scanIndex reads an index from r in one pass and keeps the versions of the
// chart name only, with the results parseIndex gives for that chart: memory
// follows the largest part decoded at once (maxPart bytes at most) and the
// wanted chart's versions, not the index's size.
//
// A JSON index (Helm reads both) is read token by token; a YAML index line
// by line, split into its top-level keys, the charts of "entries" and each
// chart's version entries, which are decoded one at a time by the same YAML
// library as parseIndex. Parts that cannot be split (a flow collection, a
// document that is not a block mapping, JSON that is not valid) are decoded
// whole if they fit in maxPart. Aliases to an anchor in another part are
// refused, and so are alias bombs (the YAML library's expansion limit).
func scanIndex(r io.Reader, base *url.URL, name string, maxPart int) (*chartScan, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	kind, err := sniff(br)
	if err != nil {
		return nil, err
	}
	if kind == '{' {
		return scanJSON(br, base, name, maxPart)
	}
	ys := &yamlScan{
		br: br, base: base, name: name, maxPart: maxPart,
		lx: newLexer(), root: -1, charts: -1, items: -1,
		res: &chartScan{},
	}
	return ys.run()
}

// sniff looks at the start of the index without consuming it: it returns
// errEmptyIndex for an index of white space only, '{' for one that starts
// like a JSON object after JSON white space, and 0 otherwise.
func sniff(br *bufio.Reader) (byte, error) {
	for i := 0; ; i++ {
		b, err := br.Peek(i + 1)
		if len(b) <= i {
			if err == io.EOF {
				return 0, errEmptyIndex
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, nil
			}
			return 0, err
		}
		switch c := b[i]; c {
		case ' ', '\t', '\r', '\n':
		case '{':
			return '{', nil
		default:
			return 0, nil
		}
	}
}

// keep records what scanIndex found for one chart entry of the index.
func (cs *chartScan) keep(key, name string) bool {
	cs.charts++
	if key != name && strings.EqualFold(key, name) && len(cs.similar) < 8 {
		cs.similar = append(cs.similar, key)
	}
	return key == name
}

// scanJSON reads a JSON index token by token. JSON that turns out not to be
// valid is read again, whole, by parseIndex (which then tries YAML, as
// Helm does) if it fits in maxPart.
func scanJSON(br *bufio.Reader, base *url.URL, name string, maxPart int) (*chartScan, error) {
	rec := &recorder{r: br, max: maxPart}
	dec := json.NewDecoder(rec)
	res, err := decodeJSON(dec, base, name)
	var serr *json.SyntaxError
	if err == nil || !(errors.As(err, &serr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errTrailingData)) {
		return res, err
	}
	if rec.buf == nil {
		return nil, fmt.Errorf("%w: the index starts like JSON but is not valid JSON (%v), and it is larger than %d bytes, the most read at once as a YAML document", errPartTooLarge, err, maxPart)
	}
	rest, rerr := io.ReadAll(io.LimitReader(br, int64(maxPart-len(rec.buf)+1)))
	if rerr != nil {
		return nil, rerr
	}
	data := append(rec.buf, rest...)
	if len(data) > maxPart {
		return nil, fmt.Errorf("%w: the index starts like JSON but is not valid JSON (%v), and it is larger than %d bytes, the most read at once as a YAML document", errPartTooLarge, err, maxPart)
	}
	return wholeDocument(data, base, name)
}

var errTrailingData = errors.New("data after the top-level JSON value")

// wholeDocument decodes a whole document with parseIndex and returns what
// it holds for the chart name.
func wholeDocument(data []byte, base *url.URL, name string) (*chartScan, error) {
	charts, err := parseIndex(data, base)
	if err != nil {
		return nil, err
	}
	res := &chartScan{entries: true}
	for key, versions := range charts {
		if res.keep(key, name) {
			res.found, res.versions = true, versions
		}
	}
	return res, nil
}

// decodeJSON reads a JSON index object with the semantics of json.Unmarshal
// into indexFile: "entries" matches case-insensitively, a later "entries"
// object adds to the earlier ones (a later key replaces an earlier one), a
// null "entries" clears them.
func decodeJSON(dec *json.Decoder, base *url.URL, name string) (*chartScan, error) {
	res := &chartScan{}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, "entries") {
			if err := skipJSON(dec); err != nil {
				return nil, err
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case nil:
			res.reset(false)
			continue
		case json.Delim('{'):
		default:
			return nil, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: field %q is not a mapping", key)
		}
		res.entries = true
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			chart, _ := tok.(string)
			if !res.keep(chart, name) {
				if err := skipJSON(dec); err != nil {
					return nil, err
				}
				continue
			}
			vb := newVersionBuilder(chart, base)
			if err := decodeJSONVersions(dec, vb); err != nil {
				return nil, err
			}
			res.found, res.versions = true, vb.versions
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errTrailingData
		}
		return nil, err
	}
	return res, nil
}

// decodeJSONVersions decodes a chart's list of entries one entry at a time.
func decodeJSONVersions(dec *json.Decoder, vb *versionBuilder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case nil:
		return nil
	case json.Delim('['):
	default:
		return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: the entries of chart %q are not a list", vb.name)
	}
	for dec.More() {
		var e *indexEntry
		if err := dec.Decode(&e); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: an entry of chart %q: %w", vb.name, decodeError(err, nil))
			}
			return err
		}
		vb.add(e)
	}
	_, err = dec.Token() // ']'
	return err
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: the document is not a mapping")
	}
	return nil
}

// skipJSON reads past one JSON value.
func skipJSON(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// recorder passes reads through and keeps a copy of what was read while
// that stays within max bytes, so that a document found not to be JSON
// can be read again.
type recorder struct {
	r   io.Reader
	max int
	buf []byte // nil once more than max bytes were read
	n   int
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += n
	if r.n <= r.max {
		r.buf = append(r.buf, p[:n]...)
		if r.buf == nil {
			r.buf = []byte{}
		}
	} else {
		r.buf = nil
	}
	return n, err
}

// yamlScan reads a YAML index line by line. Its levels are the indentation
// of the root mapping, of the chart mapping under "entries", and of the
// wanted chart's sequence of entries (-1: not known yet).
type yamlScan struct {
	br      *bufio.Reader
	base    *url.URL
	name    string
	maxPart int
	lx      *lexer
	lineNo  int
	res     *chartScan

	root, charts, items int

	// top is the kind of the current top-level key.
	top topKind
	// pre holds the lines before the first node, to read a document that
	// is not a block mapping again as a whole.
	pre []byte
	// part collects the lines of the part being decoded whole: an inline
	// "entries" value, the wanted chart with an inline value, or one of its
	// entries. Its kind says which.
	part     []byte
	partKind partKind
	// wanted is set while the lines belong to the wanted chart.
	wanted bool
	vb     *versionBuilder
	// keyLine is the line of the "entries" key or of the wanted chart's
	// key, for a value that turns out to need decoding whole.
	keyLine []byte
	// spelling is how the index spells "entries" (JSON field names match
	// case-insensitively).
	spelling string
}

type topKind int

const (
	topOther   topKind = iota // a key other than entries: skipped
	topEntries                // entries as a block mapping of charts
)

type partKind int

const (
	partNone    partKind = iota
	partWhole            // the whole document
	partEntries          // an "entries" key whose value is not a block mapping
	partChart            // the wanted chart, whose value is not a block sequence
	partItem             // one entry of the wanted chart
)

func (ys *yamlScan) run() (*chartScan, error) {
	for {
		line, err := ys.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		stop, err := ys.handle(line)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	if ys.partKind == partWhole {
		return wholeDocument(ys.part, ys.base, ys.name)
	}
	if err := ys.flush(); err != nil {
		return nil, err
	}
	if !ys.res.entries {
		return nil, errNoEntries
	}
	return ys.res, nil
}

// readLine returns the next line with its line break, or io.EOF.
func (ys *yamlScan) readLine() ([]byte, error) {
	line, err := ys.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > ys.maxPart {
				return nil, fmt.Errorf("%w: line %d is longer than %d bytes", errPartTooLarge, ys.lineNo+1, ys.maxPart)
			}
			line, err = ys.br.ReadSlice('\n')
			long = append(long, line...)
		}
		if len(long) > ys.maxPart {
			return nil, fmt.Errorf("%w: line %d is longer than %d bytes", errPartTooLarge, ys.lineNo+1, ys.maxPart)
		}
		line = long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(line) == 0 {
		return nil, io.EOF
	}
	ys.lineNo++
	return line, nil
}

// handle takes one line. stop is true at the end of the first document.
func (ys *yamlScan) handle(line []byte) (stop bool, err error) {
	if ys.partKind == partWhole {
		return false, ys.add(line)
	}
	text := bytes.TrimRight(line, "\r\n")
	info := ys.lx.line(text)
	if info.marker {
		if ys.root < 0 {
			ys.pre = append(ys.pre, line...)
			return false, nil
		}
		return true, nil // yaml decodes the first document only
	}
	if info.skip || (ys.root < 0 && text[info.indent] == '%') {
		if ys.root < 0 {
			ys.pre = append(ys.pre, line...)
			if len(ys.pre) > ys.maxPart {
				return false, fmt.Errorf("%w: the index starts with more than %d bytes of comments", errPartTooLarge, ys.maxPart)
			}
			return false, nil
		}
		return false, ys.add(line)
	}
	if info.tab {
		return false, fmt.Errorf("%w: line %d is indented with a tab", errUnsupported, ys.lineNo)
	}
	if ys.root < 0 {
		if info.dash || info.keyEnd < 0 {
			// Not a block mapping: decode the whole (small) document.
			ys.part, ys.partKind = ys.pre, partWhole
			ys.pre = nil
			return false, ys.add(line)
		}
		ys.root = info.indent
	}
	ind := info.indent
	switch {
	case ind < ys.root:
		return false, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d is indented less than the mapping it is in", ys.lineNo)
	case ind == ys.root:
		return false, ys.topKey(line, text, info)
	}
	if ys.partKind == partEntries {
		return false, ys.add(line)
	}
	if ys.top != topEntries {
		return false, nil
	}
	if ys.charts < 0 {
		if info.dash || info.keyEnd < 0 {
			// Not a block mapping: decode the entries whole.
			ys.top, ys.partKind = topOther, partEntries
			if err := ys.add(ys.keyLine); err != nil {
				return false, err
			}
			return false, ys.add(line)
		}
		ys.charts = ind
	}
	switch {
	case ind < ys.charts:
		return false, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d is indented less than the chart mapping it is in", ys.lineNo)
	case ind == ys.charts && !info.dash:
		if info.keyEnd < 0 {
			return false, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d of \"entries\" is not a chart name", ys.lineNo)
		}
		return false, ys.chartKey(line, text, info)
	}
	if !ys.wanted {
		return false, nil
	}
	if ys.partKind == partChart {
		return false, ys.add(line)
	}
	if ys.items < 0 {
		if !info.dash {
			// Not a block sequence: decode the chart whole.
			ys.partKind = partChart
			if err := ys.add(ys.keyLine); err != nil {
				return false, err
			}
			return false, ys.add(line)
		}
		ys.items = ind
	}
	switch {
	case ind < ys.items:
		return false, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d is indented less than the entries of chart %q", ys.lineNo, ys.name)
	case ind == ys.items:
		if !info.dash {
			return false, fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d in the entries of chart %q is not a list item", ys.lineNo, ys.name)
		}
		if err := ys.flush(); err != nil {
			return false, err
		}
		ys.partKind = partItem
	}
	return false, ys.add(line)
}

// topKey starts a key of the root mapping.
func (ys *yamlScan) topKey(line, text []byte, info lineInfo) error {
	if info.dash || info.keyEnd < 0 {
		return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: line %d is not a key of the root mapping", ys.lineNo)
	}
	if err := ys.flush(); err != nil {
		return err
	}
	ys.endChart()
	ys.charts, ys.top = -1, topOther
	key, err := decodeKey(text[info.indent:info.keyEnd])
	if err != nil {
		return fmt.Errorf("line %d: %w", ys.lineNo, err)
	}
	if !strings.EqualFold(key, "entries") {
		return nil
	}
	if ys.spelling == "" {
		ys.spelling = key
	}
	if key != ys.spelling {
		return fmt.Errorf("%w: line %d spells the key %q again as %q", errUnsupported, ys.lineNo, ys.spelling, key)
	}
	ys.keyLine = append(ys.keyLine[:0], line...)
	if inlineValue(text[info.keyEnd+1:]) {
		ys.partKind = partEntries
		return ys.add(line)
	}
	ys.res.reset(false) // null unless a chart follows
	ys.top = topEntries
	return nil
}

// chartKey starts a chart of the "entries" mapping.
func (ys *yamlScan) chartKey(line, text []byte, info lineInfo) error {
	if err := ys.flush(); err != nil {
		return err
	}
	ys.endChart()
	ys.res.entries = true
	key, err := decodeKey(text[info.indent:info.keyEnd])
	if err != nil {
		return fmt.Errorf("line %d: %w", ys.lineNo, err)
	}
	if !ys.res.keep(key, ys.name) {
		return nil
	}
	ys.wanted, ys.items = true, -1
	ys.keyLine = append(ys.keyLine[:0], line...)
	ys.vb = newVersionBuilder(key, ys.base)
	ys.res.found, ys.res.versions = true, ys.vb.versions // a later key replaces an earlier one
	if inlineValue(text[info.keyEnd+1:]) {
		ys.partKind = partChart
		return ys.add(line)
	}
	return nil
}

// endChart finishes the wanted chart's versions.
func (ys *yamlScan) endChart() {
	if ys.wanted {
		ys.res.versions = ys.vb.versions
	}
	ys.wanted, ys.items = false, -1
}

// add appends a line to the part being collected, if any.
func (ys *yamlScan) add(line []byte) error {
	if ys.partKind == partNone {
		return nil
	}
	if len(ys.part)+len(line) > ys.maxPart {
		what := "an entry of chart " + fmt.Sprintf("%q", ys.name)
		switch ys.partKind {
		case partWhole:
			what = "the document, which is not a block mapping,"
		case partEntries:
			what = "the \"entries\" value, which is not a block mapping,"
		case partChart:
			what = fmt.Sprintf("the entries of chart %q, which are not a block sequence,", ys.name)
		}
		return fmt.Errorf("%w: %s is larger than %d bytes (line %d), the most decoded at once", errPartTooLarge, what, ys.maxPart, ys.lineNo)
	}
	ys.part = append(ys.part, line...)
	return nil
}

// flush decodes the part collected so far.
func (ys *yamlScan) flush() error {
	kind, part := ys.partKind, ys.part
	ys.partKind, ys.part = partNone, ys.part[:0]
	switch kind {
	case partEntries:
		idx, err := decodePart(part, func(b []byte) (*indexFile, error) {
			var idx indexFile
			return &idx, yaml.Unmarshal(b, &idx)
		})
		if err != nil {
			return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: \"entries\" (before line %d): %w", ys.lineNo, err)
		}
		ys.res.reset(idx.Entries != nil)
		for key, entries := range idx.Entries {
			if ys.res.keep(key, ys.name) {
				vb := newVersionBuilder(key, ys.base)
				for _, e := range entries {
					vb.add(e)
				}
				ys.res.found, ys.res.versions = true, vb.versions
			}
		}
	case partChart:
		charts, err := decodePart(part, func(b []byte) (map[string][]*indexEntry, error) {
			var m map[string][]*indexEntry
			return m, yaml.Unmarshal(b, &m)
		})
		if err != nil {
			return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: chart %q (before line %d): %w", ys.name, ys.lineNo, err)
		}
		for _, e := range charts[ys.vb.name] {
			ys.vb.add(e)
		}
		ys.res.versions = ys.vb.versions
	case partItem:
		items, err := decodePart(part, func(b []byte) ([]*indexEntry, error) {
			var items []*indexEntry
			return items, yaml.Unmarshal(b, &items)
		})
		if err != nil {
			return fmt.Errorf("the index is neither a YAML nor a JSON Helm repository index: an entry of chart %q (before line %d): %w", ys.name, ys.lineNo, err)
		}
		for _, e := range items {
			ys.vb.add(e)
		}
		ys.res.versions = ys.vb.versions
	}
	return nil
}

// decodePart decodes one part and names alias errors.
func decodePart[T any](part []byte, decode func([]byte) (T, error)) (T, error) {
	v, err := decode(part)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "unknown anchor"):
			err = fmt.Errorf("%w: an alias refers to an anchor outside its chart entry, which this reader does not follow (no Helm tool writes anchors)", errAliases)
		case strings.Contains(msg, "excessive aliasing"):
			err = fmt.Errorf("%w: the aliases expand beyond the YAML decoder's limit (an alias bomb?)", errAliases)
		default:
			err = decodeError(err, part)
		}
	}
	return v, err
}

// inlineValue reports whether the rest of a key line, after the ':', holds
// a value (not only a comment, an anchor or a tag): then the key's value is
// not a block collection on the following lines.
func inlineValue(rest []byte) bool {
	for len(rest) > 0 {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || rest[0] == '#' {
			return false
		}
		if rest[0] != '&' && rest[0] != '!' {
			return true
		}
		rest = rest[tokenEnd(rest, 0):]
	}
	return false
}

// decodeKey returns a mapping key as the index decoder sees it: a plain
// chart name as is, anything else (quoted, a tag, a YAML 1.1 boolean or
// number) through the YAML library.
func decodeKey(text []byte) (string, error) {
	text = bytes.TrimRight(text, " \t")
	if plainName(text) {
		return string(text), nil
	}
	if string(text) == "<<" || (len(text) > 0 && (text[0] == '*' || text[0] == '[' || text[0] == '{')) {
		return "", fmt.Errorf("%w: the key %q is a merge key, an alias or a collection", errUnsupported, text)
	}
	var m map[string]json.RawMessage
	if err := yaml.Unmarshal(append(append([]byte(nil), text...), ": 0"...), &m); err != nil || len(m) != 1 {
		return "", fmt.Errorf("%w: the key %q", errUnsupported, text)
	}
	for k := range m {
		return k, nil
	}
	return "", nil
}

// plainName reports whether a plain scalar is a string whatever YAML 1.1
// resolves: a letter followed by letters, digits, '-', '_', '.' or '/', and
// not a boolean or null word.
func plainName(b []byte) bool {
	if len(b) == 0 || !(b[0] >= 'a' && b[0] <= 'z' || b[0] >= 'A' && b[0] <= 'Z') {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	switch strings.ToLower(string(b)) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}
