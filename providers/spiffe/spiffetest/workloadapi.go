package spiffetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Defaults of a WorkloadAPI.
const (
	// DefaultPath is the path of the workload's SPIFFE ID unless
	// WithSPIFFEID says otherwise.
	DefaultPath = "/mirror"
	// DefaultJWTTTL is the lifetime of a signed JWT-SVID.
	DefaultJWTTTL = 5 * time.Minute
	// DefaultSVIDTTL is the lifetime of an issued X.509-SVID.
	DefaultSVIDTTL = time.Hour
)

// Option configures a WorkloadAPI.
type Option func(*options)

type options struct {
	id        string
	federated []string
	jwtTTL    time.Duration
	svidTTL   time.Duration
	jwtIssuer string
}

// WithSPIFFEID sets the workload's SPIFFE ID, which must be in the trust
// domain given to New (default spiffe://<trust domain>/mirror).
func WithSPIFFEID(id string) Option { return func(o *options) { o.id = id } }

// WithFederatedDomain adds a federated trust domain with its own CA. Its
// X.509 bundle is sent with the workload's SVID and by FetchX509Bundles,
// and IssueSVID can issue SVIDs in it (e.g. a foreign registry).
func WithFederatedDomain(trustDomain string) Option {
	return func(o *options) { o.federated = append(o.federated, trustDomain) }
}

// WithJWTTTL sets the lifetime of signed JWT-SVIDs (default DefaultJWTTTL).
func WithJWTTTL(d time.Duration) Option { return func(o *options) { o.jwtTTL = d } }

// WithSVIDTTL sets the lifetime of issued X.509-SVIDs (default
// DefaultSVIDTTL).
func WithSVIDTTL(d time.Duration) Option { return func(o *options) { o.svidTTL = d } }

// WithJWTIssuer sets the iss claim of signed JWT-SVIDs, as SPIRE's
// jwt_issuer setting does; by default JWT-SVIDs carry no iss.
func WithJWTIssuer(iss string) Option { return func(o *options) { o.jwtIssuer = iss } }

// WorkloadAPI is a fake SPIFFE Workload API on a unix socket. Its methods
// are safe for concurrent use.
type WorkloadAPI struct {
	opts   options
	socket string
	srv    *grpc.Server
	close  sync.Once
	td     spiffeid.TrustDomain
	id     spiffeid.ID
	jwtKey *ecdsa.PrivateKey
	kid    string

	mu      sync.Mutex
	domains []*domain // the own trust domain first, then federated ones
	svid    issued
	failErr error
	held    chan struct{} // Hold: JWT-SVID calls wait, announced here
	rawJWT  string
	rawX509 *workload.X509SVID
	changed chan struct{} // closed and replaced on every change
}

