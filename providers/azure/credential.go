package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// EnvAuthorityHost is azidentity's authority host override.
const EnvAuthorityHost = "AZURE_AUTHORITY_HOST"

// maxResponse bounds identity endpoint answers.
const maxResponse = 1 << 20

// knownAuthorities are the Entra authority hosts that Microsoft's instance
// discovery validates.
var knownAuthorities = []string{
	cloud.AzurePublic.ActiveDirectoryAuthorityHost,
	cloud.AzureGovernment.ActiveDirectoryAuthorityHost,
	cloud.AzureChina.ActiveDirectoryAuthorityHost,
}

// newCredential builds a DefaultAzureCredential for the cloud (zero: the
// public cloud, or AZURE_AUTHORITY_HOST). The identity requests use
// Settings.HTTPClient when set. A custom authority (AZURE_AUTHORITY_HOST
// naming a host that is not a Microsoft cloud, e.g. Azure Stack) disables
// instance discovery, which only Microsoft's clouds answer.
func newCredential(name string, cfg cloud.Configuration, s auth.Settings) (azcore.TokenCredential, error) {
	opts := &azidentity.DefaultAzureCredentialOptions{}
	opts.Cloud = cfg
	if s.HTTPClient != nil {
		opts.Transport = s.HTTPClient
	}
	if s.UserAgent != "" && len(s.UserAgent) <= 24 {
		opts.Telemetry.ApplicationID = s.UserAgent
	}
	authority := cfg.ActiveDirectoryAuthorityHost
	if authority == "" {
		authority = os.Getenv(EnvAuthorityHost)
	}
	if authority != "" && !isKnownAuthority(authority) {
		opts.DisableInstanceDiscovery = true
	}
	cred, err := azidentity.NewDefaultAzureCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("%s provider: set up the default Azure credential chain: %w", name, err)
	}
	return cred, nil
}

func isKnownAuthority(authority string) bool {
	u, err := url.Parse(authority)
	if err != nil {
		return false
	}
	for _, k := range knownAuthorities {
		if ku, _ := url.Parse(k); ku != nil && strings.EqualFold(ku.Host, u.Host) {
			return true
		}
	}
	return false
}

// tokenError translates a failure of the credential chain. An Entra
// response becomes a *core.HTTPError (so callers classify it with
// errors.Is) carrying the OAuth2 error code and the first line of its
// description; a chain that found no identity says what to configure.
func tokenError(name, scope string, err error) error {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		if afe.RawResponse != nil {
			return fmt.Errorf("%s provider: Microsoft Entra ID refused the token request for scope %s: %w", name, scope, responseError(afe.RawResponse))
		}
		return fmt.Errorf("%s provider: get a Microsoft Entra token for scope %s: %w", name, scope, err)
	}
	// Every other non-retriable failure of the chain means that no
	// credential in it was available.
	var unavailable interface{ NonRetriable() }
	if errors.As(err, &unavailable) {
		return fmt.Errorf("%s provider: no Azure identity is available for scope %s: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "+
			"(or AZURE_CLIENT_CERTIFICATE_PATH), use workload identity (AZURE_FEDERATED_TOKEN_FILE), run with a managed identity, "+
			"or sign in with the Azure CLI: %w", name, scope, err)
	}
	return fmt.Errorf("%s provider: get a Microsoft Entra token for scope %s: %w", name, scope, err)
}

// responseError describes a failed HTTP response by status, OAuth2 or ACR
// error code and message; the body is never quoted whole.
func responseError(resp *http.Response) *core.HTTPError {
	herr := &core.HTTPError{StatusCode: resp.StatusCode}
	if r := resp.Request; r != nil && r.URL != nil {
		u := *r.URL
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		herr.Method, herr.URL = r.Method, u.String()
	}
	if resp.Body != nil {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		if err == nil {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			herr.Code, herr.Message = errorFields(body)
		}
	}
	return herr
}

// errorFields extracts an OAuth2 ({"error", "error_description"}) or a
// registry ({"errors": [{"code", "message"}]}) error.
func errorFields(body []byte) (code, msg string) {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Errors      []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	if e.Error != "" {
		return e.Error, firstLine(e.Description)
	}
	if len(e.Errors) > 0 {
		return e.Errors[0].Code, firstLine(e.Errors[0].Message)
	}
	return "", ""
}

// firstLine trims s to its first line and at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(strings.TrimSuffix(s, "\r"))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// logger returns s's logger, or one that discards.
func logger(s auth.Settings) *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
