package helmrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/yaml"
)

// repoFile is Helm's repositories.yaml, as `helm repo add` writes it.
type repoFile struct {
	Repositories []*repoEntry `json:"repositories"`
}

// repoEntry is one repository of repositories.yaml, with Helm's field names.
type repoEntry struct {
	Name                  string `json:"name"`
	URL                   string `json:"url"`
	Username              string `json:"username"`
	Password              string `json:"password"`
	CertFile              string `json:"certFile"`
	KeyFile               string `json:"keyFile"`
	CAFile                string `json:"caFile"`
	InsecureSkipTLSVerify bool   `json:"insecure_skip_tls_verify"`
	PassCredentialsAll    bool   `json:"pass_credentials_all"`
}

// hasCredentials reports whether Helm would send Basic auth: it sends it
// only when both the username and the password are set.
func (e *repoEntry) hasCredentials() bool {
	return e != nil && e.Username != "" && e.Password != ""
}

// DefaultRepositoryConfig returns the repositories.yaml that Helm reads when
// $HELM_REPOSITORY_CONFIG is not set, resolved as Helm's helmpath does:
// $HELM_CONFIG_HOME/repositories.yaml, else
// $XDG_CONFIG_HOME/helm/repositories.yaml, else the platform's default
// (~/.config/helm on Linux, ~/Library/Preferences/helm on macOS,
// %APPDATA%\helm on Windows). It returns "" when no home directory is known.
func DefaultRepositoryConfig() string {
	if dir := os.Getenv("HELM_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "repositories.yaml")
	}
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = platformConfigHome()
	}
	if base == "" {
		return ""
	}
	return filepath.Join(base, "helm", "repositories.yaml")
}

func platformConfigHome() string {
	if runtime.GOOS == "windows" {
		return os.Getenv("APPDATA")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Preferences")
	}
	return filepath.Join(home, ".config")
}

// repositoryConfigPath picks the repositories.yaml to read: the explicit
// path, else $HELM_REPOSITORY_CONFIG, else Helm's default.
func repositoryConfigPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if env := os.Getenv("HELM_REPOSITORY_CONFIG"); env != "" {
		return env
	}
	return DefaultRepositoryConfig()
}

// loadRepositoryConfig reads repositories.yaml. A file that does not exist
// holds no repositories; one that cannot be read or parsed is an error that
// names the file (and never quotes its content).
func loadRepositoryConfig(path string) ([]*repoEntry, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Helm repositories config %s: %w", path, err)
	}
	var f repoFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse Helm repositories config %s: %w (fix the file, or point $HELM_REPOSITORY_CONFIG at another one)", path, err)
	}
	entries := f.Repositories[:0]
	for _, e := range f.Repositories {
		if e != nil {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// findEntry returns the first entry whose URL is the repository URL, up to a
// trailing slash and the case of the scheme and host, or nil.
func findEntry(entries []*repoEntry, repo *url.URL) *repoEntry {
	key := repoKey(repo)
	for _, e := range entries {
		u, err := url.Parse(e.URL)
		if err != nil || u.Host == "" {
			continue
		}
		if repoKey(u) == key {
			return e
		}
	}
	return nil
}
