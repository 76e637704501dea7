package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/compute/metadata"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// RegistryProviderName is the hosts[].provider value of NewRegistryFactory.
const RegistryProviderName = "gar"

// Username is the username Google registries expect with an access token.
const Username = "oauth2accesstoken"

// tokenPath is the metadata server's access token endpoint.
const tokenPath = "instance/service-accounts/default/token"

// registryHost matches Artifact Registry (<location>-docker.pkg.dev) and
// Container Registry (gcr.io, <region>.gcr.io) hosts.
var registryHost = regexp.MustCompile(`^([a-z0-9-]+-docker\.pkg\.dev|([a-z0-9-]+\.)?gcr\.io)$`)

// NewRegistryFactory returns the factory of the "gar" registry provider: an
// ADC access token (scope cloud-platform) as the password of
// oauth2accesstoken.
func NewRegistryFactory() auth.RegistryProvider { return registryFactory(osEnv) }

func registryFactory(e env) auth.RegistryProvider {
	return auth.RegistryProvider{
		Name: RegistryProviderName,
		New: func(_ context.Context, host string, s auth.Settings) (auth.Source, error) {
			if !registryHost.MatchString(strings.ToLower(host)) {
				return nil, fmt.Errorf("gar provider: %q is not a Google Artifact Registry or Container Registry host "+
					"(want <location>-docker.pkg.dev or [<region>.]gcr.io): a Google access token is only sent to Google", host)
			}
			return &garSource{host: host, env: e, client: httpClient(s), log: logger(s)}, nil
		},
	}
}

// garSource obtains one access token per call; hostauth caches it until
// shortly before it expires.
type garSource struct {
	host   string
	env    env
	client *http.Client
	log    *slog.Logger
}

var _ auth.Source = (*garSource)(nil)

// Credential returns oauth2accesstoken and a fresh access token.
func (s *garSource) Credential(ctx context.Context) (auth.Credential, error) {
	src, err := findADC(ctx, RegistryProviderName, s.env)
	if err != nil {
		return auth.Credential{}, err
	}
	var tok string
	var exp time.Time
	if src.metadataServer() {
		tok, exp, err = s.fromMetadata(ctx)
	} else {
		tok, exp, err = s.fromFile(ctx, src)
	}
	if err != nil {
		return auth.Credential{}, fmt.Errorf("gar provider: %w", err)
	}
	if tok == "" {
		return auth.Credential{}, errors.New("gar provider: the identity endpoint returned an empty access token")
	}
	s.log.Debug("obtained Google access token", "provider", RegistryProviderName, "host", s.host, "source", sourceName(src), "expiresAt", exp)
	return auth.Credential{Username: Username, Secret: tok, ExpiresAt: exp}, nil
}

// fromMetadata asks the metadata server for an access token of the
// attached service account.
func (s *garSource) fromMetadata(ctx context.Context) (string, time.Time, error) {
	q := url.Values{"scopes": {cloudPlatform}}
	body, err := metadata.NewClient(s.client).GetWithContext(ctx, tokenPath+"?"+q.Encode())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request an access token from the metadata server: %w", identityError(err, tokenPath))
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.AccessToken == "" {
		return "", time.Time{}, errors.New("the metadata server returned a malformed token response (expected JSON with access_token and expires_in)")
	}
	var exp time.Time
	if out.ExpiresIn > 0 {
		exp = time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return out.AccessToken, exp, nil
}

// fromFile obtains an access token with the credentials file: a service
// account key (JWT bearer grant at token_uri), user credentials (refresh
// token), or workload identity federation (STS exchange, then optional
// service account impersonation).
func (s *garSource) fromFile(ctx context.Context, src adc) (string, time.Time, error) {
	creds, err := credentials.NewCredentialsFromJSON(src.credType, src.json, &credentials.DetectOptions{
		Scopes: []string{cloudPlatform},
		Client: s.client,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("the %s credentials in %s are not usable: %w", src.credType, src.file, err)
	}
	tok, err := creds.Token(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("obtain an access token with the %s credentials in %s: %w", src.credType, src.file, identityError(err, ""))
	}
	return tok.Value, tok.Expiry, nil
}
