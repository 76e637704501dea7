package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Test credentials: what the loopback services accept.
const (
	testAccessKey = "AKIAIOSFODNN7EXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testAccount   = "123456789012"
)

// awsEnv lists every variable the SDK's default chain reads that could make
// a test reach a real endpoint or a developer's own credentials.
var awsEnv = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_ECR", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_STS_REGIONAL_ENDPOINTS",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
}

// isolate clears the AWS environment, points the shared files at nothing,
// disables IMDS and sends any unexpected AWS call to a closed loopback port,
// so that no test can reach AWS or read the developer's configuration.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", closedURL(t))
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
}

// staticCreds sets the environment credentials the loopback services know.
func staticCreds(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
}

// closedURL is an http URL on a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// sigv4 is a parsed SigV4 Authorization header.
type sigv4 struct {
	accessKey, date, region, service string
	signedHeaders                    []string
}

// verifySigV4 recomputes the SigV4 signature of a received request with the
// secret of its access key, using the SDK's signer over exactly the signed
// headers, and compares it with the Authorization header. It returns the
// parsed header.
func verifySigV4(r *http.Request, body []byte, secrets map[string]string) (sigv4, error) {
	var sig sigv4
	authz := r.Header.Get("Authorization")
	scheme, params, _ := strings.Cut(authz, " ")
	if scheme != "AWS4-HMAC-SHA256" {
		return sig, errors.New("not a SigV4 request")
	}
	for _, p := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sig, fmt.Errorf("malformed credential scope %q", v)
			}
			sig.accessKey, sig.date, sig.region, sig.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			sig.signedHeaders = strings.Split(v, ";")
		}
	}
	secret, ok := secrets[sig.accessKey]
	if !ok {
		return sig, fmt.Errorf("unknown access key %q", sig.accessKey)
	}
	signedAt, err := time.Parse(amzDate, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return sig, errors.New("bad X-Amz-Date")
	}
	if d := time.Since(signedAt); d > SignatureLifetime || d < -SignatureLifetime {
		return sig, errors.New("signature expired")
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	re, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	re.ContentLength = int64(len(body))
	for _, h := range sig.signedHeaders {
		if h == "host" || h == "content-length" {
			continue
		}
		vals := r.Header.Values(h)
		if len(vals) == 0 {
			return sig, fmt.Errorf("signed header %q is missing", h)
		}
		for _, v := range vals {
			re.Header.Add(h, v)
		}
	}
	creds := sdkaws.Credentials{AccessKeyID: sig.accessKey, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	hash := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(hash[:]), sig.service, sig.region, signedAt); err != nil {
		return sig, err
	}
	if got := re.Header.Get("Authorization"); got != authz {
		return sig, fmt.Errorf("signature mismatch:\n got  %s\n want %s", authz, got)
	}
	return sig, nil
}

// callerIdentity is the GetCallerIdentity result the loopback STS returns.
type callerIdentity struct {
	Arn     string `xml:"GetCallerIdentityResult>Arn"`
	UserID  string `xml:"GetCallerIdentityResult>UserId"`
	Account string `xml:"GetCallerIdentityResult>Account"`
}

// stsServer is a loopback AWS STS speaking the query protocol: it issues
// session credentials for AssumeRoleWithWebIdentity and answers
// GetCallerIdentity only for correctly signed requests that carry a signed
// X-Audience header.
type stsServer struct {
	*httptest.Server
	mu          sync.Mutex
	secrets     map[string]string // access key -> secret
	arns        map[string]string // access key -> ARN
	webIdentity string            // the OIDC token AssumeRoleWithWebIdentity accepts
	sessionLife time.Duration
	audiences   []string // X-Audience of accepted GetCallerIdentity calls
}

