package mirrortest

import (
	"strings"
	"unicode"
)

// RepeatedClause reports whether an error message names the same context
// twice, as happens when two layers wrap an error with the same operation
// ("list tags of r/a: list tags of r/a: …", "push blob …: push blob …").
// It returns the second occurrence of the repeated clause.
//
// A message is split into clauses at ": " and at line breaks (errors.Join).
// Two clauses repeat each other when their first two words are the same,
// compared case-insensitively and with every run of digits read as one
// number, so "after 3 attempts: … after 12 attempts" and "GET <url>: …
// GET <url>" count, while "read blob …: read tcp …" do not. A clause of a
// single word, or one that starts with a quoted value ("\"x\" is not a
// valid range"), repeats only an identical clause.
func RepeatedClause(msg string) (clause string, ok bool) {
	seen := map[string]bool{}
	for _, line := range strings.Split(msg, "\n") {
		for _, c := range strings.Split(line, ": ") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			k := clauseKey(c)
			if seen[k] {
				return c, true
			}
			seen[k] = true
		}
	}
	return "", false
}

// clauseKey is what identifies a clause: its first two words, lower-cased,
// with digit runs replaced by "0"; a clause that starts with a quote is a
// value, identified by all of it.
func clauseKey(c string) string {
	if strings.HasPrefix(c, `"`) || strings.HasPrefix(c, "'") {
		return c
	}
	words := strings.Fields(c)
	if len(words) > 2 {
		words = words[:2]
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		digits := false
		for _, r := range strings.ToLower(w) {
			if unicode.IsDigit(r) {
				if !digits {
					b.WriteByte('0')
				}
				digits = true
				continue
			}
			digits = false
			b.WriteRune(r)
		}
	}
	return b.String()
}
