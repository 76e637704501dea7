// Package mirrortest provides in-memory implementations of the sync
// engine's ports for tests: a Registry that behaves like a strict OCI
// registry (it verifies digests, refuses manifests whose blobs or children
// are missing, serves the referrers API or only the tag schema), counts
// every request per method and host, tracks requests in flight, and
// injects faults (errors, slowness) on demand; a Helm chart source; and a
// signature Verifier. It uses the standard library only.
//
// RegistryContract is the registry port's contract as a reusable suite:
// this package's tests run it against the in-memory Registry, and the
// registry adapter's tests run it against real registries, so that the
// fake the engine tests rely on cannot drift from what the adapter does.
package mirrortest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// Port methods, as counted and matched by faults.
const (
	ListTags             = "ListTags"
	HeadManifest         = "HeadManifest"
	GetManifest          = "GetManifest"
	PutManifest          = "PutManifest"
	BlobExists           = "BlobExists"
	OpenBlob             = "OpenBlob"
	PushBlob             = "PushBlob"
	MountBlob            = "MountBlob"
	Referrers            = "Referrers"
	SupportsReferrersAPI = "SupportsReferrersAPI"
)

// WriteMethods are the methods that change a registry.
var WriteMethods = []string{PutManifest, PushBlob, MountBlob}

// Call is one request made to the Registry.
type Call struct {
	Method string
	// Repo is host/path.
	Repo string
	// Ref is the tag or digest the call is about, if any.
	Ref string
	// Err is what the call returned.
	Err error
}

// Fault makes matching calls fail or slow down.
type Fault struct {
	// Method, Repo (host/path) and Ref select calls; empty matches any.
	Method, Repo, Ref string
	// Host selects calls to repositories of this host; empty matches any.
	Host string
	// Err is returned by matching calls (nil: they only get Delay).
	Err error
	// Times limits the fault to the first Times matching calls; 0 means
	// every matching call.
	Times int
	// Delay is waited (or the context's end) before the call proceeds.
	Delay time.Duration
	// Lost makes Err the answer of a call that took effect, as when a
	// registry commits a write and the connection drops before its answer
	// arrives. Without it, a failing call changes nothing.
	Lost bool
	// StreamErr, for OpenBlob, makes the returned stream fail with it after
	// StreamAfter bytes (a source connection reset or truncated mid-blob);
	// the call itself succeeds. Err and Lost do not apply then.
	StreamErr   error
	StreamAfter int
}

// Registry is an in-memory OCI registry implementing mirror.Registry. One
// Registry serves any number of hosts; repositories are created on first
// write. The zero value is not usable: call NewRegistry.
type Registry struct {
	mu          sync.Mutex
	repos       map[string]*repository
	noAPI       map[string]bool // hosts without the referrers API
	noMount     bool
	configType  map[string]bool // hosts listing config media types as artifact types
	faults      []*faultState
	calls       []Call
	inflight    int
	maxInflight int
	hostIn      map[string]int
	hostMax     map[string]int
	blobServe   map[string][]byte // repo@digest → bytes served instead

	// Hook, if set, runs at the start of every call, before the delays and
	// errors of faults, outside the Registry's lock; an error it returns is
	// the call's result. It may change the Registry (e.g. move a tag).
	Hook func(c Call) error
}

type faultState struct {
	Fault
	hits int
}

type repository struct {
	manifests map[string]manifest
	tags      map[string]string
	blobs     map[string][]byte
}

type manifest struct {
	mediaType string
	body      []byte
}

var _ mirror.Registry = (*Registry)(nil)

// NewRegistry returns an empty registry whose hosts all serve the referrers
// API (see SetReferrersAPI).
func NewRegistry() *Registry {
	return &Registry{
		repos:      map[string]*repository{},
		noAPI:      map[string]bool{},
		hostIn:     map[string]int{},
		hostMax:    map[string]int{},
		blobServe:  map[string][]byte{},
		configType: map[string]bool{},
	}
}

// ListConfigTypeAsArtifactType makes host's referrers API list each
// referrer under its config media type, ignoring the manifest's
// artifactType, as go-containerregistry's test registry does.
func (r *Registry) ListConfigTypeAsArtifactType(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.configType[host] = true
}

// SetReferrersAPI sets whether host serves the OCI 1.1 referrers API.
// Without it, Referrers reads the referrers tag schema (the fallback tag),
// as clients do against such registries, and nothing indexes referrers
// automatically.
func (r *Registry) SetReferrersAPI(host string, supported bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noAPI[host] = !supported
}

