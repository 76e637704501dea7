package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	gauth "cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/compute/metadata"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// TokenProviderName is the credential.provider value of NewTokenFactory.
const TokenProviderName = "gcp"

// The OAuth2 endpoint and scope defaults of Google credentials.
const (
	defaultTokenURL = "https://oauth2.googleapis.com/token"
	cloudPlatform   = "https://www.googleapis.com/auth/cloud-platform"
)

// identityPath is the metadata server's ID token endpoint.
const identityPath = "instance/service-accounts/default/identity"

// maxResponse bounds identity endpoint answers.
const maxResponse = 1 << 20

// NewTokenFactory returns the factory of the "gcp" token provider: a Google
// ID token for the audience, from Application Default Credentials.
func NewTokenFactory() auth.TokenProvider { return tokenFactory(osEnv) }

func tokenFactory(e env) auth.TokenProvider {
	return auth.TokenProvider{
		Name: TokenProviderName,
		New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
			return &tokenSource{env: e, client: httpClient(s), log: logger(s)}, nil
		},
	}
}

// tokenSource mints one ID token per call from freshly resolved ADC;
// hostauth caches it until shortly before its exp.
type tokenSource struct {
	env    env
	client *http.Client
	log    *slog.Logger
}

var _ auth.TokenSource = (*tokenSource)(nil)

// Token mints a Google ID token whose aud is audience.
func (s *tokenSource) Token(ctx context.Context, audience string) (auth.Token, error) {
	if audience == "" {
		return auth.Token{}, errors.New("gcp provider: the audience is empty")
	}
	src, err := findADC(ctx, TokenProviderName, s.env)
	if err != nil {
		return auth.Token{}, err
	}
	var tok string
	switch {
	case src.metadataServer():
		tok, err = s.fromMetadata(ctx, audience)
	case src.credType == credentials.ServiceAccount:
		tok, err = s.fromServiceAccount(ctx, src, audience)
	case src.credType == credentials.ExternalAccount || src.credType == credentials.ImpersonatedServiceAccount:
		tok, err = s.fromImpersonation(ctx, src, audience)
	case src.credType == credentials.AuthorizedUser:
		err = fmt.Errorf("the user credentials in %s cannot mint ID tokens for an audience: use a service account key, "+
			"workload identity federation with service account impersonation, or "+
			"`gcloud auth application-default login --impersonate-service-account=<sa>`", src.file)
	default:
		err = fmt.Errorf("credentials of type %q (%s) cannot mint ID tokens: use service_account, external_account or impersonated_service_account", src.credType, src.file)
	}
	if err != nil {
		return auth.Token{}, fmt.Errorf("gcp provider: %w", err)
	}
	exp, err := auth.JWTExpiry(tok)
	if err != nil {
		return auth.Token{}, fmt.Errorf("gcp provider: the identity endpoint returned a malformed ID token: %w", err)
	}
	s.log.Debug("minted Google ID token", "provider", TokenProviderName, "audience", audience, "source", sourceName(src), "expiresAt", exp)
	return auth.Token{Value: tok, ExpiresAt: exp}, nil
}

// fromMetadata asks the metadata server for an ID token of the attached
// service account, in the full format (with the instance's claims).
func (s *tokenSource) fromMetadata(ctx context.Context, audience string) (string, error) {
	q := url.Values{"audience": {audience}, "format": {"full"}}
	tok, err := metadata.NewClient(s.client).GetWithContext(ctx, identityPath+"?"+q.Encode())
	if err != nil {
		return "", fmt.Errorf("request an ID token from the metadata server: %w", identityError(err, identityPath))
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", errors.New("the metadata server returned an empty ID token")
	}
	return tok, nil
}

// serviceAccountKey holds the fields of a service account key file that
// minting uses.
type serviceAccountKey struct {
	ClientEmail    string `json:"client_email"`
	PrivateKey     string `json:"private_key"`
	PrivateKeyID   string `json:"private_key_id"`
	TokenURI       string `json:"token_uri"`
	UniverseDomain string `json:"universe_domain"`
}

// fromServiceAccount exchanges a JWT assertion signed with the key, carrying
// target_audience, at the key's token_uri for an ID token.
func (s *tokenSource) fromServiceAccount(ctx context.Context, src adc, audience string) (string, error) {
	var key serviceAccountKey
	if err := json.Unmarshal(src.json, &key); err != nil || key.ClientEmail == "" || key.PrivateKey == "" {
		return "", fmt.Errorf("the service account key %s lacks client_email or private_key", src.file)
	}
	if key.UniverseDomain != "" && key.UniverseDomain != "googleapis.com" {
		return "", fmt.Errorf("the service account key %s is for universe %q: only googleapis.com is supported", src.file, key.UniverseDomain)
	}
	tokenURL := key.TokenURI
	if tokenURL == "" {
		tokenURL = defaultTokenURL
	}
	tp, err := gauth.New2LOTokenProvider(&gauth.Options2LO{
		Email:         key.ClientEmail,
		PrivateKey:    []byte(key.PrivateKey),
		PrivateKeyID:  key.PrivateKeyID,
		TokenURL:      tokenURL,
		UseIDToken:    true,
		PrivateClaims: map[string]any{"target_audience": audience},
		Client:        s.client,
	})
	if err != nil {
		return "", fmt.Errorf("the service account key %s is not usable: %w", src.file, err)
	}
	tok, err := tp.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("request an ID token from the service account's token_uri: %w", identityError(err, ""))
	}
	return tok.Value, nil
}

