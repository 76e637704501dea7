package dockerconfig

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
)

var (
	basic  = auth.Credential{Username: "alice", Secret: "s3cr3t-pw"}
	bearer = auth.Credential{Secret: "tok-9f8e7d"}
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	return s
}

func mustSave(t *testing.T, s *Store, host string, c auth.Credential, plaintext bool) Result {
	t.Helper()
	var res Result
	var err error
	out := captureOutput(t, func() { res, err = s.Save(host, c, plaintext) })
	if err != nil {
		t.Fatalf("Save(%s): %v", host, err)
	}
	if out != "" {
		t.Errorf("Save(%s) printed %q; it must print nothing", host, out)
	}
	return res
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSaveBasicToFileWithoutHelper: no helper configured and none on PATH,
// so the credential becomes the base64 auth entry, in a new 0600 file.
func TestSaveBasicToFileWithoutHelper(t *testing.T) {
	e := newEnv(t) // empty PATH: DetectDefaultStore finds nothing
	host := authRegistry(t, "Basic "+b64("alice:s3cr3t-pw"))
	s := mustOpen(t, "")
	if s.Path() != e.configPath() {
		t.Fatalf("Path() = %s, want %s ($DOCKER_CONFIG)", s.Path(), e.configPath())
	}
	if err := pullWithDefaultKeychain(host); err == nil {
		t.Fatal("the registry let an anonymous request through")
	}

	res := mustSave(t, s, host, basic, false)
	if want := (Result{Host: host, File: e.configPath()}); res != want {
		t.Fatalf("Result = %+v, want %+v", res, want)
	}
	if got, want := res.String(), "stored credential for "+host+" in "+e.configPath(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b, _ := os.ReadFile(e.configPath())
	if want := "{\n\t\"auths\": {\n\t\t\"" + host + "\": {\n\t\t\t\"auth\": \"" + b64("alice:s3cr3t-pw") + "\"\n\t\t}\n\t}\n}"; string(b) != want {
		t.Errorf("config.json =\n%s\nwant (docker login's bytes)\n%s", b, want)
	}
	if m := fileMode(t, e.configPath()); m != 0o600 {
		t.Errorf("config.json mode %o, want 600", m)
	}
	if m := fileMode(t, e.dir); m != 0o700 {
		t.Errorf("config dir mode %o, want 700", m)
	}
	if ac := dockerRead(t, e.dir, host); ac.Username != "alice" || ac.Password != "s3cr3t-pw" {
		t.Errorf("docker/cli reads %q/%q", ac.Username, ac.Password)
	}
	if cfg := ggcrRead(t, host); cfg.Username != "alice" || cfg.Password != "s3cr3t-pw" {
		t.Errorf("ggcr reads %+v", cfg)
	}
	if err := pullWithDefaultKeychain(host); err != nil {
		t.Errorf("pull with the stored credential: %v", err)
	}
}

// TestSaveAutoDetectsHelper pins down docker/cli's DetectDefaultStore on
// Linux: it uses "pass" when the `pass` program is on PATH, else
// "secretservice", and only if docker-credential-<that> is on PATH too. It
// applies only to a config without authentication.
func TestSaveAutoDetectsHelper(t *testing.T) {
	tests := []struct {
		name       string
		programs   []string
		existing   string // config.json content; "" for none
		wantHelper string
	}{
		{"pass and its helper", []string{"pass", "docker-credential-pass"}, "", "pass"},
		{"secretservice helper only", []string{"docker-credential-secretservice"}, "", "secretservice"},
		{"pass helper without pass", []string{"docker-credential-pass"}, "", ""},
		{"pass without its helper", []string{"pass", "docker-credential-secretservice"}, "", ""},
		{"nothing on PATH", nil, "", ""},
		{"config without auth is still fresh", []string{"pass", "docker-credential-pass"}, `{"psFormat":"table"}`, "pass"},
		{"config with auths is not fresh", []string{"pass", "docker-credential-pass"}, `{"auths":{"other.example":{"auth":"` + b64("u:p") + `"}}}`, ""},
		{"config with credHelpers is not fresh", []string{"pass", "docker-credential-pass"}, `{"credHelpers":{"other.example":"fmtest"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.programs...)
			if tt.existing != "" {
				e.writeConfig(t, tt.existing, 0o600)
			}
			const host = "registry.example:5000"
			res := mustSave(t, mustOpen(t, e.dir), host, basic, false)
			if res.Helper != tt.wantHelper {
				t.Fatalf("Helper = %q, want %q", res.Helper, tt.wantHelper)
			}
			cfg := e.readConfig(t)
			raw, _ := os.ReadFile(e.configPath())
			if tt.wantHelper == "" {
				if res.File != e.configPath() {
					t.Errorf("File = %q, want %q", res.File, e.configPath())
				}
				if _, ok := cfg["credsStore"]; ok {
					t.Errorf("credsStore set without a helper: %s", raw)
				}
				if len(e.helperEntries(t)) != 0 {
					t.Errorf("the helper was used: %v", e.helperEntries(t))
				}
			} else {
				if res.File != "" {
					t.Errorf("File = %q for a helper save", res.File)
				}
				if got := res.String(); got != `stored credential for `+host+` via the "`+tt.wantHelper+`" credential helper` {
					t.Errorf("String() = %q", got)
				}
				if cfg["credsStore"] != tt.wantHelper {
					t.Errorf("credsStore = %v, want %q (docker persists the detected store)", cfg["credsStore"], tt.wantHelper)
				}
				if strings.Contains(string(raw), "s3cr3t-pw") || strings.Contains(string(raw), b64("alice:s3cr3t-pw")) {
					t.Errorf("the secret is in config.json: %s", raw)
				}
				if got := e.helperEntries(t)[host]; got["username"] != "alice" || got["secret"] != "s3cr3t-pw" {
					t.Errorf("helper holds %v", got)
				}
			}
			if ac := dockerRead(t, e.dir, host); ac.Username != "alice" || ac.Password != "s3cr3t-pw" {
				t.Errorf("docker/cli reads %q/%q", ac.Username, ac.Password)
			}
			if c := ggcrRead(t, host); c.Username != "alice" || c.Password != "s3cr3t-pw" {
				t.Errorf("ggcr reads %+v", c)
			}
		})
	}
}

// TestSaveConfiguredHelpers: credHelpers[host] wins over credsStore, and an
// explicitly empty credHelpers entry means the file.
func TestSaveConfiguredHelpers(t *testing.T) {
	tests := []struct {
		name, config, host, wantHelper string
	}{
		{"credsStore", `{"credsStore":"fmtest"}`, "ghcr.io", "fmtest"},
		{"credHelpers for the host", `{"credHelpers":{"ghcr.io":"fmtest"}}`, "ghcr.io", "fmtest"},
		{"credHelpers over credsStore", `{"credsStore":"missing-helper","credHelpers":{"ghcr.io":"fmtest"}}`, "ghcr.io", "fmtest"},
		{"credHelpers of another host", `{"credHelpers":{"quay.io":"missing-helper"}}`, "ghcr.io", ""},
		{"empty credHelpers entry means the file", `{"credsStore":"missing-helper","credHelpers":{"ghcr.io":""}}`, "ghcr.io", ""},
		{"docker hub key", `{"credHelpers":{"https://index.docker.io/v1/":"fmtest"}}`, "docker.io", "fmtest"},
		{"docker hub key for the API host", `{"credHelpers":{"https://index.docker.io/v1/":"fmtest"}}`, "registry-1.docker.io", "fmtest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// pass is on PATH: detection must not apply to configured configs.
			e := newEnv(t, "docker-credential-fmtest", "pass", "docker-credential-pass")
			e.writeConfig(t, tt.config, 0o600)
			res := mustSave(t, mustOpen(t, e.dir), tt.host, basic, false)
			if res.Helper != tt.wantHelper {
				t.Fatalf("Helper = %q, want %q", res.Helper, tt.wantHelper)
			}
			key := authKey(tt.host)
			if tt.wantHelper != "" {
				if got := e.helperEntries(t)[key]; got["secret"] != "s3cr3t-pw" {
					t.Errorf("helper holds %v under %s", got, key)
				}
				auths := e.readConfig(t)["auths"].(map[string]any)
				if entry, ok := auths[key]; !ok || len(entry.(map[string]any)) != 0 {
					t.Errorf(`auths[%s] = %v, want {} (docker's placeholder for a helper login)`, key, entry)
				}
			} else if len(e.helperEntries(t)) != 0 {
				t.Errorf("helper used: %v", e.helperEntries(t))
			}
			// Docker Hub images are named docker.io/…, whichever Hub
			// host name the credential was stored for.
			readHost := tt.host
			if readHost == "registry-1.docker.io" {
				readHost = "docker.io"
			}
			if ac := dockerRead(t, e.dir, readHost); ac.Password != "s3cr3t-pw" {
				t.Errorf("docker/cli reads password %q", ac.Password)
			}
			if c := ggcrRead(t, readHost); c.Password != "s3cr3t-pw" {
				t.Errorf("ggcr reads %+v", c)
			}
		})
	}
}

