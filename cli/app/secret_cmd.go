package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/fluxcd/flux-mirror/adapters/dockerconfig"
	"github.com/fluxcd/flux-mirror/adapters/kubesecret/kubeflags"
	"github.com/fluxcd/flux-mirror/core/auth"
)

type secretCmd struct {
	Name string `arg:"" help:"Name of the Secret."`
	hostsConfig
	Create bool `help:"Fail if the Secret exists instead of replacing it."`
	Export bool `help:"Print the Secret as YAML on stdout instead of applying it."`
	kubeflags.Options
}

func (c *secretCmd) Help() string {
	return `Mints the same credentials as login for the config's hosts and writes them to Kubernetes as a Secret of type
kubernetes.io/dockerconfigjson (key .dockerconfigjson). By default the Secret is created or replaced, keeping its
labels and annotations. Connection flags work as in kubectl, with the in-cluster config as fallback.`
}

// dns1123Subdomain is the form Kubernetes requires of a Secret's name
// (RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', starting and
// ending with an alphanumeric; at most 253 characters).
var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Validate rejects a Secret name that Kubernetes would refuse, before any
// credential is minted.
func (c *secretCmd) Validate() error {
	switch {
	case len(c.Name) > 253:
		return fmt.Errorf("secret name %q is %d characters long; Kubernetes allows at most 253", c.Name, len(c.Name))
	case !dns1123Subdomain.MatchString(c.Name):
		return fmt.Errorf("secret name %q is not a valid Kubernetes name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. mirror-creds)", c.Name)
	}
	return nil
}

func (c *secretCmd) Run(ctx context.Context, e *env, g *Globals) error {
	if e.Secret == nil {
		// Checked before any credential is minted.
		return errors.New(e.partMissing(partSecret, "the secret command"))
	}
	resolved, err := c.resolveCredentials(ctx, e, g)
	if err != nil {
		return err
	}
	creds := map[string]auth.Credential{}
	for _, r := range resolved {
		if r.Skipped {
			fmt.Fprintf(e.Stderr, "• skipping %s\n", r.Host)
			continue
		}
		creds[r.Host] = r.Credential
		if r.Credential.Bearer() {
			fmt.Fprintf(e.Stderr, "⚠ %s: the bearer credential is written as registrytoken, which kubelet cannot use for image pulls (Flux and crane can); set hosts[].username for a username/password login\n", r.Host)
		}
	}
	if len(creds) == 0 {
		return fmt.Errorf("no credentials to write: every selected host is TLS-only")
	}
	payload, err := dockerconfig.Encode(creds)
	if err != nil {
		return err
	}
	c.Options.UserAgent = userAgent()
	if c.Export {
		out, err := e.Secret.Export(c.Options, c.Name, payload)
		if err != nil {
			return err
		}
		_, err = e.Stdout.Write(out)
		return err
	}
	ns, action, err := e.Secret.Apply(ctx, c.Options, c.Name, payload, c.Create, g.timeoutOr(defaultCredentialTimeout))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "✔ secret %s/%s %s with %s\n", ns, c.Name, action, plural(len(creds), "host"))
	return nil
}
