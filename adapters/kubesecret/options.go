package kubesecret

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options are kubectl's connection flags. The zero value means what kubectl
// does without flags: the kubeconfig from $KUBECONFIG or ~/.kube/config and
// its current context, else the in-cluster service account. The struct tags
// let a kong CLI embed Options as its flags; this package does not import
// kong.
type Options struct {
	// Kubeconfig is the kubeconfig file; "" means $KUBECONFIG (a
	// list of files) or ~/.kube/config.
	Kubeconfig string `name:"kubeconfig" placeholder:"PATH" help:"Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)."`
	// Context is the kubeconfig context; "" means its current-context.
	Context string `name:"context" placeholder:"NAME" help:"The kubeconfig context to use."`
	// Namespace overrides the context's namespace. Without either, the
	// in-cluster namespace, else "default".
	Namespace string `name:"namespace" short:"n" placeholder:"NAME" help:"Namespace of the Secret (default: the context's namespace, else \"default\")."`
	// Cluster overrides the context's cluster entry.
	Cluster string `name:"cluster" placeholder:"NAME" help:"The kubeconfig cluster to use."`
	// User overrides the context's user entry.
	User string `name:"user" placeholder:"NAME" help:"The kubeconfig user to use."`
	// Server is the API server URL.
	Server string `name:"server" placeholder:"URL" help:"The address and port of the Kubernetes API server."`
	// Token is a bearer token for the API server. Never log it.
	Token string `name:"token" placeholder:"TOKEN" help:"Bearer token for authentication to the API server."`
	// CertificateAuthority is a PEM file of the CAs that sign the API
	// server's certificate.
	CertificateAuthority string `name:"certificate-authority" placeholder:"PATH" help:"Path to a cert file for the certificate authority."`
	// ClientCertificate and ClientKey are PEM files for TLS client
	// authentication.
	ClientCertificate string `name:"client-certificate" placeholder:"PATH" help:"Path to a client certificate file for TLS."`
	// ClientKey is the private key of ClientCertificate.
	ClientKey string `name:"client-key" placeholder:"PATH" help:"Path to a client key file for TLS."`
	// TLSServerName is the server name to verify the certificate against,
	// when it differs from the server URL's host.
	TLSServerName string `name:"tls-server-name" placeholder:"NAME" help:"Server name to use for server certificate validation."`
	// InsecureSkipTLSVerify disables the server certificate check.
	InsecureSkipTLSVerify bool `name:"insecure-skip-tls-verify" help:"Do not check the server's certificate (insecure)."`
	// Impersonate and ImpersonateGroups act as another user or groups.
	Impersonate string `name:"as" placeholder:"USER" help:"Username to impersonate for the operation."`
	// ImpersonateGroups are the groups to impersonate.
	ImpersonateGroups []string `name:"as-group" placeholder:"GROUP" help:"Group to impersonate for the operation (repeatable)."`
	// RequestTimeout bounds each API request; zero means no limit beyond
	// the context's.
	RequestTimeout time.Duration `name:"request-timeout" placeholder:"DURATION" help:"Time limit of a single API request (0: none)."`
	// UserAgent is sent to the API server; "" means client-go's default.
	UserAgent string `kong:"-"`
}

// clientConfig is kubectl's deferred loading client config for o.
func (o Options) clientConfig() clientcmd.ClientConfig {
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
func (o Options) RESTConfig() (*rest.Config, error) {
	cfg, err := o.clientConfig().ClientConfig()
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
func (o Options) ResolveNamespace() (string, error) {
	if o.Namespace != "" {
		return o.Namespace, nil
	}
	ns, _, err := o.clientConfig().Namespace()
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
	cfg, err := o.RESTConfig()
	if err != nil {
		return nil, "", err
	}
	ns, err := o.ResolveNamespace()
	if err != nil {
		return nil, "", err
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}
