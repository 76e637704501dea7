package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// blobParallelism is how many blobs one job transfers at the same time, so
// that a single large image does not move its layers one by one; the blobs
// of all manifests of a job (an index's platform images included) share
// these slots, so a job never has more blob streams open than this.
const blobParallelism = 4

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

// smallBlob is the size up to which a blob transfer counts as an ordinary
// request: its time is round trips, not bandwidth.
const smallBlob = 256 << 10

// do runs fn in a slot, waiting for one unless ctx ends first; nil
// transfers have no limit.
func (t transfers) do(ctx context.Context, fn func() error) error {
	if t == nil {
		return fn()
	}
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
// sending is called right before the tag's PUT is sent, so that the job
// knows, on a retry, that this run may have written the tag.
func (r *run) copyTagged(ctx context.Context, src, dst oci.Repository, tag string, want oci.Descriptor, body []byte, sending func()) error {
	p, err := r.prepareManifest(ctx, newTransfers(), src, dst, tag, want, body, nesting{root: refString(src, tag)})
	if err != nil {
		return err
	}
	sending()
	return r.putManifest(ctx, dst, tag, want.Digest, p)
}

// nesting is where a manifest sits in what a job copies: the reference the
// job started from, for messages, and how many indexes are above it.
type nesting struct {
	root  string
	depth int
}

// prepared is a source manifest whose content is in place at the
// destination, ready to be put.
type prepared struct {
	manifest  oci.Manifest
	mediaType string
	body      []byte
}

// prepareManifest fetches the manifest src:ref, checks that it is want (for
// a tag: that the tag did not move since planning), and copies its child
// manifests and blobs to dst. Child manifests are copied side by side;
// every blob transfer takes one of the job's slots tr. An index nested
// deeper than MaxIndexDepth fails, permanently.
func (r *run) prepareManifest(ctx context.Context, tr transfers, src, dst oci.Repository, ref string, want oci.Descriptor, body []byte, at nesting) (prepared, error) {
	sref := refString(src, ref)
	desc := want
	if body == nil {
		var err error
		if desc, body, err = r.reg.GetManifest(ctx, src, ref); err != nil {
			return prepared{}, withContext("get manifest "+sref, err)
		}
	}
	got, err := digestOf(want.Digest, body)
	if err != nil {
		return prepared{}, retry.Permanent(err)
	}
	if got != want.Digest {
		if isDigest(ref) {
			return prepared{}, fmt.Errorf("%w: manifest %s hashes to %s", core.ErrDigestMismatch, sref, got)
		}
		return prepared{}, retry.Permanent(fmt.Errorf("source tag %s moved from %s to %s since planning; nothing was written for it, run the sync again to mirror the new digest", sref, want.Digest, got))
	}
	mediaType := desc.MediaType
	if mediaType == "" {
		mediaType = want.MediaType
	}
	m, refs, err := oci.ParseManifest(mediaType, body)
	if err != nil {
		return prepared{}, retry.Permanent(fmt.Errorf("manifest %s: %w", sref, err))
	}
	if len(refs.Manifests) > 0 && at.depth >= MaxIndexDepth {
		return prepared{}, retry.Permanent(fmt.Errorf("%s nests image indexes more than %d levels deep (index %s is level %d); refusing to follow them",
			at.root, MaxIndexDepth, want.Digest, at.depth+1))
	}
	child := nesting{root: at.root, depth: at.depth + 1}
	err = parallel(ctx, childParallelism, refs.Manifests, func(ctx context.Context, c oci.Descriptor) error {
		_, err := r.ensureManifestAt(ctx, tr, src, dst, c, child)
		return err
	})
	if err != nil {
		return prepared{}, err
	}
	// The existence checks overlap; the transfers take the job's slots.
	err = parallel(ctx, blobCheckParallelism, refs.Blobs, func(ctx context.Context, b oci.Descriptor) error {
		return r.ensureBlob(ctx, tr, src, dst, b)
	})
	if err != nil {
		return prepared{}, err
	}
	return prepared{manifest: m, mediaType: m.MediaType, body: body}, nil
}

// putManifest puts a prepared manifest, byte for byte, under putRef (a
// tag, or its digest).
func (r *run) putManifest(ctx context.Context, dst oci.Repository, putRef, digest string, p prepared) error {
	if err := r.reg.PutManifest(ctx, dst, putRef, p.mediaType, p.body); err != nil {
		return withContext("put manifest "+refString(dst, putRef), err)
	}
	r.objects.mark(objectKey(dst, digest))
	r.log.Info("manifest pushed", "ref", refString(dst, putRef), "digest", digest, "mediaType", p.mediaType, "size", len(p.body))
	return nil
}

// ensureManifest makes the manifest desc (and what it references) present
// at dst under its digest, once per run, moving blobs in the slots tr. It
// returns the manifest when this call copied it, nil when it was present
// already.
func (r *run) ensureManifest(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) (*oci.Manifest, error) {
	return r.ensureManifestAt(ctx, tr, src, dst, desc, nesting{root: refString(src, desc.Digest)})
}

// ensureManifestAt is ensureManifest for a manifest at the given nesting.
func (r *run) ensureManifestAt(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor, at nesting) (*oci.Manifest, error) {
	var copied *oci.Manifest
	err := r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		_, err := r.headManifest(ctx, dst, desc.Digest)
		switch {
		case err == nil:
			r.log.Debug("manifest already present", "ref", refString(dst, desc.Digest))
			return nil
		case !errors.Is(err, core.ErrNotFound):
			return withContext("check manifest "+refString(dst, desc.Digest), err)
		}
		p, err := r.prepareManifest(ctx, tr, src, dst, desc.Digest, desc, nil, at)
		if err != nil {
			return err
		}
		if err := r.putManifest(ctx, dst, desc.Digest, desc.Digest, p); err != nil {
			return err
		}
		copied = &p.manifest
		return nil
	})
	return copied, err
}

