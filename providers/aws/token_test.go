package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/fluxcd/flux-mirror/core/auth"
)

const audience = "registry.example.com"

func mint(t *testing.T, aud string) (auth.Token, error) {
	t.Helper()
	f := NewTokenFactory()
	if f.Name != "aws" {
		t.Fatalf("factory name = %q", f.Name)
	}
	ts, err := f.New(context.Background(), auth.Settings{UserAgent: "flux-mirror/test"})
	if err != nil {
		return auth.Token{}, err
	}
	return ts.Token(context.Background(), aud)
}

// TestLoopbackSTSAcceptsTheSDK checks the test's STS against the SDK's own
// client, so that its signature check is known to be faithful.
func TestLoopbackSTSAcceptsTheSDK(t *testing.T) {
	isolate(t)
	staticCreds(t)
	srv := newSTSServer(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "x-audience is not signed") {
		t.Fatalf("an unsigned audience must be refused after the signature is verified, got %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	cfg, _ = config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"))
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("a wrong secret must fail the signature check, got %v", err)
	}
}

func TestTokenReplaysToSTS(t *testing.T) {
	isolate(t)
	staticCreds(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	srv := newSTSServer(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)

	before := time.Now().Truncate(time.Second)
	tok, err := mint(t, audience)
	if err != nil {
		t.Fatal(err)
	}

	parts := strings.Split(tok.Value, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token is not header.payload. : %q", tok.Value)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(hdr) != `{"alg":"none","typ":"aws-sigv4-getcalleridentity"}` {
		t.Errorf("header = %s", hdr)
	}
	env, err := ParseEnvelope(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if env.URL != srv.URL+"/" || env.Method != "POST" || env.Body != GetCallerIdentityBody {
		t.Errorf("request = %s %s %q", env.Method, env.URL, env.Body)
	}
	if env.Headers["X-Audience"] != audience || env.Audience != audience {
		t.Errorf("audience header %q, aud %q", env.Headers["X-Audience"], env.Audience)
	}
	if env.Headers["Content-Type"] != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", env.Headers["Content-Type"])
	}
	if _, ok := env.Headers["X-Amz-Security-Token"]; ok {
		t.Error("static credentials must not yield a security token")
	}
	if !strings.Contains(env.Headers["Authorization"], "/eu-west-1/sts/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-audience, Signature=") {
		t.Errorf("Authorization = %q", env.Headers["Authorization"])
	}
	if iat := time.Unix(env.IssuedAt, 0); iat.Before(before.Add(-time.Second)) || iat.After(time.Now()) {
		t.Errorf("iat = %v, want about now", iat)
	}
	if env.Expiry != env.IssuedAt+int64(SignatureLifetime/time.Second) || !tok.ExpiresAt.Equal(env.ExpiresAt()) {
		t.Errorf("exp = %d (ExpiresAt %v), want iat+15m", env.Expiry, tok.ExpiresAt)
	}

	id, err := replay(context.Background(), tok.Value, audience)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if id.Arn != "arn:aws:iam::"+testAccount+":user/mirror" || id.Account != testAccount {
		t.Errorf("caller = %+v", id)
	}
	if len(srv.audiences) != 1 || srv.audiences[0] != audience {
		t.Errorf("STS saw audiences %v", srv.audiences)
	}
}

// TestTamperedAudienceIsRejectedBySTS shows that the audience is bound by
// the signature: an envelope re-targeted at another registry fails at STS.
func TestTamperedAudienceIsRejectedBySTS(t *testing.T) {
	isolate(t)
	staticCreds(t)
	srv := newSTSServer(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	tok, err := mint(t, audience)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	env.Audience, env.Headers["X-Audience"] = "other.example.com", "other.example.com"
	forged, err := env.encode()
	if err != nil {
		t.Fatal(err)
	}
	_, err = replay(context.Background(), forged, "other.example.com")
	if err == nil || !strings.Contains(err.Error(), "STS answered 403") || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("forged audience: got %v, want a 403 SignatureDoesNotMatch from STS", err)
	}
}

// TestTokenWithWebIdentity runs the IRSA path: the SDK exchanges a projected
// token at the loopback STS for session credentials, and the envelope
// carries the session token and expires no later than the session.
func TestTokenWithWebIdentity(t *testing.T) {
	isolate(t)
	srv := newSTSServer(t)
	srv.webIdentity = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln"
	srv.sessionLife = 12 * time.Minute
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(srv.webIdentity), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::"+testAccount+":role/flux-mirror")
	t.Setenv("AWS_ROLE_SESSION_NAME", "flux")

	tok, err := mint(t, audience)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(env.Headers["X-Amz-Security-Token"], "session-token-") {
		t.Errorf("X-Amz-Security-Token = %q, want the session token", env.Headers["X-Amz-Security-Token"])
	}
	if !strings.Contains(env.Headers["Authorization"], "x-amz-security-token;x-audience") {
		t.Errorf("the session token must be signed: %q", env.Headers["Authorization"])
	}
	if life := time.Until(tok.ExpiresAt); life > 12*time.Minute+time.Second || life <= 0 {
		t.Errorf("ExpiresAt in %v, want at most the 12m session expiry (before the 15m signature expiry)", life)
	}
	id, err := replay(context.Background(), tok.Value, audience)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if id.Arn != "arn:aws:sts::"+testAccount+":assumed-role/flux-mirror/flux" {
		t.Errorf("caller ARN = %q", id.Arn)
	}
}

// TestTokenDefaultEndpoints checks the STS URL the SDK resolves without an
// override. Nothing is sent: the request is only signed.
func TestTokenDefaultEndpoints(t *testing.T) {
	tests := []struct{ region, fips, want string }{
		{"", "", "https://sts.us-east-1.amazonaws.com/"},
		{"eu-west-1", "", "https://sts.eu-west-1.amazonaws.com/"},
		{"cn-north-1", "", "https://sts.cn-north-1.amazonaws.com.cn/"},
		{"us-east-1", "true", "https://sts-fips.us-east-1.amazonaws.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.region+tt.fips, func(t *testing.T) {
			isolate(t)
			os.Unsetenv("AWS_ENDPOINT_URL")
			staticCreds(t)
			if tt.region != "" {
				t.Setenv("AWS_REGION", tt.region)
			}
			if tt.fips != "" {
				t.Setenv("AWS_USE_FIPS_ENDPOINT", tt.fips)
			}
			tok, err := mint(t, audience)
			if err != nil {
				t.Fatal(err)
			}
			env, err := ParseEnvelope(tok.Value)
			if err != nil {
				t.Fatal(err)
			}
			if env.URL != tt.want {
				t.Errorf("url = %q, want %q", env.URL, tt.want)
			}
			if !IsSTSEndpoint(env.URL) {
				t.Errorf("IsSTSEndpoint(%q) = false", env.URL)
			}
		})
	}
}

