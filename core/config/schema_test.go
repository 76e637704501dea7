package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// someProviders stand for a build's providers; the published file, with
// the default build's names, is generated and checked in cli/cmd/flux-mirror.
var someProviders = ProviderNames{Registry: []string{"ecr"}, Token: []string{"github", "aws"}, TLS: []string{"x509-svid"}}

// schemaVersions are the generators of the published schemas, with what
// each is generated from.
var schemaVersions = []struct {
	name   string
	schema func(ProviderNames) []byte
	root   reflect.Type
	docs   map[string]string
	fields map[string]map[string]any
	types  map[string]map[string]any
}{
	{"v1beta1", Schema, reflect.TypeFor[Config](), docs, fieldRules(ProviderNames{}), typeRules()},
	{"v1beta2", SchemaV1Beta2, reflect.TypeFor[ConfigV1Beta2](), docsV1Beta2(), fieldRulesV1Beta2(ProviderNames{}), typeRulesV1Beta2()},
}

func TestSchemaDeterministic(t *testing.T) {
	t.Parallel()
	for _, v := range schemaVersions {
		if !bytes.Equal(v.schema(someProviders), v.schema(someProviders)) {
			t.Errorf("%s: the schema differs between calls", v.name)
		}
	}
}

// TestSchemaDocs checks that every type and field of each Config API has a
// description, and that no description or rule is left over from a removed
// field.
func TestSchemaDocs(t *testing.T) {
	t.Parallel()
	for _, v := range schemaVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			var walk func(reflect.Type)
			walk = func(t reflect.Type) {
				for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
					t = t.Elem()
				}
				if t.Kind() != reflect.Struct || t == durationType || seen[defName(t)] {
					return
				}
				seen[defName(t)] = true
				for i := range t.NumField() {
					if n := jsonName(t.Field(i)); n != "" {
						seen[defName(t)+"."+n] = true
						walk(t.Field(i).Type)
					}
				}
			}
			walk(v.root)
			for k := range seen {
				if v.docs[k] == "" {
					t.Errorf("no description for %s", k)
				}
			}
			for k := range v.docs {
				if !seen[k] {
					t.Errorf("a description of %s, which is not part of the Config API", k)
				}
			}
			for k := range v.fields {
				if !seen[k] {
					t.Errorf("a field rule constrains %s, which is not a field", k)
				}
			}
			for k := range v.types {
				if !seen[k] {
					t.Errorf("a type rule constrains %s, which is not a type", k)
				}
			}
		})
	}
}

// TestSchemaWellFormed checks that every $ref resolves, every pattern
// compiles, and every object is closed.
func TestSchemaWellFormed(t *testing.T) {
	t.Parallel()
	for _, v := range schemaVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			checkWellFormed(t, v.schema(someProviders))
		})
	}
}

func checkWellFormed(t *testing.T, schema []byte) {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(schema, &root); err != nil {
		t.Fatal(err)
	}
	defs := root["$defs"].(map[string]any)
	var walk func(string, any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if defs[strings.TrimPrefix(ref, "#/$defs/")] == nil {
					t.Errorf("%s: dangling $ref %s", at, ref)
				}
			}
			if p, ok := v["pattern"].(string); ok {
				if _, err := regexp.Compile(p); err != nil {
					t.Errorf("%s: pattern: %v", at, err)
				}
			}
			if v["type"] == "object" && v["additionalProperties"] != false {
				t.Errorf("%s: object is not closed", at)
			}
			for k, c := range v {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(at+"/"+string(rune('0'+i%10)), c)
			}
		}
	}
	walk("#", root)
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema: %v", root["$schema"])
	}
}

// The checks below hold the schema's patterns to the Go validation they
// mirror: the schema must never reject what Validate accepts.

func goRepositoryOK(s string) bool {
	var l errorList
	_, err := validateRepository(&l, field{path: "x"}, s)
	return err == nil
}

func goHostOK(s string) bool {
	var l errorList
	validateHost(&l, field{path: "hosts[0]"}, Host{Host: s, MaxChunkSize: 1})
	return l.err() == nil
}

func goChartDestinationOK(s string) bool {
	var l errorList
	validateChartDestination(&l, field{path: "c"}, Chart{Name: "n", Destination: s}, true, func(field, string) {})
	return l.err() == nil
}

