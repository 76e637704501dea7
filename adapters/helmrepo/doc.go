// Package helmrepo reads charts from classic HTTP/S Helm repositories: it
// implements core's mirror.ChartSource on net/http.
//
// A Source fetches a repository's index.yaml (YAML or JSON) once per run and
// shares it between every chart entry and concurrent caller, lists a chart's
// versions with their download URLs resolved as Helm resolves them, and
// downloads a version's tarball, verifying its sha256 against the index and
// its Chart.yaml against the index entry. It returns the tarball unchanged
// together with the Helm OCI config blob, encoded exactly as `helm push`
// encodes it.
//
// Credentials come from Helm's own repositories.yaml, the file `helm repo
// add` writes: Basic auth, a CA file, a client certificate, skipping TLS
// verification, and pass_credentials_all. Credentials and client
// certificates go to the repository's own scheme and host only, unless the
// entry sets pass_credentials_all. Credentials never appear in logs or
// errors; URLs in errors carry no userinfo and no query values.
//
// Every HTTP failure is a *core.HTTPError, so callers classify it with
// errors.Is (core.ErrNotFound, core.ErrUnauthorized, core.ErrDenied) and
// retry what is temporary. Oversized content wraps core.ErrTooLarge, a
// tarball that does not match the index digest core.ErrDigestMismatch.
//
// The package depends on net/http, sigs.k8s.io/yaml and Helm's small chart
// loader only (helm.sh/helm/v3/pkg/chart/loader); Helm's repository and
// getter packages serve as test oracles through the helmtest package.
package helmrepo
