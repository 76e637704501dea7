package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// SchemaFile is the name of the published JSON Schema at the repository root.
const SchemaFile = "config-v1beta1.json"

// SchemaID is the $id of the published JSON Schema.
const SchemaID = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/" + SchemaFile

// Schema returns the JSON Schema (draft 2020-12) of a Config document,
// generated from the Go types by reflection: every struct becomes an object
// with additionalProperties false, fields without omitempty are required,
// descriptions come from the field documentation in this package, and the
// enums, patterns and cross-field rules come from the same constants and
// patterns Validate uses. Rules that JSON Schema cannot express (semver
// ranges and regular expressions that must compile, unique hosts and
// destinations, the purpose-dependent "at least one entry") are checked by
// Validate only. As in Decode and Validate, an optional field may be null,
// which leaves it unset, and an optional string field whose rules would
// reject "" may be "", which also leaves it unset (so `provider: ""` means
// no provider in both). The provider fields list the names in names; core
// knows no provider, so the CLI, which knows the factories of its default
// build, generates the published file (see cli/cmd/flux-mirror). The output
// is indented, deterministic and ends in a newline.
func Schema(names ProviderNames) []byte {
	g := schemaGen{defs: map[string]any{}, docs: docs, fields: fieldRules(names), types: typeRules()}
	return g.document(reflect.TypeFor[Config](), SchemaID, APIVersion)
}

// document returns the schema of the document type t, indented and ending
// in a newline.
func (g schemaGen) document(t reflect.Type, id, apiVersion string) []byte {
	root := g.object(t)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = id
	root["title"] = "flux-mirror Config " + apiVersion
	root["$comment"] = "Generated from the Go types of github.com/fluxcd/flux-mirror/core/config and the providers of the default build by go generate in cli/cmd/flux-mirror; do not edit."
	root["$defs"] = g.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic("config: encode schema: " + err.Error()) // only plain values above
	}
	return buf.Bytes()
}

// ProviderNames are the provider names a schema lists for each field that
// names a provider. An empty list makes the field accept any name of the
// right shape (ProviderNamePattern).
type ProviderNames struct {
	// Registry are the Host.provider names (e.g. ecr, acr, gar).
	Registry []string
	// Token are the Credential.provider names (e.g. github, aws).
	Token []string
	// TLS are the ClientAuth.provider names (e.g. x509-svid).
	TLS []string
}

// schemaGen generates the schema of one API version: the descriptions,
// field rules and type rules are keyed by defName (Type and Type.field).
type schemaGen struct {
	defs   map[string]any
	docs   map[string]string
	fields map[string]map[string]any
	types  map[string]map[string]any
}

// defName is the name of a Go type of the Config API in a schema: its Go
// name without the version suffix, so that v1beta2's HostV1Beta2 is Host
// in config-v1beta2.json as in the API it describes.
func defName(t reflect.Type) string { return strings.TrimSuffix(t.Name(), "V1Beta2") }

// object returns the schema of the struct type t.
func (g schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		sf := t.Field(i)
		name := jsonName(sf)
		if name == "" {
			continue
		}
		s := g.typeSchema(sf.Type)
		rules := g.fields[defName(t)+"."+name]
		for k, v := range rules {
			s[k] = v
		}
		optional := strings.Contains(sf.Tag.Get("json"), ",omitempty")
		if optional {
			s = optionalSchema(s, sf.Type.Kind() == reflect.String && len(rules) > 0)
		}
		if d := g.docs[defName(t)+"."+name]; d != "" {
			s["description"] = d
		}
		props[name] = s
		if !optional {
			required = append(required, name)
		}
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if d := g.docs[defName(t)]; d != "" {
		s["description"] = d
	}
	for k, v := range g.types[defName(t)] {
		s[k] = v
	}
	return s
}