// ensureBlob makes the blob desc present at dst, once per run: nothing if
// it is known present, else a HEAD, then a cross-repository mount when
// source and destination share a host, else a verified streaming transfer
// in one of the job's slots tr.
func (r *run) ensureBlob(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) error {
	if nonDistributable(desc.MediaType) {
		r.log.Debug("non-distributable layer not copied", "digest", desc.Digest, "mediaType", desc.MediaType)
		return nil
	}
	return r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		if ok, err := r.mountFromHolder(ctx, dst, desc); ok || err != nil {
			return err
		}
		// One upload of a blob per destination registry: a job that needs
		// it in another repository while it is being uploaded waits, then
		// mounts it from there.
		patience := time.Minute
		if d, ok := ctx.Deadline(); ok {
			patience = time.Until(d) / 2 // a stuck upload elsewhere must not use up this job's budget
		}
		ran, err := r.uploads.doPatient(ctx, dst.Host+"@"+desc.Digest, patience, func() error {
			return r.checkAndCopyBlob(ctx, tr, src, dst, desc)
		})
		switch {
		case errors.Is(err, errImpatient):
			return r.checkAndCopyBlob(ctx, tr, src, dst, desc)
		case err != nil || ran:
			return err
		}
		if ok, err := r.mountFromHolder(ctx, dst, desc); ok || err != nil {
			return err
		}
		return r.checkAndCopyBlob(ctx, tr, src, dst, desc)
	})
}

// mountFromHolder mounts a blob this run already put in another repository
// of the destination registry from there: one request instead of a check,
// a download and an upload. It reports false when there is no such
// repository or the registry did not mount it (a failed mount is not an
// error: the caller uploads instead).
func (r *run) mountFromHolder(ctx context.Context, dst oci.Repository, desc oci.Descriptor) (bool, error) {
	from, ok := r.objects.holder(dst, desc.Digest)
	if !ok {
		return false, nil
	}
	mounted, err := r.reg.MountBlob(ctx, dst, from, desc.Digest)
	switch {
	case err == nil && mounted:
		r.log.Debug("blob mounted", "repo", dst.String(), "from", from.String(), "digest", desc.Digest, "size", desc.Size)
		r.objects.hold(dst, desc.Digest)
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case err != nil:
		var ue *UnreachableError
		if errors.As(err, &ue) {
			return false, err
		}
		r.log.Debug("blob mount failed; checking and uploading instead", "repo", dst.String(), "from", from.String(), "digest", desc.Digest, "error", err)
	}
	return false, nil
}

