package config

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// SubstitutionError reports a ${…} reference that could not be substituted.
type SubstitutionError struct {
	// Line is the 1-based line of the reference in the document.
	Line int
	// Variable is the referenced variable name, or the raw reference when it
	// is not a valid ${NAME}.
	Variable string
	// Message says what is wrong and how to fix it.
	Message string
}

// Error renders the error as "line <n>: <message>".
func (e *SubstitutionError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Message }

// Substitute replaces every ${NAME} in data with the value lookup returns for
// NAME, across the whole document, keys and values alike. NAME is a letter
// or underscore followed by letters, digits and underscores. Full-line
// comments (lines whose first non-blank character is #) are left alone, so a
// commented-out ${OLD_TOKEN} or a documented ${{ secrets.X }} needs no
// variable; a comment after a value on the same line is substituted.
//
// Only the ${NAME} form is substituted: a $ not followed by { is left alone,
// so a regex extract template such as "$ts", a "$$" and a "$1" survive. A
// variable that lookup reports unset is an error naming it and its line (a
// variable set to the empty string is allowed), as is a ${…} that is not
// ${NAME} (such as ${VAR:-default}) or that is not closed on its line. All
// such errors are returned, joined, each a *SubstitutionError; each
// variable is reported once, at its first line. Substituted values are not
// scanned again. A nil lookup treats every variable as unset.
func Substitute(data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	if bytes.IndexByte(data, '$') < 0 {
		return data, nil
	}
	var (
		out      = make([]byte, 0, len(data))
		errs     []error
		reported = map[string]bool{}
		line     = 1
	)
	fail := func(line int, name, format string, args ...any) {
		if reported[name] {
			return
		}
		reported[name] = true
		errs = append(errs, &SubstitutionError{Line: line, Variable: name, Message: fmt.Sprintf(format, args...)})
	}
	for i := 0; i < len(data); i++ {
		if i == 0 || data[i-1] == '\n' {
			if n := commentLine(data[i:]); n > 0 {
				out = append(out, data[i:i+n]...)
				i += n - 1
				continue
			}
		}
		c := data[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 >= len(data) || data[i+1] != '{' {
			out = append(out, c)
			continue
		}
		end := -1
		for j := i + 2; j < len(data) && data[j] != '\n'; j++ {
			if data[j] == '}' {
				end = j
				break
			}
		}
		if end < 0 {
			ref := snippet(data[i:], '\n')
			fail(line, ref, "%s is not closed: write ${NAME} on one line (or use --no-envsubst to keep ${ literally)", quote(ref))
			out = append(out, c)
			continue
		}
		name := string(data[i+2 : end])
		if !validVarName(name) {
			ref := snippet(data[i:end+1], 0)
			fail(line, ref, "%s is not a valid substitution: only ${NAME} is supported, NAME being letters, digits and underscores (or use --no-envsubst to keep ${…} literally)", quote(ref))
			out = append(out, data[i:end+1]...)
			i = end
			continue
		}
		var (
			v  string
			ok bool
		)
		if lookup != nil {
			v, ok = lookup(name)
		}
		if !ok {
			fail(line, name, "environment variable %s is not set (set it, to the empty string if need be, or use --no-envsubst to keep ${%s} literally)", name, name)
			out = append(out, data[i:end+1]...)
		} else {
			out = append(out, v...)
		}
		i = end
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// commentLine returns the length of b's first line, without its newline,
// if it is a full-line YAML comment (only blanks before a #), else 0.
func commentLine(b []byte) int {
	j := 0
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j == len(b) || b[j] != '#' {
		return 0
	}
	if k := bytes.IndexByte(b, '\n'); k >= 0 {
		return k
	}
	return len(b)
}

// validVarName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// snippet returns b up to stop (0: no stop), at most 40 bytes, for messages.
func snippet(b []byte, stop byte) string {
	if stop != 0 {
		if i := bytes.IndexByte(b, stop); i >= 0 {
			b = b[:i]
		}
	}
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// quote quotes s for a message.
func quote(s string) string { return strconv.QuoteToGraphic(s) }
