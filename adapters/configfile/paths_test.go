package configfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestPathConfinement loads a config from <tmp>/conf whose credential
// fromPath is the case's path, with a file tree that <tmp>/outside is not
// part of.
func TestPathConfinement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, tmp, conf string)
		path  string
		// want is the resolved path relative to conf, or the error message
		// after the field path (CONF and TMP stand for the directories).
		want    string
		wantErr bool
	}{
		{name: "plain relative", path: "token", want: "token"},
		{name: "dot slash and inner dot dot", path: "./a/../b/token", want: "b/token"},
		{name: "missing file is fine", path: "not/there/yet", want: "not/there/yet"},
		{name: "absolute inside the tree", path: "CONF/token", want: "token"},
		{
			name: "dot dot escape", path: "../outside/token", wantErr: true,
			want: `"../outside/token" escapes the config directory CONF; keep referenced files under it`,
		},
		{
			name: "dot dot escape that comes back is fine", path: "../conf/token", want: "token",
		},
		{
			name: "absolute outside", path: "/etc/passwd", wantErr: true,
			want: `"/etc/passwd" is outside the config directory CONF; keep referenced files under it and write the path relative to it`,
		},
		{
			name: "symlinked file escaping",
			setup: func(t *testing.T, tmp, conf string) {
				write(t, filepath.Join(tmp, "outside", "token"), "x")
				symlink(t, filepath.Join(tmp, "outside", "token"), filepath.Join(conf, "token"))
			},
			path: "token", wantErr: true,
			want: `"token" resolves through a symlink to TMP/outside/token, outside the config directory CONF; keep referenced files under it`,
		},
		{
			name: "relative symlinked directory escaping",
			setup: func(t *testing.T, tmp, conf string) {
				symlink(t, "../outside", filepath.Join(conf, "secrets"))
			},
			path: "secrets/token", wantErr: true,
			want: `"secrets/token" resolves through a symlink to TMP/outside/token, outside the config directory CONF; keep referenced files under it`,
		},
		{
			name: "dangling symlink escaping",
			setup: func(t *testing.T, tmp, conf string) {
				symlink(t, "/nonexistent/flux-mirror/token", filepath.Join(conf, "token"))
			},
			path: "token", wantErr: true,
			want: `"token" resolves through a symlink to /nonexistent/flux-mirror/token, outside the config directory CONF; keep referenced files under it`,
		},
		{
			name: "symlink chain escaping",
			setup: func(t *testing.T, tmp, conf string) {
				symlink(t, "b", filepath.Join(conf, "a"))
				symlink(t, "../outside/x", filepath.Join(conf, "b"))
			},
			path: "a", wantErr: true,
			want: `"a" resolves through a symlink to TMP/outside/x, outside the config directory CONF; keep referenced files under it`,
		},
		{
			name: "symlink dot dot after a symlinked directory",
			setup: func(t *testing.T, tmp, conf string) {
				// conf/d -> conf/deep/er; conf/d/../x is conf/deep/x for the
				// kernel, not conf/x.
				if err := os.MkdirAll(filepath.Join(conf, "deep", "er"), 0o755); err != nil {
					t.Fatal(err)
				}
				symlink(t, "deep/er", filepath.Join(conf, "d"))
				symlink(t, "d/../x", filepath.Join(conf, "link"))
			},
			path: "link", want: "link",
		},
		{
			name: "kubernetes projected volume symlinks stay inside",
			setup: func(t *testing.T, tmp, conf string) {
				write(t, filepath.Join(conf, "sa", "..2026_11_24", "token"), "jwt")
				symlink(t, "..2026_11_24", filepath.Join(conf, "sa", "..data"))
				symlink(t, "..data/token", filepath.Join(conf, "sa", "token"))
			},
			path: "sa/token", want: "sa/token",
		},
		{
			name: "symlink loop",
			setup: func(t *testing.T, tmp, conf string) {
				symlink(t, "loop", filepath.Join(conf, "loop"))
			},
			path: "loop", wantErr: true,
			want: `"loop" cannot be resolved: too many levels of symbolic links`,
		},
		{
			name: "file used as a directory is missing, not an error",
			setup: func(t *testing.T, tmp, conf string) {
				write(t, filepath.Join(conf, "file"), "x")
			},
			path: "file/token", want: "file/token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmp, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(tmp, "conf")
			if tt.setup != nil {
				tt.setup(t, tmp, conf)
			}
			path := strings.ReplaceAll(tt.path, "CONF", conf)
			p := write(t, filepath.Join(conf, "c.yaml"), header+"hosts:\n  - host: r.example\n    credential:\n      fromPath: '"+path+"'\n")
			c, err := Load(p, Options{Purpose: config.PurposeHosts, LookupEnv: noEnv})
			want := strings.NewReplacer("CONF", conf, "TMP", tmp).Replace(tt.want)
			if tt.wantErr {
				wantMsg := p + `: hosts[0] "r.example": credential.fromPath: ` + want
				if err == nil || err.Error() != wantMsg {
					t.Fatalf("Load:\n got: %v\nwant: %s", err, wantMsg)
				}
				fes := config.FieldErrors(err)
				if len(fes) != 1 || fes[0].Path != "hosts[0].credential.fromPath" {
					t.Errorf("FieldErrors: %+v", fes)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := c.Hosts[0].Credential.FromPath, filepath.Join(conf, want); got != want {
				t.Errorf("fromPath: got %q, want %q", got, want)
			}
		})
	}
}

