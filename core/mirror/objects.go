package mirror

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// onceSet remembers which content is known present at a destination and
// makes concurrent jobs that need the same content wait for one of them to
// put it there, instead of each checking and uploading it.
type onceSet struct {
	mu       sync.Mutex
	present  map[string]bool
	inflight map[string]*onceCall
	// holders names, per "host@digest", a destination repository this run
	// put the blob in, to mount it from there into the next one.
	holders map[string]oci.Repository
}

// hold records that repo holds the blob digest.
func (s *onceSet) hold(repo oci.Repository, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := repo.Host + "@" + digest
	if _, ok := s.holders[k]; !ok {
		s.holders[k] = repo
	}
}

// holder returns a repository of repo's host, other than repo, that this
// run put the blob digest in.
func (s *onceSet) holder(repo oci.Repository, digest string) (oci.Repository, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.holders[repo.Host+"@"+digest]
	return h, ok && h != repo
}

type onceCall struct {
	done chan struct{}
	err  error
}

func newOnceSet() *onceSet {
	return &onceSet{present: map[string]bool{}, inflight: map[string]*onceCall{}, holders: map[string]oci.Repository{}}
}

// objectKey names content at a destination: "host/path@digest".
func objectKey(repo oci.Repository, digest string) string {
	return repo.String() + "@" + digest
}

// known reports whether key is known present.
func (s *onceSet) known(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.present[key]
}

// mark records key as present.
func (s *onceSet) mark(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.present[key] = true
}

// do makes key present by calling ensure, unless it is known present (no
// call at all) or another job is ensuring it right now (then do waits for
// that job, and calls ensure itself only if that job failed). A nil error
// from ensure marks key present.
func (s *onceSet) do(ctx context.Context, key string, ensure func() error) error {
	for {
		s.mu.Lock()
		if s.present[key] {
			s.mu.Unlock()
			return nil
		}
		if c, ok := s.inflight[key]; ok {
			s.mu.Unlock()
			select {
			case <-c.done:
				if c.err == nil {
					return nil
				}
				continue // the other job failed: try ourselves
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c := &onceCall{done: make(chan struct{})}
		s.inflight[key] = c
		s.mu.Unlock()

		err := ensure()

		s.mu.Lock()
		delete(s.inflight, key)
		if err == nil {
			s.present[key] = true
		}
		c.err = err
		close(c.done)
		s.mu.Unlock()
		return err
	}
}

// errImpatient: doPatient gave up waiting for another job's ensure.
var errImpatient = errors.New("waited too long for another job")

// doPatient is do for work another job may be doing elsewhere: it waits
// for that job at most patience (then returns errImpatient, and the caller
// does the work its own way), and it reports whether ensure ran here.
func (s *onceSet) doPatient(ctx context.Context, key string, patience time.Duration, ensure func() error) (ran bool, err error) {
	for {
		s.mu.Lock()
		if s.present[key] {
			s.mu.Unlock()
			return false, nil
		}
		if c, ok := s.inflight[key]; ok {
			s.mu.Unlock()
			t := time.NewTimer(patience)
			select {
			case <-c.done:
				t.Stop()
				if c.err == nil {
					return false, nil
				}
				continue
			case <-t.C:
				return false, errImpatient
			case <-ctx.Done():
				t.Stop()
				return false, ctx.Err()
			}
		}
		s.mu.Unlock()
		err = s.do(ctx, key, func() error {
			ran = true
			return ensure()
		})
		return ran, err
	}
}

// newHash returns the hash of a digest's algorithm.
func newHash(digest string) (hash.Hash, error) {
	alg, _, _ := strings.Cut(digest, ":")
	switch alg {
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("%w: digest algorithm of %q (sha256 or sha512 expected)", core.ErrUnsupported, digest)
}

// digestOf returns the digest of b with the algorithm of like.
func digestOf(like string, b []byte) (string, error) {
	h, err := newHash(like)
	if err != nil {
		return "", err
	}
	h.Write(b)
	alg, _, _ := strings.Cut(like, ":")
	return alg + ":" + hex.EncodeToString(h.Sum(nil)), nil
}

// verifyingReader passes a blob through while hashing and counting it. At
// the end of the stream it checks the size and digest announced by the
// descriptor and, on a mismatch, returns an error wrapping
// core.ErrDigestMismatch instead of io.EOF, so the upload it feeds is
// aborted rather than completed. It never holds more than the caller's
// buffer in memory.
type verifyingReader struct {
	r      io.Reader
	desc   oci.Descriptor
	h      hash.Hash
	n      int64
	err    error // sticky verification error
	ok     bool  // the stream ended with the expected size and digest
	onRead func(n int64)
}

func newVerifyingReader(r io.Reader, desc oci.Descriptor, onRead func(int64)) (*verifyingReader, error) {
	h, err := newHash(desc.Digest)
	if err != nil {
		return nil, err
	}
	if onRead == nil {
		onRead = func(int64) {}
	}
	return &verifyingReader{r: r, desc: desc, h: h, onRead: onRead}, nil
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.ok {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	if v.n+int64(n) > v.desc.Size {
		v.err = fmt.Errorf("%w: blob %s is longer than its announced %d bytes", core.ErrDigestMismatch, v.desc.Digest, v.desc.Size)
		return 0, v.err
	}
	v.h.Write(p[:n])
	v.n += int64(n)
	if n > 0 {
		v.onRead(int64(n))
	}
	if err == io.EOF {
		if verr := v.check(); verr != nil {
			v.err = verr
			return n, verr
		}
		v.ok = true
	}
	return n, err
}

// check compares what was read with the descriptor.
func (v *verifyingReader) check() error {
	if v.n != v.desc.Size {
		return fmt.Errorf("%w: blob %s is %d bytes, its descriptor says %d", core.ErrDigestMismatch, v.desc.Digest, v.n, v.desc.Size)
	}
	alg, _, _ := strings.Cut(v.desc.Digest, ":")
	if got := alg + ":" + hex.EncodeToString(v.h.Sum(nil)); got != v.desc.Digest {
		return fmt.Errorf("%w: blob %s hashes to %s", core.ErrDigestMismatch, v.desc.Digest, got)
	}
	return nil
}

// finish verifies a stream that its consumer stopped reading at exactly the
// announced size without asking for EOF.
func (v *verifyingReader) finish() error {
	if v.err != nil || v.ok {
		return v.err
	}
	if err := v.check(); err != nil {
		v.err = err
		return err
	}
	v.ok = true
	return nil
}