// New starts a Workload API for trustDomain (e.g. "example.org") and stops
// it when the test ends. Invalid options fail the test.
func New(t testing.TB, trustDomain string, opts ...Option) *WorkloadAPI {
	t.Helper()
	o := options{jwtTTL: DefaultJWTTTL, svidTTL: DefaultSVIDTTL}
	for _, opt := range opts {
		opt(&o)
	}
	td, err := spiffeid.TrustDomainFromString(trustDomain)
	if err != nil {
		t.Fatalf("spiffetest: trust domain %q: %v", trustDomain, err)
	}
	id, err := spiffeid.FromPath(td, DefaultPath)
	must(err)
	if o.id != "" {
		if id, err = spiffeid.FromString(o.id); err != nil {
			t.Fatalf("spiffetest: WithSPIFFEID(%q): %v", o.id, err)
		}
		if !id.MemberOf(td) {
			t.Fatalf("spiffetest: WithSPIFFEID(%q) is not in trust domain %s", o.id, td)
		}
	}
	w := &WorkloadAPI{
		opts:    o,
		td:      td,
		id:      id,
		jwtKey:  mustKey(),
		kid:     "spiffetest-" + rand.Text()[:12],
		domains: []*domain{newDomain(td)},
		changed: make(chan struct{}),
	}
	for _, name := range o.federated {
		ftd, err := spiffeid.TrustDomainFromString(name)
		if err != nil {
			t.Fatalf("spiffetest: WithFederatedDomain(%q): %v", name, err)
		}
		if w.domain(ftd) != nil {
			t.Fatalf("spiffetest: WithFederatedDomain(%q): trust domain given twice", name)
		}
		w.domains = append(w.domains, newDomain(ftd))
	}
	w.svid = w.domains[0].issue(id, o.svidTTL)

	// A short directory: a unix socket path is limited to about 100 bytes,
	// and t.TempDir() embeds the test name.
	dir, err := os.MkdirTemp("", "spiffetest")
	if err != nil {
		t.Fatalf("spiffetest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("spiffetest: listen on %s: %v", path, err)
	}
	w.socket = "unix://" + path
	w.srv = grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(w.srv, &handler{w: w})
	go func() { _ = w.srv.Serve(l) }()
	t.Cleanup(w.Close)
	return w
}

// Socket is the Workload API address, e.g. unix:///tmp/spiffetest123/agent.sock,
// the form of SPIFFE_ENDPOINT_SOCKET.
func (w *WorkloadAPI) Socket() string { return w.socket }

// ID is the workload's SPIFFE ID.
func (w *WorkloadAPI) ID() spiffeid.ID { return w.id }

// TrustDomain is the workload's trust domain.
func (w *WorkloadAPI) TrustDomain() spiffeid.TrustDomain { return w.td }

// Close stops the server and drops open streams, like an agent going down.
// It is idempotent and also runs when the test ends.
func (w *WorkloadAPI) Close() { w.close.Do(w.srv.Stop) }

// SVID is the workload's current X.509-SVID.
func (w *WorkloadAPI) SVID() *x509svid.SVID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.svid.svid
}

// Rotate issues the workload a new X.509-SVID (new key, new serial, same
// SPIFFE ID), pushes it to every open FetchX509SVID stream and returns it.
func (w *WorkloadAPI) Rotate() *x509svid.SVID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.svid = w.domains[0].issue(w.id, w.opts.svidTTL)
	w.notify()
	return w.svid.svid
}

// RotateCA adds a new signing CA to the own trust domain (the bundle keeps
// the old one, as during a SPIRE CA rotation), issues the workload a new
// X.509-SVID from it, pushes both and returns the SVID. SVIDs issued
// afterwards chain to the new CA only.
func (w *WorkloadAPI) RotateCA() *x509svid.SVID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.domains[0].rotate()
	w.svid = w.domains[0].issue(w.id, w.opts.svidTTL)
	w.notify()
	return w.svid.svid
}

// IssueSVID issues an X.509-SVID for spiffeID, which must be in the own or
// a federated trust domain, from that domain's current CA. The leaf is
// also valid for 127.0.0.1, ::1 and localhost, so a test registry can serve
// with it.
func (w *WorkloadAPI) IssueSVID(t testing.TB, spiffeID string) *x509svid.SVID {
	t.Helper()
	id, err := spiffeid.FromString(spiffeID)
	if err != nil {
		t.Fatalf("spiffetest: IssueSVID(%q): %v", spiffeID, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.domain(id.TrustDomain())
	if d == nil {
		t.Fatalf("spiffetest: IssueSVID(%q): trust domain %s is neither %s nor federated (WithFederatedDomain)", spiffeID, id.TrustDomain(), w.td)
	}
	return d.issue(id, w.opts.svidTTL).svid
}

// ServerCertificate issues an X.509-SVID for spiffeID (see IssueSVID) as a
// tls.Certificate for a test server, e.g. a registry with the SVID
// spiffe://example.org/registry.
func (w *WorkloadAPI) ServerCertificate(t testing.TB, spiffeID string) tls.Certificate {
	t.Helper()
	s := w.IssueSVID(t, spiffeID)
	chain := make([][]byte, len(s.Certificates))
	for i, c := range s.Certificates {
		chain[i] = c.Raw
	}
	return tls.Certificate{Certificate: chain, PrivateKey: s.PrivateKey, Leaf: s.Certificates[0]}
}

// Bundle is a snapshot of the X.509 bundles of the own and the federated
// trust domains.
func (w *WorkloadAPI) Bundle() *x509bundle.Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := x509bundle.NewSet()
	for _, d := range w.domains {
		set.Add(x509bundle.FromX509Authorities(d.td, d.roots()))
	}
	return set
}

// GetX509BundleForTrustDomain returns the current X.509 bundle of td, so
// that the WorkloadAPI is a live x509bundle.Source for test servers that
// must follow a RotateCA.
func (w *WorkloadAPI) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	return w.Bundle().GetX509BundleForTrustDomain(td)
}