// TestPathConfinementSymlinkedConfigDir checks that a config directory
// reached through a symlink confines to its real location.
func TestPathConfinementSymlinkedConfigDir(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	link := filepath.Join(tmp, "link")
	symlink(t, real, link)
	write(t, filepath.Join(real, "token"), "x")
	symlink(t, filepath.Join(real, "token"), filepath.Join(real, "abs-inside"))
	p := write(t, filepath.Join(real, "c.yaml"), header+`hosts:
  - host: a.example
    credential: {fromPath: token}
  - host: b.example
    credential: {jwkPath: abs-inside, iss: i, sub: s}
`)
	c, err := Load(filepath.Join(link, "c.yaml"), Options{Purpose: config.PurposeHosts, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("Load via %s: %v (config at %s)", link, err, p)
	}
	if got, want := c.Hosts[0].Credential.FromPath, filepath.Join(link, "token"); got != want {
		t.Errorf("fromPath: got %q, want %q", got, want)
	}
	if got, want := c.Hosts[1].Credential.JWKPath, filepath.Join(link, "abs-inside"); got != want {
		t.Errorf("jwkPath: got %q, want %q", got, want)
	}
}

// TestPathConfinementEveryField checks that each path field is resolved and
// confined, and reported under its own path.
func TestPathConfinementEveryField(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := write(t, filepath.Join(dir, "c.yaml"), header+`hosts:
  - host: a.example
    credential: {fromPath: ../a}
  - host: b.example
    credential: {jwkPath: ../b, iss: i, sub: s}
  - host: c.example
    tls:
      serverAuth: {fromPath: ../c}
      clientAuth:
        certificate: {fromPath: ../d}
        key: {fromPath: ../e}
`)
	_, err := Load(p, Options{Purpose: config.PurposeHosts, LookupEnv: noEnv})
	var got []string
	for _, fe := range config.FieldErrors(err) {
		got = append(got, fe.Path)
	}
	want := []string{
		"hosts[0].credential.fromPath",
		"hosts[1].credential.jwkPath",
		"hosts[2].tls.serverAuth.fromPath",
		"hosts[2].tls.clientAuth.certificate.fromPath",
		"hosts[2].tls.clientAuth.key.fromPath",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("paths:\n got %v\nwant %v\n(%v)", got, want, err)
	}
}

// TestRoot checks that Root names the directory Load confines to.
func TestRoot(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{name: "relative file", path: "conf/c.yaml", want: filepath.Join(wd, "conf")},
		{name: "absolute file", path: filepath.Join(wd, "x", "c.yaml"), want: filepath.Join(wd, "x")},
		{name: "stdin", path: Stdin, want: wd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Root(tt.path, Options{WorkDir: wd})
			if err != nil || got != tt.want {
				t.Errorf("Root(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
			// Load rewrites a relative file path to an absolute one under
			// the same directory.
			content := header + "hosts:\n  - host: r.example\n    credential: {fromPath: token}\n"
			p := tt.path
			if p != Stdin {
				if !filepath.IsAbs(p) {
					p = filepath.Join(wd, p)
				}
				write(t, p, content)
			}
			c, err := Load(tt.path, Options{WorkDir: wd, Stdin: strings.NewReader(content), Purpose: config.PurposeHosts, LookupEnv: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Hosts[0].Credential.FromPath; got != filepath.Join(tt.want, "token") {
				t.Errorf("Load resolved fromPath to %q, want it under %q", got, tt.want)
			}
		})
	}
	if _, err := Root("", Options{WorkDir: wd}); err == nil {
		t.Error("Root of no path must fail")
	}
}
