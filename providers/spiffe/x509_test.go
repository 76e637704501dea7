package spiffe

import (
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

func openSource(t *testing.T, opts ...Option) *X509Source {
	t.Helper()
	src, err := NewX509Source(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// waitUpdated waits for the source to take in a pushed rotation.
func waitUpdated(t *testing.T, src *X509Source) {
	t.Helper()
	select {
	case <-src.Updated():
	case <-time.After(10 * time.Second):
		t.Fatal("the source received no update")
	}
}

func TestX509Source(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithFederatedDomain("other.org"))
	src, err := NewX509Factory(env(map[string]string{EnvSocket: w.Socket()})).New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svid, err := src.GetX509SVID()
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID != w.ID() || !svid.Certificates[0].Equal(w.SVID().Certificates[0]) {
		t.Errorf("SVID %s is not the workload's", svid.ID)
	}
	for _, td := range []string{"example.org", "other.org"} {
		b, err := src.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(td))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := w.Bundle().GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(td))
		if !b.Equal(want) {
			t.Errorf("bundle of %s differs from the Workload API's", td)
		}
	}
	_, err = src.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString("unknown.org"))
	if err == nil || !strings.Contains(err.Error(), `sent no X.509 bundle for trust domain "unknown.org" (is it federated`) {
		t.Errorf("unknown trust domain: %v", err)
	}

	// An SVID the agent stopped renewing is reported, not presented.
	src.now = func() time.Time { return time.Now().Add(2 * spiffetest.DefaultSVIDTTL) }
	if _, err := src.GetX509SVID(); err == nil || !strings.Contains(err.Error(), "spiffe: the X.509-SVID spiffe://example.org/mirror expired at") {
		t.Errorf("expired SVID: %v", err)
	}
	src.now = time.Now

	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.GetX509SVID(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v", err)
	}
}

func TestX509SourceErrors(t *testing.T) {
	t.Parallel()
	down := spiffetest.New(t, "example.org")
	down.Close()
	hang := hangingSocket(t)
	tests := []struct {
		name  string
		opts  []Option
		setup func(w *spiffetest.WorkloadAPI)
		want  []string
		quick bool // fails without waiting for the timeout
	}{
		{name: "SPIFFE_ENDPOINT_SOCKET missing", opts: []Option{env(nil)}, quick: true,
			want: []string{"spiffe: SPIFFE_ENDPOINT_SOCKET is not set"}},
		{name: "endpoint down", opts: []Option{WithAddr(down.Socket())},
			want: []string{"spiffe: no X.509-SVID from the SPIFFE Workload API after ", "at " + down.Socket() + " is unavailable"}},
		{name: "endpoint hangs", opts: []Option{WithAddr(hang)},
			want: []string{"spiffe: no X.509-SVID from the SPIFFE Workload API at " + hang + " after ", "context deadline exceeded"}},
		{name: "permission denied", setup: func(w *spiffetest.WorkloadAPI) {
			w.FailWith(status.Error(codes.PermissionDenied, "no identity issued"))
		}, want: []string{"issued no identity to this workload", "no identity issued"}},
		{name: "malformed SVID", setup: func(w *spiffetest.WorkloadAPI) {
			w.ServeRawX509SVID([]byte("not DER"), []byte("not a key"))
		}, want: []string{"returned a malformed answer: x509svid:"}},
		{name: "refused", quick: true, setup: func(w *spiffetest.WorkloadAPI) {
			w.FailWith(status.Error(codes.InvalidArgument, "bad request"))
		}, want: []string{"spiffe: watch the X.509-SVID: the SPIFFE Workload API at", "refused the request (InvalidArgument): bad request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := 500 * time.Millisecond
			if tt.quick {
				timeout = time.Minute
			}
			opts := append([]Option{WithTimeout(timeout)}, tt.opts...)
			if tt.opts == nil {
				w := spiffetest.New(t, "example.org")
				tt.setup(w)
				opts = append(opts, WithAddr(w.Socket()))
			}
			start := time.Now()
			src, err := NewX509Source(t.Context(), opts...)
			if err == nil {
				_ = src.Close()
				t.Fatal("want an error")
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the failure took %s", took)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}
