package config

import (
	"reflect"
	"slices"
	"strings"
)

// SchemaFileV1Beta2 is the name of the published v1beta2 JSON Schema at the
// repository root.
const SchemaFileV1Beta2 = "config-v1beta2.json"

// SchemaIDV1Beta2 is the $id of the published v1beta2 JSON Schema.
const SchemaIDV1Beta2 = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/" + SchemaFileV1Beta2

// SchemaV1Beta2 returns the JSON Schema (draft 2020-12) of a v1beta2 Config
// document (ConfigV1Beta2), generated from the Go types as Schema is, with
// the same conventions: closed objects, fields without omitempty required,
// null (and "" for a string with rules) leaving an optional field unset.
// Artifacts and charts are v1beta1's, with the same rules; the hosts are
// v1beta2's. names are the v1beta1 provider names of the build, as for
// Schema: the v1beta2 schema lists them under their v1beta2 names
// (jwt-svid is spiffe), with generic among the hosts[].provider names.
// Besides the rules Schema leaves to Validate, the envelope template's
// syntax is checked by Validate only.
func SchemaV1Beta2(names ProviderNames) []byte {
	g := schemaGen{defs: map[string]any{}, docs: docsV1Beta2(), fields: fieldRulesV1Beta2(names), types: typeRulesV1Beta2()}
	return g.document(reflect.TypeFor[ConfigV1Beta2](), SchemaIDV1Beta2, APIVersionV1Beta2)
}

// v1beta2TypeNames are the schema names of the types v1beta2 defines
// itself; the others (artifacts, charts, Source) are shared with v1beta1.
var v1beta2TypeNames = []string{"Config", "Host", "Credential", "TLS", "ServerAuth", "SPIFFEServer", "ClientAuth"}

// sharedWithV1Beta1 reports whether key (Type or Type.field) belongs to a
// type v1beta2 shares with v1beta1.
func sharedWithV1Beta1(key string) bool {
	typ, _, _ := strings.Cut(key, ".")
	return !slices.Contains(v1beta2TypeNames, typ)
}

// docsV1Beta2 are the v1beta2 descriptions: v1beta1's for the shared types,
// and docsV1Beta2Own for the rest.
func docsV1Beta2() map[string]string {
	out := map[string]string{}
	for k, v := range docs {
		if sharedWithV1Beta1(k) {
			out[k] = v
		}
	}
	for k, v := range docsV1Beta2Own {
		out[k] = v
	}
	return out
}

// v1beta2TokenProviders are the credential.provider names of names.Token in
// v1beta2, where jwt-svid is called spiffe.
func v1beta2TokenProviders(token []string) []string {
	out := slices.Clone(token)
	for i, n := range out {
		if n == TokenProviderJWTSVID {
			out[i] = ProviderSPIFFE
		}
	}
	return out
}

// fieldRulesV1Beta2 are the constraints of single v1beta2 fields, keyed
// Type.field: v1beta1's for the shared types.
func fieldRulesV1Beta2(names ProviderNames) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range fieldRules(names) {
		if sharedWithV1Beta1(k) {
			out[k] = v
		}
	}
	token := providerRule(v1beta2TokenProviders(names.Token))
	if len(names.Token) == 0 {
		// Any name of a provider's shape but the v1beta1 one.
		token["not"] = map[string]any{"const": TokenProviderJWTSVID}
	}
	registry := providerRule(names.Registry)
	if len(names.Registry) > 0 {
		registry = providerRule(append([]string{RegistryProviderGeneric}, names.Registry...))
	}
	for k, v := range map[string]map[string]any{
		"Config.apiVersion":        {"const": APIVersionV1Beta2},
		"Config.kind":              {"const": Kind},
		"Host.host":                {"pattern": hostPattern},
		"Host.provider":            registry,
		"Host.maxChunkSize":        {"minimum": 0, "maximum": maxChunkSize},
		"Credential.type":          {"const": CredentialTypeJWT},
		"Credential.provider":      token,
		"Credential.audiences":     {"items": map[string]any{"type": "string", "minLength": 1}, "uniqueItems": true},
		"Credential.expiration":    {"not": map[string]any{"pattern": zeroDuration}},
		"ServerAuth.provider":      {"const": ProviderSPIFFE},
		"SPIFFEServer.serverID":    {"pattern": spiffeIDPrefixPattern},
		"SPIFFEServer.trustDomain": {"pattern": trustDomainPattern},
		"ClientAuth.provider":      {"const": ProviderSPIFFE},
	} {
		out[k] = v
	}
	return out
}