// DisableMount makes MountBlob always decline, as registries that do not
// implement cross-repository mounts do.
func (r *Registry) DisableMount() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noMount = true
}

// AddFault installs a fault; faults are matched in the order added.
func (r *Registry) AddFault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (r *Registry) ClearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = nil
}

// ServeBlob makes OpenBlob of digest in repo stream content instead of the
// stored blob, to simulate a corrupt source.
func (r *Registry) ServeBlob(repo, digest string, content []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blobServe[repo+"@"+digest] = content
}

// Calls returns every call made so far, in order.
func (r *Registry) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Count returns how many calls of method were made.
func (r *Registry) Count(method string) int {
	return r.CountWhere(func(c Call) bool { return c.Method == method })
}

// CountOn returns how many calls of method were made to repositories of host.
func (r *Registry) CountOn(host, method string) int {
	return r.CountWhere(func(c Call) bool { return c.Method == method && hostOf(c.Repo) == host })
}

// CountWhere returns how many calls satisfy match.
func (r *Registry) CountWhere(match func(Call) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if match(c) {
			n++
		}
	}
	return n
}

// Counts returns the number of calls per method.
func (r *Registry) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, c := range r.calls {
		m[c.Method]++
	}
	return m
}

// Writes returns how many calls could have changed the registry.
func (r *Registry) Writes() int {
	return r.CountWhere(func(c Call) bool { return slices.Contains(WriteMethods, c.Method) })
}

// ResetCalls forgets the calls made so far and the in-flight maxima.
func (r *Registry) ResetCalls() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
	r.maxInflight = 0
	clear(r.hostMax)
}

// MaxInFlight returns the largest number of calls that were in progress at
// the same time.
func (r *Registry) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxInflight
}

// MaxInFlightOn returns the largest number of calls to host that were in
// progress at the same time.
func (r *Registry) MaxInFlightOn(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hostMax[host]
}

// MaxInFlightOf returns the largest number of calls of method to host (any
// host if empty) that were in progress at the same time.
func (r *Registry) MaxInFlightOf(host, method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hostMax[host+" "+method]
}

// inflightKeys are the counters a call is tracked under.
func inflightKeys(host, method string) []string {
	return []string{host, host + " " + method, " " + method}
}

func hostOf(repo string) string {
	h, _, _ := strings.Cut(repo, "/")
	return h
}

// enter records a call, applies faults and the hook, and tracks it in
// flight until the returned function is called with the call's result.
func (r *Registry) enter(ctx context.Context, method string, repo oci.Repository, ref string) (func(error) error, error) {
	c := Call{Method: method, Repo: repo.String(), Ref: ref}
	r.mu.Lock()
	idx := len(r.calls)
	r.calls = append(r.calls, c)
	r.inflight++
	r.maxInflight = max(r.maxInflight, r.inflight)
	for _, k := range inflightKeys(repo.Host, method) {
		r.hostIn[k]++
		r.hostMax[k] = max(r.hostMax[k], r.hostIn[k])
	}
	var delay time.Duration
	var ferr, lost error
	for _, f := range r.faults {
		if f.StreamErr != nil || !f.matches(c) { // stream faults: see takeStreamFault
			continue
		}
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		f.hits++
		delay += f.Delay
		switch {
		case f.Err != nil && f.Lost && lost == nil && ferr == nil:
			lost = f.Err
		case f.Err != nil && !f.Lost && ferr == nil && lost == nil:
			ferr = f.Err
		}
	}
	hook := r.Hook
	r.mu.Unlock()

	leave := func(err error) error {
		if err == nil && lost != nil {
			err = lost
		}
		r.mu.Lock()
		r.calls[idx].Err = err
		r.inflight--
		for _, k := range inflightKeys(repo.Host, method) {
			r.hostIn[k]--
		}
		r.mu.Unlock()
		return err
	}
	if hook != nil {
		if err := hook(c); err != nil {
			return nil, leave(err)
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, leave(ctx.Err())
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, leave(err)
	}
	if ferr != nil {
		return nil, leave(ferr)
	}
	return leave, nil
}

// takeStreamFault returns the first stream fault that matches c and still
// applies, counting it.
func (r *Registry) takeStreamFault(c Call) *Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.faults {
		if f.StreamErr == nil || !f.matches(c) || f.Times > 0 && f.hits >= f.Times {
			continue
		}
		f.hits++
		ff := f.Fault
		return &ff
	}
	return nil
}