// TestSavePlaintextBypassesHelper: --plaintext writes the file without
// calling the helper (it fails here if called), and pins the host to the
// file so that docker/cli and ggcr read it instead of the helper.
func TestSavePlaintextBypassesHelper(t *testing.T) {
	e := newEnv(t, "docker-credential-fmtest")
	e.writeConfig(t, `{"credsStore":"fmtest"}`, 0o600)
	e.seedHelper(t, "ghcr.io", "stale", "stale-pw")
	s := mustOpen(t, e.dir)

	t.Setenv("FMTEST_FAIL", "the helper must not be called")
	res := mustSave(t, s, "ghcr.io", basic, true)
	if want := (Result{Host: "ghcr.io", File: e.configPath(), Pinned: true}); res != want {
		t.Fatalf("Result = %+v, want %+v", res, want)
	}
	cfg := e.readConfig(t)
	if got := cfg["credHelpers"]; !reflect.DeepEqual(got, map[string]any{"ghcr.io": ""}) {
		t.Errorf("credHelpers = %v", got)
	}
	if cfg["credsStore"] != "fmtest" {
		t.Errorf("credsStore = %v, want it kept", cfg["credsStore"])
	}
	if ac := dockerRead(t, e.dir, "ghcr.io"); ac.Username != "alice" || ac.Password != "s3cr3t-pw" {
		t.Errorf("docker/cli reads %q/%q", ac.Username, ac.Password)
	}
	if c := ggcrRead(t, "ghcr.io"); c.Username != "alice" || c.Password != "s3cr3t-pw" {
		t.Errorf("ggcr reads %+v", c)
	}

	// No helper in effect: plaintext needs no pin.
	res = mustSave(t, mustOpen(t, t.TempDir()), "quay.io", basic, true)
	if res.Pinned {
		t.Error("pinned without a helper in effect")
	}
}

