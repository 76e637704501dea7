package config

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Decode converts a parsed JSON-like document (map[string]any, []any,
// string, bool, float64 or json.Number, and nil, as encoding/json or a
// YAML-to-JSON converter produce them) into a Config.
//
// Decoding is strict: an unknown field, or a value of the wrong type, is an
// error that names the field's path and what is allowed, e.g.
// `artifacts[0].selektor: unknown field (known: source, destination, …)`.
// Every problem is reported, joined with errors.Join, each a *FieldError.
// Values never appear in type errors, so a secret substituted into the wrong
// place does not leak. A null value leaves the field unset. Decode does not
// validate: call Config.Validate on the result.
func Decode(doc any) (*Config, error) {
	var l errorList
	switch doc.(type) {
	case nil:
		l.add("", "", "the document is empty; a config needs apiVersion: %s and kind: %s", APIVersion, Kind)
		return nil, l.err()
	case map[string]any:
	default:
		l.add("", "", "the document must be a mapping with apiVersion, kind and artifacts, charts or hosts, got %s", describe(doc))
		return nil, l.err()
	}
	var c Config
	d := decoder{l: &l}
	d.value(field{}, doc, reflect.ValueOf(&c).Elem())
	if err := l.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

type decoder struct {
	l *errorList
	// moved maps "Type.key" of a key the type does not have to where the
	// version being decoded keeps that setting (a rename between versions).
	moved map[string]string
}

var (
	durationType    = reflect.TypeFor[Duration]()
	hostType        = reflect.TypeFor[Host]()
	hostV1Beta2Type = reflect.TypeFor[HostV1Beta2]()
)

// value decodes v into dst, reporting problems at f.
func (d decoder) value(f field, v any, dst reflect.Value) {
	if v == nil {
		return // null: leave the field unset
	}
	if dst.Type() == durationType {
		s, ok := v.(string)
		if !ok {
			d.l.add(f.path, f.host, "must be a duration string such as \"48h\" or \"90s\", got %s", describe(v))
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.l.add(f.path, f.host, "%q is not a duration (use a Go duration such as \"48h\", \"90s\" or \"1h30m\")", s)
			return
		}
		dst.Set(reflect.ValueOf(Duration{dur}))
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		d.value(f, v, p.Elem())
		dst.Set(p)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			hint := ""
			if isScalar(v) {
				hint = " (quote the value in YAML, e.g. \"1.10\" or \"yes\")"
			}
			d.l.add(f.path, f.host, "must be a string, got %s%s", describe(v), hint)
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.l.add(f.path, f.host, "must be true or false, got %s", describe(v))
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := integer(v)
		if !ok {
			d.l.add(f.path, f.host, "must be a whole number, got %s", describe(v))
			return
		}
		if dst.OverflowInt(n) {
			d.l.add(f.path, f.host, "is too large")
			return
		}
		dst.SetInt(n)
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			d.l.add(f.path, f.host, "must be a list, got %s", describe(v))
			return
		}
		s := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			g := f.index(i)
			if e := dst.Type().Elem(); e == hostType || e == hostV1Beta2Type {
				if m, ok := item.(map[string]any); ok {
					g.host, _ = m["host"].(string)
				}
			}
			d.value(g, item, s.Index(i))
		}
		dst.Set(s)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.l.add(f.path, f.host, "must be a mapping with fields %s, got %s", strings.Join(jsonNames(dst.Type()), ", "), describe(v))
			return
		}
		d.object(f, m, dst)
	default:
		// The Config types use only the kinds above; a new kind is a bug.
		panic("config: Decode does not support " + dst.Type().String())
	}
}

// object decodes the fields of m into the struct dst, in key order.
func (d decoder) object(f field, m map[string]any, dst reflect.Value) {
	t := dst.Type()
	index := map[string]int{}
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			index[name] = i
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := index[k]
		if !ok {
			known := jsonNames(t)
			msg := "unknown field (known: " + strings.Join(known, ", ") + ")"
			if m := d.moved[t.Name()+"."+k]; m != "" {
				msg += "; " + m
			} else if s := suggest(k, known); s != "" {
				msg += "; did you mean " + strconv.Quote(s) + "?"
			}
			d.l.add(f.child(keyName(k)).path, f.host, "%s", msg)
			continue
		}
		d.value(f.child(k), m[k], dst.Field(i))
	}
}

// keyName returns k as a path element, quoted unless it looks like a field
// name, and shortened if it is long.
func keyName(k string) string {
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// jsonName returns the JSON name of a struct field, or "" if it has none.
func jsonName(sf reflect.StructField) string {
	if !sf.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return sf.Name
	}
	return name
}

// jsonNames lists the JSON names of t's fields in declaration order.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// integer converts a JSON number to an int64 if it is a whole number.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return integer(f)
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float32:
		return integer(float64(n))
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func isScalar(v any) bool {
	switch v.(type) {
	case bool, json.Number, float64, float32, int, int64, int32, uint64:
		return true
	}
	return false
}

// describe names the JSON type of v without showing the value, which may
// be a secret.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32, uint64:
		if _, ok := integer(v); ok {
			return "an integer"
		}
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return "a value of type " + reflect.TypeOf(v).String()
}

// suggest returns the known name closest to k, if it is close enough to be
// a likely typo.
func suggest(k string, known []string) string {
	best, bestDist := "", 3
	for _, n := range known {
		if strings.EqualFold(n, k) {
			return n
		}
		if d := distance(strings.ToLower(k), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
