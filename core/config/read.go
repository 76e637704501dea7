package config

import (
	"reflect"
)

// DocumentAPIVersion returns the apiVersion of a parsed document (as
// Decode takes it) when it is a mapping with a string apiVersion, else "".
func DocumentAPIVersion(doc any) string {
	m, ok := doc.(map[string]any)
	if !ok {
		return ""
	}
	v, _ := m["apiVersion"].(string)
	return v
}

// DecodeV1Beta2 converts a parsed document into a ConfigV1Beta2, as strictly
// as Decode does for v1beta1: every unknown field or wrong type is a
// *FieldError naming its v1beta2 path. It does not validate.
func DecodeV1Beta2(doc any) (*ConfigV1Beta2, error) {
	var l errorList
	switch doc.(type) {
	case nil:
		l.add("", "", "the document is empty; a config needs apiVersion: %s and kind: %s", APIVersionV1Beta2, Kind)
		return nil, l.err()
	case map[string]any:
	default:
		l.add("", "", "the document must be a mapping with apiVersion, kind and artifacts, charts or hosts, got %s", describe(doc))
		return nil, l.err()
	}
	var c ConfigV1Beta2
	d := decoder{l: &l, moved: movedInV1Beta2}
	d.value(field{}, doc, reflect.ValueOf(&c).Elem())
	if err := l.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Read decodes a parsed document of either apiVersion, validates it for p
// under the field paths of the version it is written in, and returns the
// Config flux-mirror runs on: a v1beta1 document as decoded, a v1beta2
// one converted (ConfigV1Beta2.Internal, ReadAs set). A document without
// a known apiVersion is read as v1beta1, whose validation names the
// versions that exist.
//
// A decode error returns a nil Config. A validation error returns the
// Config as well, so that a caller can report other problems (paths) of
// the same file alongside.
func Read(doc any, p Purpose) (*Config, error) {
	if DocumentAPIVersion(doc) == APIVersionV1Beta2 {
		c, err := DecodeV1Beta2(doc)
		if err != nil {
			return nil, err
		}
		return c.Internal(), c.Validate(p)
	}
	c, err := Decode(doc)
	if err != nil {
		return nil, err
	}
	return c, c.Validate(p)
}

// Version returns the apiVersion the config was read as: ReadAs, or
// APIVersion for a config read (or built) as v1beta1.
func (c *Config) Version() string {
	if c.ReadAs != "" {
		return c.ReadAs
	}
	return APIVersion
}

// movedInV1Beta2 says where v1beta2 keeps the v1beta1 settings it renamed
// or moved, for the unknown-field errors of a v1beta1 habit.
var movedInV1Beta2 = map[string]string{
	"HostV1Beta2.username":             "v1beta2 moved it to credential.username",
	"CredentialV1Beta2.iss":            "v1beta2 calls it issuer",
	"CredentialV1Beta2.sub":            "v1beta2 calls it subject",
	"CredentialV1Beta2.aud":            "v1beta2 calls it audiences, a list (e.g. audiences: [registry.example.com])",
	"CredentialV1Beta2.exp":            "v1beta2 calls it expiration",
	"SPIFFEServerV1Beta2.authorizeAny": "v1beta2 has no authorizeAny; authorize a serverID (a prefix ending in / matches a path) or a trustDomain",
}
