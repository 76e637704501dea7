package schemacheck

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/configfile"
	"github.com/fluxcd/flux-mirror/core/config"
)

var (
	repoRoot   = filepath.Join("..", "..")
	schemaPath = filepath.Join(repoRoot, config.SchemaFile)
)

// corpus lists the directories of configs and whether they are valid.
var corpus = []struct {
	dir   string
	valid bool
}{
	{filepath.Join("testdata", "valid"), true},
	{filepath.Join("testdata", "invalid"), false},
	{filepath.Join(repoRoot, "examples"), true},
	{filepath.Join(repoRoot, "examples", "invalid"), false},
}

// goOnly lists the invalid configs whose broken rule JSON Schema cannot
// express: the schema accepts them and the loader rejects them. Keyed by
// file name without .yaml; the value is the reason.
var goOnly = map[string]string{
	"nothing-to-mirror":               "sync needs an artifacts or charts entry; login and secret accept a hosts-only config with the same schema",
	"artifact-destination-is-source":  "comparing two fields' values",
	"dockerhub-destination-is-source": "comparing two fields' values after Docker Hub normalisation",
	"artifact-duplicate-destination":  "uniqueness across entries",
	"chart-duplicate":                 "uniqueness across entries",
	"host-duplicate":                  "uniqueness across entries",
	"dockerhub-hosts-duplicate":       "uniqueness across entries, with Docker Hub's names as one host",
	"selector-semver-invalid":         "semver ranges are parsed with Masterminds/semver",
	"chart-version-invalid":           "semver ranges are parsed with Masterminds/semver",
	"regex-pattern-invalid":           "regular expressions are compiled in Go",
	"verify-subject-invalid":          "regular expressions are compiled in Go",
	"regex-extract-unknown-group":     "capture group names are known only to the compiled pattern",
	"extract-escaped-dollar":          "telling $$ (a literal $) from a group reference needs regexp.Expand's parser",
	"path-escapes":                    "paths are confined by the loader, against the file system",
	"path-absolute-outside":           "paths are confined by the loader, against the file system",
}

// cliOnly lists the invalid configs whose rule moved from core to the CLI:
// which provider names exist. Core's loader checks only their shape and
// accepts them; the schema lists the default build's names and rejects
// them; the CLI rejects them against the factories it was built with.
var cliOnly = map[string]string{
	"host-provider-unknown-value":      "the CLI checks provider names against the factories it was built with",
	"credential-provider-unknown":      "the CLI checks provider names against the factories it was built with",
	"host-provider-unknown":            "the CLI checks provider names against the factories it was built with",
	"tls-client-auth-provider-unknown": "the CLI checks provider names against the factories it was built with",
}

// loaderOnly lists the invalid configs that break a rule of reading the
// file, before the schema's part: YAML syntax, strict YAML (duplicate keys,
// one document) and ${VAR} substitution. A lenient YAML reader may still
// hand an editor a document for them, so the schema is not consulted.
var loaderOnly = map[string]string{
	"yaml-syntax":             "not YAML",
	"duplicate-key":           "YAML with a duplicate key has no single document",
	"multiple-documents":      "several documents",
	"empty":                   "no document",
	"envsubst-unset":          "${VAR} substitution fails",
	"envsubst-default-syntax": "${VAR} substitution fails",
}

// env is the environment the corpus is loaded with.
var env = map[string]string{
	"EMPTY":                   "",
	"QUAY_TOKEN":              "quay-robot-token",
	"GITHUB_REPOSITORY_OWNER": "fluxcd",
	"GH_TOKEN":                "ghs_exampletoken",
	"DOCKERHUB_USERNAME":      "fluxcdbot",
	"DOCKERHUB_TOKEN":         "dckr_pat_example",
	"REGISTRY_PASSWORD":       "example-password",
	"FLUX_MIRROR_JWK":         `{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`,
}

func lookup(k string) (string, bool) {
	v, ok := env[k]
	return v, ok
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse %s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(config.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(config.SchemaID)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return s
}

// instance substitutes and converts a YAML config into the JSON instance
// an editor validates; ok is false when there is no single document.
func instance(data []byte) (any, bool) {
	data, err := config.Substitute(data, lookup)
	if err != nil {
		return nil, false
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil || len(bytes.TrimSpace(j)) == 0 || string(bytes.TrimSpace(j)) == "null" {
		return nil, false
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, false
	}
	return v, true
}

// directives reads the leading "# key: value" comment lines of a config.
func directives(data []byte) map[string]string {
	d := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), ": ")
		if !strings.HasPrefix(sc.Text(), "# ") || !ok || strings.ContainsAny(k, " ") {
			break
		}
		d[k] = v
	}
	return d
}

