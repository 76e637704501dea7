package helmrepo

// lexer follows the YAML constructs that span lines, so that a line-based
// reader knows which lines start a new node of a block collection and which
// continue a scalar or a flow collection. It does not build values: the
// parts it delimits are decoded by the YAML library.
type lexer struct {
	// quote is the quote character of a quoted scalar left open at the end
	// of the last line, or 0.
	quote byte
	// flow is the depth of the flow collections ([ and {) left open.
	flow int
	// block is, inside a block scalar (| or >), the indentation of its
	// parent node: lines indented deeper, and blank lines, are its content.
	// -1 outside a block scalar.
	block int
}

// lineInfo describes one line for the reader.
type lineInfo struct {
	// skip is true for a line that starts no node: blank, a comment only,
	// or the continuation of a multi-line scalar or flow collection.
	skip bool
	// indent is the number of spaces before the line's first node.
	indent int
	// dash is true when the line starts a block sequence entry ("- ").
	dash bool
	// keyEnd is the index of the ':' that ends a mapping key starting at
	// indent, or -1 when the line's first node is not a key.
	keyEnd int
	// marker is true for a document marker line ("---" or "...").
	marker bool
	// tab is true when a tab precedes the line's first node.
	tab bool
}

func newLexer() *lexer { return &lexer{block: -1} }

// line lexes one line (without its line break) and returns what it starts.
func (lx *lexer) line(b []byte) lineInfo {
	ind := 0
	for ind < len(b) && b[ind] == ' ' {
		ind++
	}
	blank := true
	for _, c := range b[ind:] {
		if c != ' ' && c != '\t' {
			blank = false
			break
		}
	}
	if lx.block >= 0 {
		if blank || ind > lx.block {
			return lineInfo{skip: true}
		}
		lx.block = -1
	}
	if lx.quote != 0 || lx.flow > 0 {
		lx.scan(b, 0, false)
		return lineInfo{skip: true}
	}
	if blank || b[ind] == '#' {
		return lineInfo{skip: true}
	}
	if ind == 0 && (marker(b, "---") || marker(b, "...")) {
		return lineInfo{marker: true, keyEnd: -1}
	}
	info := lineInfo{indent: ind, keyEnd: -1, tab: b[ind] == '\t'}
	info.dash = b[ind] == '-' && sep(b, ind+1)
	info.keyEnd = lx.scan(b, ind, true)
	return info
}

// marker reports whether b is the document marker m, alone or followed by
// a space.
func marker(b []byte, m string) bool {
	return len(b) >= 3 && string(b[:3]) == m && sep(b, 3)
}

// sep reports whether position i of b separates tokens: the end of the
// line, a space or a tab.
func sep(b []byte, i int) bool {
	return i >= len(b) || b[i] == ' ' || b[i] == '\t'
}

// scan lexes b from p, updating the state that outlives the line. When
// first is set and the first node from p is a mapping key, it returns the
// index of the ':' that ends that key; else -1.
func (lx *lexer) scan(b []byte, p int, first bool) int {
	keyEnd := -1
	nodeStart := true
	parent := p // indentation of the block collection of the current node
	if lx.quote != 0 {
		p = lx.closeQuote(b, p)
		if lx.quote != 0 {
			return -1
		}
		nodeStart = false
	}
	for p < len(b) {
		c := b[p]
		if c == ' ' || c == '\t' {
			p++
			continue
		}
		if c == '#' && (p == 0 || b[p-1] == ' ' || b[p-1] == '\t') {
			return keyEnd // a comment runs to the end of the line
		}
		if lx.flow > 0 {
			first = false
			switch c {
			case '[', '{':
				lx.flow++
				nodeStart = true
				p++
				continue
			case ']', '}':
				lx.flow--
				nodeStart = false
				p++
				continue
			case ',', ':', '?':
				nodeStart = true
				p++
				continue
			case '"', '\'':
				if nodeStart {
					lx.quote = c
					p = lx.closeQuote(b, p+1)
					if lx.quote != 0 {
						return keyEnd
					}
					nodeStart = false
					continue
				}
			}
			p = max(flowPlainEnd(b, p), p+1)
			nodeStart = false
			continue
		}
		if !nodeStart {
			// After a quoted scalar, an alias or a flow collection: a ':'
			// makes it a key.
			if c == ':' && sep(b, p+1) {
				nodeStart = true
			}
			p++
			continue
		}
		switch {
		case (c == '-' || c == '?') && sep(b, p+1):
			parent, first = p, false
			p++
		case c == ':' && sep(b, p+1):
			p++
		case c == '&' || c == '!':
			p = tokenEnd(b, p)
		case c == '*':
			p = tokenEnd(b, p)
			nodeStart, first = false, false
		case c == '|' || c == '>':
			lx.block = parent
			return keyEnd
		case c == '[' || c == '{':
			lx.flow = 1
			first = false
			p++
		case c == '"' || c == '\'':
			start := p
			lx.quote = c
			p = lx.closeQuote(b, p+1)
			if lx.quote != 0 {
				return keyEnd
			}
			q := p
			for q < len(b) && (b[q] == ' ' || b[q] == '\t') {
				q++
			}
			if q < len(b) && b[q] == ':' && sep(b, q+1) {
				if first {
					keyEnd = q
				}
				parent, first = start, false
				p = q + 1
				continue
			}
			nodeStart, first = false, false
		default:
			colon := blockPlainKey(b, p)
			if colon < 0 {
				return keyEnd // a plain scalar to the end of the line or a comment
			}
			if first {
				keyEnd = colon
			}
			parent, first = p, false
			p = colon + 1
		}
	}
	return keyEnd
}

// closeQuote finds the end of the quoted scalar lx.quote that continues at
// p. It clears lx.quote and returns the index after the closing quote, or
// returns len(b) when the scalar goes on past the line.
func (lx *lexer) closeQuote(b []byte, p int) int {
	for p < len(b) {
		switch c := b[p]; {
		case lx.quote == '"' && c == '\\':
			p += 2
		case c == lx.quote && c == '\'' && p+1 < len(b) && b[p+1] == '\'':
			p += 2
		case c == lx.quote:
			lx.quote = 0
			return p + 1
		default:
			p++
		}
	}
	return len(b)
}

// blockPlainKey returns the index of the ':' that ends the plain scalar at
// p as a mapping key in block context, or -1 when the scalar is not a key.
func blockPlainKey(b []byte, p int) int {
	for i := p; i < len(b); i++ {
		switch b[i] {
		case ':':
			if sep(b, i+1) {
				return i
			}
		case ' ', '\t':
			if i+1 < len(b) && b[i+1] == '#' {
				return -1
			}
		}
	}
	return -1
}

// flowPlainEnd returns where the plain scalar at p ends in flow context.
func flowPlainEnd(b []byte, p int) int {
	for i := p; i < len(b); i++ {
		switch b[i] {
		case ',', '[', ']', '{', '}':
			return i
		case ':':
			if sep(b, i+1) || (i+1 < len(b) && (b[i+1] == ',' || b[i+1] == ']' || b[i+1] == '}')) {
				return i
			}
		case ' ', '\t':
			if i+1 < len(b) && b[i+1] == '#' {
				return i
			}
		}
	}
	return len(b)
}

// tokenEnd returns the end of an anchor, alias or tag token at p.
func tokenEnd(b []byte, p int) int {
	for p < len(b) && b[p] != ' ' && b[p] != '\t' {
		p++
	}
	return p
}