// patternCase checks one string against every pattern pair.
func patternCase(t *testing.T, s string) {
	t.Helper()
	// check compares Validate with a schema pattern; goOnly says a rule only
	// Validate checks applies to s, so the pattern may accept what Validate
	// rejects.
	check := func(what string, goOK bool, pattern string, goOnly bool) {
		t.Helper()
		schemaOK := regexp.MustCompile(pattern).MatchString(s)
		if goOK && !schemaOK {
			t.Errorf("%s %q: Validate accepts it, the schema pattern rejects it", what, s)
		}
		if schemaOK && !goOK && !goOnly {
			t.Errorf("%s %q: the schema pattern accepts it, Validate rejects it", what, s)
		}
	}
	// Ports (1-65535, no leading zeros) are in the patterns too.
	check("repository", goRepositoryOK(s), repositoryPattern, false)
	check("host", goHostOK(s), hostPattern, false)
	check("chart destination", goChartDestinationOK(s), chartDestinationPattern, false)
	check("chart name", chartNameRE.MatchString(s), chartNamePattern, false)
	dotSegment := regexp.MustCompile(`/\.\.?(?:/|$)`).MatchString(s)
	check("spiffe id", validSPIFFEID(s), spiffeIDPattern, dotSegment)
	check("spiffe id prefix", validSPIFFEIDPrefix(s), spiffeIDPrefixPattern, dotSegment)

	// Durations: Go's range limit is the only thing the patterns miss.
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		if !regexp.MustCompile(nonNegativeDuration).MatchString(s) {
			t.Errorf("duration %q: Go accepts it, the non-negative pattern rejects it", s)
		}
		if regexp.MustCompile(zeroDuration).MatchString(s) != (d == 0) {
			t.Errorf("duration %q = %v: the zero pattern disagrees", s, d)
		}
	} else if err == nil && regexp.MustCompile(nonNegativeDuration).MatchString(s) {
		t.Errorf("duration %q = %v: the non-negative pattern accepts a negative duration", s, d)
	}
}

func TestSchemaPatternsAgreeWithValidate(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"ghcr.io/org/app", "localhost/app", "localhost:5000/a/b", "[::1]:5000/x", "myhost:5000/x", "Quay.IO/x",
		"quay.io/x:tag", "quay.io/X", "quay.io/a__b", "quay.io/a___b", "quay.io/a..b", "quay.io/a-_b", "quay.io",
		"a:0/x", "a:65536/x", "a:00000/x", "x/y", "quay.io/a/", "-bad.io/x", "quay.io:/x",
		"oci://quay.io", "oci://quay.io/c", "oci://localhost:5050", "oci://quay.io/c:1", "oci://Quay.io/c", "oci://x",
		"quay.io", "localhost:5000", "[::1]", "10.0.0.1:443", "quay..io", "Quay.io", "host:99999", "host:0",
		"podinfo", "Pod", "a.b", "spiffe://example.org/registry", "spiffe://example.org", "spiffe://Example.org/x",
		"spiffe://example.org/./x", "spiffe://example.org/a/", "spiffe://example.org/", "spiffe://example.org//",
		"spiffe://example.org/a//", "spiffe:///", "spiffe://example.org/../",
		"nginx", "stefanprodan/podinfo", "localhost", "docker.io/nginx", "index.docker.io/a/b", "Foo/bar", "a_b.com/x",
		"a_b/c.d", "oci://nginx", "oci://docker.io/org", "a:65535/x", "a:6553/x", "a:65540/x", "a:080/x", "a:+80/x",
		"host:65535", "host:1", "host:01", "quay.io:443/x", "nginx:1.0", "org/app:1.0",
		"48h", "0", "-0", "-0s", "+0.0s", "1h30m", ".5s", "5.s", "1µs", "1μs", "-1s", "0s0ms", "00", "1", "s", "",
	} {
		patternCase(t, s)
	}
}

func FuzzSchemaPatterns(f *testing.F) {
	for _, s := range []string{"ghcr.io/org/app", "localhost:5000/a", "oci://quay.io/c", "spiffe://a/b", "1h0.5m", "[::1]:1/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 || strings.ContainsAny(s, "\n") {
			return
		}
		patternCase(t, s)
	})
}
