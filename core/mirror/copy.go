package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// blobParallelism is how many blobs one job transfers at the same time, so
// that a single large image does not move its layers one by one; the blobs
// of all manifests of a job (an index's platform images included) share
// these slots, so a job never has more blob streams open than this.
const blobParallelism = 3

// childParallelism is how many child manifests of an index a job copies at
// the same time. Their manifest requests overlap, which saves round trips;
// their blob transfers still share the job's blobParallelism slots.
const childParallelism = 4

// blobCheckParallelism is how many blobs of one manifest a job checks (and
// then mounts or uploads, in its slots) at the same time. With
// childParallelism it bounds a job's small requests in flight to 16.
const blobCheckParallelism = 4

// transfers are a job's blob-transfer slots (see blobParallelism). A slot
// is held only while bytes move, never while waiting for anything else.
type transfers chan struct{}

func newTransfers() transfers { return make(transfers, blobParallelism) }

// do runs fn in a slot, waiting for one unless ctx ends first.
func (t transfers) do(ctx context.Context, fn func() error) error {
	select {
	case t <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t }()
	return fn()
}

// parallel calls fn for every item, at most n at a time, and returns the
// first error (in item order) after all calls have returned. A failure does
// not cancel its siblings: a blob upload that is under way when another one
// fails is finished, so that the retry of the job finds it present instead
// of sending its bytes again. Only the caller's context stops the calls.
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	if len(items) <= 1 || n <= 1 {
		for _, it := range items {
			if err := fn(ctx, it); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(items))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(ctx, it)
		})
	}
	wg.Wait()
	// Prefer a real failure over cancellations.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// copyTagged copies the source manifest tagged tag, which planning resolved
// to want, with everything it references, and writes the tag at dst last.
func (r *run) copyTagged(ctx context.Context, src, dst oci.Repository, tag string, want oci.Descriptor) error {
	_, err := r.copyManifest(ctx, newTransfers(), src, dst, tag, want, tag)
	return err
}

// copyManifest fetches the manifest src:ref, checks that it is want (for a
// tag: that the tag did not move since planning), copies its child
// manifests and blobs to dst, and then puts the manifest, byte for byte,
// under putRef (a tag, or its digest). Child manifests are copied side by
// side; every blob transfer takes one of the job's slots tr.
// It returns the parsed manifest.
func (r *run) copyManifest(ctx context.Context, tr transfers, src, dst oci.Repository, ref string, want oci.Descriptor, putRef string) (oci.Manifest, error) {
	sref := refString(src, ref)
	desc, body, err := r.reg.GetManifest(ctx, src, ref)
	if err != nil {
		return oci.Manifest{}, fmt.Errorf("get manifest %s: %w", sref, err)
	}
	got, err := digestOf(want.Digest, body)
	if err != nil {
		return oci.Manifest{}, retry.Permanent(err)
	}
	if got != want.Digest {
		if isDigest(ref) {
			return oci.Manifest{}, fmt.Errorf("%w: manifest %s hashes to %s", core.ErrDigestMismatch, sref, got)
		}
		return oci.Manifest{}, retry.Permanent(fmt.Errorf("source tag %s moved from %s to %s since planning; nothing was written for it, run the sync again to mirror the new digest", sref, want.Digest, got))
	}
	mediaType := desc.MediaType
	if mediaType == "" {
		mediaType = want.MediaType
	}
	m, refs, err := oci.ParseManifest(mediaType, body)
	if err != nil {
		return oci.Manifest{}, retry.Permanent(fmt.Errorf("manifest %s: %w", sref, err))
	}
	mediaType = m.MediaType
	err = parallel(ctx, childParallelism, refs.Manifests, func(ctx context.Context, child oci.Descriptor) error {
		_, err := r.ensureManifest(ctx, tr, src, dst, child)
		return err
	})
	if err != nil {
		return oci.Manifest{}, err
	}
	// The existence checks overlap; the transfers take the job's slots.
	err = parallel(ctx, blobCheckParallelism, refs.Blobs, func(ctx context.Context, b oci.Descriptor) error {
		return r.ensureBlob(ctx, tr, src, dst, b)
	})
	if err != nil {
		return oci.Manifest{}, err
	}
	if err := r.reg.PutManifest(ctx, dst, putRef, mediaType, body); err != nil {
		return oci.Manifest{}, fmt.Errorf("put manifest %s: %w", refString(dst, putRef), err)
	}
	r.objects.mark(objectKey(dst, want.Digest))
	r.log.Info("manifest pushed", "ref", refString(dst, putRef), "digest", want.Digest, "mediaType", mediaType, "size", len(body))
	return m, nil
}

