package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// RegistryProviderName is the hosts[].provider value of NewRegistryFactory.
const RegistryProviderName = "ecr"

// ecrHost matches private ECR registry hosts: <account>.dkr.ecr.<region>
// with the FIPS (dkr.ecr-fips) and dual-stack (dkr-ecr[-fips] ... on.aws)
// forms, in every partition (commercial, China, GovCloud, ISO).
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([a-z0-9-]+)\.(amazonaws\.com|amazonaws\.com\.cn|on\.aws|on\.amazonwebservices\.com\.cn|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)

// Registry is a private ECR registry named by its host.
type Registry struct {
	// Account is the 12-digit AWS account ID.
	Account string
	// Region is the AWS region, e.g. us-east-1.
	Region string
	// FIPS reports a FIPS endpoint host (dkr.ecr-fips).
	FIPS bool
}

// ParseRegistryHost reads the account and region from an ECR registry host
// such as 123456789012.dkr.ecr.us-east-1.amazonaws.com (also the FIPS,
// China, dual-stack and other-partition forms). A host that is not a
// private ECR registry is an error that says so; ECR Public (public.ecr.aws)
// is not supported.
func ParseRegistryHost(host string) (Registry, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "public.ecr.aws" {
		return Registry{}, fmt.Errorf("ecr provider: %q is ECR Public, which the ecr provider does not support: pull anonymously or configure a credential", host)
	}
	m := ecrHost.FindStringSubmatch(h)
	if m == nil {
		return Registry{}, fmt.Errorf("ecr provider: %q is not an Amazon ECR registry host (want <account>.dkr.ecr.<region>.amazonaws.com)", host)
	}
	return Registry{Account: m[1], Region: m[3], FIPS: strings.HasSuffix(m[2], "-fips")}, nil
}

// NewRegistryFactory returns the factory of the "ecr" registry provider:
// ECR GetAuthorizationToken in the host's region, with the ambient AWS
// credentials.
func NewRegistryFactory() auth.RegistryProvider {
	return auth.RegistryProvider{
		Name: RegistryProviderName,
		New: func(ctx context.Context, host string, s auth.Settings) (auth.Source, error) {
			reg, err := ParseRegistryHost(host)
			if err != nil {
				return nil, err
			}
			cfg, err := loadConfig(ctx, RegistryProviderName, reg.Region, s)
			if err != nil {
				return nil, err
			}
			client := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
				if reg.FIPS {
					o.EndpointOptions.UseFIPSEndpoint = sdkaws.FIPSEndpointStateEnabled
				}
			})
			return &ecrSource{host: host, reg: reg, cfg: cfg, client: client, log: logger(s)}, nil
		},
	}
}

// ecrSource obtains the registry password of one host; hostauth caches it
// until shortly before it expires (12 hours after issue).
type ecrSource struct {
	host   string
	reg    Registry
	cfg    sdkaws.Config
	client *ecr.Client
	log    *slog.Logger
}

var _ auth.Source = (*ecrSource)(nil)

// Credential calls GetAuthorizationToken and decodes its AWS:<password>
// token.
func (s *ecrSource) Credential(ctx context.Context) (auth.Credential, error) {
	if _, err := retrieveCredentials(ctx, RegistryProviderName, s.cfg); err != nil {
		return auth.Credential{}, err
	}
	out, err := s.client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return auth.Credential{}, fmt.Errorf("ecr provider: GetAuthorizationToken in %s for %s: %w", s.reg.Region, s.host, apiError(err))
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return auth.Credential{}, fmt.Errorf("ecr provider: GetAuthorizationToken in %s returned no authorization data", s.reg.Region)
	}
	data := out.AuthorizationData[0]
	user, pass, err := decodeAuthorizationToken(*data.AuthorizationToken)
	if err != nil {
		return auth.Credential{}, fmt.Errorf("ecr provider: GetAuthorizationToken in %s returned a malformed token: %w", s.reg.Region, err)
	}
	var exp time.Time
	if data.ExpiresAt != nil {
		exp = *data.ExpiresAt
	}
	s.log.Debug("obtained ECR authorization token", "provider", RegistryProviderName, "host", s.host, "region", s.reg.Region, "expiresAt", exp)
	return auth.Credential{Username: user, Secret: pass, ExpiresAt: exp}, nil
}

// decodeAuthorizationToken splits ECR's base64("AWS:<password>"). Errors
// never quote the token.
func decodeAuthorizationToken(token string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", "", errors.New("authorizationToken is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return "", "", errors.New("authorizationToken is not <user>:<password>")
	}
	return user, pass, nil
}
