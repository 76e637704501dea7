package helmrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// chartConfig loads a chart tarball with Helm's own loader, checks that its
// Chart.yaml names the expected chart and version, and returns the Helm OCI
// config blob: the chart metadata as JSON, built exactly as `helm push`
// builds it (helm v3 pkg/registry: json.Marshal of loader.LoadArchive's
// Metadata), so that `helm pull` and Flux read the same bytes as for a chart
// Helm pushed itself.
func chartConfig(tarball []byte, name, version string) ([]byte, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(tarball))
	if err != nil {
		return nil, fmt.Errorf("not a valid Helm chart archive: %w", err)
	}
	md := ch.Metadata
	if md.Name != name || md.Version != version {
		return nil, fmt.Errorf("its Chart.yaml is chart %q version %q, but the index lists it as %q version %q (the repository index is inconsistent; regenerate it with 'helm repo index')",
			md.Name, md.Version, name, version)
	}
	config, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("encode chart metadata: %w", err)
	}
	return config, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
