package layers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func TestLayerIsDeterministicAndStreamed(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{0, 1, 4095, 1 << 20} {
		a, err := New(7, size)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(7, size)
		if err != nil {
			t.Fatal(err)
		}
		da, _ := a.Digest()
		db, _ := b.Digest()
		if da != db {
			t.Fatalf("size %d: same seed, digests %s and %s", size, da, db)
		}
		// Every read of the content gives the same bytes, which hash to
		// the digest and have the size.
		for range 2 {
			rc, err := a.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			content, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(content)
			if int64(len(content)) != size || hex.EncodeToString(sum[:]) != da.Hex {
				t.Fatalf("size %d: read %d bytes hashing to %x, want digest %s", size, len(content), sum, da)
			}
		}
		if n, _ := a.Size(); n != size {
			t.Fatalf("Size = %d, want %d", n, size)
		}
		if diff, _ := a.DiffID(); diff != da {
			t.Fatalf("DiffID %s != Digest %s", diff, da)
		}
	}
}

func TestSeedsDiffer(t *testing.T) {
	t.Parallel()
	a, _ := io.ReadAll(Reader(1, 4096))
	b, _ := io.ReadAll(Reader(2, 4096))
	if bytes.Equal(a, b) {
		t.Fatal("seeds 1 and 2 gave the same content")
	}
	if bytes.Count(a, []byte{0}) > 100 {
		t.Fatal("content is not random-looking")
	}
}

func TestNegativeSize(t *testing.T) {
	if _, err := New(1, -1); err == nil {
		t.Fatal("want an error for a negative size")
	}
}

// The layer's media type is what an image manifest records for it.
func TestMediaType(t *testing.T) {
	l, err := New(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := l.MediaType(); mt != "application/vnd.oci.image.layer.v1.tar" {
		t.Fatalf("MediaType = %s", mt)
	}
}
