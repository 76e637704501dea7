package kubesecret

import (
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fluxcd/flux-mirror/adapters/kubesecret/kubeflags"
)

// Options are kubectl's connection flags (see kubeflags.Options), declared
// in a package of their own so that a CLI can carry the flags without
// linking client-go.
type Options = kubeflags.Options

// clientConfig is kubectl's deferred loading client config for o.
func clientConfig(o Options) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	overrides.Context.Namespace = o.Namespace
	overrides.Context.Cluster = o.Cluster
	overrides.Context.AuthInfo = o.User
	overrides.ClusterInfo.Server = o.Server
	overrides.ClusterInfo.CertificateAuthority = o.CertificateAuthority
	overrides.ClusterInfo.TLSServerName = o.TLSServerName
	overrides.ClusterInfo.InsecureSkipTLSVerify = o.InsecureSkipTLSVerify
	overrides.AuthInfo.Token = o.Token
	overrides.AuthInfo.ClientCertificate = o.ClientCertificate
	overrides.AuthInfo.ClientKey = o.ClientKey
	overrides.AuthInfo.Impersonate = o.Impersonate
	overrides.AuthInfo.ImpersonateGroups = o.ImpersonateGroups
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// RESTConfig resolves the API server connection like kubectl: kubeconfig,
// context and overrides, else the in-cluster service account.
func RESTConfig(o Options) (*rest.Config, error) {
	cfg, err := clientConfig(o).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no Kubernetes connection configured: pass --kubeconfig or --server, set $KUBECONFIG, create ~/.kube/config, or run inside a cluster")
		}
		return nil, fmt.Errorf("load the Kubernetes connection: %w", err)
	}
	if o.RequestTimeout > 0 {
		cfg.Timeout = o.RequestTimeout
	}
	if o.UserAgent != "" {
		cfg.UserAgent = o.UserAgent
	}
	return cfg, nil
}

// ResolveNamespace is the namespace kubectl would use: Namespace, else the
// context's namespace, else the in-cluster namespace ($POD_NAMESPACE or the
// service account's), else "default". It needs no reachable cluster, and
// without any kubeconfig it is "default", so that an export works offline.
func ResolveNamespace(o Options) (string, error) {
	if o.Namespace != "" {
		return o.Namespace, nil
	}
	ns, _, err := clientConfig(o).Namespace()
	switch {
	case err != nil && clientcmd.IsEmptyConfig(err):
		return "default", nil
	case err != nil:
		return "", fmt.Errorf("resolve the Kubernetes namespace: %w", err)
	case ns == "":
		return "default", nil
	}
	return ns, nil
}

// Connect resolves o into a Secrets client for Apply and the namespace to
// put the Secret in. It contacts no server.
func Connect(o Options) (*Client, string, error) {
	cfg, err := RESTConfig(o)
	if err != nil {
		return nil, "", err
	}
	ns, err := ResolveNamespace(o)
	if err != nil {
		return nil, "", err
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}