// JWTKeySet is the public JWK set of the own trust domain's JWT bundle
// (one ES256 key with its kid), e.g. for a jwtgateway in front of a
// registry.
func (w *WorkloadAPI) JWTKeySet() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &w.jwtKey.PublicKey,
		KeyID:     w.kid,
		Algorithm: string(jose.ES256),
		Use:       "jwt-svid",
	}}}
}

// JWTBundle is the JWT bundle set (the own trust domain's key), for
// jwtsvid.ParseAndValidate.
func (w *WorkloadAPI) JWTBundle() *jwtbundle.Set {
	b := jwtbundle.New(w.td)
	must(b.AddJWTAuthority(w.kid, &w.jwtKey.PublicKey))
	return jwtbundle.NewSet(b)
}

// SignJWTSVID signs a JWT-SVID for the workload's SPIFFE ID with the given
// audience and expiry, as FetchJWTSVID does; tests use it to craft expired
// or foreign-audience tokens for ServeRawJWTSVID.
func (w *WorkloadAPI) SignJWTSVID(audience []string, expiry time.Time) string {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: w.jwtKey, KeyID: w.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	must(err)
	now := time.Now()
	claims := jwt.Claims{
		Issuer:   w.opts.jwtIssuer,
		Subject:  w.id.String(),
		Audience: jwt.Audience(audience),
		Expiry:   jwt.NewNumericDate(expiry),
		IssuedAt: jwt.NewNumericDate(now),
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	must(err)
	return token
}

// FailWith makes every call, and every open stream at its next update,
// fail with err, which should be a gRPC status error such as
// status.Error(codes.PermissionDenied, "no identity issued"). nil restores
// normal service.
func (w *WorkloadAPI) FailWith(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failErr = err
	w.notify()
}

// Hold makes every later FetchJWTSVID call wait, without an answer,
// until the client gives up (its context ends), as a wedged agent does.
// The channel receives once for each call held, so that a test cancels
// only once the client is waiting.
func (w *WorkloadAPI) Hold() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = make(chan struct{})
	return w.held
}

// ServeRawJWTSVID makes FetchJWTSVID answer with token as-is (e.g. "not a
// JWT", or a SignJWTSVID token for another audience); "" restores signing.
func (w *WorkloadAPI) ServeRawJWTSVID(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rawJWT = token
}

// ServeRawX509SVID makes FetchX509SVID send the given certificate chain and
// PKCS#8 key bytes as the workload's SVID (with the real bundle), and pushes
// that to open streams; nil restores the issued SVID.
func (w *WorkloadAPI) ServeRawX509SVID(certDER, keyDER []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if certDER == nil && keyDER == nil {
		w.rawX509 = nil
	} else {
		w.rawX509 = &workload.X509SVID{SpiffeId: w.id.String(), X509Svid: certDER, X509SvidKey: keyDER}
	}
	w.notify()
}

// notify wakes the open streams; w.mu is held.
func (w *WorkloadAPI) notify() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// domain returns the trust domain's CAs, or nil; w.mu is held (or the
// WorkloadAPI is not yet shared).
func (w *WorkloadAPI) domain(td spiffeid.TrustDomain) *domain {
	for _, d := range w.domains {
		if d.td == td {
			return d
		}
	}
	return nil
}

