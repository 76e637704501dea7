package hostauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// confinedCase is one kind of configured file: how a host names it, and
// how the host is built and used so that the file is read.
type confinedCase struct {
	name  string
	field string // the field the error must name
	file  string // the file under the root the host names
	// content is the valid content of the file.
	content func(t *testing.T) string
	// host names path in its config; its other files are under root.
	host func(root, path string) config.Host
	// use builds the host and reads the file once; a non-nil error is what
	// the read reported.
	use func(t *testing.T, h config.Host, deps Deps) error
}

func confinedCases(t *testing.T) []confinedCase {
	ca := newCA(t, "root")
	client := ca.issue(t, leafOpts{cn: "mirror"})
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	// buildTLS reads the TLS files, which are read once, when built.
	buildTLS := func(t *testing.T, h config.Host, deps Deps) error {
		_, err := TLSConfig(h, deps)
		return err
	}
	// credential builds the source and reads the file on Credential.
	credential := func(t *testing.T, h config.Host, deps Deps) error {
		src, err := NewSource(h, deps)
		if err != nil {
			return err
		}
		_, err = src.Credential(t.Context())
		return err
	}
	withCert := func(cert, key string) *config.TLS {
		return &config.TLS{ClientAuth: &config.ClientAuth{
			Certificate: &config.Source{FromPath: cert},
			Key:         &config.Source{FromPath: key},
		}}
	}
	return []confinedCase{
		{
			name: "token fromPath", field: "credential.fromPath", file: "token",
			content: func(*testing.T) string { return "inside-token" },
			host: func(root, p string) config.Host {
				return config.Host{Host: "r.example", Credential: &config.Credential{FromPath: p}}
			},
			use: credential,
		},
		{
			name: "jwkPath", field: "credential.jwkPath", file: "key.json",
			content: func(t *testing.T) string { return jwkJSON(t, ed, "k", "", false) },
			host: func(root, p string) config.Host {
				return config.Host{Host: "r.example", Credential: &config.Credential{JWKPath: p, Iss: "i", Sub: "s"}}
			},
			use: credential,
		},
		{
			name: "CA bundle", field: "tls.serverAuth.fromPath", file: "ca.crt",
			content: func(*testing.T) string { return ca.pem },
			host: func(root, p string) config.Host {
				return config.Host{Host: "r.example", TLS: &config.TLS{ServerAuth: &config.ServerAuth{FromPath: p}}}
			},
			use: buildTLS,
		},
		{
			name: "client certificate", field: "tls.clientAuth.certificate.fromPath", file: "client.crt",
			content: func(*testing.T) string { return client.certPEM },
			host: func(root, p string) config.Host {
				return config.Host{Host: "r.example", TLS: withCert(p, filepath.Join(root, "client.key"))}
			},
			use: buildTLS,
		},
		{
			name: "client key", field: "tls.clientAuth.key.fromPath", file: "client.key",
			content: func(*testing.T) string { return client.keyPEM },
			host: func(root, p string) config.Host {
				return config.Host{Host: "r.example", TLS: withCert(filepath.Join(root, "client.crt"), p)}
			},
			use: buildTLS,
		},
	}
}

