package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tree parses JSON text into the generic tree Decode consumes.
func tree(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestDecode(t *testing.T) {
	t.Parallel()
	doc := `{
	  "apiVersion": "mirror.plugin.fluxcd.io/v1beta1",
	  "kind": "Config",
	  "artifacts": [{
	    "source": "ghcr.io/fluxcd/flux-cli",
	    "destination": "quay.io/example/flux-cli",
	    "selector": {"semver": ">=2.7.0 <3.0.0", "limit": 10, "sortBy": "semver", "regex": {"pattern": "^v(?P<v>.*)$", "extract": "$v"}},
	    "includeReferrers": true,
	    "overwrite": false,
	    "verify": {"provider": "cosign", "minAge": "168h", "matchOIDCIdentity": [{"issuer": "https://i", "subject": ".*"}]}
	  }],
	  "charts": [{"name": "nginx", "source": "https://charts.example.com", "destination": "oci://quay.io/example/charts", "version": "15.x", "limit": 0, "overwrite": true}],
	  "hosts": [
	    {"host": "quay.io", "username": "u", "credential": {"value": "t"}, "maxChunkSize": 2048},
	    {"host": "j.example", "credential": {"jwkPath": "k.json", "iss": "i", "sub": "s", "aud": "a", "exp": "90s"}},
	    {"host": "t.example", "tls": {"serverAuth": {"spiffe": {"authorizeAny": true}}, "clientAuth": {"certificate": {"value": "C"}, "key": {"fromPath": "k"}}}}
	  ]
	}`
	got, err := Decode(tree(t, doc))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		Artifacts: []Artifact{{
			Source:           "ghcr.io/fluxcd/flux-cli",
			Destination:      "quay.io/example/flux-cli",
			Selector:         &Selector{Semver: ">=2.7.0 <3.0.0", Limit: ptr(10), SortBy: SortSemver, Regex: &Regex{Pattern: "^v(?P<v>.*)$", Extract: "$v"}},
			IncludeReferrers: true,
			Verify:           &Verify{Provider: "cosign", MinAge: &Duration{168 * time.Hour}, MatchOIDCIdentity: []OIDCIdentity{{Issuer: "https://i", Subject: ".*"}}},
		}},
		Charts: []Chart{{Name: "nginx", Source: "https://charts.example.com", Destination: "oci://quay.io/example/charts", Version: "15.x", Limit: ptr(0), Overwrite: true}},
		Hosts: []Host{
			{Host: "quay.io", Username: "u", Credential: &Credential{Value: "t"}, MaxChunkSize: 2048},
			{Host: "j.example", Credential: &Credential{JWKPath: "k.json", Iss: "i", Sub: "s", Aud: "a", Exp: &Duration{90 * time.Second}}},
			{Host: "t.example", TLS: &TLS{
				ServerAuth: &ServerAuth{SPIFFE: &SPIFFEServer{AuthorizeAny: true}},
				ClientAuth: &ClientAuth{Certificate: &Source{Value: "C"}, Key: &Source{FromPath: "k"}},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("Decode:\n got %s\nwant %s", gj, wj)
	}
	if err := got.Validate(PurposeSync); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  any // a JSON string, or a value given as is
		want string
	}{
		{
			name: "unknown field with suggestion",
			doc:  `{"artifacts": [{"selektor": {}}]}`,
			want: `artifacts[0].selektor: unknown field (known: source, destination, selector, includeReferrers, verify, overwrite); did you mean "selector"?`,
		},
		{
			name: "unknown field case",
			doc:  `{"hosts": [{"host": "quay.io", "Credential": {}}]}`,
			want: `hosts[0] "quay.io": Credential: unknown field (known: host, username, credential, provider, tls, maxChunkSize); did you mean "credential"?`,
		},
		{
			name: "unknown field far from any",
			doc:  `{"apiVersion": "x", "spec": {}}`,
			want: `spec: unknown field (known: apiVersion, kind, artifacts, charts, hosts)`,
		},
		{
			name: "unknown key quoted",
			doc:  `{"hosts": [{"host": "h.example", "tls": {"server auth": 1}}]}`,
			want: `hosts[0] "h.example": tls."server auth": unknown field (known: serverAuth, clientAuth); did you mean "serverAuth"?`,
		},
		{
			name: "number for a string",
			doc:  `{"charts": [{"version": 6}]}`,
			want: `charts[0].version: must be a string, got an integer (quote the value in YAML, e.g. "1.10" or "yes")`,
		},
		{
			name: "bool for a string",
			doc:  `{"hosts": [{"host": "h.example", "username": true}]}`,
			want: `hosts[0] "h.example": username: must be a string, got a boolean (quote the value in YAML, e.g. "1.10" or "yes")`,
		},
		{
			name: "string for a bool",
			doc:  `{"artifacts": [{"includeReferrers": "true"}]}`,
			want: `artifacts[0].includeReferrers: must be true or false, got a string`,
		},
		{
			name: "fraction for an integer",
			doc:  `{"artifacts": [{"selector": {"limit": 1.5}}]}`,
			want: `artifacts[0].selector.limit: must be a whole number, got a number`,
		},
		{
			name: "huge integer",
			doc:  `{"charts": [{"limit": 1e300}]}`,
			want: `charts[0].limit: must be a whole number, got a number`,
		},
		{
			name: "mapping for a list",
			doc:  `{"hosts": {"host": "quay.io"}}`,
			want: `hosts: must be a list, got a mapping`,
		},
		{
			name: "list for a mapping",
			doc:  `{"artifacts": [{"selector": ["semver"]}]}`,
			want: `artifacts[0].selector: must be a mapping with fields regex, semver, sortBy, limit, got a list`,
		},
		{
			name: "bad duration",
			doc:  `{"artifacts": [{"verify": {"minAge": "2d"}}]}`,
			want: `artifacts[0].verify.minAge: "2d" is not a duration (use a Go duration such as "48h", "90s" or "1h30m")`,
		},
		{
			name: "number for a duration",
			doc:  `{"hosts": [{"host": "h.example", "credential": {"exp": 60}}]}`,
			want: `hosts[0] "h.example": credential.exp: must be a duration string such as "48h" or "90s", got an integer`,
		},
		{
			name: "several errors in key order",
			doc:  `{"kind": 1, "apiVersion": 2}`,
			want: "apiVersion: must be a string, got an integer (quote the value in YAML, e.g. \"1.10\" or \"yes\")\n" +
				"kind: must be a string, got an integer (quote the value in YAML, e.g. \"1.10\" or \"yes\")",
		},
		{name: "empty document", doc: nil, want: "the document is empty; a config needs apiVersion: mirror.plugin.fluxcd.io/v1beta1 and kind: Config"},
		{name: "list document", doc: `[1]`, want: "the document must be a mapping with apiVersion, kind and artifacts, charts or hosts, got a list"},
		{name: "scalar document", doc: `"x"`, want: "the document must be a mapping with apiVersion, kind and artifacts, charts or hosts, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := tt.doc
			if s, ok := doc.(string); ok {
				doc = tree(t, s)
			}
			c, err := Decode(doc)
			if err == nil {
				t.Fatalf("Decode: no error, got %+v", c)
			}
			if c != nil {
				t.Errorf("Decode returned a Config with an error")
			}
			if err.Error() != tt.want {
				t.Errorf("Decode:\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestDecodeNullLeavesUnset(t *testing.T) {
	t.Parallel()
	c, err := Decode(tree(t, `{"apiVersion": null, "artifacts": [{"selector": null, "source": null}], "hosts": null}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if c.APIVersion != "" || c.Artifacts[0].Selector != nil || c.Hosts != nil {
		t.Fatalf("Decode: got %+v", c)
	}
}

func TestDecodeNumberTypes(t *testing.T) {
	t.Parallel()
	for _, n := range []any{float64(3), json.Number("3"), int(3), int64(3), json.Number("3.0")} {
		c, err := Decode(map[string]any{"charts": []any{map[string]any{"limit": n}}})
		if err != nil || *c.Charts[0].Limit != 3 {
			t.Errorf("Decode(limit: %#v): %v", n, err)
		}
	}
}

// TestDecodeDoesNotLeakValues checks that type errors never echo a value,
// which could be a substituted secret.
func TestDecodeDoesNotLeakValues(t *testing.T) {
	t.Parallel()
	const secret = "987654321987"
	doc := `{"hosts": [{"host": "h.example", "username": ` + secret + `, "credential": {"value": ` + secret + `, "exp": ` + secret + `, "iss": {"k": "` + secret + `"}}}]}`
	_, err := Decode(tree(t, doc))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Decode: %v", err)
	}
}

// TestDecodeRoundTrip checks that a Config marshalled to JSON decodes to
// the same Config.
func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	want := valid()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(tree(t, string(b)))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		t.Fatalf("round trip:\n got %s\nwant %s", gb, b)
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	fe := &FieldError{Path: "a", Message: "m"}
	if got := FieldErrors(nil); got != nil {
		t.Errorf("FieldErrors(nil): %v", got)
	}
	wrapped := &wrapErr{err: fe}
	if got := FieldErrors(wrapped); len(got) != 1 || got[0] != fe {
		t.Errorf("FieldErrors(wrapped): %v", got)
	}
	if (&FieldError{Message: "whole"}).Error() != "whole" {
		t.Error("FieldError without path")
	}
	if got := (&FieldError{Path: "hosts[0]", Host: "h", Message: "m"}).Error(); got != `hosts[0] "h": m` {
		t.Errorf("FieldError on a host entry: %s", got)
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

func FuzzDecode(f *testing.F) {
	b, _ := json.Marshal(valid())
	f.Add(b)
	f.Add([]byte(`{"hosts": [{"host": 1, "tls": {"serverAuth": {"spiffe": {"x": null}}}}]}`))
	f.Add([]byte(`{"artifacts": [{"selector": {"limit": 1e99}}], "charts": [[]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var doc any
		if d.Decode(&doc) != nil {
			return
		}
		c, err := Decode(doc)
		if (c == nil) == (err == nil) {
			t.Fatalf("Decode: config %v with error %v", c, err)
		}
		if err != nil {
			for _, fe := range FieldErrors(err) {
				if fe.Message == "" {
					t.Fatalf("FieldError without a message: %+v", fe)
				}
			}
			return
		}
		_ = c.Validate(PurposeSync) // must not panic
	})
}