// brokenStream is a blob stream that fails with err after n bytes.
type brokenStream struct {
	r   io.Reader
	n   int
	err error
}

func (b *brokenStream) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, b.err
	}
	if len(p) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= n
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

func (f *faultState) matches(c Call) bool {
	return (f.Method == "" || f.Method == c.Method) &&
		(f.Repo == "" || f.Repo == c.Repo) &&
		(f.Host == "" || f.Host == hostOf(c.Repo)) &&
		(f.Ref == "" || f.Ref == c.Ref)
}

// httpError builds the error a registry adapter reports for a status.
func httpError(method string, repo oci.Repository, what string, status int, code, msg string) error {
	return &core.HTTPError{Method: method, URL: "https://" + repo.Host + "/v2/" + repo.Path + "/" + what, StatusCode: status, Code: code, Message: msg}
}

func (r *Registry) repoLocked(repo oci.Repository, create bool) *repository {
	rp, ok := r.repos[repo.String()]
	if !ok && create {
		rp = &repository{manifests: map[string]manifest{}, tags: map[string]string{}, blobs: map[string][]byte{}}
		r.repos[repo.String()] = rp
	}
	return rp
}

// resolveLocked finds a manifest by tag or digest.
func (r *Registry) resolveLocked(repo oci.Repository, ref string) (string, manifest, bool) {
	rp := r.repoLocked(repo, false)
	if rp == nil {
		return "", manifest{}, false
	}
	d := ref
	if !strings.Contains(ref, ":") {
		var ok bool
		if d, ok = rp.tags[ref]; !ok {
			return "", manifest{}, false
		}
	}
	m, ok := rp.manifests[d]
	return d, m, ok
}

// ListTags implements mirror.TagLister.
func (r *Registry) ListTags(ctx context.Context, repo oci.Repository) ([]string, error) {
	done, err := r.enter(ctx, ListTags, repo, "")
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	rp := r.repoLocked(repo, false)
	// Like distribution and go-containerregistry's registry, a repository
	// that holds only blobs is unknown to tags/list.
	known := rp != nil && len(rp.manifests) > 0
	var tags []string
	if known {
		tags = slices.Sorted(maps.Keys(rp.tags))
	}
	r.mu.Unlock()
	if !known {
		return nil, done(httpError(http.MethodGet, repo, "tags/list", 404, "NAME_UNKNOWN", "repository name not known to registry"))
	}
	return tags, done(nil)
}

// HeadManifest implements mirror.ManifestReader.
func (r *Registry) HeadManifest(ctx context.Context, repo oci.Repository, ref string) (oci.Descriptor, error) {
	done, err := r.enter(ctx, HeadManifest, repo, ref)
	if err != nil {
		return oci.Descriptor{}, err
	}
	r.mu.Lock()
	d, m, ok := r.resolveLocked(repo, ref)
	r.mu.Unlock()
	if !ok {
		return oci.Descriptor{}, done(httpError(http.MethodHead, repo, "manifests/"+ref, 404, "", ""))
	}
	return oci.Descriptor{MediaType: m.mediaType, Digest: d, Size: int64(len(m.body))}, done(nil)
}

// GetManifest implements mirror.ManifestReader.
func (r *Registry) GetManifest(ctx context.Context, repo oci.Repository, ref string) (oci.Descriptor, []byte, error) {
	done, err := r.enter(ctx, GetManifest, repo, ref)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	r.mu.Lock()
	d, m, ok := r.resolveLocked(repo, ref)
	r.mu.Unlock()
	if !ok {
		return oci.Descriptor{}, nil, done(httpError(http.MethodGet, repo, "manifests/"+ref, 404, "MANIFEST_UNKNOWN", "manifest unknown"))
	}
	return oci.Descriptor{MediaType: m.mediaType, Digest: d, Size: int64(len(m.body))}, bytes.Clone(m.body), done(nil)
}

// PutManifest implements mirror.ManifestWriter. Like a strict registry, it
// refuses a body that does not hash to a digest reference, and an image
// manifest whose blobs (or an index whose child manifests) are missing.
func (r *Registry) PutManifest(ctx context.Context, repo oci.Repository, ref, mediaType string, body []byte) error {
	done, err := r.enter(ctx, PutManifest, repo, ref)
	if err != nil {
		return err
	}
	return done(r.storeManifest(repo, ref, mediaType, body, true))
}

