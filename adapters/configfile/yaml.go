package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// parseYAML converts one YAML document into the generic tree config.Decode
// reads. Syntax errors and duplicate keys report their line; several
// documents, or none, are errors. raw is the config as written, before
// ${VAR} substitution turned it into data: a syntax error caused by an
// unquoted value that starts with a YAML indicator gets a hint to quote it,
// written from raw so that it never shows a substituted value.
func parseYAML(raw, data []byte) (any, error) {
	docs, err := countDocuments(data)
	if err != nil {
		return nil, withQuoteHint(raw, data, err)
	}
	if docs > 1 {
		return nil, fmt.Errorf("the file holds %d YAML documents; a config is a single document (remove the --- separators)", docs)
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, withQuoteHint(raw, data, yamlError(err))
	}
	doc, err := decodeJSON(j)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc == nil {
		return nil, errors.New("the config is empty; it needs apiVersion: mirror.plugin.fluxcd.io/v1beta1, kind: Config and artifacts, charts or hosts")
	}
	return doc, nil
}

// countDocuments returns how many non-empty YAML documents data holds, the
// first of which must come first.
func countDocuments(data []byte) (int, error) {
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	n, total := 0, 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, yamlError(err)
		}
		total++
		if v != nil {
			n++
			if total > 1 && n == 1 {
				return 0, fmt.Errorf("the config must be the first YAML document; remove the empty document before it")
			}
		}
	}
}

var yamlPrefix = regexp.MustCompile(`^(?:error converting YAML to JSON: )?(?:yaml: )?(?:unmarshal errors:\s*)?`)

// yamlError rewrites a YAML library error as "invalid YAML: line N: …",
// one line however many problems it lists.
func yamlError(err error) error {
	var parts []string
	for _, l := range strings.Split(yamlPrefix.ReplaceAllString(err.Error(), ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return fmt.Errorf("invalid YAML: %s", strings.Join(parts, "; "))
}

// yamlIndicators are the characters that cannot start a plain (unquoted)
// YAML scalar: '>' and '|' start block scalars, '*' an alias, '&' an anchor,
// '!' a tag, '%' a directive, '@' and '`' are reserved.
const yamlIndicators = ">|*&!%@`"

var errorLine = regexp.MustCompile(`\bline (\d+)\b`)

// withQuoteHint adds "; quote the value: key: \"value\"" to a YAML syntax
// error whose line holds a value that starts with a YAML indicator, the
// usual cause being an unquoted version constraint (semver: >=1.0.0). The
// value is checked in data, the text the parser saw, and the hint is written
// from the same line of raw, the text as written: where ${VAR} substitution
// produced the value, the hint quotes the ${VAR} reference and never shows
// the substituted value.
func withQuoteHint(raw, data []byte, err error) error {
	hint := quoteHint(raw, data, err.Error())
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w; quote the value: %s", err, hint)
}

// quoteHint returns the quoted form of the value on the line msg names, or
// "" when that value does not start with a YAML indicator.
func quoteHint(raw, data []byte, msg string) string {
	m := errorLine.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return ""
	}
	parsed, written := strings.Split(string(data), "\n"), strings.Split(string(raw), "\n")
	if len(parsed) != len(written) || n > len(parsed) {
		// Substitution added lines: the line numbers of the two texts no
		// longer match.
		return ""
	}
	_, value, ok := lineValue(parsed[n-1])
	if !ok || !strings.ContainsRune(yamlIndicators, rune(value[0])) {
		return ""
	}
	key, value, ok := lineValue(written[n-1])
	if !ok {
		return ""
	}
	if key == "" {
		return strconv.Quote(value)
	}
	return key + ": " + strconv.Quote(value)
}

// lineValue splits one line of block YAML into its key (empty for a
// sequence item) and its unquoted value, without a trailing comment; ok is
// false when the line holds no such value.
func lineValue(line string) (key, value string, ok bool) {
	s := strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	for s == "-" || strings.HasPrefix(s, "- ") {
		s = strings.TrimSpace(s[1:])
	}
	if k, v, found := strings.Cut(s, ": "); found && !strings.ContainsAny(k[:min(len(k), 1)], `"'`) {
		key, s = strings.TrimSpace(k), strings.TrimSpace(v)
	}
	if strings.HasPrefix(s, "#") {
		s = ""
	} else if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" || s[0] == '"' || s[0] == '\'' || strings.HasSuffix(s, ":") && key == "" {
		return "", "", false
	}
	return key, s, true
}
