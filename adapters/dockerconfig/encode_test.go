package dockerconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"

	"github.com/fluxcd/flux-mirror/core/auth"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		creds map[string]auth.Credential
		want  string
	}{
		{
			name:  "basic",
			creds: map[string]auth.Credential{"ghcr.io": basic},
			want:  `{"auths":{"ghcr.io":{"username":"alice","password":"s3cr3t-pw","auth":"` + b64("alice:s3cr3t-pw") + `"}}}`,
		},
		{
			name:  "bearer",
			creds: map[string]auth.Credential{"registry.example:5000": bearer},
			want:  `{"auths":{"registry.example:5000":{"registrytoken":"tok-9f8e7d"}}}`,
		},
		{
			name: "several hosts sorted, docker hub keyed like docker login",
			creds: map[string]auth.Credential{
				"quay.io":   bearer,
				"docker.io": {Username: "hub", Secret: "pw"},
				"ghcr.io":   basic,
			},
			want: `{"auths":{` +
				`"ghcr.io":{"username":"alice","password":"s3cr3t-pw","auth":"` + b64("alice:s3cr3t-pw") + `"},` +
				`"https://index.docker.io/v1/":{"username":"hub","password":"pw","auth":"` + b64("hub:pw") + `"},` +
				`"quay.io":{"registrytoken":"tok-9f8e7d"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.creds)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Encode =\n%s\nwant\n%s", got, tt.want)
			}
			again, _ := Encode(tt.creds)
			if !bytes.Equal(got, again) {
				t.Error("Encode is not deterministic")
			}
		})
	}
}

// TestEncodeReadBack: the payload, mounted as a Docker config the way Flux
// and crane consume a dockerconfigjson Secret, resolves through docker/cli's
// loader and go-containerregistry's DefaultKeychain.
func TestEncodeReadBack(t *testing.T) {
	e := newEnv(t)
	payload, err := Encode(map[string]auth.Credential{"ghcr.io": basic, "quay.io": bearer, "docker.io": basic})
	if err != nil {
		t.Fatal(err)
	}
	e.writeConfig(t, string(payload), 0o600)
	cf, err := config.LoadFromReader(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if ac := cf.GetAuthConfigs()["ghcr.io"]; ac.Username != "alice" || ac.Password != "s3cr3t-pw" {
		t.Errorf("docker/cli reads %+v", ac)
	}
	if c := ggcrRead(t, "ghcr.io"); c.Username != "alice" || c.Password != "s3cr3t-pw" {
		t.Errorf("ggcr reads %+v", c)
	}
	if c := ggcrRead(t, "quay.io"); c.RegistryToken != "tok-9f8e7d" {
		t.Errorf("ggcr reads %+v, want the RegistryToken", c)
	}
	if c := ggcrRead(t, "index.docker.io"); c.Username != "alice" {
		t.Errorf("ggcr reads %+v for Docker Hub", c)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		creds map[string]auth.Credential
		want  string
	}{
		{"none", nil, "no credentials"},
		{"scheme", map[string]auth.Credential{"https://ghcr.io": basic}, "without a scheme"},
		{"empty secret", map[string]auth.Credential{"ghcr.io": {Username: "u"}}, "secret is empty"},
		{"colon", map[string]auth.Credential{"ghcr.io": {Username: "u:x", Secret: "p"}}, "contains ':'"},
		{"same registry twice", map[string]auth.Credential{"docker.io": basic, "index.docker.io": basic}, `hosts "docker.io" and "index.docker.io" are the same registry`},
		{"same registry under its API host", map[string]auth.Credential{"docker.io": basic, "registry-1.docker.io": basic}, `hosts "docker.io" and "registry-1.docker.io" are the same registry`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.creds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Encode = %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t-pw") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// FuzzEncode: whatever Encode accepts, docker/cli reads back unchanged.
func FuzzEncode(f *testing.F) {
	f.Add("ghcr.io", "alice", "pw")
	f.Add("localhost:5000", "", "tok")
	f.Add("docker.io", "ü", "p:w\"\\")
	f.Fuzz(func(t *testing.T, host, user, secret string) {
		out, err := Encode(map[string]auth.Credential{host: {Username: user, Secret: secret}})
		if err != nil {
			return
		}
		cf, err := config.LoadFromReader(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("docker/cli cannot read %s: %v", out, err)
		}
		ac, ok := cf.GetAuthConfigs()[authKey(host)]
		if !ok {
			t.Fatalf("no entry for %q in %s", authKey(host), out)
		}
		if user == "" {
			if ac.RegistryToken != secret || ac.Username != "" {
				t.Fatalf("bearer read back as %+v", ac)
			}
		} else if ac.Username != user || ac.Password != secret {
			t.Fatalf("basic %q/%q read back as %q/%q", user, secret, ac.Username, ac.Password)
		}
	})
}

// FuzzMergeUnknown: for any config docker/cli loads, saving keeps every
// member it does not know and stays loadable with the same credentials.
func FuzzMergeUnknown(f *testing.F) {
	f.Add([]byte(richConfig))
	f.Add([]byte(`{"auths":{"h":{"auth":"dTpw","x":1}},"y":[true]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Add([]byte(`{"a":1,"a":2,"Auths":{}}trailing`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cf, err := config.LoadFromReader(bytes.NewReader(raw))
		if err != nil {
			return
		}
		orig, err := parseObject(raw)
		if err != nil {
			return
		}
		var enc bytes.Buffer
		if err := cf.SaveToWriter(&enc); err != nil {
			return
		}
		merged, err := mergeUnknown(raw, enc.Bytes())
		if err != nil {
			t.Fatalf("mergeUnknown(%q): %v", raw, err)
		}
		back, err := config.LoadFromReader(bytes.NewReader(merged))
		if err != nil {
			t.Fatalf("docker/cli cannot load the merged config %s: %v", merged, err)
		}
		for k, want := range cf.GetAuthConfigs() {
			got := back.GetAuthConfigs()[k]
			want.ServerAddress, got.ServerAddress = "", ""
			if got != want {
				t.Fatalf("auths[%q] = %+v, want %+v", k, got, want)
			}
		}
		out, err := parseObject(merged)
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]string{}
		for _, m := range out {
			kept[m.key] = compact(t, m.value)
		}
		for _, m := range orig {
			if known(m.key, configFields) {
				continue
			}
			if got, ok := kept[m.key]; !ok || got != compact(t, m.value) {
				t.Fatalf("unknown member %q = %s lost or changed (%q) in %s", m.key, m.value, got, merged)
			}
		}
	})
}

func compact(t *testing.T, v []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestOpenReadsDockerConfigEnv: Open("") honours $DOCKER_CONFIG at call time
// (docker/cli's config.Dir caches it for the process).
func TestOpenReadsDockerConfigEnv(t *testing.T) {
	for range 2 {
		dir := t.TempDir()
		t.Setenv("DOCKER_CONFIG", dir)
		s, err := Open("")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "config.json"); s.Path() != want {
			t.Errorf("Path() = %s, want %s", s.Path(), want)
		}
		if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
			t.Error("Open created config.json")
		}
	}
}
