package dockerconfig

import "testing"

func TestAuthKey(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"docker.io":            dockerHubKey,
		"index.docker.io":      dockerHubKey,
		"registry-1.docker.io": dockerHubKey,
		"Docker.IO":            dockerHubKey,
		"ghcr.io":              "ghcr.io",
		"localhost:5000":       "localhost:5000",
		"docker.io:5000":       "docker.io:5000",
	} {
		if got := authKey(host); got != want {
			t.Errorf("authKey(%q) = %q, want %q", host, got, want)
		}
	}
}
