package dockerconfig

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// dockerHubKey is where docker, crane and kubelet look for Docker Hub
// credentials (docker/cli's authConfigKey, ggcr's authn.DefaultAuthKey).
const dockerHubKey = "https://index.docker.io/v1/"

// authKey is the config key of a registry host: Docker Hub's historical
// index address for any of Docker Hub's names (docker.io, index.docker.io,
// registry-1.docker.io, see oci.IsDockerHub), the host itself otherwise
// (docker/cli's getAuthConfigKey).
func authKey(host string) string {
	if oci.IsDockerHub(host) {
		return dockerHubKey
	}
	return host
}

// validate rejects a host or credential that would be stored in a form
// that readers misinterpret.
func validate(host string, c auth.Credential) error {
	if err := validateHost(host); err != nil {
		return err
	}
	if c.Secret == "" {
		return fmt.Errorf("credential for %s: the secret is empty", host)
	}
	if !utf8.ValidString(c.Secret) || strings.ContainsRune(c.Secret, 0) {
		return fmt.Errorf("credential for %s: the secret is not valid UTF-8 text or contains NUL bytes", host)
	}
	if !utf8.ValidString(c.Username) {
		return fmt.Errorf("credential for %s: the username is not valid UTF-8", host)
	}
	if strings.Contains(c.Username, ":") {
		return fmt.Errorf("credential for %s: username %q contains ':', which a base64 user:password auth entry cannot represent", host, c.Username)
	}
	if strings.ContainsFunc(c.Username, unicode.IsControl) {
		return fmt.Errorf("credential for %s: username contains control characters", host)
	}
	return nil
}

// validateHost accepts a registry host with an optional port, as it appears
// in an image reference, and nothing else.
func validateHost(host string) error {
	switch {
	case host == "":
		return errors.New("registry host is empty")
	case strings.Contains(host, "://"):
		return fmt.Errorf("registry host %q: give the host without a scheme, e.g. %q", host, host[strings.Index(host, "://")+3:])
	case strings.ContainsAny(host, "/?#@"):
		return fmt.Errorf("registry host %q: give only the host[:port], without a path or user, e.g. \"ghcr.io\"", host)
	case !utf8.ValidString(host):
		return fmt.Errorf("registry host %q is not valid UTF-8", host)
	case strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("registry host %q contains white space or control characters", host)
	}
	return nil
}
