package dockerconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Store is one Docker client configuration directory: its config.json and
// the credential helpers that file configures. A Store is not safe for
// concurrent use; open one per login run.
type Store struct {
	cf *configfile.ConfigFile
	// raw is config.json as read by Open (nil when there was none), the
	// source of the fields docker/cli does not know and would drop.
	raw []byte
	// detected is the helper credentials.DetectDefaultStore found for a
	// config holding no authentication, "" if none; it becomes credsStore
	// when the first username/password credential is stored through it.
	detected string
}

// Open loads the Docker config in dir, like `docker --config dir`. An empty
// dir means $DOCKER_CONFIG, else ~/.docker. A missing config.json is fine: it
// is created on the first Save. A config.json that cannot be read or parsed
// is an error, and the file is never overwritten.
func Open(dir string) (*Store, error) {
	if dir == "" {
		dir = os.Getenv(config.EnvOverrideConfigDir)
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return nil, fmt.Errorf("locate the Docker config directory: no home directory; set $%s or pass --docker-config", config.EnvOverrideConfigDir)
		}
		dir = filepath.Join(home, ".docker")
	}
	path := filepath.Join(dir, config.ConfigFileName)

	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		raw = nil
	case err != nil:
		return nil, fmt.Errorf("read Docker config %s: %w", path, err)
	}
	cf := configfile.New(path)
	if err := cf.LoadFromReader(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("parse Docker config %s: %w (fix the file or point --docker-config elsewhere; it was left untouched)", path, err)
	}
	if _, err := parseObject(raw); err != nil {
		return nil, fmt.Errorf("parse Docker config %s: %w (fix the file or point --docker-config elsewhere; it was left untouched)", path, err)
	}

	s := &Store{cf: cf, raw: raw}
	// docker's LoadDefaultConfigFile: a config without any authentication
	// gets the platform's credential helper, if one is installed.
	if !cf.ContainsAuth() {
		s.detected = credentials.DetectDefaultStore("")
	}
	return s, nil
}

// Path is the config.json this Store reads and writes.
func (s *Store) Path() string { return s.cf.Filename }

// Result says where Save put a credential.
type Result struct {
	// Host is the registry host as given to Save.
	Host string
	// File is the config.json path when the secret was written to the file,
	// "" when it went to a credential helper.
	File string
	// Helper is the credential helper's name (the program is
	// docker-credential-<Helper>) when the secret went to it, "" otherwise.
	Helper string
	// Pinned reports that a plaintext save added credHelpers[host] = "" so
	// that docker/cli readers use the config.json entry instead of the
	// credential helper configured for the host, which would shadow it.
	Pinned bool
}

// String is the line the CLI prints after its check mark, e.g.
// `stored credential for ghcr.io in /home/me/.docker/config.json` or
// `stored credential for ghcr.io via the "pass" credential helper`.
func (r Result) String() string {
	if r.Helper != "" {
		return fmt.Sprintf("stored credential for %s via the %q credential helper", r.Host, r.Helper)
	}
	return fmt.Sprintf("stored credential for %s in %s", r.Host, r.File)
}

