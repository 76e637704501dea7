package registry

import "testing"

// TestDockerHubHostAliases checks that a hosts entry for any of Docker
// Hub's names configures the Docker Hub repositories the config names
// (core normalises them to docker.io), and that other hosts do not match.
func TestDockerHubHostAliases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		configured, requested string
		want                  bool
	}{
		{"docker.io", "docker.io", true},
		{"index.docker.io", "docker.io", true},
		{"registry-1.docker.io", "docker.io", true},
		{"docker.io", "index.docker.io", true},
		{"registry-1.docker.io", "index.docker.io", true},
		{"docker.io", "ghcr.io", false},
		{"ghcr.io", "docker.io", false},
		{"docker.io:5000", "docker.io", false},
	}
	for _, tt := range tests {
		c, err := New(Options{Hosts: map[string]Host{tt.configured: {MaxChunkSize: 7}}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.host(tt.requested)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.configured && h.cfg.MaxChunkSize == 7; got != tt.want {
			t.Errorf("hosts[%s] applies to %s: %v, want %v", tt.configured, tt.requested, got, tt.want)
		}
	}
}
