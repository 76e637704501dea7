package kubesecret

import (
	"context"
	"time"
)

// Writer is the secret command's backend: it resolves kubectl's connection
// flags and writes a dockerconfigjson Secret. A flux-mirror build with the
// secret part (build tag fm_secret) hands one to the CLI; without it,
// client-go is not linked.
type Writer struct{}

// Export returns the Secret as YAML in the namespace o resolves to,
// contacting no server.
func (Writer) Export(o Options, name string, dockerConfigJSON []byte) ([]byte, error) {
	ns, err := ResolveNamespace(o)
	if err != nil {
		return nil, err
	}
	return ExportYAML(Build(name, ns, dockerConfigJSON))
}

// Apply creates the Secret, or replaces it unless createOnly, in the
// namespace o resolves to; once connected, the API requests run within
// timeout (0: the context's deadline only). It returns the namespace and
// what was done ("created" or "replaced").
func (Writer) Apply(ctx context.Context, o Options, name string, dockerConfigJSON []byte, createOnly bool, timeout time.Duration) (namespace, action string, err error) {
	client, ns, err := Connect(o)
	if err != nil {
		return "", "", err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	a, err := Apply(ctx, client, Build(name, ns, dockerConfigJSON), createOnly)
	return ns, string(a), err
}