// TestSaveBearer: a registrytoken always goes to config.json, even with a
// helper configured (which fails here if called), replacing a stale
// username/password entry; ggcr then sends it as the bearer token.
func TestSaveBearer(t *testing.T) {
	e := newEnv(t, "docker-credential-fmtest")
	host := authRegistry(t, "Bearer tok-9f8e7d")
	e.writeConfig(t, `{"credsStore":"fmtest","auths":{"`+host+`":{"auth":"`+b64("stale:stale-pw")+`","email":"a@example.com"}}}`, 0o600)
	s := mustOpen(t, e.dir)

	t.Setenv("FMTEST_FAIL", "the helper must not be called")
	res := mustSave(t, s, host, bearer, false)
	if want := (Result{Host: host, File: e.configPath()}); res != want {
		t.Fatalf("Result = %+v, want %+v", res, want)
	}
	entry := e.readConfig(t)["auths"].(map[string]any)[host]
	if want := map[string]any{"registrytoken": "tok-9f8e7d", "email": "a@example.com"}; !reflect.DeepEqual(entry, want) {
		t.Errorf("auths[%s] = %v, want %v (stale auth dropped, unknown field kept)", host, entry, want)
	}
	t.Setenv("FMTEST_FAIL", "")
	if ac := dockerRead(t, e.dir, host); ac.RegistryToken != "tok-9f8e7d" {
		t.Errorf("docker/cli reads registrytoken %q", ac.RegistryToken)
	}
	if c := ggcrRead(t, host); c.RegistryToken != "tok-9f8e7d" || c.Username != "" || c.Password != "" {
		t.Errorf("ggcr reads %+v, want only the RegistryToken", c)
	}
	if err := pullWithDefaultKeychain(host); err != nil {
		t.Errorf("pull with the stored registrytoken: %v", err)
	}

	// A stale username/password left in the helper does not matter: the
	// registrytoken wins in ggcr.
	e.seedHelper(t, host, "stale", "stale-pw")
	if c := ggcrRead(t, host); c.RegistryToken != "tok-9f8e7d" {
		t.Errorf("ggcr reads %+v", c)
	}
	if err := pullWithDefaultKeychain(host); err != nil {
		t.Errorf("pull with a stale helper entry beside the registrytoken: %v", err)
	}

	// --plaintext changes nothing for a bearer credential, and a fresh
	// config with a detectable helper still gets the file and no credsStore.
	e2 := newEnv(t, "pass", "docker-credential-pass")
	res = mustSave(t, mustOpen(t, e2.dir), "ghcr.io", bearer, true)
	if res.File != e2.configPath() || res.Helper != "" || res.Pinned {
		t.Errorf("Result = %+v", res)
	}
	if _, ok := e2.readConfig(t)["credsStore"]; ok {
		t.Error("a bearer save adopted the detected helper")
	}
}