func newSTSServer(t *testing.T) *stsServer {
	t.Helper()
	s := &stsServer{
		secrets:     map[string]string{testAccessKey: testSecretKey},
		arns:        map[string]string{testAccessKey: "arn:aws:iam::" + testAccount + ":user/mirror"},
		sessionLife: time.Hour,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stsServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if r.Method != http.MethodPost || r.URL.Path != "/" || err != nil || form.Get("Version") != "2011-06-15" {
		stsError(w, http.StatusBadRequest, "InvalidAction", "not an STS query request")
		return
	}
	switch form.Get("Action") {
	case "AssumeRoleWithWebIdentity":
		s.assumeRole(w, form)
	case "GetCallerIdentity":
		s.mu.Lock()
		secrets := s.secrets
		s.mu.Unlock()
		sig, err := verifySigV4(r, body, secrets)
		if err != nil {
			stsError(w, http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
			return
		}
		if sig.service != "sts" {
			stsError(w, http.StatusForbidden, "SignatureDoesNotMatch", "credential scope is not sts")
			return
		}
		signed := strings.Join(sig.signedHeaders, ";")
		if !strings.Contains(";"+signed+";", ";x-audience;") {
			stsError(w, http.StatusForbidden, "AccessDenied", "x-audience is not signed")
			return
		}
		s.mu.Lock()
		arn := s.arns[sig.accessKey]
		s.audiences = append(s.audiences, r.Header.Get("X-Audience"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>%s</Arn>
    <UserId>%s</UserId>
    <Account>%s</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, arn, sig.accessKey, testAccount)
	default:
		stsError(w, http.StatusBadRequest, "InvalidAction", "unsupported action")
	}
}

// assumeRole issues session credentials for the configured web identity.
func (s *stsServer) assumeRole(w http.ResponseWriter, form url.Values) {
	if s.webIdentity == "" || form.Get("WebIdentityToken") != s.webIdentity {
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "the web identity token is not valid")
		return
	}
	key := "ASIA" + strings.ToUpper(hex.EncodeToString([]byte(form.Get("RoleSessionName"))))
	secret, token := "session-secret-"+key, "session-token-"+key
	exp := time.Now().Add(s.sessionLife).UTC()
	arn := "arn:aws:sts::" + testAccount + ":assumed-role/" + strings.TrimPrefix(form.Get("RoleArn"), "arn:aws:iam::"+testAccount+":role/") + "/" + form.Get("RoleSessionName")
	s.mu.Lock()
	s.secrets = cloneWith(s.secrets, key, secret)
	s.arns = cloneWith(s.arns, key, arn)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId></AssumedRoleUser>
    <SubjectFromWebIdentityToken>system:serviceaccount:flux-system:flux-mirror</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, key, secret, token, exp.Format(time.RFC3339), arn, form.Get("RoleSessionName"))
}

func cloneWith(m map[string]string, k, v string) map[string]string {
	c := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		c[mk] = mv
	}
	c[k] = v
	return c
}

func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`, code, b.String())
}

// replay is the registry's side of the "aws" token: parse the envelope,
// check aud and exp, rebuild the signed request and send it to the STS URL
// it names, then read the caller's identity.
func replay(ctx context.Context, token, wantAudience string) (callerIdentity, error) {
	env, err := ParseEnvelope(token)
	if err != nil {
		return callerIdentity{}, err
	}
	if env.Audience != wantAudience {
		return callerIdentity{}, fmt.Errorf("aud %q, want %q", env.Audience, wantAudience)
	}
	if time.Now().After(env.ExpiresAt()) {
		return callerIdentity{}, errors.New("expired")
	}
	req, err := env.Request(ctx)
	if err != nil {
		return callerIdentity{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return callerIdentity{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return callerIdentity{}, fmt.Errorf("STS answered %d: %s", resp.StatusCode, body)
	}
	var id callerIdentity
	if err := xml.Unmarshal(body, &id); err != nil {
		return callerIdentity{}, err
	}
	return id, nil
}

// checkError asserts that err is set, contains every want substring, wraps
// wantErr (when set) and contains none of the secrets.
func checkError(t *testing.T, err error, want []string, wantErr error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("error %v is not %v", err, wantErr)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}