// fromImpersonation gets an access token of the source identity (the
// federated identity of an external_account, or the source_credentials of
// an impersonated_service_account) and calls IAM Credentials
// generateIdToken for the target service account.
func (s *tokenSource) fromImpersonation(ctx context.Context, src adc, audience string) (string, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(src.json, &cfg); err != nil {
		return "", fmt.Errorf("the credentials file %s is not a JSON object", src.file)
	}
	var impURL string
	_ = json.Unmarshal(cfg["service_account_impersonation_url"], &impURL)
	if impURL == "" {
		return "", fmt.Errorf("the %s credentials in %s have no service_account_impersonation_url: "+
			"Google ID tokens need a service account, so configure workload identity federation with service account impersonation", src.credType, src.file)
	}
	idURL, account, err := generateIDTokenURL(impURL)
	if err != nil {
		return "", fmt.Errorf("the credentials file %s: %w", src.file, err)
	}
	var base *gauth.Credentials
	var delegates []string
	opts := &credentials.DetectOptions{Scopes: []string{cloudPlatform}, Client: s.client}
	if src.credType == credentials.ExternalAccount {
		delete(cfg, "service_account_impersonation_url")
		delete(cfg, "service_account_impersonation")
		b, _ := json.Marshal(cfg)
		base, err = credentials.NewCredentialsFromJSON(credentials.ExternalAccount, b, opts)
	} else {
		var sourceHead struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(cfg["source_credentials"], &sourceHead); err != nil || sourceHead.Type == "" {
			return "", fmt.Errorf("the impersonated_service_account credentials in %s have no source_credentials", src.file)
		}
		_ = json.Unmarshal(cfg["delegates"], &delegates)
		base, err = credentials.NewCredentialsFromJSON(credentials.CredType(sourceHead.Type), cfg["source_credentials"], opts)
	}
	if err != nil {
		return "", fmt.Errorf("the %s credentials in %s are not usable: %w", src.credType, src.file, err)
	}
	access, err := base.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("obtain the source access token for impersonating %s: %w", account, identityError(err, ""))
	}
	return generateIDToken(ctx, s.client, idURL, access.Value, audience, delegates)
}

// generateIDTokenURL turns a .../serviceAccounts/<sa>:generateAccessToken
// URL into the matching :generateIdToken URL and returns the account.
func generateIDTokenURL(impURL string) (string, string, error) {
	u, err := url.Parse(impURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Path, ":generateAccessToken") {
		return "", "", errors.New("service_account_impersonation_url is not an IAM Credentials .../serviceAccounts/<sa>:generateAccessToken URL")
	}
	u.Path = strings.TrimSuffix(u.Path, ":generateAccessToken") + ":generateIdToken"
	u.RawPath, u.RawQuery = "", ""
	account := strings.TrimSuffix(path.Base(impURL), ":generateAccessToken")
	return u.String(), account, nil
}

// generateIDToken calls IAM Credentials generateIdToken.
func generateIDToken(ctx context.Context, client *http.Client, idURL, accessToken, audience string, delegates []string) (string, error) {
	reqBody := struct {
		Audience     string   `json:"audience"`
		IncludeEmail bool     `json:"includeEmail"`
		Delegates    []string `json:"delegates,omitempty"`
	}{Audience: audience, IncludeEmail: true}
	for _, d := range delegates {
		if !strings.HasPrefix(d, "projects/") {
			d = "projects/-/serviceAccounts/" + d
		}
		reqBody.Delegates = append(reqBody.Delegates, d)
	}
	b, _ := json.Marshal(reqBody)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, idURL, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("call generateIdToken at %s: %w", redactURL(idURL), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("read the generateIdToken response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		herr := &core.HTTPError{Method: http.MethodPost, URL: redactURL(idURL), StatusCode: resp.StatusCode}
		herr.Code, herr.Message = errorFields(body)
		return "", fmt.Errorf("IAM Credentials refused generateIdToken (does the identity hold roles/iam.serviceAccountOpenIdTokenCreator on the service account?): %w", herr)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		return "", errors.New("generateIdToken returned no token (expected JSON {\"token\": \"<jwt>\"})")
	}
	return out.Token, nil
}

// sourceName describes an ADC source for logs.
func sourceName(a adc) string {
	if a.metadataServer() {
		return "metadata server"
	}
	return string(a.credType) + " " + a.file
}