// typeSchema returns the schema of a field of type t.
func (g schemaGen) typeSchema(t reflect.Type) map[string]any {
	if t == durationType {
		return map[string]any{"type": "string", "pattern": nonNegativeDuration}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // reserve against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic("config: Schema does not support " + t.String())
}

// optionalSchema is the schema of an optional field whose value schema is
// s: as in Decode and Validate, null leaves the field unset, and so does
// an empty string where the field's rules (an enum, a pattern) would
// reject one (emptyUnset), e.g. `provider: ""` or a ${VAR} set to "".
func optionalSchema(s map[string]any, emptyUnset bool) map[string]any {
	alts := []any{map[string]any{"type": "null"}}
	if emptyUnset {
		alts = append(alts, map[string]any{"type": "string", "maxLength": 0})
	}
	return map[string]any{"anyOf": append(alts, s)}
}

// set is the schema condition "field name is set" as Validate sees it: a
// string is non-empty, a bool is true, a number is non-zero, anything else
// is present and not null.
func set(name string, kind reflect.Kind) map[string]any {
	var p map[string]any
	switch kind {
	case reflect.String:
		p = map[string]any{"type": "string", "minLength": 1}
	case reflect.Bool:
		p = map[string]any{"const": true}
	case reflect.Int64:
		p = map[string]any{"type": "integer", "not": map[string]any{"const": 0}}
	default:
		p = map[string]any{"not": map[string]any{"type": "null"}}
	}
	return map[string]any{"required": []string{name}, "properties": map[string]any{name: p}}
}

func str(name string) map[string]any { return set(name, reflect.String) }
func obj(name string) map[string]any { return set(name, reflect.Struct) }

func anyOf(s ...map[string]any) map[string]any { return map[string]any{"anyOf": s} }
func oneOf(s ...map[string]any) map[string]any { return map[string]any{"oneOf": s} }
func allOf(s ...map[string]any) map[string]any { return map[string]any{"allOf": s} }
func not(s map[string]any) map[string]any      { return map[string]any{"not": s} }

// maxChunkSize keeps MaxChunkBytes from overflowing an int64.
const maxChunkSize = 1<<53 - 1

// providerRule constrains a provider field to names, or to the shape of a
// provider name when names is empty.
func providerRule(names []string) map[string]any {
	if len(names) == 0 {
		return map[string]any{"pattern": ProviderNamePattern}
	}
	enum := slices.Clone(names)
	slices.Sort(enum)
	return map[string]any{"enum": slices.Compact(enum)}
}

// fieldRules are the constraints of single fields, keyed Type.field.
func fieldRules(names ProviderNames) map[string]map[string]any {
	repo := map[string]any{"pattern": repositoryPattern}
	limit := map[string]any{"minimum": 0}
	return map[string]map[string]any{
		"Config.apiVersion":        {"const": APIVersion},
		"Config.kind":              {"const": Kind},
		"Artifact.source":          repo,
		"Artifact.destination":     repo,
		"Selector.sortBy":          {"enum": SortStrategies},
		"Selector.limit":           limit,
		"Regex.pattern":            {"minLength": 1},
		"Regex.extract":            {"pattern": `\$(?:\{[A-Za-z0-9_]+\}|[A-Za-z0-9_])`},
		"Verify.provider":          {"const": VerifyProviderCosign},
		"Verify.matchOIDCIdentity": {"minItems": 1},
		"OIDCIdentity.issuer":      {"pattern": issuerPattern},
		"OIDCIdentity.subject":     {"minLength": 1},
		"Chart.name":               {"pattern": chartNamePattern},
		"Chart.source":             {"pattern": httpURLPattern},
		"Chart.destination":        {"pattern": chartDestinationPattern},
		"Chart.limit":              limit,
		"Host.host":                {"pattern": hostPattern},
		"Host.provider":            providerRule(names.Registry),
		"Host.maxChunkSize":        {"minimum": 0, "maximum": maxChunkSize},
		"Credential.provider":      providerRule(names.Token),
		"Credential.exp":           {"not": map[string]any{"pattern": zeroDuration}},
		"SPIFFEServer.serverID":    {"pattern": spiffeIDPattern},
		"SPIFFEServer.trustDomain": {"pattern": trustDomainPattern},
		"ClientAuth.provider":      providerRule(names.TLS),
	}
}

// typeRules are the cross-field constraints of objects, keyed by type.
func typeRules() map[string]map[string]any {
	jwk := anyOf(str("jwkPath"), str("jwkValue"))
	return map[string]map[string]any{
		"Host": allOf(
			// credential and provider are mutually exclusive.
			not(allOf(obj("credential"), str("provider"))),
			// tls is not allowed with provider.
			not(allOf(obj("tls"), str("provider"))),
			// at least one of credential, provider, tls or maxChunkSize.
			anyOf(obj("credential"), str("provider"), obj("tls"), set("maxChunkSize", reflect.Int64)),
			// username needs a credential and is not allowed with provider.
			map[string]any{"if": str("username"), "then": allOf(obj("credential"), not(str("provider")))},
		),
		"Credential": allOf(
			// exactly one token source.
			oneOf(str("provider"), str("value"), str("fromPath"), str("jwkPath"), str("jwkValue")),
			// iss and sub are required with jwk*, and only allowed with it;
			// so is exp.
			map[string]any{
				"if":   jwk,
				"then": allOf(str("iss"), str("sub")),
				"else": not(anyOf(str("iss"), str("sub"), obj("exp"))),
			},
			// aud only with provider or jwk*.
			map[string]any{"if": str("aud"), "then": anyOf(str("provider"), str("jwkPath"), str("jwkValue"))},
		),
		"TLS":        anyOf(obj("serverAuth"), obj("clientAuth")),
		"ServerAuth": oneOf(str("fromPath"), str("value"), obj("spiffe")),
		"SPIFFEServer": oneOf(
			str("serverID"), str("trustDomain"), set("authorizeAny", reflect.Bool),
		),
		"ClientAuth": allOf(
			oneOf(str("provider"), allOf(obj("certificate"), obj("key"))),
			map[string]any{"if": str("provider"), "then": not(anyOf(obj("certificate"), obj("key")))},
			map[string]any{"dependentRequired": map[string]any{"certificate": []string{"key"}, "key": []string{"certificate"}}},
		),
		"Source": oneOf(str("fromPath"), str("value")),
	}
}
