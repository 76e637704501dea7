package schemacheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/configfile"
	"github.com/fluxcd/flux-mirror/core/config"
)

var repoRoot = filepath.Join("..", "..")

// corpus lists the directories of configs and whether they are valid. A
// config is checked against the schema of its apiVersion (schemaFor), as
// the loader reads it; examples/ holds both versions.
var corpus = []struct {
	dir   string
	valid bool
}{
	{filepath.Join("testdata", "valid"), true},
	{filepath.Join("testdata", "invalid"), false},
	{filepath.Join("testdata", "v1beta2", "valid"), true},
	{filepath.Join("testdata", "v1beta2", "invalid"), false},
	{filepath.Join(repoRoot, "examples"), true},
	{filepath.Join(repoRoot, "examples", "invalid"), false},
}

// minCorpus is the least number of valid and of invalid configs of each
// apiVersion the corpus must keep.
var minCorpus = map[string]map[bool]int{
	config.APIVersion:        {true: 20, false: 20},
	config.APIVersionV1Beta2: {true: 15, false: 20},
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
	"v1beta2-host-duplicate":          "uniqueness across entries",
	"v1beta2-envelope-invalid":        "an envelope is parsed by text/template",
	"v1beta2-envelope-unknown-field":  "an envelope's fields and functions are known only to text/template when it runs",
}

// cliOnly lists the invalid configs whose rule the CLI checks, not core:
// which provider names exist (core's loader checks only their shape; the
// schema lists the default build's names; the CLI checks the factories it
// was built with), and how many audiences a provider mints a token for
// (core knows it for gcp and azure; the CLI's token sources mint for one).
// The loader accepts them and the schema rejects them.
var cliOnly = map[string]string{
	"host-provider-unknown-value":         "the CLI checks provider names against the factories it was built with",
	"credential-provider-unknown":         "the CLI checks provider names against the factories it was built with",
	"host-provider-unknown":               "the CLI checks provider names against the factories it was built with",
	"tls-client-auth-provider-unknown":    "the CLI checks provider names against the factories it was built with",
	"v1beta2-host-provider-unknown-value": "the CLI checks provider names against the factories it was built with",
	"v1beta2-audiences-two-for-github":    "the CLI's token sources mint a provider's token for one audience (hostauth refuses several)",
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

// schemas are the published JSON Schemas, compiled, by apiVersion.
type schemas map[string]*jsonschema.Schema

// compileSchemas compiles the published schema of each apiVersion.
func compileSchemas(t *testing.T) schemas {
	t.Helper()
	out := schemas{}
	for _, s := range []struct{ version, file, id string }{
		{config.APIVersion, config.SchemaFile, config.SchemaID},
		{config.APIVersionV1Beta2, config.SchemaFileV1Beta2, config.SchemaIDV1Beta2},
	} {
		out[s.version] = compileSchema(t, filepath.Join(repoRoot, s.file), s.id)
	}
	return out
}

func compileSchema(t *testing.T, path, id string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// versionOf is the apiVersion the loader reads a config as: v1beta2 when
// its document says so, v1beta1 otherwise (config.Read).
func versionOf(data []byte) string {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return config.APIVersion
	}
	var doc struct {
		APIVersion any `json:"apiVersion"`
	}
	if json.Unmarshal(j, &doc) == nil && doc.APIVersion == config.APIVersionV1Beta2 {
		return config.APIVersionV1Beta2
	}
	return config.APIVersion
}

// schemaFor is the schema an editor validates data with: the one of the
// apiVersion the loader reads it as.
func (s schemas) schemaFor(data []byte) *jsonschema.Schema { return s[versionOf(data)] }

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
	schemas := compileSchemas(t)
	seen := map[string]bool{}
	counts := map[string]map[bool]int{}
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
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			v := versionOf(data)
			if counts[v] == nil {
				counts[v] = map[bool]int{}
			}
			counts[v][c.valid]++
			t.Run(filepath.ToSlash(file), func(t *testing.T) {
				t.Parallel()
				checkAgreement(t, schemas.schemaFor(data), file, name, c.valid)
			})
		}
	}
	for v, least := range minCorpus {
		if counts[v][true] < least[true] || counts[v][false] < least[false] {
			t.Errorf("the corpus has %d valid and %d invalid %s configs; keep at least %d and %d", counts[v][true], counts[v][false], v, least[true], least[false])
		}
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

// TestConvertedCorpusIsV1Beta2 converts every valid v1beta1 config of the
// corpus with the real flux-mirror convert and checks that the output, as
// written, loads and is valid under the v1beta2 schema. A config convert
// refuses (serverAuth.spiffe.authorizeAny has no v1beta2 form) must be
// refused naming that field.
func TestConvertedCorpusIsV1Beta2(t *testing.T) {
	t.Parallel()
	bin := buildFluxMirror(t)
	schemas := compileSchemas(t)
	converted, refused := 0, 0
	for _, c := range corpus {
		if !c.valid {
			continue
		}
		files, err := filepath.Glob(filepath.Join(c.dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if versionOf(data) != config.APIVersion {
				continue
			}
			name := strings.TrimSuffix(filepath.Base(file), ".yaml")
			t.Run(filepath.ToSlash(file), func(t *testing.T) {
				cmd := exec.Command(bin, "convert", file)
				cmd.Env = []string{"HOME=" + t.TempDir()}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					if strings.Contains(stderr.String(), "authorizeAny: has no v1beta2 equivalent") {
						refused++
						return
					}
					t.Fatalf("flux-mirror convert: %v\n%s", err, stderr.String())
				}
				out := stdout.Bytes()
				if v := versionOf(out); v != config.APIVersionV1Beta2 {
					t.Fatalf("convert wrote apiVersion %s:\n%s", v, out)
				}
				// The output sits beside the original, so relative paths
				// resolve as they did.
				d := directives(data)
				if _, err := configfile.Parse(out, filepath.Dir(file), configfile.Options{LookupEnv: lookup, Purpose: purposeOf(name, d)}); err != nil {
					t.Errorf("the converted config does not load: %v\n%s", err, out)
				}
				inst, ok := instance(out)
				if !ok {
					t.Fatalf("no document in the converted config:\n%s", out)
				}
				if err := schemas[config.APIVersionV1Beta2].Validate(inst); err != nil {
					t.Errorf("the v1beta2 schema rejects the converted config: %v\n%s", err, out)
				}
				converted++
			})
		}
	}
	if converted < 20 {
		t.Errorf("only %d valid v1beta1 configs were converted (%d refused); the corpus moved?", converted, refused)
	}
}

// buildFluxMirror builds the flux-mirror binary of this checkout into a
// temporary directory and returns its path.
func buildFluxMirror(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flux-mirror")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/flux-mirror")
	cmd.Dir = filepath.Join(repoRoot, "cli")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build flux-mirror: %v\n%s", err, out)
	}
	return bin
}