func purposeOf(name string, d map[string]string) config.Purpose {
	if d["purpose"] == "hosts" || strings.HasPrefix(name, "login-") {
		return config.PurposeHosts
	}
	return config.PurposeSync
}

// TestLoaderAndSchemaAgree runs every config of the corpus through the
// loader and the schema, and fails where they disagree outside the
// allow-lists, or where an allow-list entry no longer disagrees.
func TestLoaderAndSchemaAgree(t *testing.T) {
	t.Parallel()
	schema := compileSchema(t)
	seen := map[string]bool{}
	counts := map[bool]int{}
	for _, c := range corpus {
		files, err := filepath.Glob(filepath.Join(c.dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no configs in %s: %v", c.dir, err)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".yaml")
			if seen[name] {
				t.Errorf("%s: another corpus file has the name %s; names key the allow-lists", file, name)
			}
			seen[name] = true
			counts[c.valid]++
			t.Run(filepath.ToSlash(file), func(t *testing.T) {
				t.Parallel()
				checkAgreement(t, schema, file, name, c.valid)
			})
		}
	}
	if counts[true] < 20 || counts[false] < 20 {
		t.Errorf("the corpus has %d valid and %d invalid configs; keep at least 20 of each", counts[true], counts[false])
	}
	for _, list := range []map[string]string{goOnly, loaderOnly, cliOnly} {
		for name := range list {
			if !seen[name] {
				t.Errorf("an allow-list names %s, which is not in the corpus", name)
			}
		}
	}
}

func checkAgreement(t *testing.T, schema *jsonschema.Schema, file, name string, valid bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d := directives(data)
	_, loadErr := configfile.Load(file, configfile.Options{LookupEnv: lookup, Purpose: purposeOf(name, d)})
	if reason, ok := cliOnly[name]; ok {
		if valid || loadErr != nil {
			t.Fatalf("listed in cliOnly (%s): want an invalid config that the loader accepts; valid=%v, loader: %v", reason, valid, loadErr)
		}
		inst, _ := instance(data)
		if schema.Validate(inst) == nil {
			t.Errorf("listed in cliOnly (%s), but the schema accepts it", reason)
		}
		return
	}
	if valid != (loadErr == nil) {
		t.Fatalf("the loader says valid=%v, the corpus says %v: %v", loadErr == nil, valid, loadErr)
	}
	if want := d["want"]; !valid && !strings.Contains(loadErr.Error(), want) {
		t.Errorf("loader error\n got: %v\nwant: …%s…", loadErr, want)
	}
	inst, ok := instance(data)
	if _, listed := loaderOnly[name]; listed {
		if valid {
			t.Errorf("listed in loaderOnly (%s), but it is valid", loaderOnly[name])
		}
		return // the loader rejected it above; a lenient YAML reader may still see a document
	}
	if !ok {
		t.Fatalf("no document for the schema to validate; list it in loaderOnly with the reason")
	}
	schemaErr := schema.Validate(inst)
	reason, isGoOnly := goOnly[name]
	switch {
	case valid && schemaErr != nil:
		t.Errorf("the loader accepts it, the schema rejects it: %v", schemaErr)
	case !valid && isGoOnly && schemaErr != nil:
		t.Errorf("listed as Go-only (%s), but the schema rejects it too; remove it from goOnly: %v", reason, schemaErr)
	case !valid && !isGoOnly && schemaErr == nil:
		t.Errorf("the loader rejects it (%v), the schema accepts it; make the schema reject it, or list it in goOnly with the reason", loadErr)
	case !valid && !isGoOnly:
		checkSameField(t, loadErr, schemaErr)
	}
}

// checkSameField checks that the schema rejects the field the loader
// rejects, not another one.
func checkSameField(t *testing.T, loadErr, schemaErr error) {
	fes := config.FieldErrors(loadErr)
	if len(fes) != 1 {
		return // a decode or path error: no single field to compare
	}
	goPath := pathSegments(fes[0].Path)
	var ve *jsonschema.ValidationError
	if !errors.As(schemaErr, &ve) {
		t.Fatalf("schema error %T", schemaErr)
	}
	for _, loc := range leafLocations(ve) {
		n := min(len(loc), len(goPath))
		if !slices.Equal(loc[:n], goPath[:n]) {
			t.Errorf("the schema rejects /%s, the loader rejects %s: %v", strings.Join(loc, "/"), fes[0].Path, schemaErr)
		}
	}
}

// pathSegments splits a field path such as hosts[0].tls into hosts, 0, tls.
func pathSegments(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(p), ".")
}

// leafLocations returns the instance locations of the innermost causes.
func leafLocations(ve *jsonschema.ValidationError) [][]string {
	if len(ve.Causes) == 0 {
		return [][]string{ve.InstanceLocation}
	}
	var out [][]string
	for _, c := range ve.Causes {
		out = append(out, leafLocations(c)...)
	}
	return out
}
