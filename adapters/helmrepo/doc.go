// Package helmrepo reads charts from classic HTTP/S Helm repositories: it
// implements core's mirror.ChartSource on net/http.
//
// A Source fetches a repository's index.yaml (YAML or JSON) once per run and
// shares it between every chart entry and concurrent caller. It streams the
// index and decodes only the wanted chart's entries, one at a time, so
// memory does not grow with the index: the size limit holds while reading,
// and alias bombs and endless streams are refused. It lists a chart's
// versions with their download URLs resolved as Helm resolves them, and
// downloads a version's tarball, verifying its sha256 against the index and
// its Chart.yaml against the index entry. It returns the tarball unchanged
// together with the Helm OCI config blob, encoded exactly as `helm push`
// encodes it.
//
// Credentials come from Helm's own repositories.yaml, the file `helm repo
// add` writes: Basic auth, a CA file, a client certificate, skipping TLS
// verification, and pass_credentials_all. Credentials and client
// certificates go to the repository's own origin only (scheme, host and
// port, core.SameOrigin), checked by the transport on the first request and
// on every redirect hop; pass_credentials_all sends them to other hosts too,
// but never from https down to http. Credentials never appear in logs or
// errors; URLs in errors carry no userinfo and no query values.
//
// Every HTTP failure is a *core.HTTPError, so callers classify it with
// errors.Is (core.ErrNotFound, core.ErrUnauthorized, core.ErrDenied) and
// retry what is temporary. Oversized content wraps core.ErrTooLarge, a
// tarball that does not match the index digest core.ErrDigestMismatch, and
// other failures that a retry cannot fix are marked retry.Permanent.
//
// The package depends on net/http, sigs.k8s.io/yaml and Helm's small chart
// loader only (helm.sh/helm/v3/pkg/chart/loader); Helm's repository and
// getter packages serve as test oracles through the helmtest package.
package helmrepo
