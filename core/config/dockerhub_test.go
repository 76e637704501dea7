package config

import (
	"strings"
	"testing"
)

// TestValidateDockerHubNames accepts Docker Hub short names as docker and
// crane do, and sees through Docker Hub's host aliases when it compares
// destinations.
func TestValidateDockerHubNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src, dst string
		wantErr  string
	}{
		{"official image", "nginx", "quay.io/mirror/nginx", ""},
		{"namespaced image", "stefanprodan/podinfo", "quay.io/mirror/podinfo", ""},
		{"destination on Docker Hub", "ghcr.io/org/app", "myorg/app", ""},
		{"host aliases", "index.docker.io/stefanprodan/podinfo", "registry-1.docker.io/myorg/podinfo", ""},
		{"same repository under two names", "stefanprodan/podinfo", "docker.io/stefanprodan/podinfo", "is the source itself"},
		{"library under two names", "docker.io/nginx", "library/nginx", "is the source itself"},
		{"upper case short name", "Nginx", "quay.io/mirror/nginx", "invalid path component"},
		{"a host without path", "quay.io", "quay.io/mirror/nginx", "must be host/path"},
	}
	for _, tt := range tests {
		c := &Config{APIVersion: APIVersion, Kind: Kind, Artifacts: []Artifact{{Source: tt.src, Destination: tt.dst, Selector: &Selector{}}}}
		err := c.Validate(PurposeSync)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	// Two entries writing one Docker Hub repository under two names.
	c := &Config{APIVersion: APIVersion, Kind: Kind, Artifacts: []Artifact{
		{Source: "ghcr.io/org/a", Destination: "myorg/app", Selector: &Selector{}},
		{Source: "ghcr.io/org/b", Destination: "index.docker.io/myorg/app", Selector: &Selector{}},
	}}
	if err := c.Validate(PurposeSync); err == nil || !strings.Contains(err.Error(), "is also the destination of artifacts[0]") {
		t.Errorf("duplicate Docker Hub destination: %v", err)
	}
}