// Save stores the credential of one registry host the way `docker login`
// would (see the package documentation for where it goes). plaintext forces
// the config.json entry for a username/password credential; a bearer
// credential always goes to config.json as "registrytoken", replacing any
// username/password entry the file held for the host.
//
// Nothing is printed: docker/cli's "credentials are stored unencrypted"
// warning is left to the caller, which can tell from Result.File.
func (s *Store) Save(host string, c auth.Credential, plaintext bool) (Result, error) {
	if err := validate(host, c); err != nil {
		return Result{}, err
	}
	key := authKey(host)
	res := Result{Host: host}

	if c.Bearer() {
		if err := s.storeInFile(types.AuthConfig{ServerAddress: key, RegistryToken: c.Secret}, false); err != nil {
			return Result{}, fmt.Errorf("store credential for %s in %s: %w", host, s.cf.Filename, err)
		}
		res.File = s.cf.Filename
		return res, nil
	}

	ac := types.AuthConfig{ServerAddress: key, Username: c.Username, Password: c.Secret}
	helper := configuredHelper(s.cf, key)
	if plaintext {
		// docker/cli consults a configured helper before the file and lets
		// its answer (even "not found") replace the file's username and
		// password; an empty credHelpers entry makes it read the file.
		pin := helper != ""
		if err := s.storeInFile(ac, pin); err != nil {
			return Result{}, fmt.Errorf("store credential for %s in %s: %w", host, s.cf.Filename, err)
		}
		res.File, res.Pinned = s.cf.Filename, pin
		return res, nil
	}

	adopt := false
	if helper == "" && s.detected != "" && s.cf.CredentialsStore == "" {
		if _, listed := s.cf.CredentialHelpers[key]; !listed {
			helper, adopt = s.detected, true
		}
	}
	if helper == "" {
		if err := s.storeInFile(ac, false); err != nil {
			return Result{}, fmt.Errorf("store credential for %s in %s: %w", host, s.cf.Filename, err)
		}
		res.File = s.cf.Filename
		return res, nil
	}

	if adopt {
		// Persisted by the native store's file write below, as docker does.
		s.cf.CredentialsStore = helper
	}
	if err := credentials.NewNativeStore(backend{s}, helper).Store(ac); err != nil {
		if adopt {
			s.cf.CredentialsStore = ""
		}
		return Result{}, fmt.Errorf("store credential for %s via the %q credential helper (docker-credential-%s): %w; pass --plaintext to store it in %s instead",
			host, helper, helper, redact(err, c.Secret), s.cf.Filename)
	}
	res.Helper = helper
	return res, nil
}

// storeInFile sets the config.json entry of ac.ServerAddress, and with pin
// an empty credHelpers entry for it, then saves. Like docker/cli's file
// store it does not rewrite an unchanged file; unlike it, it prints nothing.
func (s *Store) storeInFile(ac types.AuthConfig, pin bool) error {
	auths := s.cf.GetAuthConfigs()
	changed := false
	if old, ok := auths[ac.ServerAddress]; !ok || old != ac {
		auths[ac.ServerAddress] = ac
		changed = true
	}
	if pin {
		if s.cf.CredentialHelpers == nil {
			s.cf.CredentialHelpers = map[string]string{}
		}
		s.cf.CredentialHelpers[ac.ServerAddress] = ""
		changed = true
	}
	if !changed {
		return nil
	}
	return s.save()
}

// save writes the config atomically, keeping the fields docker/cli dropped.
func (s *Store) save() error {
	var buf bytes.Buffer
	if err := s.cf.SaveToWriter(&buf); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	out, err := mergeUnknown(s.raw, buf.Bytes())
	if err != nil {
		return err
	}
	if err := writeAtomic(s.cf.Filename, out); err != nil {
		return err
	}
	s.raw = out
	return nil
}

// backend is the file half of docker/cli's native store (the store
// interface of package credentials): it saves through Store.save, so that
// unknown fields survive a helper login too.
type backend struct{ s *Store }

func (b backend) Save() error                                 { return b.s.save() }
func (b backend) GetAuthConfigs() map[string]types.AuthConfig { return b.s.cf.GetAuthConfigs() }
func (b backend) GetFilename() string                         { return b.s.cf.Filename }

// configuredHelper is docker/cli's getConfiguredCredentialStore: the helper
// of credHelpers[key] (which may be "" to mean the file), else credsStore.
func configuredHelper(cf *configfile.ConfigFile, key string) string {
	if helper, ok := cf.CredentialHelpers[key]; ok {
		return helper
	}
	return cf.CredentialsStore
}

// redact removes a secret from an error message in case a helper echoed its
// input back.
func redact(err error, secret string) error {
	msg := err.Error()
	if secret == "" || !strings.Contains(msg, secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, secret, "REDACTED"))
}