// TestConfinedReads reads every kind of configured file inside the root,
// then swaps it for symlinks of each shape: those that stay inside are
// followed, those that leave are refused at the read, naming the field and
// the path, and the outside file's content goes nowhere.
func TestConfinedReads(t *testing.T) {
	t.Parallel()
	const outsideSecret = "OUTSIDE-SECRET-must-not-be-read"
	swaps := []struct {
		name string
		// swap replaces root/file; outside is a directory beside root
		// whose files hold outsideSecret.
		swap    func(t *testing.T, root, outside, file string)
		escapes bool
	}{
		{name: "unchanged", swap: func(*testing.T, string, string, string) {}},
		{
			name: "relative symlink inside (a Kubernetes projected volume)",
			swap: func(t *testing.T, root, _, file string) {
				moveAndLink(t, filepath.Join(root, file), filepath.Join(root, "..data", file), filepath.Join("..data", file))
			},
		},
		{
			name: "absolute symlink inside",
			swap: func(t *testing.T, root, _, file string) {
				moveAndLink(t, filepath.Join(root, file), filepath.Join(root, "real", file), filepath.Join(root, "real", file))
			},
		},
		{
			name: "absolute symlink outside", escapes: true,
			swap: func(t *testing.T, root, outside, file string) {
				relink(t, filepath.Join(outside, file), filepath.Join(root, file))
			},
		},
		{
			name: "relative symlink outside", escapes: true,
			swap: func(t *testing.T, root, outside, file string) {
				relink(t, filepath.Join("..", filepath.Base(outside), file), filepath.Join(root, file))
			},
		},
		{
			name: "symlinked directory outside", escapes: true,
			swap: func(t *testing.T, root, outside, file string) {
				relink(t, outside, filepath.Join(root, "sub"))
			},
		},
	}
	cases := confinedCases(t)
	for _, kind := range cases {
		for _, sw := range swaps {
			t.Run(kind.name+"/"+sw.name, func(t *testing.T) {
				t.Parallel()
				tmp := t.TempDir()
				root, outside := filepath.Join(tmp, "conf"), filepath.Join(tmp, "outside")
				file := kind.file
				if sw.name == "symlinked directory outside" {
					file = filepath.Join("sub", kind.file)
				}
				for _, f := range []string{"token", "key.json", "ca.crt", "client.crt", "client.key"} {
					writeAll(t, filepath.Join(outside, f), outsideSecret)
				}
				for _, c := range cases {
					writeAll(t, filepath.Join(root, c.file), c.content(t))
				}
				writeAll(t, filepath.Join(root, file), kind.content(t))
				path := filepath.Join(root, file)
				h := kind.host(root, path)
				deps := Deps{Root: root}
				sw.swap(t, root, outside, file)

				err := kind.use(t, h, deps)
				if !sw.escapes {
					if err != nil {
						t.Fatalf("a file inside the root must be read: %v", err)
					}
					return
				}
				if err == nil {
					t.Fatal("a file that resolves outside the root was read")
				}
				for _, want := range []string{kind.field, path, "resolves outside " + root} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				if strings.Contains(err.Error(), outsideSecret) {
					t.Errorf("error %q carries the outside file", err)
				}
				if retry.Retryable(err) {
					t.Errorf("a confinement failure must be permanent: %v", err)
				}
			})
		}
	}
}

// TestConfinedReadsMidRun swaps the token and key files of running sources
// for symlinks leaving the root: the next call fails and the outside
// content is never handed out.
func TestConfinedReadsMidRun(t *testing.T) {
	t.Parallel()
	for _, kind := range confinedCases(t)[:2] {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			root, outside := filepath.Join(tmp, "conf"), filepath.Join(tmp, "outside")
			path := filepath.Join(root, kind.file)
			writeAll(t, path, kind.content(t))
			src, err := NewSource(kind.host(root, path), Deps{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Credential(t.Context()); err != nil {
				t.Fatalf("first call: %v", err)
			}
			_, outKey, _ := ed25519.GenerateKey(rand.Reader)
			outside1 := "outside-token"
			if kind.file == "key.json" {
				outside1 = jwkJSON(t, outKey, "outside", "", false)
			}
			writeAll(t, filepath.Join(outside, kind.file), outside1)
			relink(t, filepath.Join(outside, kind.file), path)
			c, err := src.Credential(t.Context())
			if err == nil {
				t.Fatalf("a swapped-in symlink leaving the root was followed: got credential of %d bytes", len(c.Secret))
			}
			var he *HostError
			if !errors.As(err, &he) || he.Host != "r.example" || !strings.Contains(err.Error(), kind.field+": read "+path+": it resolves outside "+root) {
				t.Errorf("error %q must name the host, the field and the path", err)
			}
		})
	}
}

func TestConfinedMissingFileIsPermanent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	src, err := NewSource(config.Host{Host: "r.example", Credential: &config.Credential{FromPath: filepath.Join(root, "token")}}, Deps{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Credential(t.Context())
	if !errors.Is(err, fs.ErrNotExist) || retry.Retryable(err) {
		t.Errorf("a missing token file must be a permanent not-exist error: %v (retryable %v)", err, retry.Retryable(err))
	}
}

func writeAll(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// relink replaces link (a file, a directory or nothing) with a symlink to
// target.
func relink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.RemoveAll(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// moveAndLink moves from to to and leaves a symlink to target at from.
func moveAndLink(t *testing.T, from, to, target string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, from); err != nil {
		t.Fatal(err)
	}
}
