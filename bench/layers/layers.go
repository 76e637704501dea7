// Package layers makes large image layers whose content is generated on
// the fly from a seed: the same seed and size always give the same bytes
// (and digest), and no layer is ever held in memory, so a benchmark can
// push 4 × 64 MiB layers without 256 MiB of heap.
package layers

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Reader returns size pseudo-random bytes determined by seed (ChaCha8 keyed
// with the seed), generated as they are read.
func Reader(seed uint64, size int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], "flux-mirror bench layer")
	return io.LimitReader(rand.NewChaCha8(key), size)
}

// Layer is a v1.Layer whose blob is Reader(seed, size). Registries do not
// look inside layers, so the content is not a tarball; its media type is
// the OCI uncompressed layer type and its DiffID is its digest.
type Layer struct {
	seed   uint64
	size   int64
	digest v1.Hash
}

var _ v1.Layer = (*Layer)(nil)

// New returns the layer of size bytes for seed. It reads the content once
// to compute the digest (about a second per 256 MiB).
func New(seed uint64, size int64) (*Layer, error) {
	if size < 0 {
		return nil, fmt.Errorf("layer %d: negative size %d", seed, size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, Reader(seed, size)); err != nil {
		return nil, fmt.Errorf("layer %d: hash content: %w", seed, err)
	}
	return &Layer{seed: seed, size: size, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

// Digest returns the sha256 digest of the content.
func (l *Layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID returns the digest: the content is stored uncompressed.
func (l *Layer) DiffID() (v1.Hash, error) { return l.digest, nil }

// Compressed returns a fresh stream of the content.
func (l *Layer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(Reader(l.seed, l.size)), nil
}

// Uncompressed returns a fresh stream of the content.
func (l *Layer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// Size returns the content length in bytes.
func (l *Layer) Size() (int64, error) { return l.size, nil }

// MediaType returns the OCI uncompressed layer media type.
func (l *Layer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
