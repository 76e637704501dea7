package hostauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// Key pair file names and modes written by GenerateKeyPair.
const (
	PrivateKeyFile = "privkey.json"
	PublicKeyFile  = "pubkey.json"
	privateKeyMode = 0o600
	publicKeyMode  = 0o644
)

// GenerateKeyPair writes a new Ed25519 key pair into dir as single-key JWK
// sets: PrivateKeyFile (mode 0600), what credential.jwkPath and jwkValue
// read, and PublicKeyFile (mode 0644), what the registry operator installs to
// verify the JWTs. Both keys carry the same random kid, "alg": "EdDSA" and
// "use": "sig".
//
// It never overwrites: an existing file of either name is an error naming
// it, and on any error nothing new is left in dir. Each file is written to a
// temporary name in dir, synced, and then hard-linked into place, so a file
// appears complete or not at all.
func GenerateKeyPair(dir string) (privPath, pubPath string, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", fmt.Errorf("output directory %s does not exist; create it first", dir)
	case err != nil:
		return "", "", fmt.Errorf("output directory %s: %w", dir, pathCause(err))
	case !fi.IsDir():
		return "", "", fmt.Errorf("output directory %s is not a directory", dir)
	}
	priv, pub, err := newKeySets()
	if err != nil {
		return "", "", err
	}
	privPath = filepath.Join(dir, PrivateKeyFile)
	pubPath = filepath.Join(dir, PublicKeyFile)
	if err := writeNew(privPath, priv, privateKeyMode); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pub, publicKeyMode); err != nil {
		if rmErr := os.Remove(privPath); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s after the failure: %w", privPath, pathCause(rmErr)))
		}
		return "", "", err
	}
	return privPath, pubPath, nil
}

// newKeySets returns the private and public JWK sets of a new Ed25519 key.
func newKeySets() (priv, pub []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate an Ed25519 key: %w", err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, nil, fmt.Errorf("generate a key ID: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(id[:])
	set := func(key any) ([]byte, error) {
		b, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: key, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig",
		}}}, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode the JWK set: %w", err)
		}
		return append(b, '\n'), nil
	}
	if priv, err = set(sk); err != nil {
		return nil, nil, err
	}
	if pub, err = set(pk); err != nil {
		return nil, nil, err
	}
	return priv, pub, nil
}

// writeNew creates path with data and mode, failing if path exists. The
// data goes to a temporary file in the same directory first, which is then
// linked to path (link never replaces an existing file). Where hard links
// are not supported, path is created exclusively and written in place.
func writeNew(path string, data []byte, mode os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, pathCause(err))
	}
	defer func() {
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove temporary file %s: %w", tmp.Name(), pathCause(rmErr))
		}
	}()
	if err := fill(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	linkErr := os.Link(tmp.Name(), path)
	switch {
	case linkErr == nil:
		return nil
	case errors.Is(linkErr, fs.ErrExist):
		return fmt.Errorf("%s already exists; refusing to overwrite it (move it away or choose another directory)", path)
	}
	// No hard links here (some network and FUSE file systems): create the
	// file exclusively instead.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite it (move it away or choose another directory)", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, pathCause(err))
	}
	if err := fill(f, data, mode); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// fill writes data to f, sets its mode, syncs and closes it.
func fill(f *os.File, data []byte, mode os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return pathCause(err)
}
