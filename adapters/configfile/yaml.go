package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// parseYAML converts one YAML document into the generic tree config.Decode
// reads. Syntax errors and duplicate keys report their line; several
// documents, or none, are errors.
func parseYAML(data []byte) (any, error) {
	docs, err := countDocuments(data)
	if err != nil {
		return nil, err
	}
	if docs > 1 {
		return nil, fmt.Errorf("the file holds %d YAML documents; a config is a single document (remove the --- separators)", docs)
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, yamlError(err)
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
