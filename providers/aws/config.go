package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// loadConfig loads the SDK's default configuration (environment, shared
// files, the default credential chain) for region; an empty region keeps
// the ambient one (AWS_REGION, the profile). It does no network I/O.
func loadConfig(ctx context.Context, name, region string, s auth.Settings) (sdkaws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if s.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(s.HTTPClient))
	}
	if s.UserAgent != "" {
		opts = append(opts, config.WithAPIOptions([]func(*middleware.Stack) error{
			awsmiddleware.AddUserAgentKey(s.UserAgent),
		}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return sdkaws.Config{}, fmt.Errorf("%s provider: load the AWS configuration (AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): %w", name, err)
	}
	return cfg, nil
}

// retrieveCredentials resolves the ambient credentials, turning the
// chain's failure into an error that says which sources were tried.
func retrieveCredentials(ctx context.Context, name string, cfg sdkaws.Config) (sdkaws.Credentials, error) {
	if cfg.Credentials == nil {
		return sdkaws.Credentials{}, fmt.Errorf("%s provider: no AWS credential provider is configured", name)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return sdkaws.Credentials{}, fmt.Errorf("%s provider: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"a profile (AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, as IRSA does), "+
			"or run with an instance or task role: %w", name, err)
	}
	return creds, nil
}

// apiError translates an SDK operation failure: an HTTP response becomes a
// *core.HTTPError carrying the AWS error code, so callers classify it with
// errors.Is (core.ErrDenied for 403); transport failures are kept as they
// are. AWS error messages name principals and actions, never secrets.
func apiError(err error) error {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Request == nil {
		return err
	}
	req := re.Response.Request
	u := *req.URL
	u.User, u.RawQuery = nil, ""
	herr := &core.HTTPError{Method: req.Method, URL: u.String(), StatusCode: re.HTTPStatusCode()}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		herr.Code, herr.Message = ae.ErrorCode(), ae.ErrorMessage()
	}
	return herr
}

// logger returns s's logger, or one that discards.
func logger(s auth.Settings) *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// noSend is the HTTP client of the signing-only STS client: the request is
// captured after signing and must never leave the process.
type noSend struct{}

func (noSend) Do(*http.Request) (*http.Response, error) {
	return nil, errors.New("the signed sts:GetCallerIdentity request is not sent by flux-mirror")
}
