package spiffetest_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

func client(t *testing.T, w *spiffetest.WorkloadAPI) *workloadapi.Client {
	t.Helper()
	c, err := workloadapi.New(t.Context(), workloadapi.WithAddr(w.Socket()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestX509SVIDAndBundles(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithFederatedDomain("other.org"))
	c := client(t, w)

	xc, err := c.FetchX509Context(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(xc.SVIDs) != 1 || xc.SVIDs[0].ID.String() != "spiffe://example.org/mirror" || xc.SVIDs[0].ID != w.ID() {
		t.Fatalf("SVIDs = %v, want the one of spiffe://example.org/mirror", xc.SVIDs)
	}
	if !xc.SVIDs[0].Certificates[0].Equal(w.SVID().Certificates[0]) {
		t.Error("the fetched SVID is not the WorkloadAPI's SVID")
	}
	// The SVID chains to the own bundle that came with it; a server SVID of
	// the federated domain chains to the federated bundle.
	if _, _, err := x509svid.Verify(xc.SVIDs[0].Certificates, xc.Bundles); err != nil {
		t.Errorf("the workload SVID does not verify against the sent bundles: %v", err)
	}
	foreign := w.IssueSVID(t, "spiffe://other.org/registry")
	if id, _, err := x509svid.Verify(foreign.Certificates, xc.Bundles); err != nil || id.String() != "spiffe://other.org/registry" {
		t.Errorf("federated SVID: %v, %v", id, err)
	}

	bundles, err := c.FetchX509Bundles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range []string{"example.org", "other.org"} {
		b, err := bundles.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(td))
		if err != nil || len(b.X509Authorities()) != 1 {
			t.Errorf("X.509 bundle of %s: %v, %v", td, b, err)
		}
	}
}

func TestJWTSVID(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithSPIFFEID("spiffe://example.org/ci/mirror"), spiffetest.WithJWTTTL(2*time.Minute))
	c := client(t, w)
	svid, err := c.FetchJWTSVID(t.Context(), jwtsvid.Params{Audience: "registry.example", ExtraAudiences: []string{"other"}})
	if err != nil {
		t.Fatal(err)
	}
	// Verified against the JWT bundle served over the Workload API.
	bundles, err := c.FetchJWTBundles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := jwtsvid.ParseAndValidate(svid.Marshal(), bundles, []string{"registry.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID.String() != "spiffe://example.org/ci/mirror" || strings.Join(got.Audience, ",") != "registry.example,other" {
		t.Errorf("sub = %s, aud = %v", got.ID, got.Audience)
	}
	if d := time.Until(got.Expiry); d < time.Minute || d > 2*time.Minute {
		t.Errorf("exp in %s, want about 2m", d)
	}
	// The same key as JWTBundle and JWTKeySet.
	if _, err := jwtsvid.ParseAndValidate(svid.Marshal(), w.JWTBundle(), []string{"other"}); err != nil {
		t.Error(err)
	}
	if ks := w.JWTKeySet(); len(ks.Keys) != 1 || ks.Keys[0].Algorithm != "ES256" || ks.Keys[0].KeyID == "" || !ks.Keys[0].IsPublic() {
		t.Errorf("JWTKeySet = %+v", ks)
	}

	if _, err := c.FetchJWTSVID(t.Context(), jwtsvid.Params{Audience: "a", Subject: spiffeid.RequireFromString("spiffe://example.org/else")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("SVID for another ID: %v, want PermissionDenied", err)
	}
}

func TestRequiresSecurityHeader(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org")
	conn, err := grpc.NewClient(w.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = workload.NewSpiffeWorkloadAPIClient(conn).FetchJWTSVID(t.Context(), &workload.JWTSVIDRequest{Audience: []string{"a"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "security header missing") {
		t.Fatalf("call without workload.spiffe.io: %v", err)
	}
}

// watcher records X.509 context updates.
type watcher struct{ updates chan *workloadapi.X509Context }

func (w watcher) OnX509ContextUpdate(c *workloadapi.X509Context) { w.updates <- c }
func (w watcher) OnX509ContextWatchError(error)                  {}

func TestRotationIsPushed(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org")
	c := client(t, w)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wt := watcher{updates: make(chan *workloadapi.X509Context, 8)}
	go func() { _ = c.WatchX509Context(ctx, wt) }()
	next := func() *workloadapi.X509Context {
		t.Helper()
		select {
		case u := <-wt.updates:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("no update pushed")
			return nil
		}
	}
	first := next()

	rotated := w.Rotate()
	u := next()
	if !u.SVIDs[0].Certificates[0].Equal(rotated.Certificates[0]) || u.SVIDs[0].Certificates[0].Equal(first.SVIDs[0].Certificates[0]) {
		t.Fatal("Rotate did not push the new SVID")
	}
	if u.SVIDs[0].ID != first.SVIDs[0].ID {
		t.Errorf("Rotate changed the SPIFFE ID to %s", u.SVIDs[0].ID)
	}

	// A CA rotation: the bundle holds both CAs, the new SVID and later
	// server SVIDs chain to the new one.
	w.RotateCA()
	u = next()
	b, _ := u.Bundles.GetX509BundleForTrustDomain(w.TrustDomain())
	if len(b.X509Authorities()) != 2 {
		t.Fatalf("bundle after RotateCA has %d CAs, want 2", len(b.X509Authorities()))
	}
	_, chains, err := x509svid.Verify(u.SVIDs[0].Certificates, u.Bundles)
	if err != nil || !chains[0][1].Equal(b.X509Authorities()[1]) {
		t.Errorf("the new SVID does not chain to the new CA: %v", err)
	}
	if _, _, err := x509svid.Verify(first.SVIDs[0].Certificates, u.Bundles); err != nil {
		t.Errorf("the old CA left the bundle: %v", err)
	}

	// FailWith ends open streams with the status.
	w.FailWith(status.Error(codes.PermissionDenied, "no identity issued"))
	if _, err := c.FetchX509SVID(t.Context()); status.Code(err) != codes.PermissionDenied {
		t.Errorf("FetchX509SVID after FailWith: %v", err)
	}
	w.FailWith(nil)
	if _, err := c.FetchX509SVID(t.Context()); err != nil {
		t.Errorf("FetchX509SVID after FailWith(nil): %v", err)
	}
}

func TestServerCertificate(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org")
	cert := w.ServerCertificate(t, "spiffe://example.org/registry")
	if cert.Leaf == nil || len(cert.Leaf.URIs) != 1 || cert.Leaf.URIs[0].String() != "spiffe://example.org/registry" {
		t.Fatalf("leaf = %+v", cert.Leaf)
	}
	if err := cert.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if id, _, err := x509svid.Verify([]*x509.Certificate{cert.Leaf}, w.Bundle()); err != nil || id != spiffeid.RequireFromString("spiffe://example.org/registry") {
		t.Errorf("server SVID against the bundle: %v, %v", id, err)
	}
}