// checkAndCopyBlob checks the blob at dst with a HEAD, then mounts it from
// src when both share a host, else transfers it; on success dst is a
// holder of the blob for mountFromHolder.
func (r *run) checkAndCopyBlob(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) error {
	// A repository this run found absent holds only what the run put
	// there, which the caller knows: no need to ask.
	ok, err := false, error(nil)
	if !r.isNewRepo(dst) {
		ok, err = r.reg.BlobExists(ctx, dst, desc.Digest)
	}
	if err != nil {
		return withContext("check blob "+refString(dst, desc.Digest), err)
	}
	if ok {
		r.log.Debug("blob already present", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
		r.objects.hold(dst, desc.Digest)
		return nil
	}
	if src.Host == dst.Host && src != dst {
		mounted, err := r.reg.MountBlob(ctx, dst, src, desc.Digest)
		switch {
		case err == nil && mounted:
			r.log.Debug("blob mounted", "repo", dst.String(), "from", src.String(), "digest", desc.Digest, "size", desc.Size)
			r.objects.hold(dst, desc.Digest)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			var ue *UnreachableError
			if errors.As(err, &ue) {
				return err
			}
			r.log.Debug("blob mount failed; uploading instead", "repo", dst.String(), "from", src.String(), "digest", desc.Digest, "error", err)
		}
	}
	if err := r.transfer(ctx, tr, src, dst, desc); err != nil {
		return err
	}
	r.objects.hold(dst, desc.Digest)
	return nil
}

// transfer streams a blob from src to dst, verifying its size and digest
// on the way. The source read and the destination upload are one request:
// when either fails, both are retried together (the stream cannot be
// replayed), each attempt in one of the job's slots tr. A failure is
// blamed on its side (*TransferError).
func (r *run) transfer(ctx context.Context, tr transfers, src, dst oci.Repository, desc oci.Descriptor) error {
	hosts := []hostRef{registryHost(src), registryHost(dst)}
	what := "copy blob " + desc.Digest + " from " + src.String() + " to " + dst.String()
	r.activity(func(a ActivityObserver) { a.BytesPlanned(desc.Size) })
	err := r.request(ctx, what, hosts, blameSide(src, dst), func(ctx context.Context) error {
		return tr.do(ctx, func() error {
			// A small blob is a request like a manifest; a large one takes
			// one of the run's streams and one of each host's blob slots.
			kind, slots := slotMeta, transfers(nil)
			if desc.Size > smallBlob {
				kind, slots = slotBlob, r.streams
			}
			return slots.do(ctx, func() error {
				return r.limited(ctx, kind, []string{src.Host, dst.Host}, func(ctx context.Context) error {
					// The source GET goes out beside the upload's POST, so that
					// the two round trips overlap; the upload reads the stream
					// once the source answered.
					ctx, cancel := context.WithCancel(ctx)
					defer cancel()
					o := r.openAhead(ctx, src, desc.Digest)
					defer o.close()
					return r.pushVerified(ctx, src, dst, desc, o)
				})
			})
		})
	})
	// Put the attempt count after the side's clause: "read blob … from
	// source …: after 9 attempts: unexpected EOF".
	var ae *retry.AttemptsError
	var te *TransferError
	if errors.As(err, &ae) && err == error(ae) && errors.As(ae.Err, &te) {
		inner := *ae
		inner.Err = te.Err
		return &TransferError{Side: te.Side, Repo: te.Repo, Digest: te.Digest, Err: &inner}
	}
	return err
}

// openedBlob is a source blob whose GET was sent ahead of its reader's
// first Read: Read waits for the answer, then streams the body.
type openedBlob struct {
	ctx   context.Context
	ready chan struct{}
	rc    io.ReadCloser
	err   error // a failed open, as a *TransferError naming the source
}

// openAhead sends the GET of a source blob now and returns its reader.
func (r *run) openAhead(ctx context.Context, src oci.Repository, digest string) *openedBlob {
	o := &openedBlob{ctx: ctx, ready: make(chan struct{})}
	go func() {
		defer close(o.ready)
		rc, err := r.Engine.reg.OpenBlob(ctx, src, digest)
		if err != nil {
			o.err = &TransferError{Side: SideSource, Repo: src, Digest: digest, Err: withContext("open blob "+refString(src, digest), err)}
			return
		}
		o.rc = rc
		// The source answered, even if its stream breaks later.
		r.health.record(kindRegistry, src.Host, outcomeAnswered, time.Now())
	}()
	return o
}

func (o *openedBlob) Read(p []byte) (int, error) {
	select {
	case <-o.ready:
	case <-o.ctx.Done():
		return 0, o.ctx.Err()
	}
	if o.err != nil {
		return 0, o.err
	}
	return o.rc.Read(p)
}

// close waits for the GET (its context is cancelled by then unless the
// upload finished) and closes the body.
func (o *openedBlob) close() {
	<-o.ready
	if o.rc != nil {
		o.rc.Close()
	}
}

// blameSide returns the host of the side a transfer's error belongs to.
func blameSide(src, dst oci.Repository) func(error) hostRef {
	return func(err error) hostRef {
		var te *TransferError
		if errors.As(err, &te) && te.Side == SideSource {
			return registryHost(src)
		}
		return registryHost(dst)
	}
}

// pushVerified uploads content, read from src (zero for bytes the engine
// holds), as the blob desc through a verifying reader: a size or digest
// mismatch aborts the upload with core.ErrDigestMismatch. Errors are
// *TransferErrors that name the side that failed.
func (r *run) pushVerified(ctx context.Context, src, dst oci.Repository, desc oci.Descriptor, content io.Reader) error {
	sr := &sourceReader{r: content}
	vr, err := newVerifyingReader(sr, desc, r.bytes)
	if err != nil {
		return retry.Permanent(err)
	}
	err = r.reg.PushBlob(ctx, dst, desc, vr)
	switch {
	case vr.err != nil && src.Host != "":
		return &TransferError{Side: SideSource, Repo: src, Digest: desc.Digest, Err: vr.err}
	case vr.err != nil:
		return vr.err
	case sr.err != nil && src.Host != "":
		var te *TransferError
		if errors.As(sr.err, &te) { // the source's GET failed (openAhead)
			return sr.err
		}
		return &TransferError{Side: SideSource, Repo: src, Digest: desc.Digest, Err: sr.err}
	case err != nil:
		return &TransferError{Side: SideDestination, Repo: dst, Digest: desc.Digest, Err: err}
	}
	if err := vr.finish(); err != nil {
		if src.Host != "" {
			return &TransferError{Side: SideSource, Repo: src, Digest: desc.Digest, Err: err}
		}
		return err
	}
	r.log.Debug("blob pushed", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
	return nil
}

// ensureBlobBytes makes the blob with content b present at dst, once per
// run; the upload is retried as one request (the bytes can be sent again).
func (r *run) ensureBlobBytes(ctx context.Context, dst oci.Repository, desc oci.Descriptor, b []byte) error {
	return r.objects.do(ctx, objectKey(dst, desc.Digest), func() error {
		ok, err := r.reg.BlobExists(ctx, dst, desc.Digest)
		if err != nil {
			return withContext("check blob "+refString(dst, desc.Digest), err)
		}
		if ok {
			r.log.Debug("blob already present", "repo", dst.String(), "digest", desc.Digest, "size", desc.Size)
			return nil
		}
		what := "push blob " + desc.Digest + " to " + dst.String()
		return r.request(ctx, what, []hostRef{registryHost(dst)}, nil, func(ctx context.Context) error {
			return r.limited(ctx, slotBlob, []string{dst.Host}, func(ctx context.Context) error {
				return r.pushVerified(ctx, oci.Repository{}, dst, desc, bytes.NewReader(b))
			})
		})
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