// TestSaveBasicReplacesBearer: a later username/password login for the same
// host removes the registrytoken, in the file and through a helper.
func TestSaveBasicReplacesBearer(t *testing.T) {
	for _, cfg := range []string{`{}`, `{"credsStore":"fmtest"}`} {
		e := newEnv(t, "docker-credential-fmtest")
		e.writeConfig(t, cfg, 0o600)
		s := mustOpen(t, e.dir)
		mustSave(t, s, "ghcr.io", bearer, false)
		mustSave(t, s, "ghcr.io", basic, false)
		ac := dockerRead(t, e.dir, "ghcr.io")
		if ac.RegistryToken != "" || ac.Password != "s3cr3t-pw" {
			t.Errorf("%s: docker/cli reads %+v", cfg, ac)
		}
	}
}

// richConfig exercises every kind of content a user's config.json may hold.
const richConfig = `{
	"auths": {
		"other.example": {"auth": "` + "dTpw" + `", "email": "u@example.com"},
		"https://index.docker.io/v1/": {"auth": "` + "aHViOnB3" + `"},
		"ghcr.io": {"auth": "` + "b2xkOm9sZA==" + `", "x-note": {"kept": true}}
	},
	"credHelpers": {"gcr.io": "gcloud", "ghcr.io": ""},
	"HttpHeaders": {"X-Meta": "1"},
	"psFormat": "table {{.ID}}",
	"proxies": {"default": {"httpProxy": "http://proxy:3128", "noProxy": "localhost"}},
	"plugins": {"buildx": {"hooks": "build"}},
	"aliases": {"builder": "buildx"},
	"features": {"hooks": "true"},
	"currentContext": "colima",
	"cliPluginsExtraDirs": ["/opt/docker/plugins"],
	"experimental": "enabled",
	"stackOrchestrator": "swarm",
	"x-unknown": {"nested": [1, 2, {"deep": null}], "n": 1.5e3}
}`

// TestSavePreservesExistingContent: everything but the saved host's entry
// survives, unknown fields included, and docker/cli still loads the file.
func TestSavePreservesExistingContent(t *testing.T) {
	e := newEnv(t, "pass", "docker-credential-pass") // detection must not apply
	e.writeConfig(t, richConfig, 0o600)
	before := e.readConfig(t)

	res := mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
	if res.File != e.configPath() {
		t.Fatalf("Result = %+v, want the file (credHelpers[ghcr.io] is empty)", res)
	}
	after := e.readConfig(t)

	wantEntry := map[string]any{"auth": b64("alice:s3cr3t-pw"), "x-note": map[string]any{"kept": true}}
	if got := after["auths"].(map[string]any)["ghcr.io"]; !reflect.DeepEqual(got, wantEntry) {
		t.Errorf("auths[ghcr.io] = %v, want %v", got, wantEntry)
	}
	before["auths"].(map[string]any)["ghcr.io"] = wantEntry
	if !reflect.DeepEqual(before, after) {
		t.Errorf("config changed beyond the saved entry:\nbefore %v\nafter  %v", before, after)
	}
	mustOpen(t, e.dir) // docker/cli still parses it
	if ac := dockerRead(t, e.dir, "other.example"); ac.Username != "u" || ac.Password != "p" {
		t.Errorf("other host now reads %q/%q", ac.Username, ac.Password)
	}
}

