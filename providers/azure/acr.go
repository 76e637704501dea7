package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// RegistryProviderName is the hosts[].provider value of NewRegistryFactory.
const RegistryProviderName = "acr"

// Username is the username ACR expects with a refresh token.
const Username = "00000000-0000-0000-0000-000000000000"

// acrHost matches ACR login servers in the public, US Government and China
// clouds (the name may carry a domain name label hash, name-hash).
var acrHost = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*\.azurecr\.(io|us|cn)$`)

// Registry is the cloud of an ACR login server: where its identity lives
// and which Entra scope its token exchange accepts.
type Registry struct {
	// Cloud is the Entra cloud; zero for the public cloud (which honours
	// AZURE_AUTHORITY_HOST).
	Cloud cloud.Configuration
	// Scope is the ACR audience scope, e.g.
	// https://containerregistry.azure.net/.default.
	Scope string
}

// ParseRegistryHost checks that host is an ACR login server
// (<name>.azurecr.io, .azurecr.us or .azurecr.cn) and returns its cloud
// and scope. Any other host is an error: an Entra token is only sent to ACR.
func ParseRegistryHost(host string) (Registry, error) {
	h := strings.ToLower(host)
	if !acrHost.MatchString(h) {
		return Registry{}, fmt.Errorf("acr provider: %q is not an Azure Container Registry login server (want <name>.azurecr.io, .azurecr.us or .azurecr.cn): an Entra token is only sent to ACR", host)
	}
	switch {
	case strings.HasSuffix(h, ".azurecr.us"):
		return Registry{Cloud: cloud.AzureGovernment, Scope: "https://containerregistry.azure.us/.default"}, nil
	case strings.HasSuffix(h, ".azurecr.cn"):
		return Registry{Cloud: cloud.AzureChina, Scope: "https://containerregistry.azure.cn/.default"}, nil
	}
	return Registry{Scope: "https://containerregistry.azure.net/.default"}, nil
}

// NewRegistryFactory returns the factory of the "acr" registry provider: an
// Entra token for ACR exchanged at https://<host>/oauth2/exchange for an ACR
// refresh token.
func NewRegistryFactory() auth.RegistryProvider {
	return registryFactory(func(host string) string { return "https://" + host })
}

// registryFactory takes the exchange base URL of a host, so tests can point
// the exchange at a loopback server.
func registryFactory(base func(host string) string) auth.RegistryProvider {
	return auth.RegistryProvider{
		Name: RegistryProviderName,
		New: func(_ context.Context, host string, s auth.Settings) (auth.Source, error) {
			reg, err := ParseRegistryHost(host)
			if err != nil {
				return nil, err
			}
			cfg := reg.Cloud
			if os.Getenv(EnvAuthorityHost) != "" {
				// An explicit authority wins over the cloud the host implies.
				cfg = cloud.Configuration{}
			}
			cred, err := newCredential(RegistryProviderName, cfg, s)
			if err != nil {
				return nil, err
			}
			client := s.HTTPClient
			if client == nil {
				client = &http.Client{}
			}
			noRedirect := *client
			// The exchange carries the Entra token: never resend it elsewhere.
			noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			return &acrSource{
				host: host, reg: reg, exchange: strings.TrimSuffix(base(host), "/") + "/oauth2/exchange",
				cred: cred, client: &noRedirect, userAgent: s.UserAgent, log: logger(s),
			}, nil
		},
	}
}

// acrSource exchanges a fresh Entra token per call; hostauth caches the
// refresh token until shortly before its exp (about three hours).
type acrSource struct {
	host, exchange string
	reg            Registry
	cred           azcore.TokenCredential
	client         *http.Client
	userAgent      string
	log            *slog.Logger
}

var _ auth.Source = (*acrSource)(nil)

// Credential returns the ACR refresh token as the password of Username.
func (s *acrSource) Credential(ctx context.Context) (auth.Credential, error) {
	entra, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.reg.Scope}})
	if err != nil {
		return auth.Credential{}, tokenError(RegistryProviderName, s.reg.Scope, err)
	}
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {s.host},
		"access_token": {entra.Token},
	}
	if claims, err := auth.UnverifiedClaims(entra.Token); err == nil {
		if tid, ok := claims["tid"].(string); ok && tid != "" {
			form.Set("tenant", tid)
		}
	}
	refresh, err := s.exchangeToken(ctx, form)
	if err != nil {
		return auth.Credential{}, fmt.Errorf("acr provider: exchange the Entra token for an ACR refresh token: %w", err)
	}
	claims, err := auth.UnverifiedClaims(refresh)
	if err != nil {
		return auth.Credential{}, fmt.Errorf("acr provider: %s returned a malformed refresh token: %w", s.exchange, err)
	}
	var exp time.Time
	if n, ok := claims["exp"].(json.Number); ok {
		if secs, err := n.Int64(); err == nil {
			exp = time.Unix(secs, 0)
		}
	}
	s.log.Debug("obtained ACR refresh token", "provider", RegistryProviderName, "host", s.host, "expiresAt", exp)
	return auth.Credential{Username: Username, Secret: refresh, ExpiresAt: exp}, nil
}

// exchangeToken posts the form to the exchange endpoint and returns the
// refresh token.
func (s *acrSource) exchangeToken(ctx context.Context, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.exchange, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.userAgent != "" {
		req.Header.Set("User-Agent", s.userAgent)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", s.exchange, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		herr := responseError(resp)
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (does the identity hold AcrPull or AcrPush on the registry, and does the registry accept Entra tokens?)"
		}
		return "", fmt.Errorf("the registry refused the exchange%s: %w", hint, herr)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("read the response of %s: %w", s.exchange, err)
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return "", fmt.Errorf("the response of %s has no refresh_token (expected JSON {\"refresh_token\": \"<jwt>\"})", s.exchange)
	}
	return out.RefreshToken, nil
}
