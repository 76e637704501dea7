package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// secretEntry is one "auths" entry of a .dockerconfigjson payload, in the
// field order `kubectl create secret docker-registry` writes.
type secretEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// Encode returns the .dockerconfigjson payload of a Kubernetes Secret of
// type kubernetes.io/dockerconfigjson holding creds, keyed by registry host:
//
//	{"auths":{"<host>":{"username":"…","password":"…","auth":"<base64 user:password>"}}}
//
// and, for a bearer credential, {"auths":{"<host>":{"registrytoken":"…"}}},
// which go-containerregistry (Flux) reads but kubelet ignores. Docker Hub
// (docker.io, index.docker.io) is keyed https://index.docker.io/v1/, like
// docker login and kubectl. Hosts come out sorted, so equal input gives equal
// bytes.
func Encode(creds map[string]auth.Credential) ([]byte, error) {
	if len(creds) == 0 {
		return nil, errors.New("encode .dockerconfigjson: no credentials")
	}
	auths := make(map[string]secretEntry, len(creds))
	from := make(map[string]string, len(creds))
	for _, host := range slices.Sorted(maps.Keys(creds)) {
		c := creds[host]
		if err := validate(host, c); err != nil {
			return nil, fmt.Errorf("encode .dockerconfigjson: %w", err)
		}
		key := authKey(host)
		if prev, dup := from[key]; dup {
			return nil, fmt.Errorf("encode .dockerconfigjson: hosts %q and %q are the same registry (%s); keep one", prev, host, key)
		}
		from[key] = host
		if c.Bearer() {
			auths[key] = secretEntry{RegistryToken: c.Secret}
			continue
		}
		auths[key] = secretEntry{
			Username: c.Username,
			Password: c.Secret,
			Auth:     base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Secret)),
		}
	}
	out, err := json.Marshal(struct {
		Auths map[string]secretEntry `json:"auths"`
	}{auths})
	if err != nil {
		return nil, fmt.Errorf("encode .dockerconfigjson: %w", err)
	}
	return out, nil
}