// TestSaveHelperPreservesExistingContent: the file write a helper login does
// (docker's empty placeholder entry) keeps unknown content too.
func TestSaveHelperPreservesExistingContent(t *testing.T) {
	e := newEnv(t, "docker-credential-fmtest")
	e.writeConfig(t, `{"credsStore":"fmtest","x-unknown":[1,"two"],"auths":{"q.example":{"auth":"dTpw","email":"e"}}}`, 0o600)
	res := mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
	if res.Helper != "fmtest" {
		t.Fatalf("Result = %+v", res)
	}
	want := map[string]any{
		"credsStore": "fmtest",
		"x-unknown":  []any{1.0, "two"},
		"auths": map[string]any{
			"q.example": map[string]any{"auth": "dTpw", "email": "e"},
			"ghcr.io":   map[string]any{},
		},
	}
	if got := e.readConfig(t); !reflect.DeepEqual(got, want) {
		t.Errorf("config = %v\nwant %v", got, want)
	}
}

// TestSaveFileHandling: atomic replacement, modes kept, symlinks followed,
// unchanged credentials not rewritten.
func TestSaveFileHandling(t *testing.T) {
	t.Run("atomic replace keeps 0600 and leaves no temporary file", func(t *testing.T) {
		e := newEnv(t)
		e.writeConfig(t, `{"auths":{}}`, 0o600)
		ino := inode(t, e.configPath())
		mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
		if inode(t, e.configPath()) == ino {
			t.Error("config.json was rewritten in place, not replaced by a rename")
		}
		if m := fileMode(t, e.configPath()); m != 0o600 {
			t.Errorf("mode %o, want 600", m)
		}
		entries, _ := os.ReadDir(e.dir)
		if len(entries) != 1 {
			t.Errorf("config dir holds %v, want only config.json", entries)
		}
	})
	t.Run("existing mode kept like docker", func(t *testing.T) {
		e := newEnv(t)
		e.writeConfig(t, `{}`, 0o640)
		mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
		if m := fileMode(t, e.configPath()); m != 0o640 {
			t.Errorf("mode %o, want 640", m)
		}
	})
	t.Run("unchanged credential is not rewritten", func(t *testing.T) {
		e := newEnv(t)
		s := mustOpen(t, e.dir)
		mustSave(t, s, "ghcr.io", basic, false)
		ino := inode(t, e.configPath())
		mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
		if inode(t, e.configPath()) != ino {
			t.Error("an unchanged credential rewrote config.json")
		}
	})
	t.Run("symlinked config.json", func(t *testing.T) {
		e := newEnv(t)
		real := filepath.Join(t.TempDir(), "real-config.json")
		if err := os.WriteFile(real, []byte(`{"psFormat":"x"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(e.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, e.configPath()); err != nil {
			t.Fatal(err)
		}
		mustSave(t, mustOpen(t, e.dir), "ghcr.io", basic, false)
		if fi, err := os.Lstat(e.configPath()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("config.json is no longer a symlink: %v", err)
		}
		b, _ := os.ReadFile(real)
		if !strings.Contains(string(b), `"psFormat": "x"`) || !strings.Contains(string(b), b64("alice:s3cr3t-pw")) {
			t.Errorf("link target = %s", b)
		}
	})
	t.Run("home fallback", func(t *testing.T) {
		newEnv(t)
		home := t.TempDir()
		t.Setenv("HOME", home)
		t.Setenv("DOCKER_CONFIG", "")
		s := mustOpen(t, "")
		if want := filepath.Join(home, ".docker", "config.json"); s.Path() != want {
			t.Errorf("Path() = %s, want %s", s.Path(), want)
		}
	})
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestSaveErrors: bad input is refused with a message naming the problem,
// a helper failure names the helper and the way out and leaks no secret,
// and a malformed config is never touched.
func TestSaveErrors(t *testing.T) {
	t.Run("bad input", func(t *testing.T) {
		e := newEnv(t)
		s := mustOpen(t, e.dir)
		for _, tt := range []struct {
			host string
			c    auth.Credential
			want string
		}{
			{"", basic, "registry host is empty"},
			{"https://ghcr.io", basic, `without a scheme, e.g. "ghcr.io"`},
			{"ghcr.io/org", basic, "without a path"},
			{"ghcr .io", basic, "white space"},
			{"ghcr.io", auth.Credential{Username: "a"}, "credential for ghcr.io: the secret is empty"},
			{"ghcr.io", auth.Credential{}, "the secret is empty"},
			{"ghcr.io", auth.Credential{Username: "a:b", Secret: "pw"}, "contains ':'"},
		} {
			_, err := s.Save(tt.host, tt.c, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Save(%q, %v) = %v, want an error containing %q", tt.host, tt.c, err, tt.want)
			}
		}
		if _, err := os.Stat(e.configPath()); !os.IsNotExist(err) {
			t.Error("a refused save created config.json")
		}
	})
	t.Run("helper failure", func(t *testing.T) {
		e := newEnv(t, "docker-credential-fmtest")
		e.writeConfig(t, `{"credsStore":"fmtest"}`, 0o600)
		t.Setenv("FMTEST_FAIL", "keychain is locked")
		_, err := mustOpen(t, e.dir).Save("ghcr.io", basic, false)
		if err == nil {
			t.Fatal("Save succeeded with a failing helper")
		}
		for _, want := range []string{`"fmtest" credential helper`, "keychain is locked", "--plaintext"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), basic.Secret) {
			t.Errorf("error leaks the secret: %v", err)
		}
		if b, _ := os.ReadFile(e.configPath()); string(b) != `{"credsStore":"fmtest"}` {
			t.Errorf("config.json changed: %s", b)
		}
	})
	t.Run("detected helper failure adopts nothing", func(t *testing.T) {
		e := newEnv(t, "pass", "docker-credential-pass")
		t.Setenv("FMTEST_FAIL", "gpg: no secret key")
		s := mustOpen(t, e.dir)
		if _, err := s.Save("ghcr.io", basic, false); err == nil || !strings.Contains(err.Error(), `"pass" credential helper`) {
			t.Fatalf("Save = %v", err)
		}
		if _, err := os.Stat(e.configPath()); !os.IsNotExist(err) {
			t.Error("a failed helper save wrote config.json")
		}
		res := mustSave(t, s, "ghcr.io", basic, true)
		if res.File == "" || res.Pinned {
			t.Errorf("plaintext after a failed helper save: %+v", res)
		}
		if _, ok := e.readConfig(t)["credsStore"]; ok {
			t.Error("credsStore adopted although the helper failed")
		}
	})
	t.Run("malformed config", func(t *testing.T) {
		for _, content := range []string{`{"auths":`, `[]`, `{"auths":{"h":{"auth":"%%%"}}}`, `{"auths":{"h":{"auth":"` + b64("nocolon") + `"}}}`} {
			e := newEnv(t)
			e.writeConfig(t, content, 0o600)
			_, err := Open(e.dir)
			if err == nil || !strings.Contains(err.Error(), e.configPath()) || !strings.Contains(err.Error(), "left untouched") {
				t.Errorf("Open(%s) = %v, want an error naming the file", content, err)
			}
			if b, _ := os.ReadFile(e.configPath()); string(b) != content {
				t.Errorf("malformed config changed to %s", b)
			}
		}
	})
	t.Run("unreadable config", func(t *testing.T) {
		e := newEnv(t)
		if err := os.MkdirAll(e.configPath(), 0o700); err != nil { // a directory
			t.Fatal(err)
		}
		if _, err := Open(e.dir); err == nil || !strings.Contains(err.Error(), "read Docker config") {
			t.Errorf("Open = %v", err)
		}
	})
	t.Run("write failure", func(t *testing.T) {
		e := newEnv(t)
		s := mustOpen(t, e.dir)
		// The config directory turns into a file between Open and Save.
		if err := os.WriteFile(e.dir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Save("ghcr.io", basic, false)
		if err == nil || !strings.Contains(err.Error(), e.configPath()) || !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("Save into a non-directory = %v", err)
		}
	})
}

// TestSaveDockerHub: every name of Docker Hub is stored under the key
// docker login uses, which ggcr resolves for docker.io references.
func TestSaveDockerHub(t *testing.T) {
	for _, host := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		e := newEnv(t)
		res := mustSave(t, mustOpen(t, e.dir), host, basic, false)
		if res.Host != host {
			t.Errorf("Result.Host = %q, want %q", res.Host, host)
		}
		auths := e.readConfig(t)["auths"].(map[string]any)
		if _, ok := auths["https://index.docker.io/v1/"]; !ok || len(auths) != 1 {
			t.Errorf("auths = %v, want only https://index.docker.io/v1/", auths)
		}
		if c := ggcrRead(t, "docker.io"); c.Username != "alice" {
			t.Errorf("ggcr reads %+v for docker.io", c)
		}
	}
}
