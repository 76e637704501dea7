package hostauth

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fluxcd/flux-mirror/core/config"
)

func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath, err := GenerateKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if privPath != filepath.Join(dir, "privkey.json") || pubPath != filepath.Join(dir, "pubkey.json") {
		t.Errorf("paths = %s, %s", privPath, pubPath)
	}
	for path, mode := range map[string]os.FileMode{privPath: 0o600, pubPath: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	priv, pub := readKeySet(t, privPath), readKeySet(t, pubPath)
	if len(priv.Keys) != 1 || len(pub.Keys) != 1 {
		t.Fatalf("want single-key sets, got %d and %d keys", len(priv.Keys), len(pub.Keys))
	}
	pk, ok := priv.Keys[0].Key.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T, want ed25519.PrivateKey", priv.Keys[0].Key)
	}
	if !pk.Public().(ed25519.PublicKey).Equal(pub.Keys[0].Key) {
		t.Error("the public set does not hold the private key's public half")
	}
	for _, k := range []jose.JSONWebKey{priv.Keys[0], pub.Keys[0]} {
		if k.KeyID != priv.Keys[0].KeyID || len(k.KeyID) < 16 || k.Algorithm != "EdDSA" || k.Use != "sig" {
			t.Errorf("key %q alg %q use %q: want a shared random kid, EdDSA, sig", k.KeyID, k.Algorithm, k.Use)
		}
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	b, _ := os.ReadFile(pubPath)
	if err := json.Unmarshal(b, &raw); err != nil || raw.Keys[0]["d"] != nil {
		t.Errorf("pubkey.json must not contain the private member d: %s", b)
	}
	// The private set is what credential.jwkPath reads.
	if _, err := NewSource(config.Host{Host: "r", Credential: &config.Credential{JWKPath: privPath, Iss: "i", Sub: "s"}}, Deps{}); err != nil {
		t.Errorf("the private set does not load as jwkPath: %v", err)
	}
	// …and the public set is refused there.
	_, err = NewSource(config.Host{Host: "r", Credential: &config.Credential{JWKPath: pubPath, Iss: "i", Sub: "s"}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "public key only") {
		t.Errorf("pubkey.json as jwkPath: %v", err)
	}
	// Two runs make different keys.
	dir2 := t.TempDir()
	priv2, _, err := GenerateKeyPair(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if readKeySet(t, priv2).Keys[0].KeyID == priv.Keys[0].KeyID {
		t.Error("kid must be random")
	}
}

func TestGenerateKeyPairRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	for _, existing := range []string{PrivateKeyFile, PublicKeyFile} {
		t.Run(existing, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, existing, "precious")
			_, _, err := GenerateKeyPair(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			if want := filepath.Join(dir, existing) + " already exists"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
			b, _ := os.ReadFile(filepath.Join(dir, existing))
			if string(b) != "precious" {
				t.Errorf("%s was modified: %q", existing, b)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("left behind: %v, want only %s", names, existing)
			}
		})
	}
}

func TestGenerateKeyPairBadDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := GenerateKeyPair(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	file := writeFile(t, dir, "file", "x")
	if _, _, err := GenerateKeyPair(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
}