// snapshot returns what a stream sends next and the channel that signals
// the change after it.
func (w *WorkloadAPI) snapshot() (svids *workload.X509SVIDResponse, bundles *workload.X509BundlesResponse, fail error, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	own := w.domains[0]
	svid := &workload.X509SVID{SpiffeId: w.id.String(), X509Svid: w.svid.certDER, X509SvidKey: w.svid.keyDER}
	if w.rawX509 != nil {
		svid = &workload.X509SVID{SpiffeId: w.rawX509.SpiffeId, X509Svid: w.rawX509.X509Svid, X509SvidKey: w.rawX509.X509SvidKey}
	}
	svid.Bundle = own.rootsDER()
	svids = &workload.X509SVIDResponse{Svids: []*workload.X509SVID{svid}}
	bundles = &workload.X509BundlesResponse{Bundles: map[string][]byte{own.td.IDString(): own.rootsDER()}}
	for _, d := range w.domains[1:] {
		if svids.FederatedBundles == nil {
			svids.FederatedBundles = map[string][]byte{}
		}
		svids.FederatedBundles[d.td.IDString()] = d.rootsDER()
		bundles.Bundles[d.td.IDString()] = d.rootsDER()
	}
	return svids, bundles, w.failErr, w.changed
}

// handler implements the gRPC service; it is kept apart so that the
// service methods do not show on WorkloadAPI.
type handler struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	w *WorkloadAPI
}

// check refuses calls without the Workload API security header, as SPIRE
// does, and applies FailWith.
func (h *handler) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("workload.spiffe.io"); len(v) != 1 || v[0] != "true" {
		return status.Error(codes.InvalidArgument, "security header missing from request")
	}
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	return h.w.failErr
}

// stream sends send()'s answer now and after every change until the
// client goes away or FailWith ends the stream.
func (h *handler) stream(ctx context.Context, send func() (<-chan struct{}, error)) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	for {
		changed, err := send()
		if err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

func (h *handler) FetchX509SVID(_ *workload.X509SVIDRequest, s grpc.ServerStreamingServer[workload.X509SVIDResponse]) error {
	return h.stream(s.Context(), func() (<-chan struct{}, error) {
		resp, _, fail, changed := h.w.snapshot()
		if fail != nil {
			return nil, fail
		}
		return changed, s.Send(resp)
	})
}

func (h *handler) FetchX509Bundles(_ *workload.X509BundlesRequest, s grpc.ServerStreamingServer[workload.X509BundlesResponse]) error {
	return h.stream(s.Context(), func() (<-chan struct{}, error) {
		_, resp, fail, changed := h.w.snapshot()
		if fail != nil {
			return nil, fail
		}
		return changed, s.Send(resp)
	})
}

func (h *handler) FetchJWTBundles(_ *workload.JWTBundlesRequest, s grpc.ServerStreamingServer[workload.JWTBundlesResponse]) error {
	jwks, err := json.Marshal(h.w.JWTKeySet())
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return h.stream(s.Context(), func() (<-chan struct{}, error) {
		_, _, fail, changed := h.w.snapshot()
		if fail != nil {
			return nil, fail
		}
		return changed, s.Send(&workload.JWTBundlesResponse{Bundles: map[string][]byte{h.w.td.IDString(): jwks}})
	})
}

func (h *handler) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	h.w.mu.Lock()
	held := h.w.held
	h.w.mu.Unlock()
	if held != nil {
		select {
		case held <- struct{}{}:
		case <-ctx.Done():
		}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if len(req.Audience) == 0 {
		return nil, status.Error(codes.InvalidArgument, "audience must be specified")
	}
	if req.SpiffeId != "" && req.SpiffeId != h.w.id.String() {
		return nil, status.Error(codes.PermissionDenied, fmt.Sprintf("no identity issued for %s", req.SpiffeId))
	}
	h.w.mu.Lock()
	token := h.w.rawJWT
	h.w.mu.Unlock()
	if token == "" {
		token = h.w.SignJWTSVID(req.Audience, time.Now().Add(h.w.opts.jwtTTL))
	}
	return &workload.JWTSVIDResponse{Svids: []*workload.JWTSVID{{SpiffeId: h.w.id.String(), Svid: token}}}, nil
}
