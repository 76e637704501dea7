package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fluxcd/flux-mirror/adapters/configfile"
	"github.com/fluxcd/flux-mirror/core/config"
)

type convertCmd struct {
	Config  string `arg:"" optional:"" name:"config" help:"The v1beta1 config to convert, or - for stdin (default $$FLUX_MIRROR_CONFIG)." predictor:"file"`
	Output  string `short:"o" name:"output" placeholder:"FILE" predictor:"file" help:"Write the v1beta2 config to FILE instead of stdout."`
	InPlace bool   `short:"i" name:"in-place" help:"Rewrite the config file itself (atomically, keeping its mode)."`
}

func (c *convertCmd) Help() string {
	return `Rewrites a mirror.plugin.fluxcd.io/v1beta1 config as mirror.plugin.fluxcd.io/v1beta2, the upstream plugin's
current version, so that configs can move at their own pace (both load). Like kubectl convert it prints the result
on stdout; -o FILE writes it to a file and -i rewrites the input in place, both atomically. ${VAR} references are
kept as written, single-quoted (nothing is substituted), comments are not carried over, and the result loads into
exactly the same settings.
credential.type: jwt is added, iss/sub/aud/exp become issuer/subject/audiences/expiration, hosts[].username moves
to credential.username, jwt-svid and x509-svid become spiffe, and serverAuth.spiffe gains provider: spiffe.
serverAuth.spiffe.authorizeAny has no v1beta2 form: such a config is refused, naming the field.`
}

func (c *convertCmd) Run(e *env) error {
	if c.InPlace && c.Output != "" {
		return errors.New("--in-place and --output both say where to write; pass one")
	}
	path, err := e.resolveConfigPath(c.Config, "")
	if err != nil {
		return err
	}
	if c.InPlace && path == configfile.Stdin {
		return errors.New("--in-place needs a config file, not stdin")
	}
	var data []byte
	if path == configfile.Stdin {
		data, err = io.ReadAll(io.LimitReader(e.Stdin, configfile.MaxSize+1))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", displayName(path), err)
	}
	out, err := convertV1Beta2(data)
	if err != nil {
		return &configfile.Error{File: errorFile(path), Err: err}
	}
	switch {
	case c.InPlace:
		return replaceFile(path, out)
	case c.Output != "":
		return replaceFile(c.Output, out)
	}
	_, err = e.Stdout.Write(out)
	return err
}

// convertV1Beta2 rewrites a v1beta1 config document as v1beta2 YAML, keys
// in the order of the v1beta2 types.
func convertV1Beta2(data []byte) ([]byte, error) {
	doc, err := configfile.ParseDocument(data)
	if err != nil {
		return nil, err
	}
	switch v := config.DocumentAPIVersion(doc); v {
	case config.APIVersion:
	case config.APIVersionV1Beta2:
		return nil, fmt.Errorf("apiVersion: the config is %s already; nothing to convert", v)
	default:
		return nil, fmt.Errorf("apiVersion: %q is not %s; only a v1beta1 config is converted", v, config.APIVersion)
	}
	c, err := config.Decode(doc)
	if err != nil {
		return nil, err
	}
	v2, err := c.ToV1Beta2()
	if err != nil {
		return nil, err
	}
	j, err := json.Marshal(v2)
	if err != nil {
		return nil, fmt.Errorf("encode the v1beta2 config: %w", err)
	}
	return orderedYAML(j)
}

// orderedYAML re-encodes JSON as block YAML, keeping the key order of the
// JSON (which encoding/json writes in struct field order).
func orderedYAML(j []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	n, err := yamlNode(dec)
	if err != nil {
		return nil, fmt.Errorf("encode the v1beta2 config: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encode the v1beta2 config: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlNode reads the next JSON value of dec as a YAML node.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		kind, end := yaml.MappingNode, json.Delim('}')
		if t == '[' {
			kind, end = yaml.SequenceNode, ']'
		}
		n := &yaml.Node{Kind: kind}
		for dec.More() {
			if kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string)})
			}
			v, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if tok, err := dec.Token(); err != nil || tok != end {
			return nil, fmt.Errorf("unbalanced JSON: %v", err)
		}
		return n, nil
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
		if strings.Contains(t, "${") {
			// Substitution runs on the text before YAML parses it: quoted,
			// a value such as a JWK's JSON stays a string.
			n.Style = yaml.SingleQuotedStyle
		}
		return n, nil
	case json.Number:
		tag := "!!int"
		if _, err := t.Int64(); err != nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// replaceFile replaces path with data through a temporary file in the
// same directory, so that a reader never sees half a config. An existing
// file keeps its mode; a new one is 0644.
func replaceFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