// containerCreds serves the ECS/EKS Pod Identity credentials protocol.
func containerCreds(t *testing.T, handler http.HandlerFunc) string {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/credentials"
}

func TestTokenErrors(t *testing.T) {
	const authToken = "container-authorization-secret"
	tests := []struct {
		name  string
		setup func(t *testing.T)
		aud   string
		want  string
	}{
		{
			name:  "missing environment",
			setup: func(t *testing.T) {},
			aud:   audience,
			want:  "aws provider: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		},
		{
			name:  "empty audience",
			setup: staticCreds,
			want:  "aws provider: the audience is empty",
		},
		{
			name: "credentials endpoint down",
			setup: func(t *testing.T) {
				t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", closedURL(t)+"/v1/credentials")
			},
			aud:  audience,
			want: "aws provider: no AWS credentials found",
		},
		{
			name: "credentials endpoint forbids",
			setup: func(t *testing.T) {
				t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", authToken)
				t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", containerCreds(t, func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Authorization") != authToken {
						t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
					}
					w.WriteHeader(http.StatusForbidden)
					json.NewEncoder(w).Encode(map[string]string{"code": "AccessDenied", "message": "pod is not associated"})
				}))
			},
			aud:  audience,
			want: "AccessDenied",
		},
		{
			name: "credentials endpoint malformed",
			setup: func(t *testing.T) {
				t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", containerCreds(t, func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte("<html>not json</html>"))
				}))
			},
			aud:  audience,
			want: "aws provider: no AWS credentials found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			tt.setup(t)
			_, err := mint(t, tt.aud)
			checkError(t, err, []string{tt.want}, nil, testSecretKey, authToken)
		})
	}
}

// TestTokenFromContainerCredentials checks that the envelope's exp follows
// short-lived container credentials.
func TestTokenFromContainerCredentials(t *testing.T) {
	isolate(t)
	srv := newSTSServer(t)
	srv.secrets = cloneWith(srv.secrets, "ASIACONTAINER", "container-secret")
	srv.arns = cloneWith(srv.arns, "ASIACONTAINER", "arn:aws:sts::"+testAccount+":assumed-role/task/abc")
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	exp := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", containerCreds(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret",
			"Token": "container-session", "Expiration": exp.Format(time.RFC3339),
		})
	}))
	tok, err := mint(t, audience)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK reports the expiry a refresh window early; exp must not be
	// later than the credentials' nor the 15m signature lifetime.
	if tok.ExpiresAt.After(exp) || !tok.ExpiresAt.After(time.Now()) {
		t.Errorf("ExpiresAt = %v, want after now and not after the credentials' %v", tok.ExpiresAt, exp)
	}
	id, err := replay(context.Background(), tok.Value, audience)
	if err != nil {
		t.Fatal(err)
	}
	if id.Arn != "arn:aws:sts::"+testAccount+":assumed-role/task/abc" {
		t.Errorf("ARN = %q", id.Arn)
	}
}
