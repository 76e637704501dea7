package config

import (
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// valid returns a Config that exercises every section and passes Validate.
func valid() *Config {
	return &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		Artifacts: []Artifact{{
			Source:      "docker.io/stefanprodan/podinfo",
			Destination: "quay.io/my-org/podinfo",
			Selector: &Selector{
				Regex:  &Regex{Pattern: `^v?(?P<version>\d+\.\d+\.\d+)$`, Extract: "$version"},
				Semver: "6.x",
				SortBy: SortSemver,
				Limit:  ptr(2),
			},
			IncludeReferrers: true,
			Verify: &Verify{
				Provider: VerifyProviderCosign,
				MinAge:   &Duration{48 * time.Hour},
				MatchOIDCIdentity: []OIDCIdentity{{
					Issuer:  "https://token.actions.githubusercontent.com",
					Subject: `^https://github\.com/stefanprodan/.*$`,
				}},
			},
		}},
		Charts: []Chart{{
			Name:        "podinfo",
			Source:      "https://stefanprodan.github.io/podinfo",
			Destination: "oci://quay.io/my-org/charts",
			Version:     "6.x",
			Limit:       ptr(2),
		}},
		Hosts: []Host{
			{Host: "quay.io", Username: "my-org+robot", Credential: &Credential{Value: "token"}},
			{Host: "registry.example.com", Credential: &Credential{Provider: "github", Aud: "registry"}},
			{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Provider: "ecr"},
			{Host: "jwt.example.com", Credential: &Credential{JWKPath: "key.json", Iss: "me", Sub: "ci", Exp: &Duration{5 * time.Minute}}},
			{Host: "localhost:5000", MaxChunkSize: 1024, TLS: &TLS{
				ServerAuth: &ServerAuth{FromPath: "certs/ca.crt"},
				ClientAuth: &ClientAuth{Certificate: &Source{FromPath: "certs/c.crt"}, Key: &Source{Value: "PEM"}},
			}},
			{Host: "spiffe.example.com", TLS: &TLS{
				ServerAuth: &ServerAuth{SPIFFE: &SPIFFEServer{ServerID: "spiffe://example.org/registry"}},
				ClientAuth: &ClientAuth{Provider: ClientProviderX509SVID},
			}},
		},
	}
}

func TestValidateValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(c *Config)
		purpose Purpose
	}{
		{name: "full", mutate: func(*Config) {}},
		{name: "artifacts only", mutate: func(c *Config) { c.Charts, c.Hosts = nil, nil }},
		{name: "charts only", mutate: func(c *Config) { c.Artifacts, c.Hosts = nil, nil }},
		{name: "hosts only for login", purpose: PurposeHosts, mutate: func(c *Config) { c.Artifacts, c.Charts = nil, nil }},
		{name: "empty selector takes defaults", mutate: func(c *Config) { c.Artifacts[0].Selector = &Selector{} }},
		{name: "limit zero", mutate: func(c *Config) { c.Artifacts[0].Selector.Limit = ptr(0); c.Charts[0].Limit = ptr(0) }},
		{name: "numbered extract", mutate: func(c *Config) {
			c.Artifacts[0].Selector.Regex = &Regex{Pattern: `^build-(\d+)$`, Extract: "${1}"}
		}},
		{name: "extract with literal dollar", mutate: func(c *Config) { c.Artifacts[0].Selector.Regex.Extract = "$$x-${version}" }},
		{name: "chart destination is a bare host", mutate: func(c *Config) { c.Charts[0].Destination = "oci://localhost:5050" }},
		{name: "ipv6 host", mutate: func(c *Config) { c.Hosts[0].Host = "[::1]:5000" }},
		{name: "host with maxChunkSize only", mutate: func(c *Config) { c.Hosts = []Host{{Host: "r.example", MaxChunkSize: 5}} }},
		{name: "trust domain self", mutate: func(c *Config) {
			c.Hosts[5].TLS.ServerAuth.SPIFFE = &SPIFFEServer{TrustDomain: "self"}
		}},
		{name: "authorizeAny", mutate: func(c *Config) {
			c.Hosts[5].TLS.ServerAuth.SPIFFE = &SPIFFEServer{AuthorizeAny: true}
		}},
		{name: "jwkValue with aud", mutate: func(c *Config) {
			c.Hosts[3].Credential = &Credential{JWKValue: "{}", Iss: "i", Sub: "s", Aud: "a"}
		}},
		{name: "minAge zero", mutate: func(c *Config) { c.Artifacts[0].Verify.MinAge = &Duration{} }},
		{name: "http chart repository", mutate: func(c *Config) { c.Charts[0].Source = "http://127.0.0.1:8080/charts/" }},
		{name: "same source mirrored twice to different destinations", mutate: func(c *Config) {
			a := c.Artifacts[0]
			a.Destination = "quay.io/my-org/podinfo-copy"
			c.Artifacts = append(c.Artifacts, a)
		}},
		{
			// Which providers exist is the CLI's business: core accepts any
			// well-formed name, so a provider added outside core validates.
			name: "any well-formed provider name",
			mutate: func(c *Config) {
				c.Hosts[2].Provider, c.Hosts[1].Credential.Provider = "quay", "gitlab"
				c.Hosts[5].TLS.ClientAuth.Provider = "x509-svid-2"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.mutate(c)
			if err := c.Validate(tt.purpose); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(c *Config)
		purpose Purpose
		// want is the complete error text (one line per FieldError).
		want string
		// path is the Path of the first FieldError.
		path string
	}{
		{
			name:   "sortBy enum",
			mutate: func(c *Config) { c.Artifacts[0].Selector.SortBy = "date" },
			want:   `artifacts[0].selector.sortBy: "date" must be one of semver, alphabetical, numerical`,
			path:   "artifacts[0].selector.sortBy",
		},
		{
			name:   "credential with two sources",
			mutate: func(c *Config) { c.Hosts[0].Credential.FromPath = "token" },
			want:   `hosts[0] "quay.io": credential: exactly one of provider, value, fromPath, jwkPath or jwkValue must be set`,
			path:   "hosts[0].credential",
		},
		{
			name:   "credential with no source",
			mutate: func(c *Config) { c.Hosts[1].Credential = &Credential{} },
			want:   `hosts[1] "registry.example.com": credential: exactly one of provider, value, fromPath, jwkPath or jwkValue must be set`,
			path:   "hosts[1].credential",
		},
		{
			name:   "apiVersion missing",
			mutate: func(c *Config) { c.APIVersion = "" },
			want:   "apiVersion: is required; set it to mirror.plugin.fluxcd.io/v1beta1",
		},
		{
			name:   "apiVersion wrong",
			mutate: func(c *Config) { c.APIVersion = "mirror.plugin.fluxcd.io/v1" },
			want:   `apiVersion: "mirror.plugin.fluxcd.io/v1" is not supported; use mirror.plugin.fluxcd.io/v1beta1 or mirror.plugin.fluxcd.io/v1beta2`,
		},
		{
			name:   "kind wrong",
			mutate: func(c *Config) { c.Kind = "Report" },
			want:   `kind: "Report" is not supported; use Config`,
		},
		{
			name:   "nothing to sync",
			mutate: func(c *Config) { c.Artifacts, c.Charts = nil, nil },
			want:   "nothing to mirror: at least one artifacts or charts entry is required",
		},
		{
			name:   "source with scheme",
			mutate: func(c *Config) { c.Artifacts[0].Source = "https://ghcr.io/org/app" },
			want:   `artifacts[0].source: repository "https://ghcr.io/org/app" must not have a scheme (write it as host/path)`,
		},
		{
			name:   "source is a host without path",
			mutate: func(c *Config) { c.Artifacts[0].Source = "quay.io" },
			want:   `artifacts[0].source: repository "quay.io" must be host/path, e.g. ghcr.io/org/app`,
		},
		{
			name:   "destination with tag",
			mutate: func(c *Config) { c.Artifacts[0].Destination = "quay.io/org/app:v1" },
			want:   `artifacts[0].destination: repository "quay.io/org/app:v1" must not carry a tag or digest; tags are chosen by the selector`,
		},
		{
			name:   "destination missing",
			mutate: func(c *Config) { c.Artifacts[0].Destination = "" },
			want:   "artifacts[0].destination: is required; write the repository as host/path, e.g. ghcr.io/org/app",
		},
		{
			name:   "bad registry host",
			mutate: func(c *Config) { c.Artifacts[0].Source = "ghcr_io.x/org/app" },
			want:   `artifacts[0].source: "ghcr_io.x/org/app" has an invalid registry host "ghcr_io.x" (a DNS name or IP address with an optional port)`,
		},
		{
			name:   "separator run the distribution grammar forbids",
			mutate: func(c *Config) { c.Artifacts[0].Destination = "quay.io/my-org/pod-_info" },
			want:   `artifacts[0].destination: repository "quay.io/my-org/pod-_info" has an invalid path component "pod-_info" (lowercase letters and digits, separated by ., _, __ or dashes)`,
		},
		{
			name:   "chart destination with a bad component",
			mutate: func(c *Config) { c.Charts[0].Destination = "oci://quay.io/my-org/Charts" },
			want:   `charts[0].destination: "oci://quay.io/my-org/Charts" is not an OCI repository URL (oci://host[:port][/path], lowercase path): repository "quay.io/my-org/Charts" has an invalid path component "Charts" (lowercase letters and digits, separated by ., _, __ or dashes)`,
		},
		{
			name:   "port out of range",
			mutate: func(c *Config) { c.Artifacts[0].Source = "localhost:70000/app" },
			want:   `artifacts[0].source: "localhost:70000/app" has an invalid registry host "localhost:70000" (a DNS name or IP address with an optional port)`,
		},
		{
			name:   "destination is the source",
			mutate: func(c *Config) { c.Artifacts[0].Destination = c.Artifacts[0].Source },
			want:   `artifacts[0].destination: "docker.io/stefanprodan/podinfo" is the source itself; mirror to a different repository`,
		},
		{
			name: "duplicate artifact destination",
			mutate: func(c *Config) {
				a := c.Artifacts[0]
				a.Source = "ghcr.io/stefanprodan/podinfo"
				c.Artifacts = append(c.Artifacts, a)
			},
			want: `artifacts[1].destination: "quay.io/my-org/podinfo" is also the destination of artifacts[0]; each destination repository may be written by one entry`,
		},
		{
			name: "chart lands on an artifact destination",
			mutate: func(c *Config) {
				c.Charts[0].Destination = "oci://quay.io/my-org"
			},
			want: `charts[0].destination: "quay.io/my-org/podinfo" is also the destination of artifacts[0]; each destination repository may be written by one entry`,
		},
		{
			name:   "duplicate chart",
			mutate: func(c *Config) { c.Charts = append(c.Charts, c.Charts[0]) },
			want:   `charts[1].destination: "quay.io/my-org/charts/podinfo" is also the destination of charts[0]; each destination repository may be written by one entry`,
		},
		{
			name:   "selector missing",
			mutate: func(c *Config) { c.Artifacts[0].Selector = nil },
			want:   `artifacts[0].selector: is required; e.g. selector: {semver: "*"} mirrors the highest version`,
		},
		{
			name:   "regex does not compile",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex = &Regex{Pattern: "v(1"} },
			want:   "artifacts[0].selector.regex.pattern: \"v(1\" is not a valid Go regular expression: error parsing regexp: missing closing ): `v(1`",
		},
		{
			name:   "regex without pattern",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex = &Regex{} },
			want:   "artifacts[0].selector.regex.pattern: is required; tags that do not match the Go regular expression are dropped",
		},
		{
			name:   "extract names a missing group",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex.Extract = "$ver" },
			want:   "artifacts[0].selector.regex.extract: $ver names no capture group of pattern (named groups: version)",
		},
		{
			name:   "extract in braces names a missing group",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex.Extract = "${version}-${ts}" },
			want:   "artifacts[0].selector.regex.extract: $ts names no capture group of pattern (named groups: version)",
		},
		{
			name:   "extract without groups in pattern",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex = &Regex{Pattern: "^v.*$", Extract: "$v"} },
			want:   "artifacts[0].selector.regex.extract: $v names no capture group: pattern has no named groups (add one, e.g. (?P<v>...))",
		},
		{
			name:   "extract group number out of range",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex.Extract = "$2" },
			want:   "artifacts[0].selector.regex.extract: $2 refers to capture group 2 but pattern has 1",
		},
		{
			name:   "extract references nothing",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Regex.Extract = "v" },
			want:   `artifacts[0].selector.regex.extract: "v" references no capture group; use $name with a named group of pattern, e.g. $version`,
		},
		{
			name:   "semver range invalid",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Semver = ">=x.y" },
			want:   `artifacts[0].selector.semver: ">=x.y" is not a valid semver range (e.g. "6.x" or ">=2.7.0 <3.0.0"): improper constraint: ">=x.y"`,
		},
		{
			name:   "selector limit negative",
			mutate: func(c *Config) { c.Artifacts[0].Selector.Limit = ptr(-1) },
			want:   "artifacts[0].selector.limit: must be >= 0 (0 mirrors every matching tag), got -1",
		},
		{
			name:   "verify provider",
			mutate: func(c *Config) { c.Artifacts[0].Verify.Provider = "notation" },
			want:   `artifacts[0].verify.provider: "notation" must be cosign`,
		},
		{
			name:   "verify provider missing",
			mutate: func(c *Config) { c.Artifacts[0].Verify.Provider = "" },
			want:   "artifacts[0].verify.provider: is required; set it to cosign",
		},
		{
			name:   "verify without identities",
			mutate: func(c *Config) { c.Artifacts[0].Verify.MatchOIDCIdentity = nil },
			want:   "artifacts[0].verify.matchOIDCIdentity: needs at least one identity (issuer and subject) to accept signatures from",
		},
		{
			name: "issuer not a URL",
			mutate: func(c *Config) {
				c.Artifacts[0].Verify.MatchOIDCIdentity[0].Issuer = "token.actions.githubusercontent.com"
			},
			want: `artifacts[0].verify.matchOIDCIdentity[0].issuer: "token.actions.githubusercontent.com" must be an absolute http or https URL (e.g. https://token.actions.githubusercontent.com)`,
		},
		{
			name:   "subject does not compile",
			mutate: func(c *Config) { c.Artifacts[0].Verify.MatchOIDCIdentity[0].Subject = "[" },
			want:   "artifacts[0].verify.matchOIDCIdentity[0].subject: \"[\" is not a valid Go regular expression: error parsing regexp: missing closing ]: `[`",
		},
		{
			name:   "identity empty",
			mutate: func(c *Config) { c.Artifacts[0].Verify.MatchOIDCIdentity[0] = OIDCIdentity{} },
			want: "artifacts[0].verify.matchOIDCIdentity[0].issuer: is required; the OIDC issuer URL, e.g. https://token.actions.githubusercontent.com\n" +
				`artifacts[0].verify.matchOIDCIdentity[0].subject: is required; a Go regular expression matched against the certificate identity, e.g. ^https://github\.com/org/.*$`,
		},
		{
			name:   "minAge negative",
			mutate: func(c *Config) { c.Artifacts[0].Verify.MinAge = &Duration{-time.Hour} },
			want:   "artifacts[0].verify.minAge: must be >= 0, got -1h0m0s",
		},
		{
			name:   "chart name missing",
			mutate: func(c *Config) { c.Charts[0].Name = "" },
			want:   "charts[0].name: is required; the chart's name in the source repository",
		},
		{
			name:   "chart name not an OCI name",
			mutate: func(c *Config) { c.Charts[0].Name = "PodInfo" },
			want:   `charts[0].name: "PodInfo" cannot be an OCI repository name (lowercase letters and digits, separated by ., _, __ or dashes)`,
		},
		{
			name:   "chart source scheme",
			mutate: func(c *Config) { c.Charts[0].Source = "oci://ghcr.io/stefanprodan/charts" },
			want:   `charts[0].source: "oci://ghcr.io/stefanprodan/charts" must be an absolute http or https URL, e.g. https://charts.example.com`,
		},
		{
			name:   "chart source missing",
			mutate: func(c *Config) { c.Charts[0].Source = "" },
			want:   "charts[0].source: is required; the http or https URL of the Helm repository",
		},
		{
			name:   "chart source with credentials that does not parse",
			mutate: func(c *Config) { c.Charts[0].Source = "https://user:secret@charts.example.com:port/x?token=secret" },
			want:   `charts[0].source: "https://charts.example.com:port/x" is not a valid URL, e.g. https://charts.example.com`,
		},
		{
			name:   "chart source with credentials",
			mutate: func(c *Config) { c.Charts[0].Source = "https://user:secret@charts.example.com" },
			want:   "charts[0].source: must not embed credentials; add the repository with helm repo add and flux mirror reads them from the Helm repositories config",
		},
		{
			name:   "chart source with query",
			mutate: func(c *Config) { c.Charts[0].Source = "https://charts.example.com/?x=1" },
			want:   `charts[0].source: "https://charts.example.com/?x=REDACTED" must not have a query or fragment; it is the base URL of the repository's index.yaml`,
		},
		{
			name:   "chart destination scheme",
			mutate: func(c *Config) { c.Charts[0].Destination = "quay.io/my-org/charts" },
			want:   `charts[0].destination: "quay.io/my-org/charts" must start with oci://, e.g. oci://ghcr.io/org/charts`,
		},
		{
			name:   "chart destination with tag",
			mutate: func(c *Config) { c.Charts[0].Destination = "oci://quay.io/my-org/charts:1.0.0" },
			want:   `charts[0].destination: "oci://quay.io/my-org/charts:1.0.0" must not carry a tag or digest; versions are chosen by version and limit`,
		},
		{
			name:   "chart destination missing",
			mutate: func(c *Config) { c.Charts[0].Destination = "" },
			want:   "charts[0].destination: is required; the oci:// URL the chart is published under, e.g. oci://ghcr.io/org/charts",
		},
		{
			name:   "chart version invalid",
			mutate: func(c *Config) { c.Charts[0].Version = "latest" },
			want:   `charts[0].version: "latest" is not a valid semver range (e.g. "6.x" or ">=2.7.0 <3.0.0"): improper constraint: "latest"`,
		},
		{
			name:   "chart limit negative",
			mutate: func(c *Config) { c.Charts[0].Limit = ptr(-3) },
			want:   "charts[0].limit: must be >= 0 (0 mirrors every matching version), got -3",
		},
		{
			name:   "host missing",
			mutate: func(c *Config) { c.Hosts[0].Host = "" },
			want:   "hosts[0].host: is required; the registry host with an optional port, e.g. registry.example.com or localhost:5000",
		},
		{
			name:   "host with scheme",
			mutate: func(c *Config) { c.Hosts[0].Host = "https://quay.io" },
			want:   `hosts[0] "https://quay.io": host: must be a bare host[:port] without scheme or path`,
		},
		{
			name:   "host upper case",
			mutate: func(c *Config) { c.Hosts[0].Host = "Quay.io" },
			want:   `hosts[0] "Quay.io": host: must be lower case ("quay.io")`,
		},
		{
			name:   "host invalid",
			mutate: func(c *Config) { c.Hosts[0].Host = "quay..io" },
			want:   `hosts[0] "quay..io": host: is not a valid host[:port] (a DNS name or IP address, port 1-65535)`,
		},
		{
			name:   "host duplicate",
			mutate: func(c *Config) { c.Hosts[2].Host = "quay.io" },
			want:   `hosts[2] "quay.io": host: duplicates hosts[0]; each host may be listed once`,
		},
		{
			name: "host duplicate under another Docker Hub name",
			mutate: func(c *Config) {
				c.Hosts[0].Host = "docker.io"
				c.Hosts[1].Host = "registry-1.docker.io"
			},
			want: `hosts[1] "registry-1.docker.io": host: duplicates hosts[0] (docker.io, index.docker.io and registry-1.docker.io all name Docker Hub); each host may be listed once`,
		},
		{
			name: "artifact source and destination are the same Docker Hub repository",
			mutate: func(c *Config) {
				c.Artifacts[0].Source, c.Artifacts[0].Destination = "nginx", "index.docker.io/library/nginx"
			},
			want: `artifacts[0].destination: "index.docker.io/library/nginx" is the source itself; mirror to a different repository`,
		},
		{
			name:   "chart destination without registry host",
			mutate: func(c *Config) { c.Charts[0].Destination = "oci://charts" },
			want:   `charts[0].destination: "oci://charts" must start with a registry host (with a '.' or a port, or localhost), e.g. oci://docker.io/charts`,
		},
		{
			name:   "credential and provider",
			mutate: func(c *Config) { c.Hosts[2].Credential = &Credential{Value: "x"} },
			want:   `hosts[2] "123456789012.dkr.ecr.us-east-1.amazonaws.com": credential and provider are mutually exclusive; set one`,
		},
		{
			name:   "tls with provider",
			mutate: func(c *Config) { c.Hosts[2].TLS = &TLS{ClientAuth: &ClientAuth{Provider: ClientProviderX509SVID}} },
			want:   `hosts[2] "123456789012.dkr.ecr.us-east-1.amazonaws.com": tls: is not allowed with provider: a cloud registry's transport is not customized`,
		},
		{
			name:   "host with nothing",
			mutate: func(c *Config) { c.Hosts[0] = Host{Host: "quay.io"} },
			want:   `hosts[0] "quay.io": at least one of credential, provider, tls or maxChunkSize must be set`,
		},
		{
			name:   "registry provider shape",
			mutate: func(c *Config) { c.Hosts[2].Provider = "Quay.io" },
			want:   `hosts[2] "123456789012.dkr.ecr.us-east-1.amazonaws.com": provider: "Quay.io" is not a provider name: use lower-case letters, digits and '-', starting with a letter or digit (e.g. github, ecr)`,
		},
		{
			name:   "username without credential",
			mutate: func(c *Config) { c.Hosts[4].Username = "me" },
			want:   `hosts[4] "localhost:5000": username: requires a credential, which is sent as the password`,
		},
		{
			name:   "username with provider",
			mutate: func(c *Config) { c.Hosts[2].Username = "AWS" },
			want:   `hosts[2] "123456789012.dkr.ecr.us-east-1.amazonaws.com": username: is not allowed with provider: the cloud provider supplies the username`,
		},
		{
			name:   "token provider shape",
			mutate: func(c *Config) { c.Hosts[1].Credential.Provider = "-gitlab" },
			want:   `hosts[1] "registry.example.com": credential.provider: "-gitlab" is not a provider name: use lower-case letters, digits and '-', starting with a letter or digit (e.g. github, ecr)`,
		},
		{
			name:   "jwk without iss and sub",
			mutate: func(c *Config) { c.Hosts[3].Credential.Iss, c.Hosts[3].Credential.Sub = "", "" },
			want: `hosts[3] "jwt.example.com": credential.iss: is required with jwkPath or jwkValue` + "\n" +
				`hosts[3] "jwt.example.com": credential.sub: is required with jwkPath or jwkValue`,
		},
		{
			name:   "iss with value",
			mutate: func(c *Config) { c.Hosts[0].Credential.Iss = "me" },
			want:   `hosts[0] "quay.io": credential.iss: is only allowed with jwkPath or jwkValue`,
		},
		{
			name:   "sub with provider",
			mutate: func(c *Config) { c.Hosts[1].Credential.Sub = "me" },
			want:   `hosts[1] "registry.example.com": credential.sub: is only allowed with jwkPath or jwkValue`,
		},
		{
			name:   "aud with value",
			mutate: func(c *Config) { c.Hosts[0].Credential.Aud = "quay" },
			want:   `hosts[0] "quay.io": credential.aud: is only allowed with provider, jwkPath or jwkValue`,
		},
		{
			name:   "exp with provider",
			mutate: func(c *Config) { c.Hosts[1].Credential.Exp = &Duration{time.Minute} },
			want:   `hosts[1] "registry.example.com": credential.exp: is only allowed with jwkPath or jwkValue`,
		},
		{
			name:   "exp zero",
			mutate: func(c *Config) { c.Hosts[3].Credential.Exp = &Duration{} },
			want:   `hosts[3] "jwt.example.com": credential.exp: must be > 0, got 0s`,
		},
		{
			name:   "tls empty",
			mutate: func(c *Config) { c.Hosts[4].TLS = &TLS{} },
			want:   `hosts[4] "localhost:5000": tls: at least one of serverAuth or clientAuth must be set`,
		},
		{
			name:   "serverAuth empty",
			mutate: func(c *Config) { c.Hosts[4].TLS.ServerAuth = &ServerAuth{} },
			want:   `hosts[4] "localhost:5000": tls.serverAuth: exactly one of fromPath, value or spiffe must be set`,
		},
		{
			name:   "serverAuth two",
			mutate: func(c *Config) { c.Hosts[4].TLS.ServerAuth.Value = "PEM" },
			want:   `hosts[4] "localhost:5000": tls.serverAuth: exactly one of fromPath, value or spiffe must be set`,
		},
		{
			name:   "spiffe empty",
			mutate: func(c *Config) { c.Hosts[5].TLS.ServerAuth.SPIFFE = &SPIFFEServer{} },
			want:   `hosts[5] "spiffe.example.com": tls.serverAuth.spiffe: exactly one of serverID, trustDomain or authorizeAny: true must be set`,
		},
		{
			name:   "spiffe two",
			mutate: func(c *Config) { c.Hosts[5].TLS.ServerAuth.SPIFFE.AuthorizeAny = true },
			want:   `hosts[5] "spiffe.example.com": tls.serverAuth.spiffe: exactly one of serverID, trustDomain or authorizeAny: true must be set`,
		},
		{
			name:   "spiffe server ID invalid",
			mutate: func(c *Config) { c.Hosts[5].TLS.ServerAuth.SPIFFE.ServerID = "spiffe://example.org/../x" },
			want:   `hosts[5] "spiffe.example.com": tls.serverAuth.spiffe.serverID: "spiffe://example.org/../x" is not a SPIFFE ID (spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/registry)`,
		},
		{
			name:   "spiffe trust domain with scheme",
			mutate: func(c *Config) { c.Hosts[5].TLS.ServerAuth.SPIFFE = &SPIFFEServer{TrustDomain: "spiffe://example.org"} },
			want:   `hosts[5] "spiffe.example.com": tls.serverAuth.spiffe.trustDomain: "spiffe://example.org" is not a trust domain name (lowercase letters, digits, . _ -) or self; write it without spiffe://`,
		},
		{
			name:   "clientAuth empty",
			mutate: func(c *Config) { c.Hosts[5].TLS.ClientAuth = &ClientAuth{} },
			want:   `hosts[5] "spiffe.example.com": tls.clientAuth: exactly one of provider (x509-svid) or certificate and key must be set`,
		},
		{
			name:   "clientAuth both",
			mutate: func(c *Config) { c.Hosts[4].TLS.ClientAuth.Provider = ClientProviderX509SVID },
			want:   `hosts[4] "localhost:5000": tls.clientAuth: exactly one of provider or certificate and key must be set`,
		},
		{
			name:   "clientAuth provider shape",
			mutate: func(c *Config) { c.Hosts[5].TLS.ClientAuth.Provider = "x509_svid" },
			want:   `hosts[5] "spiffe.example.com": tls.clientAuth.provider: "x509_svid" is not a provider name: use lower-case letters, digits and '-', starting with a letter or digit (e.g. github, ecr)`,
		},
		{
			name:   "certificate without key",
			mutate: func(c *Config) { c.Hosts[4].TLS.ClientAuth.Key = nil },
			want:   `hosts[4] "localhost:5000": tls.clientAuth.key: is required with certificate`,
		},
		{
			name:   "key without certificate",
			mutate: func(c *Config) { c.Hosts[4].TLS.ClientAuth.Certificate = nil },
			want:   `hosts[4] "localhost:5000": tls.clientAuth.certificate: is required with key`,
		},
		{
			name:   "key with two sources",
			mutate: func(c *Config) { c.Hosts[4].TLS.ClientAuth.Key.FromPath = "k.pem" },
			want:   `hosts[4] "localhost:5000": tls.clientAuth.key: exactly one of fromPath or value must be set`,
		},
		{
			name:   "maxChunkSize negative",
			mutate: func(c *Config) { c.Hosts[4].MaxChunkSize = -1 },
			want:   `hosts[4] "localhost:5000": maxChunkSize: must be >= 0 KiB (0 disables chunked uploads), got -1`,
		},
		{
			name:   "maxChunkSize overflows",
			mutate: func(c *Config) { c.Hosts[4].MaxChunkSize = 1 << 60 },
			want:   `hosts[4] "localhost:5000": maxChunkSize: must be at most 9007199254740991 KiB, got 1152921504606846976`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.mutate(c)
			err := c.Validate(tt.purpose)
			if err == nil {
				t.Fatal("Validate: no error")
			}
			if err.Error() != tt.want {
				t.Errorf("Validate:\n got: %s\nwant: %s", err, tt.want)
			}
			fes := FieldErrors(err)
			if len(fes) != strings.Count(tt.want, "\n")+1 {
				t.Errorf("FieldErrors: got %d, want one per line of %q", len(fes), tt.want)
			}
			if tt.path != "" && (len(fes) == 0 || fes[0].Path != tt.path) {
				t.Errorf("FieldErrors[0].Path: got %+v, want %q", fes, tt.path)
			}
		})
	}
}