// spiffeIDPrefixPattern is a SPIFFE ID, or one followed by '/' (a path
// prefix; spiffe://td/ is the whole trust domain).
const spiffeIDPrefixPattern = `^spiffe://[a-z0-9._-]+(?:/[a-zA-Z0-9._-]+)*/?$`

// typeRulesV1Beta2 are the cross-field constraints of v1beta2 objects,
// keyed by type: v1beta1's for the shared types.
func typeRulesV1Beta2() map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range typeRules() {
		if sharedWithV1Beta1(k) {
			out[k] = v
		}
	}
	jwk := anyOf(str("jwkPath"), str("jwkValue"))
	// cloud: provider names a cloud registry (set, and not generic).
	cloud := map[string]any{
		"required":   []string{"provider"},
		"properties": map[string]any{"provider": map[string]any{"type": "string", "minLength": 1, "not": map[string]any{"const": RegistryProviderGeneric}}},
	}
	audiences := map[string]any{
		"required":   []string{"audiences"},
		"properties": map[string]any{"audiences": map[string]any{"type": "array", "minItems": 1}},
	}
	for k, v := range map[string]map[string]any{
		"Host": allOf(
			// a cloud provider supplies the credential and the transport.
			not(allOf(obj("credential"), cloud)),
			not(allOf(obj("tls"), cloud)),
			// at least one of credential, a cloud provider, tls or
			// maxChunkSize.
			anyOf(obj("credential"), cloud, obj("tls"), set("maxChunkSize", reflect.Int64)),
		),
		"Credential": allOf(
			// exactly one token source.
			oneOf(str("provider"), str("value"), str("fromPath"), str("jwkPath"), str("jwkValue")),
			// issuer and subject are required with jwk*, and only allowed
			// with it; so is expiration.
			map[string]any{
				"if":   jwk,
				"then": allOf(str("issuer"), str("subject")),
				"else": not(anyOf(str("issuer"), str("subject"), obj("expiration"))),
			},
			// audiences only with provider or jwk*.
			map[string]any{"if": audiences, "then": anyOf(str("provider"), str("jwkPath"), str("jwkValue"))},
			// a provider mints a token for one audience (gcp and azure by
			// their API, the others by the CLI's token sources).
			map[string]any{"if": str("provider"), "then": map[string]any{"properties": map[string]any{"audiences": map[string]any{"maxItems": 1}}}},
		),
		"TLS": anyOf(obj("serverAuth"), obj("clientAuth")),
		"ServerAuth": map[string]any{
			// provider: spiffe verifies with the SPIFFE bundle and needs the
			// spiffe block; otherwise a CA bundle, exactly one of fromPath
			// or value.
			"if":   str("provider"),
			"then": allOf(obj("spiffe"), not(anyOf(str("fromPath"), str("value")))),
			"else": allOf(oneOf(str("fromPath"), str("value")), not(obj("spiffe"))),
		},
		"SPIFFEServer": oneOf(str("serverID"), str("trustDomain")),
		"ClientAuth": allOf(
			oneOf(str("provider"), allOf(obj("certificate"), obj("key"))),
			map[string]any{"if": str("provider"), "then": not(anyOf(obj("certificate"), obj("key")))},
			map[string]any{"dependentRequired": map[string]any{"certificate": []string{"key"}, "key": []string{"certificate"}}},
		),
	} {
		out[k] = v
	}
	return out
}