func (r *Registry) storeManifest(repo oci.Repository, ref, mediaType string, body []byte, strict bool) error {
	d := oci.Digest(body)
	if strings.Contains(ref, ":") && ref != d {
		return httpError(http.MethodPut, repo, "manifests/"+ref, 400, "DIGEST_INVALID", "manifest digest did not match")
	}
	_, refs, err := oci.ParseManifest(mediaType, body)
	if err != nil {
		return httpError(http.MethodPut, repo, "manifests/"+ref, 400, "MANIFEST_INVALID", err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rp := r.repoLocked(repo, true)
	if strict {
		for _, b := range refs.Blobs {
			if _, ok := rp.blobs[b.Digest]; !ok && !strings.Contains(b.MediaType, "foreign") {
				return httpError(http.MethodPut, repo, "manifests/"+ref, 400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry: "+b.Digest)
			}
		}
		for _, c := range refs.Manifests {
			if _, ok := rp.manifests[c.Digest]; !ok {
				return httpError(http.MethodPut, repo, "manifests/"+ref, 400, "MANIFEST_UNKNOWN", "manifest unknown to registry: "+c.Digest)
			}
		}
	}
	rp.manifests[d] = manifest{mediaType: mediaType, body: bytes.Clone(body)}
	if !strings.Contains(ref, ":") {
		rp.tags[ref] = d
	}
	return nil
}

// BlobExists implements mirror.BlobReader.
func (r *Registry) BlobExists(ctx context.Context, repo oci.Repository, digest string) (bool, error) {
	done, err := r.enter(ctx, BlobExists, repo, digest)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	rp := r.repoLocked(repo, false)
	ok := rp != nil && rp.blobs[digest] != nil
	r.mu.Unlock()
	return ok, done(nil)
}

// OpenBlob implements mirror.BlobReader.
func (r *Registry) OpenBlob(ctx context.Context, repo oci.Repository, digest string) (io.ReadCloser, error) {
	done, err := r.enter(ctx, OpenBlob, repo, digest)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	rp := r.repoLocked(repo, false)
	var b []byte
	if rp != nil {
		b = rp.blobs[digest]
	}
	if s, ok := r.blobServe[repo.String()+"@"+digest]; ok {
		b = s
	}
	r.mu.Unlock()
	if b == nil {
		return nil, done(httpError(http.MethodGet, repo, "blobs/"+digest, 404, "BLOB_UNKNOWN", "blob unknown to registry"))
	}
	if f := r.takeStreamFault(Call{Method: OpenBlob, Repo: repo.String(), Ref: digest}); f != nil {
		return io.NopCloser(&brokenStream{r: bytes.NewReader(b), n: f.StreamAfter, err: f.StreamErr}), done(nil)
	}
	return io.NopCloser(bytes.NewReader(b)), done(nil)
}

// PushBlob implements mirror.BlobWriter. It reads content to the end and
// stores it only if the stream ended cleanly and matches desc, as a
// registry finishing an upload with PUT ?digest= does.
func (r *Registry) PushBlob(ctx context.Context, repo oci.Repository, desc oci.Descriptor, content io.Reader) error {
	done, err := r.enter(ctx, PushBlob, repo, desc.Digest)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(content)
	if err != nil {
		return done(fmt.Errorf("upload blob %s to %s: %w", desc.Digest, repo, err))
	}
	if oci.Digest(b) != desc.Digest || int64(len(b)) != desc.Size {
		return done(httpError(http.MethodPut, repo, "blobs/uploads/", 400, "DIGEST_INVALID", "provided digest did not match uploaded content"))
	}
	r.mu.Lock()
	r.repoLocked(repo, true).blobs[desc.Digest] = b
	r.mu.Unlock()
	return done(nil)
}

// MountBlob implements mirror.BlobWriter: it links the blob when from (on
// the same host) has it, unless DisableMount was called.
func (r *Registry) MountBlob(ctx context.Context, repo, from oci.Repository, digest string) (bool, error) {
	done, err := r.enter(ctx, MountBlob, repo, digest)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	src := r.repoLocked(from, false)
	mounted := !r.noMount && repo.Host == from.Host && src != nil && src.blobs[digest] != nil
	if mounted {
		r.repoLocked(repo, true).blobs[digest] = src.blobs[digest]
	}
	r.mu.Unlock()
	return mounted, done(nil)
}

// Referrers implements mirror.ReferrerLister: through the referrers API
// when the host has it (every stored manifest whose subject is digest),
// else from the fallback tag's index.
func (r *Registry) Referrers(ctx context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	done, err := r.enter(ctx, Referrers, repo, digest)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	list, err := r.referrersLocked(repo, digest)
	r.mu.Unlock()
	return list, done(err)
}

func (r *Registry) referrersLocked(repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	rp := r.repoLocked(repo, false)
	if rp == nil {
		return nil, nil
	}
	if r.noAPI[repo.Host] {
		d, ok := rp.tags[mirror.FallbackTag(digest)]
		if !ok {
			return nil, nil
		}
		_, refs, err := oci.ParseManifest(oci.MediaTypeImageIndex, rp.manifests[d].body)
		if err != nil {
			return nil, fmt.Errorf("fallback tag of %s: %w", digest, err)
		}
		return refs.Manifests, nil
	}
	var out []oci.Descriptor
	for _, d := range slices.Sorted(maps.Keys(rp.manifests)) {
		m := rp.manifests[d]
		parsed, _, err := oci.ParseManifest(m.mediaType, m.body)
		if err != nil || parsed.Subject == nil || parsed.Subject.Digest != digest {
			continue
		}
		desc := referrerDescriptor(d, m, parsed)
		if r.configType[repo.Host] && parsed.Config != nil {
			desc.ArtifactType = parsed.Config.MediaType
		}
		out = append(out, desc)
	}
	return out, nil
}

// referrerDescriptor is how the referrers API lists a manifest.
func referrerDescriptor(digest string, m manifest, parsed oci.Manifest) oci.Descriptor {
	at := parsed.ArtifactType
	if at == "" && parsed.Config != nil {
		at = parsed.Config.MediaType
	}
	return oci.Descriptor{MediaType: m.mediaType, Digest: digest, Size: int64(len(m.body)), ArtifactType: at, Annotations: parsed.Annotations}
}

// SupportsReferrersAPI implements mirror.ReferrersAPIProber.
func (r *Registry) SupportsReferrersAPI(ctx context.Context, repo oci.Repository) (bool, error) {
	done, err := r.enter(ctx, SupportsReferrersAPI, repo, "")
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	api := !r.noAPI[repo.Host]
	r.mu.Unlock()
	return api, done(nil)
}

// Inspection and seeding: these neither count nor fault.

func mustRepo(s string) oci.Repository {
	repo, err := oci.ParseRepository(s)
	if err != nil {
		panic(err)
	}
	return repo
}

// Manifest returns the manifest repo (host/path) holds under ref (a tag
// or digest), with its media type.
func (r *Registry) Manifest(repo, ref string) (body []byte, mediaType string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, m, ok := r.resolveLocked(mustRepo(repo), ref)
	return bytes.Clone(m.body), m.mediaType, ok
}

// Digest returns the digest repo's ref resolves to, or "".
func (r *Registry) Digest(repo, ref string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, _, ok := r.resolveLocked(mustRepo(repo), ref)
	if !ok {
		return ""
	}
	return d
}

// Tags returns repo's tags, sorted.
func (r *Registry) Tags(repo string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp := r.repoLocked(mustRepo(repo), false)
	if rp == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(rp.tags))
}

// HasBlob reports whether repo holds the blob.
func (r *Registry) HasBlob(repo, digest string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp := r.repoLocked(mustRepo(repo), false)
	return rp != nil && rp.blobs[digest] != nil
}

// ReferrersOf lists what repo's referrers view (API or fallback tag)
// shows for digest.
func (r *Registry) ReferrersOf(repo, digest string) []oci.Descriptor {
	r.mu.Lock()
	defer r.mu.Unlock()
	list, err := r.referrersLocked(mustRepo(repo), digest)
	if err != nil {
		panic(err)
	}
	return list
}

// SeedBlob stores a blob in repo and returns its descriptor.
func (r *Registry) SeedBlob(repo, mediaType string, b []byte) oci.Descriptor {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := oci.Digest(b)
	r.repoLocked(mustRepo(repo), true).blobs[d] = bytes.Clone(b)
	return oci.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// SeedManifest stores a manifest in repo, tagged tag unless tag is empty,
// without checking what it references.
func (r *Registry) SeedManifest(repo, tag, mediaType string, body []byte) oci.Descriptor {
	ref := tag
	if ref == "" {
		ref = oci.Digest(body)
	}
	if err := r.storeManifest(mustRepo(repo), ref, mediaType, body, false); err != nil {
		panic(err)
	}
	return oci.Descriptor{MediaType: mediaType, Digest: oci.Digest(body), Size: int64(len(body))}
}

// Tag points tag at an existing digest in repo.
func (r *Registry) Tag(repo, tag, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp := r.repoLocked(mustRepo(repo), true)
	if _, ok := rp.manifests[digest]; !ok {
		panic("mirrortest: tag " + tag + " to unknown manifest " + digest)
	}
	rp.tags[tag] = digest
}

// Image describes an image manifest to seed.
type Image struct {
	// Layers are the layer contents; a shared string makes a shared blob.
	Layers []string
	// Config is the config content (default: a JSON object naming the layers).
	Config string
	// ConfigMediaType defaults to the OCI image config type.
	ConfigMediaType string
	// ArtifactType, Subject and Annotations go into the manifest.
	ArtifactType string
	Subject      *oci.Descriptor
	Annotations  map[string]string
	// Platform is set on the returned descriptor, for an index.
	Platform *oci.Platform
}

// Manifest builds the image's manifest and blobs without storing them.
func (img Image) Manifest() (body []byte, blobs []oci.Descriptor, contents [][]byte) {
	cfg := img.Config
	if cfg == "" {
		b, _ := json.Marshal(map[string]any{"layers": img.Layers, "artifactType": img.ArtifactType})
		cfg = string(b)
	}
	cmt := img.ConfigMediaType
	if cmt == "" {
		cmt = "application/vnd.oci.image.config.v1+json"
	}
	add := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: oci.Digest(b), Size: int64(len(b))}
		blobs = append(blobs, d)
		contents = append(contents, b)
		return d
	}
	m := oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, ArtifactType: img.ArtifactType, Subject: img.Subject, Annotations: img.Annotations}
	c := add(cmt, []byte(cfg))
	m.Config = &c
	m.Layers = []oci.Descriptor{}
	for _, l := range img.Layers {
		m.Layers = append(m.Layers, add("application/vnd.oci.image.layer.v1.tar+gzip", []byte(l)))
	}
	body, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return body, blobs, contents
}

