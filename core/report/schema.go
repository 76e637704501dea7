package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Schema returns the JSON Schema (draft 2020-12) of the Report, generated
// from the Go types by reflection: properties and required fields come from
// the json tags (a field without omitempty is required), descriptions from
// the desc tags, patterns and minimums from the pattern and minimum tags,
// enumerations from Statuses, EntryStatuses and Reasons, and
// the "only when" rules of the spec are added as if/then conditions. The
// output is indented, ends with a newline and is stable, so the committed
// report-v1beta1.json can be compared with it byte for byte.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Report]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaURL
	root["title"] = "flux-mirror Report"
	root["description"] = "The outcome of `flux mirror sync`, printed by `-o json` and `-o yaml` (" + APIVersion + ")."
	props := root["properties"].(map[string]any)
	props["apiVersion"].(map[string]any)["const"] = APIVersion
	props["kind"].(map[string]any)["const"] = Kind
	props["$schema"].(map[string]any)["format"] = "uri"
	root["$defs"] = g.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode report schema: %w", err)
	}
	return buf.Bytes(), nil
}

type schemaGen struct {
	defs map[string]any
}

// enums maps the string types of the report to their allowed values.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[Status]():      stringsOf(Statuses),
	reflect.TypeFor[EntryStatus](): stringsOf(EntryStatuses),
	reflect.TypeFor[Reason]():      stringsOf(Reasons),
}

func stringsOf[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// conditions are the "only when" rules of the spec, per type.
var conditions = map[reflect.Type][]any{
	reflect.TypeFor[Result](): {
		onlyWhen("status", string(EntryFailed), "error"),
	},
	reflect.TypeFor[Tag](): {
		onlyWhen("status", string(StatusSkipped), "reason"),
		onlyWhen("status", string(StatusFailed), "error"),
	},
	reflect.TypeFor[Referrer](): {
		onlyWhen("status", string(StatusSkipped), "reason"),
		onlyWhen("status", string(StatusFailed), "error"),
	},
}

// onlyWhen requires field when prop equals value, and forbids it otherwise.
func onlyWhen(prop, value, field string) any {
	return map[string]any{
		"if":   map[string]any{"properties": map[string]any{prop: map[string]any{"const": value}}},
		"then": map[string]any{"required": []string{field}},
		"else": map[string]any{"not": map[string]any{"required": []string{field}}},
	}
}

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if vals, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vals}
	}
	if t == reflect.TypeFor[time.Time]() {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // reserve: guards against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic(fmt.Sprintf("report schema: unsupported type %s", t))
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		s := g.typeSchema(f.Type)
		if d := f.Tag.Get("desc"); d != "" {
			s["description"] = d
		}
		if p := f.Tag.Get("pattern"); p != "" {
			s["pattern"] = p
		}
		if m := f.Tag.Get("minimum"); m != "" {
			s["minimum"] = json.Number(m)
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	obj := map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
	if c, ok := conditions[t]; ok {
		obj["allOf"] = c
	}
	return obj
}
