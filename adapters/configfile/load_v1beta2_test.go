package configfile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

const headerV1Beta2 = "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\n"

func TestLoadV1Beta2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := `artifacts:
  - source: ghcr.io/fluxcd/flux-cli
    destination: quay.io/example/flux-cli
    selector: {semver: "*"}
`
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c *config.Config)
	}{
		{
			name: "v1beta2 converted, paths resolved, envsubst applied",
			file: headerV1Beta2 + body + `hosts:
  - host: quay.io
    credential:
      type: jwt
      username: robot
      value: ${QUAY_TOKEN}
      envelope: "t-{{ .Token }}"
  - host: j.example.com
    credential:
      type: jwt
      jwkPath: keys/key.json
      issuer: https://ci.example.com
      subject: mirror
      audiences: [a, b]
`,
			env: map[string]string{"QUAY_TOKEN": "s3cret"},
			check: func(t *testing.T, c *config.Config) {
				if c.Version() != config.APIVersionV1Beta2 {
					t.Errorf("Version() = %q", c.Version())
				}
				h := c.Hosts[0]
				if h.Username != "robot" || h.Credential.Value != "s3cret" || h.Credential.Envelope != "t-{{ .Token }}" {
					t.Errorf("hosts[0] = %+v %+v", h, h.Credential)
				}
				if got, want := c.Hosts[1].Credential.JWKPath, filepath.Join(dir, "keys", "key.json"); got != want {
					t.Errorf("jwkPath = %q, want %q", got, want)
				}
				if got := c.Hosts[1].Credential.Audiences; len(got) != 2 {
					t.Errorf("audiences = %v", got)
				}
			},
		},
		{
			name: "v1beta1 is read as before",
			file: header + body,
			check: func(t *testing.T, c *config.Config) {
				if c.Version() != config.APIVersion || c.ReadAs != "" {
					t.Errorf("Version() = %q, ReadAs = %q", c.Version(), c.ReadAs)
				}
			},
		},
		{
			name: "v1beta2 errors name v1beta2 paths, with the path problems beside",
			file: headerV1Beta2 + body + `hosts:
  - host: quay.io
    credential: {jwkPath: ../outside.json, issuer: i}
`,
			wantErr: `hosts[0] "quay.io": credential.type: is required; set it to jwt`,
		},
		{
			name:    "v1beta1 names in a v1beta2 file",
			file:    headerV1Beta2 + body + "hosts:\n  - host: quay.io\n    username: robot\n    credential: {type: jwt, value: t}\n",
			wantErr: `hosts[0] "quay.io": username: unknown field (known: host, credential, provider, tls, maxChunkSize); v1beta2 moved it to credential.username`,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, filepath.Join(dir, "c"+strings.Repeat("x", i)+".yaml"), tt.file)
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			c, err := Load(path, Options{LookupEnv: lookup})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.name, "path problems") && !strings.Contains(err.Error(), "outside.json") {
					t.Errorf("the path problem is not reported beside the validation error:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseDocumentKeepsVariables(t *testing.T) {
	t.Parallel()
	doc, err := ParseDocument([]byte(header + "hosts:\n  - host: quay.io\n    credential:\n      value: ${TOKEN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Decode(doc)
	if err != nil || c.Hosts[0].Credential.Value != "${TOKEN}" {
		t.Fatalf("ParseDocument substituted or failed: %v, %+v", err, c)
	}
}
