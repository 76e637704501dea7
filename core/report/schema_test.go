package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed report-v1beta1.json from the Go types")

// schemaPath is the committed schema at the root of the repository.
var schemaPath = filepath.Join("..", "..", "report-v1beta1.json")

func TestSchemaFileMatchesTypes(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("read the committed schema: %v (run `go test ./report -update` in core to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the Go types; run `go test ./report -update` in core and commit it", schemaPath)
	}
}

func TestSchemaShape(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	if s["$id"] != SchemaURL {
		t.Errorf("$id = %v, want %s", s["$id"], SchemaURL)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	defs := s["$defs"].(map[string]any)
	for _, name := range []string{"Body", "Summary", "Result", "Tag", "Referrer", "Verification"} {
		if _, ok := defs[name]; !ok {
			t.Errorf("$defs lacks %s", name)
		}
	}
	result := defs["Result"].(map[string]any)
	if req := toStrings(result["required"]); !slices.Contains(req, "tags") || slices.Contains(req, "error") {
		t.Errorf("Result.required = %v, want tags and not error", req)
	}
	tag := defs["Tag"].(map[string]any)
	enum := toStrings(tag["properties"].(map[string]any)["status"].(map[string]any)["enum"])
	if want := stringsOf(Statuses); !slices.Equal(enum, want) {
		t.Errorf("Tag.status enum = %v, want %v", enum, want)
	}
}

// TestSchemaValidatesReports runs the generated schema, through a small
// evaluator of the keywords it uses, against real and broken reports.
func TestSchemaValidatesReports(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	valid := buf.String()
	if err := validate(s, s, decode(t, valid), "$"); err != nil {
		t.Fatalf("sample report does not validate: %v", err)
	}
	empty := New("flux-mirror/dev", sampleReport().Report.Timestamp)
	empty.Finish(empty.Report.Timestamp, empty.Report.Timestamp)
	buf.Reset()
	if err := WriteJSON(&buf, empty); err != nil {
		t.Fatal(err)
	}
	if err := validate(s, s, decode(t, buf.String()), "$"); err != nil {
		t.Fatalf("empty report does not validate: %v", err)
	}

	broken := []struct {
		name, from, to string
	}{
		{"unknown status", `"status": "copied"`, `"status": "mirrored"`},
		{"wrong kind", `"kind": "Report"`, `"kind": "Config"`},
		{"extra field", `"durationMs": 4200`, `"durationMs": 4200, "bogus": 1`},
		{"failed tag without error", `"error": "PUT https`, `"message": "PUT https`},
		{"reason on a copied tag", `"status": "copied",`, `"status": "copied", "reason": "up-to-date",`},
		{"string count", `"copied": 1`, `"copied": "1"`},
		{"string selection count", `"matched": 4`, `"matched": "4"`},
		{"unknown selection field", `"selected": 4,`, `"selected": 4, "bogus": 0,`},
	}
	for _, b := range broken {
		doc := strings.Replace(valid, b.from, b.to, 1)
		if doc == valid {
			t.Fatalf("%s: replacement %q not found", b.name, b.from)
		}
		if err := validate(s, s, decode(t, doc), "$"); err == nil {
			t.Errorf("%s: schema accepted an invalid report", b.name)
		}
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

var dateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// validate evaluates the subset of JSON Schema 2020-12 that Schema emits.
func validate(root, s map[string]any, v any, path string) error {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: dangling $ref %s", path, ref)
		}
		if err := validate(root, def, v, path); err != nil {
			return err
		}
	}
	if typ, ok := s["type"].(string); ok {
		okType := false
		switch typ {
		case "object":
			_, okType = v.(map[string]any)
		case "array":
			_, okType = v.([]any)
		case "string":
			_, okType = v.(string)
		case "boolean":
			_, okType = v.(bool)
		case "integer":
			f, isNum := v.(float64)
			okType = isNum && f == float64(int64(f))
		}
		if !okType {
			return fmt.Errorf("%s: %v is not of type %s", path, v, typ)
		}
	}
	if c, ok := s["const"]; ok && c != v {
		return fmt.Errorf("%s: %v, want %v", path, v, c)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v not in %v", path, v, enum)
	}
	if s["format"] == "date-time" && !dateTime.MatchString(v.(string)) {
		return fmt.Errorf("%s: %v is not a date-time", path, v)
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range toStringsOrNil(s["required"]) {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: missing %q", path, r)
			}
		}
		for k, val := range obj {
			ps, known := props[k].(map[string]any)
			if !known {
				if s["additionalProperties"] == false && props != nil {
					return fmt.Errorf("%s: unknown property %q", path, k)
				}
				continue
			}
			if err := validate(root, ps, val, path+"."+k); err != nil {
				return err
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range arr {
				if err := validate(root, items, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	for _, sub := range toMaps(s["allOf"]) {
		if err := validate(root, sub, v, path); err != nil {
			return err
		}
	}
	if cond, ok := s["if"].(map[string]any); ok {
		branch := "else"
		if validate(root, cond, v, path) == nil {
			branch = "then"
		}
		if b, ok := s[branch].(map[string]any); ok {
			if err := validate(root, b, v, path); err != nil {
				return fmt.Errorf("%s (%s of a condition)", err, branch)
			}
		}
	}
	if not, ok := s["not"].(map[string]any); ok {
		if validate(root, not, v, path) == nil {
			return fmt.Errorf("%s: matches a forbidden schema %v", path, not)
		}
	}
	return nil
}

func toStringsOrNil(v any) []string {
	if v == nil {
		return nil
	}
	return toStrings(v)
}

func toMaps(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, x := range arr {
		out = append(out, x.(map[string]any))
	}
	return out
}