// SeedImage stores img (blobs and manifest) in repo, tagged tag unless tag
// is empty. A referrer (img.Subject set) on a host without the referrers
// API is also added to its subject's fallback tag, as a pushing client
// would do.
func (r *Registry) SeedImage(repo, tag string, img Image) oci.Descriptor {
	body, blobs, contents := img.Manifest()
	for i, b := range blobs {
		r.SeedBlob(repo, b.MediaType, contents[i])
	}
	d := r.SeedManifest(repo, tag, oci.MediaTypeImageManifest, body)
	d.Platform = img.Platform
	if img.Subject != nil {
		r.mu.Lock()
		noAPI := r.noAPI[mustRepo(repo).Host]
		r.mu.Unlock()
		if noAPI {
			parsed, _, _ := oci.ParseManifest(oci.MediaTypeImageManifest, body)
			entry := referrerDescriptor(d.Digest, manifest{mediaType: oci.MediaTypeImageManifest, body: body}, parsed)
			r.SeedFallbackEntries(repo, img.Subject.Digest, entry)
		}
	}
	return d
}

// SeedIndex stores an image index of children (already stored) in repo,
// tagged tag unless tag is empty.
func (r *Registry) SeedIndex(repo, tag string, children ...oci.Descriptor) oci.Descriptor {
	body, err := json.Marshal(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageIndex, Manifests: children})
	if err != nil {
		panic(err)
	}
	return r.SeedManifest(repo, tag, oci.MediaTypeImageIndex, body)
}

// SeedFallbackEntries appends entries to the fallback-tag index of subject
// in repo, creating it if needed.
func (r *Registry) SeedFallbackEntries(repo, subject string, entries ...oci.Descriptor) {
	tag := mirror.FallbackTag(subject)
	var idx oci.Manifest
	if body, _, ok := r.Manifest(repo, tag); ok {
		if err := json.Unmarshal(body, &idx); err != nil {
			panic(err)
		}
	} else {
		idx = oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageIndex, Manifests: []oci.Descriptor{}}
	}
	idx.Manifests = append(idx.Manifests, entries...)
	body, err := json.Marshal(idx)
	if err != nil {
		panic(err)
	}
	r.SeedManifest(repo, tag, oci.MediaTypeImageIndex, body)
}