// TestValidateAllErrors checks that every problem is reported, in document
// order, not just the first.
func TestValidateAllErrors(t *testing.T) {
	t.Parallel()
	c := valid()
	c.Kind = ""
	c.Artifacts[0].Selector.SortBy = "date"
	c.Charts[0].Limit = ptr(-1)
	c.Hosts[0].Credential.FromPath = "x"
	err := c.Validate(PurposeSync)
	var paths []string
	for _, fe := range FieldErrors(err) {
		paths = append(paths, fe.Path)
	}
	want := []string{"kind", "artifacts[0].selector.sortBy", "charts[0].limit", "hosts[0].credential"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("paths: got %v, want %v", paths, want)
	}
}

func TestValidateSecretsNotInErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-t0ken"
	c := valid()
	c.Hosts[0].Credential = &Credential{Value: secret, JWKValue: secret, Exp: &Duration{-1}, Iss: "x"}
	c.Hosts[4].TLS.ClientAuth.Key = &Source{Value: secret, FromPath: "k"}
	err := c.Validate(PurposeSync)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateNil(t *testing.T) {
	t.Parallel()
	var c *Config
	if err := c.Validate(PurposeHosts); err == nil || !strings.Contains(err.Error(), "the config is empty") {
		t.Fatalf("Validate(nil): %v", err)
	}
}

func TestPurposeString(t *testing.T) {
	t.Parallel()
	for p, want := range map[Purpose]string{PurposeSync: "sync", PurposeHosts: "hosts", 7: "Purpose(7)"} {
		if got := p.String(); got != want {
			t.Errorf("%d: got %q, want %q", int(p), got, want)
		}
	}
}