// ensureManifest makes the child manifest desc (and what it references)
// present at dst, once per run, moving blobs in the slots tr. It returns
// the manifest when this call copied it, nil when it was present already.
func (r *run) ensureManifest(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) (*oci.Manifest, error) {
	var copied *oci.Manifest
	err := r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		_, err := r.headManifest(ctx, dst, desc.Digest)
		switch {
		case err == nil:
			r.log.Debug("manifest already present", "ref", refString(dst, desc.Digest))
			return nil
		case !errors.Is(err, core.ErrNotFound):
			return fmt.Errorf("check manifest %s: %w", refString(dst, desc.Digest), err)
		}
		m, err := r.copyManifest(ctx, tr, src, dst, desc.Digest, desc, desc.Digest)
		if err == nil {
			copied = &m
		}
		return err
	})
	return copied, err
}

// ensureBlob makes the blob desc present at dst, once per run: nothing if
// it is known present, else a HEAD, then a cross-repository mount when
// source and destination share a host, else a verified streaming upload in
// one of the job's slots tr.
func (r *run) ensureBlob(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) error {
	if nonDistributable(desc.MediaType) {
		r.log.Debug("non-distributable layer not copied", "digest", desc.Digest, "mediaType", desc.MediaType)
		return nil
	}
	return r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		ok, err := r.reg.BlobExists(ctx, dst, desc.Digest)
		if err != nil {
			return fmt.Errorf("check blob %s: %w", refString(dst, desc.Digest), err)
		}
		if ok {
			r.log.Debug("blob already present", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
			return nil
		}
		if src.Host == dst.Host && src != dst {
			mounted, err := r.reg.MountBlob(ctx, dst, src, desc.Digest)
			switch {
			case err == nil && mounted:
				r.log.Debug("blob mounted", "repo", dst.String(), "from", src.String(), "digest", desc.Digest, "size", desc.Size)
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				r.log.Debug("blob mount failed; uploading instead", "repo", dst.String(), "from", src.String(), "digest", desc.Digest, "error", err)
			}
		}
		return tr.do(ctx, func() error { return r.uploadBlob(ctx, src, dst, desc) })
	})
}

// uploadBlob streams a blob from src to dst, verifying its size and digest
// on the way.
func (r *run) uploadBlob(ctx context.Context, src, dst oci.Repository, desc oci.Descriptor) error {
	rc, err := r.reg.OpenBlob(ctx, src, desc.Digest)
	if err != nil {
		return fmt.Errorf("open blob %s: %w", refString(src, desc.Digest), err)
	}
	defer rc.Close()
	return r.pushVerified(ctx, dst, desc, rc)
}

// pushVerified uploads content as the blob desc through a verifying reader:
// a size or digest mismatch aborts the upload with core.ErrDigestMismatch.
func (r *run) pushVerified(ctx context.Context, dst oci.Repository, desc oci.Descriptor, content io.Reader) error {
	vr, err := newVerifyingReader(content, desc, r.bytes)
	if err != nil {
		return retry.Permanent(err)
	}
	err = r.reg.PushBlob(ctx, dst, desc, vr)
	if vr.err != nil {
		return vr.err
	}
	if err != nil {
		return fmt.Errorf("push blob %s: %w", refString(dst, desc.Digest), err)
	}
	if err := vr.finish(); err != nil {
		return err
	}
	r.log.Debug("blob pushed", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
	return nil
}

// ensureBlobBytes makes the blob with content b present at dst, once per run.
func (r *run) ensureBlobBytes(ctx context.Context, dst oci.Repository, desc oci.Descriptor, b []byte) error {
	return r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		ok, err := r.reg.BlobExists(ctx, dst, desc.Digest)
		if err != nil {
			return fmt.Errorf("check blob %s: %w", refString(dst, desc.Digest), err)
		}
		if ok {
			r.log.Debug("blob already present", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
			return nil
		}
		return r.pushVerified(ctx, dst, desc, bytes.NewReader(b))
	})
}

// nonDistributable reports layers that registries do not serve (Windows
// foreign layers); manifests may reference them without the blob.
func nonDistributable(mediaType string) bool {
	return strings.Contains(mediaType, "foreign") || strings.Contains(mediaType, "nondistributable")
}

// isDigest reports whether a manifest reference is a digest, not a tag.
func isDigest(ref string) bool { return strings.Contains(ref, ":") }

// refString renders repo:tag or repo@digest.
func refString(repo oci.Repository, ref string) string {
	if isDigest(ref) {
		return repo.String() + "@" + ref
	}
	return repo.String() + ":" + ref
}
