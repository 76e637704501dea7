package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// v1beta2Base is a valid v1beta2 document the table cases add hosts to.
const v1beta2Base = `"apiVersion": "mirror.plugin.fluxcd.io/v1beta2", "kind": "Config",
  "artifacts": [{"source": "ghcr.io/org/app", "destination": "quay.io/org/app", "selector": {"semver": "*"}}]`

func TestReadV1Beta2(t *testing.T) {
	t.Parallel()
	doc := `{` + v1beta2Base + `,
	  "hosts": [
	    {"host": "quay.io", "provider": "generic", "credential": {"type": "jwt", "value": "t", "username": "u", "envelope": "x-{{ hex .Token }}"}, "maxChunkSize": 2048},
	    {"host": "j.example", "credential": {"type": "jwt", "jwkPath": "k.json", "issuer": "i", "subject": "s", "audiences": ["a", "b"], "expiration": "90s"}},
	    {"host": "one.example", "credential": {"type": "jwt", "provider": "gcp", "audiences": ["aud"]}},
	    {"host": "svid.example", "credential": {"type": "jwt", "provider": "spiffe"}},
	    {"host": "ecr.example", "provider": "ecr"},
	    {"host": "t.example", "tls": {"serverAuth": {"provider": "spiffe", "spiffe": {"serverID": "spiffe://example.org/registries/"}}, "clientAuth": {"provider": "spiffe"}}},
	    {"host": "ca.example", "tls": {"serverAuth": {"fromPath": "ca.pem"}, "clientAuth": {"certificate": {"value": "C"}, "key": {"fromPath": "k"}}}}
	  ]
	}`
	got, err := Read(tree(t, doc), PurposeSync)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := []Host{
		{Host: "quay.io", Username: "u", Credential: &Credential{Value: "t", Envelope: "x-{{ hex .Token }}"}, MaxChunkSize: 2048},
		{Host: "j.example", Credential: &Credential{JWKPath: "k.json", Iss: "i", Sub: "s", Audiences: []string{"a", "b"}, Exp: &Duration{90 * time.Second}}},
		{Host: "one.example", Credential: &Credential{Provider: "gcp", Aud: "aud"}},
		{Host: "svid.example", Credential: &Credential{Provider: TokenProviderJWTSVID}},
		{Host: "ecr.example", Provider: "ecr"},
		{Host: "t.example", TLS: &TLS{ServerAuth: &ServerAuth{SPIFFE: &SPIFFEServer{ServerID: "spiffe://example.org/registries/"}}, ClientAuth: &ClientAuth{Provider: ClientProviderX509SVID}}},
		{Host: "ca.example", TLS: &TLS{ServerAuth: &ServerAuth{FromPath: "ca.pem"}, ClientAuth: &ClientAuth{Certificate: &Source{Value: "C"}, Key: &Source{FromPath: "k"}}}},
	}
	if !reflect.DeepEqual(got.Hosts, want) {
		t.Errorf("hosts:\n got %+v\nwant %+v", got.Hosts, want)
	}
	if got.Version() != APIVersionV1Beta2 || got.APIVersion != APIVersion {
		t.Errorf("Version() = %q, APIVersion = %q; want the v1beta2 origin recorded on the internal (v1beta1) form", got.Version(), got.APIVersion)
	}
	if got.Hosts[1].Credential.EffectiveAudiences("j.example")[1] != "b" || got.Hosts[3].Credential.EffectiveAudiences("svid.example")[0] != "svid.example" {
		t.Error("EffectiveAudiences: want the list, or [host] when unset")
	}
}

