package configfile

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/core/config"
)

// The examples live at the repository root, next to the published schema.
var (
	examplesDir = filepath.Join("..", "..", "examples")
	schemaPath  = filepath.Join("..", "..", config.SchemaFile)
)

// exampleEnv is the environment the examples are loaded with.
var exampleEnv = map[string]string{
	"QUAY_TOKEN":              "quay-robot-token",
	"GITHUB_REPOSITORY_OWNER": "fluxcd",
	"GH_TOKEN":                "ghs_exampletoken",
	"DOCKERHUB_USERNAME":      "fluxcdbot",
	"DOCKERHUB_TOKEN":         "dckr_pat_example",
	"REGISTRY_PASSWORD":       "example-password",
	"FLUX_MIRROR_JWK":         `{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`,
}

func lookupExample(k string) (string, bool) {
	v, ok := exampleEnv[k]
	return v, ok
}

// goOnly lists the invalid examples whose rule JSON Schema cannot express;
// the schema must accept them (so this list stays exact) and Validate or
// the loader must reject them.
var goOnly = map[string]string{
	"nothing-to-mirror":              "sync needs an artifacts or charts entry; login and secret accept a hosts-only config",
	"artifact-destination-is-source": "comparing two fields' values",
	"artifact-duplicate-destination": "uniqueness across entries",
	"chart-duplicate":                "uniqueness across entries",
	"host-duplicate":                 "uniqueness across entries",
	"selector-semver-invalid":        "semver ranges are parsed with Masterminds/semver",
	"chart-version-invalid":          "semver ranges are parsed with Masterminds/semver",
	"regex-pattern-invalid":          "regular expressions are compiled in Go",
	"verify-subject-invalid":         "regular expressions are compiled in Go",
	"regex-extract-unknown-group":    "capture group names are known only to the compiled pattern",
	"path-escapes":                   "paths are confined by the loader, against the file system",
	"path-absolute-outside":          "paths are confined by the loader, against the file system",
}

// cliOnly lists the invalid examples whose rule the CLI checks, not core:
// which providers exist (core checks only the shape of a name). The loader
// accepts them, the schema, which lists the default build's providers,
// rejects them, and the CLI's example test checks their want line.
var cliOnly = map[string]string{
	"credential-provider-unknown":      "the CLI checks provider names against the factories it was built with",
	"host-provider-unknown":            "the CLI checks provider names against the factories it was built with",
	"tls-client-auth-provider-unknown": "the CLI checks provider names against the factories it was built with",
}

// loaderOnly lists the invalid examples that fail before there is a
// document the schema could validate.
var loaderOnly = []string{
	"yaml-syntax", "duplicate-key", "multiple-documents", "empty", "envsubst-unset", "envsubst-default-syntax",
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return compileSchemaFile(t, schemaPath, config.SchemaID)
}

// compileSchemaFile compiles the published schema at path whose $id is id.
func compileSchemaFile(t *testing.T, schemaPath, id string) *jsonschema.Schema {
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
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return s
}

// schemaInstance substitutes and converts a YAML example into the JSON
// instance the schema validates, as an editor would see it.
func schemaInstance(t *testing.T, data []byte) any {
	t.Helper()
	data, err := config.Substitute(data, lookupExample)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// directives reads the leading "# key: value" comment lines of an example.
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

func examples(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", dir, err)
	}
	return files
}

func TestExamplesValid(t *testing.T) {
	t.Parallel()
	// Each example is checked against the schema of the version it is
	// read as (v1beta2.yaml against config-v1beta2.json).
	schemas := map[string]*jsonschema.Schema{
		config.APIVersion:        compileSchema(t),
		config.APIVersionV1Beta2: compileSchemaFile(t, filepath.Join("..", "..", config.SchemaFileV1Beta2), config.SchemaIDV1Beta2),
	}
	for _, file := range examples(t, examplesDir) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(file, Options{LookupEnv: lookupExample, Purpose: purposeOf(name, directives(data))})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// A v1beta1 config re-validates as loaded; a v1beta2 one runs
			// as its v1beta1 form, which may hold what v1beta1 cannot
			// write (a serverID prefix), so its rules were checked at load.
			if err := c.Validate(purposeOf(name, nil)); c.Version() == config.APIVersion && err != nil {
				t.Fatalf("a loaded config must re-validate: %v", err)
			}
			if err := schemas[c.Version()].Validate(schemaInstance(t, data)); err != nil {
				t.Fatalf("the %s schema rejects a valid example: %v", c.Version(), err)
			}
		})
	}
}

func TestExamplesInvalid(t *testing.T) {
	t.Parallel()
	schema := compileSchema(t)
	files := examples(t, filepath.Join(examplesDir, "invalid"))
	seen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			d := directives(data)
			want := d["want"]
			if want == "" {
				t.Fatalf("%s: the first line must be # want: <expected error>", file)
			}
			_, err = Load(file, Options{LookupEnv: lookupExample, Purpose: purposeOf(name, d)})
			if reason, ok := cliOnly[name]; ok {
				if err != nil {
					t.Fatalf("listed as CLI-only (%s), but the loader rejects it: %v", reason, err)
				}
				if schema.Validate(schemaInstance(t, data)) == nil {
					t.Errorf("listed as CLI-only (%s), but the schema accepts it", reason)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load: no error, want %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("Load:\n got: %v\nwant: …%s…", err, want)
			}
			if !strings.HasPrefix(err.Error(), file+": ") {
				t.Errorf("error not prefixed with the file name: %v", err)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("an invalid example must break exactly one rule, got %d errors:\n%v", n, err)
			}

			if slices.Contains(loaderOnly, name) {
				return
			}
			serr := schema.Validate(schemaInstance(t, data))
			if reason, ok := goOnly[name]; ok {
				if serr != nil {
					t.Errorf("listed as Go-only (%s), but the schema rejects it too; remove it from goOnly: %v", reason, serr)
				}
				return
			}
			if serr == nil {
				t.Errorf("the schema accepts it; make the schema reject it, or list it in goOnly with the reason")
				return
			}
			// The schema must reject the field Validate rejects, not another.
			fes := config.FieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("want one *config.FieldError in %v", err)
			}
			goPath := pathSegments(fes[0].Path)
			for _, loc := range leafLocations(serr) {
				if !related(loc, goPath) {
					t.Errorf("the schema rejects /%s, Validate rejects %s: %v", strings.Join(loc, "/"), fes[0].Path, serr)
				}
			}
		})
	}
	for _, name := range append(append(slices.Collect(maps.Keys(goOnly)), slices.Collect(maps.Keys(cliOnly))...), loaderOnly...) {
		if !seen[name] {
			t.Errorf("goOnly, cliOnly or loaderOnly names %s, which is not an example", name)
		}
	}
}

// pathSegments splits a FieldError path such as hosts[0].tls.serverAuth into
// JSON pointer segments: hosts, 0, tls, serverAuth.
func pathSegments(p string) []string {
	if p == "" {
		return nil
	}
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	return strings.Split(p, ".")
}

// leafLocations returns the instance locations of the innermost causes of a
// schema validation error.
func leafLocations(err error) [][]string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out [][]string
	var walk func(*jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			out = append(out, v.InstanceLocation)
			return
		}
		for _, c := range v.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// related reports whether one location is a prefix of the other.
func related(a, b []string) bool {
	n := min(len(a), len(b))
	return slices.Equal(a[:n], b[:n])
}
