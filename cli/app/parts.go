package app

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/adapters/kubesecret/kubeflags"
	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/mirror"
)

// TLSProvider is the factory of a tls.clientAuth.provider value
// (x509-svid), which also serves tls.serverAuth.spiffe: it opens a
// rotating X.509-SVID and bundle source (the SPIFFE Workload API), which
// the source keeps current until closed.
type TLSProvider struct {
	// Name is the value of tls.clientAuth.provider.
	Name string
	// New opens the source.
	New func(ctx context.Context) (hostauth.SPIFFESource, io.Closer, error)
}

// ProviderName returns p.Name.
func (p TLSProvider) ProviderName() string { return p.Name }

// ProviderKind returns auth.KindTLS.
func (TLSProvider) ProviderKind() auth.Kind { return auth.KindTLS }

var _ auth.Factory = TLSProvider{}

// Omitted is a provider or an optional part left out of a slim build.
type Omitted struct {
	// Name is the provider's config value (e.g. "aws", "ecr") or the
	// part's name ("secret", "verify").
	Name string
	// Kind is the field that names the provider; zero for a part.
	Kind auth.Kind
	// Tag is the build tag that compiles it in, e.g. "fm_aws".
	Tag string
}

// SecretWriter writes the secret command's dockerconfigjson Secret to
// Kubernetes (kubesecret.Writer).
type SecretWriter interface {
	// Export returns the Secret as YAML, contacting no server.
	Export(conn kubeflags.Options, name string, dockerConfigJSON []byte) ([]byte, error)
	// Apply creates or replaces the Secret and returns its namespace and
	// what was done; the API requests run within timeout.
	Apply(ctx context.Context, conn kubeflags.Options, name string, dockerConfigJSON []byte, createOnly bool, timeout time.Duration) (namespace, action string, err error)
}

// VerifyOptions configure the verifier of a sync run.
type VerifyOptions struct {
	// TrustedRoot is a Sigstore trusted_root.json path; "" means the
	// public-good root through TUF.
	TrustedRoot string
	// Logger receives diagnostics.
	Logger *slog.Logger
}

// VerifierFactory builds the signature verifier of a sync run's entries
// with verify (cosign keyless), reading signatures through reg.
type VerifierFactory func(reg *registry.Client, o VerifyOptions) (mirror.Verifier, error)

// The optional parts, wired like providers: a part is compiled in unless
// the build has fm_custom without its tag.
const (
	partSecret = "secret"
	partVerify = "verify"
)

// providersOf returns the compiled-in factories of kind k, by name.
func (e *env) providersOf(k auth.Kind) map[string]auth.Factory {
	out := map[string]auth.Factory{}
	for _, f := range e.Providers {
		if f.ProviderKind() == k {
			out[f.ProviderName()] = f
		}
	}
	return out
}

// omittedOf returns the names of kind k this build left out (k zero: the
// parts), sorted.
func (e *env) omittedOf(k auth.Kind) []string {
	var out []string
	for _, o := range e.Omitted {
		if o.Kind == k {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

// omittedTag returns the build tag of a left-out provider of kind k (or
// part, k zero), "" when name is not one.
func (e *env) omittedTag(k auth.Kind, name string) string {
	for _, o := range e.Omitted {
		if o.Kind == k && o.Name == name {
			return o.Tag
		}
	}
	return ""
}

// omittedNames returns the names of the left-out providers (providers
// true) or parts, sorted.
func (e *env) omittedNames(providers bool) []string {
	var out []string
	for _, o := range e.Omitted {
		if (o.Kind != 0) == providers {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