// TestV1Beta2Errors checks that decoding and validation name v1beta2 field
// paths (and the host of a hosts entry).
func TestV1Beta2Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		hosts string // the hosts list, JSON
		top   string // replaces v1beta2Base when set
		want  []string
	}{
		{name: "v1beta1 field names are unknown", hosts: `[{"host": "a.io", "username": "u", "credential": {"type": "jwt", "jwkPath": "k", "iss": "i", "sub": "s", "aud": "x", "exp": "1m"}}]`,
			want: []string{`hosts[0] "a.io": credential.aud: unknown field`, `hosts[0] "a.io": credential.exp: unknown field`, `v1beta2 calls it expiration`, `credential.iss: unknown field (known: type, provider, value, fromPath, jwkPath, jwkValue, issuer, subject, audiences, expiration, username, envelope); v1beta2 calls it issuer`, `v1beta2 calls it audiences, a list`, `hosts[0] "a.io": username: unknown field (known: host, credential, provider, tls, maxChunkSize); v1beta2 moved it to credential.username`}},
		{name: "type required", hosts: `[{"host": "a.io", "credential": {"value": "t"}}]`,
			want: []string{`hosts[0] "a.io": credential.type: is required; set it to jwt`}},
		{name: "type unknown", hosts: `[{"host": "a.io", "credential": {"type": "x509", "value": "t"}}]`,
			want: []string{`credential.type: "x509" is not supported; set it to jwt`}},
		{name: "audiences type", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "provider": "github", "audiences": "x"}}]`,
			want: []string{`hosts[0] "a.io": credential.audiences: must be a list, got a string`}},
		{name: "audiences with value", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "value": "t", "audiences": ["x"]}}]`,
			want: []string{`credential.audiences: is only allowed with provider, jwkPath or jwkValue`}},
		{name: "two audiences for gcp", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "provider": "gcp", "audiences": ["x", "y"]}}]`,
			want: []string{`credential.audiences: lists 2 audiences, but provider gcp mints a token for one; list one`}},
		{name: "two audiences for azure", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "provider": "azure", "audiences": ["x", "y"]}}]`,
			want: []string{`provider azure mints a token for one`}},
		{name: "empty and duplicate audience", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "provider": "github", "audiences": ["x", "", "x"]}}]`,
			want: []string{`credential.audiences[1]: is empty`, `credential.audiences[2]: "x" is listed twice`}},
		{name: "claims only with jwk", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "value": "t", "issuer": "i", "expiration": "1m"}}]`,
			want: []string{`credential.issuer: is only allowed with jwkPath or jwkValue`, `credential.expiration: is only allowed with jwkPath or jwkValue`}},
		{name: "claims required with jwk", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "jwkValue": "{}"}}]`,
			want: []string{`credential.issuer: is required with jwkPath or jwkValue`, `credential.subject: is required with jwkPath or jwkValue`}},
		{name: "v1beta1 provider name", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "provider": "jwt-svid"}}]`,
			want: []string{`credential.provider: "jwt-svid" is the v1beta1 name; v1beta2 calls it spiffe`}},
		{name: "envelope syntax", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "value": "t", "envelope": "{{ .Token"}}]`,
			want: []string{`hosts[0] "a.io": credential.envelope: is not a valid Go template`}},
		{name: "envelope field", hosts: `[{"host": "a.io", "credential": {"type": "jwt", "value": "t", "envelope": "{{ .Secret }}"}}]`,
			want: []string{`credential.envelope: cannot be executed`}},
		{name: "cloud provider with credential and tls", hosts: `[{"host": "a.io", "provider": "ecr", "credential": {"type": "jwt", "value": "t"}, "tls": {"serverAuth": {"value": "x"}}}]`,
			want: []string{`hosts[0] "a.io": credential: is not allowed with provider "ecr"`, `hosts[0] "a.io": tls: is not allowed with provider "ecr"`}},
		{name: "generic alone sets nothing", hosts: `[{"host": "a.io", "provider": "generic"}]`,
			want: []string{`hosts[0] "a.io": at least one of credential, a cloud provider (ecr, acr, gar), tls or maxChunkSize must be set`}},
		{name: "provider shape", hosts: `[{"host": "a.io", "provider": "ECR"}]`,
			want: []string{`hosts[0] "a.io": provider: "ECR" is not a provider name`}},
		{name: "serverAuth spiffe without provider", hosts: `[{"host": "a.io", "tls": {"serverAuth": {"spiffe": {"trustDomain": "self"}}}}]`,
			want: []string{`tls.serverAuth: exactly one of fromPath or value (a PEM CA bundle) must be set, or provider: spiffe`, `tls.serverAuth.spiffe: requires provider: spiffe`}},
		{name: "serverAuth provider without spiffe", hosts: `[{"host": "a.io", "tls": {"serverAuth": {"provider": "spiffe", "value": "x"}}}]`,
			want: []string{`tls.serverAuth: fromPath and value are not allowed with provider: spiffe`, `tls.serverAuth.spiffe: is required with provider: spiffe`}},
		{name: "authorizeAny is v1beta1 only", hosts: `[{"host": "a.io", "tls": {"serverAuth": {"provider": "spiffe", "spiffe": {"authorizeAny": true}}}}]`,
			want: []string{`tls.serverAuth.spiffe.authorizeAny: unknown field (known: serverID, trustDomain); v1beta2 has no authorizeAny`}},
		{name: "serverID prefix forms", hosts: `[{"host": "a.io", "tls": {"serverAuth": {"provider": "spiffe", "spiffe": {"serverID": "spiffe://example.org/a//"}}}}]`,
			want: []string{`tls.serverAuth.spiffe.serverID: "spiffe://example.org/a//" is not a SPIFFE ID`}},
		{name: "serverAuth provider unknown", hosts: `[{"host": "a.io", "tls": {"serverAuth": {"provider": "x509-svid", "value": "x"}}}]`,
			want: []string{`tls.serverAuth.provider: "x509-svid" is not supported; use spiffe`}},
		{name: "clientAuth v1beta1 provider", hosts: `[{"host": "a.io", "tls": {"clientAuth": {"provider": "x509-svid"}}}]`,
			want: []string{`tls.clientAuth.provider: "x509-svid" is the v1beta1 name; v1beta2 calls it spiffe`}},
		{name: "duplicate host", hosts: `[{"host": "docker.io", "maxChunkSize": 1}, {"host": "index.docker.io", "maxChunkSize": 1}]`,
			want: []string{`hosts[1] "index.docker.io": host: duplicates hosts[0]`}},
		{name: "entries keep v1beta1 rules and paths", top: `"apiVersion": "mirror.plugin.fluxcd.io/v1beta2", "kind": "Cfg", "artifacts": [{"source": "ghcr.io/org/app", "destination": "quay.io/org/app", "selector": {"sortBy": "size"}}]`,
			want: []string{`kind: "Cfg" is not supported; use Config`, `artifacts[0].selector.sortBy: "size" must be one of`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			top := v1beta2Base
			if tt.top != "" {
				top = tt.top
			}
			doc := `{` + top
			if tt.hosts != "" {
				doc += `, "hosts": ` + tt.hosts
			}
			_, err := Read(tree(t, doc+`}`), PurposeSync)
			if err == nil {
				t.Fatal("Read accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "credential.iss:") && !strings.Contains(tt.name, "v1beta1") {
				t.Errorf("a v1beta2 error names a v1beta1 path:\n%v", err)
			}
		})
	}
}

func TestToV1Beta2(t *testing.T) {
	t.Parallel()
	exp := &Duration{10 * time.Minute}
	in := &Config{APIVersion: APIVersion, Kind: Kind, Hosts: []Host{
		{Host: "a.io", Username: "bot", Credential: &Credential{Value: "t"}},
		{Host: "j.io", Credential: &Credential{JWKPath: "/k", Iss: "i", Sub: "s", Aud: "aud", Exp: exp}},
		{Host: "s.io", Credential: &Credential{Provider: TokenProviderJWTSVID}, TLS: &TLS{ServerAuth: &ServerAuth{SPIFFE: &SPIFFEServer{TrustDomain: "self"}}, ClientAuth: &ClientAuth{Provider: ClientProviderX509SVID}}},
		{Host: "g.io", Provider: "gar"},
	}}
	got, err := in.ToV1Beta2()
	if err != nil {
		t.Fatal(err)
	}
	want := []HostV1Beta2{
		{Host: "a.io", Credential: &CredentialV1Beta2{Type: "jwt", Value: "t", Username: "bot"}},
		{Host: "j.io", Credential: &CredentialV1Beta2{Type: "jwt", JWKPath: "/k", Issuer: "i", Subject: "s", Audiences: []string{"aud"}, Expiration: exp}},
		{Host: "s.io", Credential: &CredentialV1Beta2{Type: "jwt", Provider: "spiffe"}, TLS: &TLSV1Beta2{ServerAuth: &ServerAuthV1Beta2{Provider: "spiffe", SPIFFE: &SPIFFEServerV1Beta2{TrustDomain: "self"}}, ClientAuth: &ClientAuthV1Beta2{Provider: "spiffe"}}},
		{Host: "g.io", Provider: "gar"},
	}
	if got.APIVersion != APIVersionV1Beta2 || !reflect.DeepEqual(got.Hosts, want) {
		t.Errorf("ToV1Beta2:\n got %+v\nwant %+v", got.Hosts, want)
	}
	back := got.Internal()
	back.ReadAs = ""
	if !reflect.DeepEqual(back, in) {
		t.Errorf("ToV1Beta2().Internal() differs from the original:\n got %+v\nwant %+v", back, in)
	}
	if err := got.Validate(PurposeHosts); err != nil {
		t.Errorf("the converted config is invalid: %v", err)
	}

	for _, tt := range []struct {
		name string
		cfg  *Config
		want string
	}{
		{"authorizeAny", &Config{Hosts: []Host{{Host: "x.io", TLS: &TLS{ServerAuth: &ServerAuth{SPIFFE: &SPIFFEServer{AuthorizeAny: true}}}}}},
			`hosts[0] "x.io": tls.serverAuth.spiffe.authorizeAny: has no v1beta2 equivalent`},
		{"username without credential", &Config{Hosts: []Host{{Host: "x.io", Username: "u"}}}, `hosts[0] "x.io": username: has no credential to move into`},
		{"already v1beta2", &Config{ReadAs: APIVersionV1Beta2}, "is mirror.plugin.fluxcd.io/v1beta2 already"},
	} {
		if _, err := tt.cfg.ToV1Beta2(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ToV1Beta2 error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestReadDispatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		doc, want string
	}{
		{`{"apiVersion": "mirror.plugin.fluxcd.io/v1beta1", "kind": "Config", "artifacts": [{"source": "ghcr.io/a/b", "destination": "quay.io/a/b", "selector": {}}]}`, APIVersion},
		{`{"apiVersion": "mirror.plugin.fluxcd.io/v1beta2", "kind": "Config", "artifacts": [{"source": "ghcr.io/a/b", "destination": "quay.io/a/b", "selector": {}}]}`, APIVersionV1Beta2},
	} {
		c, err := Read(tree(t, tt.doc), PurposeSync)
		if err != nil || c.Version() != tt.want {
			t.Errorf("Read(%s) = version %v, %v; want %s", tt.doc, c.Version(), err, tt.want)
		}
	}
	if _, err := Read(tree(t, `{"apiVersion": "mirror.plugin.fluxcd.io/v2", "kind": "Config"}`), PurposeHosts); err == nil ||
		!strings.Contains(err.Error(), `use mirror.plugin.fluxcd.io/v1beta1 or mirror.plugin.fluxcd.io/v1beta2`) {
		t.Errorf("an unknown apiVersion: %v", err)
	}
}
