// Package kubeflags holds kubectl's connection flags as a plain struct, so
// that a CLI can declare them without linking the Kubernetes client: the
// kubesecret adapter, which resolves them, is an optional part of the
// flux-mirror binary.
package kubeflags

import "time"

// Options are kubectl's connection flags. The zero value means what kubectl
// does without flags: the kubeconfig from $KUBECONFIG or ~/.kube/config and
// its current context, else the in-cluster service account. The struct tags
// let a kong CLI embed Options as its flags; this package imports neither
// kong nor client-go.
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
