package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// TokenProviderName is the credential.provider value of NewTokenFactory.
const TokenProviderName = "aws"

// defaultSTSRegion signs for us-east-1 when no region is configured.
const defaultSTSRegion = "us-east-1"

// NewTokenFactory returns the factory of the "aws" token provider: a
// JWT-shaped Envelope around an sts:GetCallerIdentity request signed with
// the ambient AWS credentials, the audience in a signed X-Audience header.
func NewTokenFactory() auth.TokenProvider {
	return auth.TokenProvider{
		Name: TokenProviderName,
		New: func(ctx context.Context, s auth.Settings) (auth.TokenSource, error) {
			cfg, err := loadConfig(ctx, TokenProviderName, "", s)
			if err != nil {
				return nil, err
			}
			if cfg.Region == "" {
				cfg.Region = defaultSTSRegion
			}
			return &tokenSource{cfg: cfg, client: sts.NewFromConfig(cfg), log: logger(s), now: time.Now}, nil
		},
	}
}

// tokenSource signs one request per Token call; hostauth caches the
// envelope until shortly before its exp.
type tokenSource struct {
	cfg    sdkaws.Config
	client *sts.Client
	log    *slog.Logger
	now    func() time.Time
}

var _ auth.TokenSource = (*tokenSource)(nil)

// Token signs an sts:GetCallerIdentity request for audience and returns it
// as an envelope.
func (s *tokenSource) Token(ctx context.Context, audience string) (auth.Token, error) {
	if audience == "" {
		return auth.Token{}, errors.New("aws provider: the audience is empty")
	}
	creds, err := retrieveCredentials(ctx, TokenProviderName, s.cfg)
	if err != nil {
		return auth.Token{}, err
	}
	c := &capture{audience: audience}
	_, err = s.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Retryer = sdkaws.NopRetryer{}
		o.HTTPClient = noSend{}
		o.APIOptions = append(o.APIOptions, c.register)
	})
	if !errors.Is(err, errCaptured) {
		if err == nil {
			err = errors.New("the request was not captured")
		}
		return auth.Token{}, fmt.Errorf("aws provider: sign sts:GetCallerIdentity: %w", err)
	}
	env, err := c.envelope(creds)
	if err != nil {
		return auth.Token{}, fmt.Errorf("aws provider: %w", err)
	}
	tok, err := env.encode()
	if err != nil {
		return auth.Token{}, fmt.Errorf("aws provider: encode the envelope: %w", err)
	}
	s.log.Debug("signed sts:GetCallerIdentity", "provider", TokenProviderName, "url", env.URL, "audience", audience, "expiresAt", env.ExpiresAt())
	return auth.Token{Value: tok, ExpiresAt: env.ExpiresAt()}, nil
}

// errCaptured stops the operation once the signed request is captured.
var errCaptured = errors.New("signed request captured")

// envelopeHeaders are the headers the signed request keeps; the SDK's
// others (invocation id, retry metrics) are dropped before signing so the
// envelope is exactly what README.md documents.
var envelopeHeaders = []string{"Content-Type", AudienceHeader}

// capture adds the audience header before signing and records the signed
// request after it, as two finalize-step middlewares around the SDK's
// "Signing" middleware.
type capture struct {
	audience string
	req      *http.Request // method, URL and headers of the signed request
	body     []byte
}

// register inserts the capture around the signer.
func (c *capture) register(stack *middleware.Stack) error {
	if err := stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("FluxMirrorAudience", c.beforeSigning), "Signing", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("FluxMirrorCapture", c.afterSigning), "Signing", middleware.After)
}

// beforeSigning keeps only the documented headers and adds X-Audience, so
// that the signer includes it in SignedHeaders.
func (c *capture) beforeSigning(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	r, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected transport type %T", in.Request)
	}
	keep := http.Header{}
	for _, h := range envelopeHeaders {
		if v := r.Header.Get(h); v != "" {
			keep.Set(h, v)
		}
	}
	keep.Set(AudienceHeader, c.audience)
	r.Header = keep
	return next.HandleFinalize(ctx, in)
}

// afterSigning records the signed request and stops the operation.
func (c *capture) afterSigning(_ context.Context, in middleware.FinalizeInput, _ middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	r, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected transport type %T", in.Request)
	}
	var body []byte
	if s := r.GetStream(); s != nil {
		b, err := io.ReadAll(io.LimitReader(s, 1<<16))
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("read the signed body: %w", err)
		}
		body = b
	}
	u := *r.URL
	c.req = &http.Request{Method: r.Method, URL: &u, Header: r.Header.Clone()}
	c.body = body
	return middleware.FinalizeOutput{}, middleware.Metadata{}, errCaptured
}

// amzDate is the format of X-Amz-Date.
const amzDate = "20060102T150405Z"

// envelope turns the captured request into an Envelope.
func (c *capture) envelope(creds sdkaws.Credentials) (*Envelope, error) {
	if c.req == nil {
		return nil, errors.New("the signed request was not captured")
	}
	u := *c.req.URL
	u.User = nil
	headers := map[string]string{}
	for k := range c.req.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", AudienceHeader:
			headers[http.CanonicalHeaderKey(k)] = c.req.Header.Get(k)
		}
	}
	signedAt, err := time.Parse(amzDate, headers["X-Amz-Date"])
	if err != nil {
		return nil, errors.New("the signed request has no valid X-Amz-Date")
	}
	exp := signedAt.Add(SignatureLifetime)
	// The SDK's credential cache reports Expires a refresh window early,
	// which keeps exp on the safe side; credentials already inside that
	// window still sign, so exp never precedes iat.
	if creds.CanExpire && creds.Expires.Before(exp) {
		exp = creds.Expires
		if exp.Before(signedAt) {
			exp = signedAt
		}
	}
	e := &Envelope{
		Audience: c.audience,
		IssuedAt: signedAt.Unix(),
		Expiry:   exp.Unix(),
		Method:   c.req.Method,
		URL:      u.String(),
		Headers:  headers,
		Body:     string(c.body),
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("the signed request does not make a valid envelope: %w", err)
	}
	return e, nil
}

// stsHost matches the STS endpoints of every AWS partition: the global
// endpoint, regional and FIPS endpoints, China, and dual-stack (api.aws).
var stsHost = regexp.MustCompile(`^sts(-fips)?(\.[a-z0-9-]+)?\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)$`)

// IsSTSEndpoint reports whether rawURL is an https URL of a genuine AWS STS
// endpoint (e.g. https://sts.amazonaws.com/ or
// https://sts.eu-west-1.amazonaws.com/), with no port, userinfo or query.
// A registry replays an envelope only to such a URL.
func IsSTSEndpoint(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	return u.Scheme == "https" && u.User == nil && u.Port() == "" && u.RawQuery == "" && u.Fragment == "" &&
		(u.Path == "" || u.Path == "/") && stsHost.MatchString(u.Hostname())
}
