package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const (
	ecrPassword = "ecr-registry-password-secret"
	ecrTarget   = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
)

// ecrServer is a loopback Amazon ECR API speaking the JSON 1.1 protocol. It
// checks the SigV4 signature with the test's secret and answers
// GetAuthorizationToken with respond, or with a valid token by default.
type ecrServer struct {
	*httptest.Server
	mu      sync.Mutex
	region  string // the credential scope region of the last request
	respond func(w http.ResponseWriter)
}

func newECRServer(t *testing.T, respond func(w http.ResponseWriter)) *ecrServer {
	t.Helper()
	s := &ecrServer{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != ecrTarget || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			ecrError(w, http.StatusBadRequest, "UnknownOperationException", "not GetAuthorizationToken")
			return
		}
		sig, err := verifySigV4(r, body, map[string]string{testAccessKey: testSecretKey})
		if err != nil || sig.service != "ecr" {
			ecrError(w, http.StatusForbidden, "InvalidSignatureException", fmt.Sprint(err))
			return
		}
		s.mu.Lock()
		s.region = sig.region
		s.mu.Unlock()
		if s.respond != nil {
			s.respond(w)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d.123,"proxyEndpoint":"https://%s.dkr.ecr.%s.amazonaws.com"}]}`,
			base64.StdEncoding.EncodeToString([]byte("AWS:"+ecrPassword)), ecrExpiry.Unix(), testAccount, sig.region)
	}))
	t.Cleanup(s.Close)
	return s
}

var ecrExpiry = time.Now().Add(12 * time.Hour).Truncate(time.Second)

func ecrError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func ecrCredential(t *testing.T, host string, s auth.Settings) (auth.Credential, error) {
	t.Helper()
	f := NewRegistryFactory()
	if f.Name != "ecr" {
		t.Fatalf("factory name = %q", f.Name)
	}
	src, err := f.New(context.Background(), host, s)
	if err != nil {
		return auth.Credential{}, err
	}
	return src.Credential(context.Background())
}

func TestECRCredential(t *testing.T) {
	isolate(t)
	staticCreds(t)
	srv := newECRServer(t, nil)
	t.Setenv("AWS_ENDPOINT_URL_ECR", srv.URL)
	c, err := ecrCredential(t, testAccount+".dkr.ecr.eu-central-1.amazonaws.com", auth.Settings{UserAgent: "flux-mirror/test"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "AWS" || c.Secret != ecrPassword {
		t.Errorf("credential = %s / %q", c, c.Secret)
	}
	if !c.ExpiresAt.Truncate(time.Second).Equal(ecrExpiry) {
		t.Errorf("ExpiresAt = %v, want %v", c.ExpiresAt, ecrExpiry)
	}
	if srv.region != "eu-central-1" {
		t.Errorf("signed for region %q, want the host's eu-central-1", srv.region)
	}
}

// reroute sends every request to a loopback server, keeping the Host the
// SDK resolved (and signed), and records that host.
type reroute struct {
	target *url.URL
	mu     sync.Mutex
	hosts  []string
}

func (rr *reroute) RoundTrip(r *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	rr.hosts = append(rr.hosts, r.URL.Host)
	rr.mu.Unlock()
	c := r.Clone(r.Context())
	c.Host = r.URL.Host
	c.URL.Scheme, c.URL.Host = rr.target.Scheme, rr.target.Host
	return http.DefaultTransport.RoundTrip(c)
}

// TestECREndpointFromHost checks which ECR API endpoint the SDK resolves
// for each host form, by rerouting the real request to the loopback ECR.
func TestECREndpointFromHost(t *testing.T) {
	tests := []struct{ host, wantAPI, wantRegion string }{
		{testAccount + ".dkr.ecr.us-west-2.amazonaws.com", "api.ecr.us-west-2.amazonaws.com", "us-west-2"},
		{testAccount + ".dkr.ecr-fips.us-east-1.amazonaws.com", "api.ecr-fips.us-east-1.amazonaws.com", "us-east-1"},
		{testAccount + ".dkr.ecr.cn-north-1.amazonaws.com.cn", "api.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"},
		{testAccount + ".dkr-ecr.eu-west-1.on.aws", "api.ecr.eu-west-1.amazonaws.com", "eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			isolate(t)
			os.Unsetenv("AWS_ENDPOINT_URL") // the rerouting transport keeps the request on loopback
			staticCreds(t)
			srv := newECRServer(t, nil)
			target, _ := url.Parse(srv.URL)
			rr := &reroute{target: target}
			c, err := ecrCredential(t, tt.host, auth.Settings{HTTPClient: &http.Client{Transport: rr}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Secret != ecrPassword {
				t.Errorf("secret = %q", c.Secret)
			}
			if len(rr.hosts) != 1 || rr.hosts[0] != tt.wantAPI {
				t.Errorf("ECR API hosts = %v, want [%s]", rr.hosts, tt.wantAPI)
			}
			if srv.region != tt.wantRegion {
				t.Errorf("signing region = %q, want %q", srv.region, tt.wantRegion)
			}
		})
	}
}

func TestECRErrors(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		noCreds bool
		down    bool
		respond func(w http.ResponseWriter)
		want    []string
		wantErr error
	}{
		{
			name: "not an ECR host",
			host: "registry.example.com",
			want: []string{`ecr provider: "registry.example.com" is not an Amazon ECR registry host`},
		},
		{
			name: "ECR Public",
			host: "public.ecr.aws",
			want: []string{"ECR Public"},
		},
		{
			name:    "missing environment",
			noCreds: true,
			want:    []string{"ecr provider: no AWS credentials found"},
		},
		{
			name: "endpoint down",
			down: true,
			want: []string{"ecr provider: GetAuthorizationToken in eu-central-1 for " + testAccount + ".dkr.ecr.eu-central-1.amazonaws.com"},
		},
		{
			name: "access denied",
			respond: func(w http.ResponseWriter) {
				ecrError(w, http.StatusForbidden, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/mirror is not authorized to perform: ecr:GetAuthorizationToken")
			},
			want:    []string{"ecr provider: GetAuthorizationToken", "403 Forbidden: AccessDeniedException: User: arn:aws:iam::123456789012:user/mirror is not authorized"},
			wantErr: core.ErrDenied,
		},
		{
			name:    "malformed JSON",
			respond: func(w http.ResponseWriter) { w.Write([]byte(`<html>`)) },
			want:    []string{"ecr provider: GetAuthorizationToken"},
		},
		{
			name:    "no authorization data",
			respond: func(w http.ResponseWriter) { w.Write([]byte(`{"authorizationData":[]}`)) },
			want:    []string{"returned no authorization data"},
		},
		{
			name: "token not base64",
			respond: func(w http.ResponseWriter) {
				fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":"AWS:%s!","expiresAt":1}]}`, ecrPassword)
			},
			want: []string{"returned a malformed token: authorizationToken is not base64"},
		},
		{
			name: "token without password",
			respond: func(w http.ResponseWriter) {
				fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q}]}`, base64.StdEncoding.EncodeToString([]byte(ecrPassword)))
			},
			want: []string{"authorizationToken is not <user>:<password>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			if !tt.noCreds {
				staticCreds(t)
			}
			if tt.down {
				t.Setenv("AWS_ENDPOINT_URL_ECR", closedURL(t))
			} else {
				t.Setenv("AWS_ENDPOINT_URL_ECR", newECRServer(t, tt.respond).URL)
			}
			host := tt.host
			if host == "" {
				host = testAccount + ".dkr.ecr.eu-central-1.amazonaws.com"
			}
			_, err := ecrCredential(t, host, auth.Settings{})
			checkError(t, err, tt.want, tt.wantErr, testSecretKey, ecrPassword)
		})
	}
}

func TestParseRegistryHost(t *testing.T) {
	tests := []struct {
		host string
		want Registry
		err  string
	}{
		{host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", want: Registry{"123456789012", "us-east-1", false}},
		{host: "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", want: Registry{"123456789012", "us-gov-west-1", true}},
		{host: "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn", want: Registry{"123456789012", "cn-northwest-1", false}},
		{host: "123456789012.dkr-ecr.eu-west-1.on.aws", want: Registry{"123456789012", "eu-west-1", false}},
		{host: "123456789012.dkr-ecr-fips.us-east-2.on.aws", want: Registry{"123456789012", "us-east-2", true}},
		{host: "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", want: Registry{"123456789012", "us-iso-east-1", false}},
		{host: "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", want: Registry{"123456789012", "us-east-1", false}},
		{host: "public.ecr.aws", err: "ECR Public"},
		{host: "123456789012.dkr.ecr.us-east-1.amazonaws.com:443", err: "is not an Amazon ECR registry host"},
		{host: "12345.dkr.ecr.us-east-1.amazonaws.com", err: "is not an Amazon ECR registry host"},
		{host: "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", err: "is not an Amazon ECR registry host"},
		{host: "ghcr.io", err: "is not an Amazon ECR registry host"},
		{host: "", err: "is not an Amazon ECR registry host"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, err := ParseRegistryHost(tt.host)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseRegistryHost(f *testing.F) {
	f.Add("123456789012.dkr.ecr.us-east-1.amazonaws.com")
	f.Add("123456789012.dkr-ecr-fips.us-east-2.on.aws")
	f.Add("public.ecr.aws")
	f.Fuzz(func(t *testing.T, host string) {
		reg, err := ParseRegistryHost(host)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ecr provider: ") {
				t.Fatalf("error does not name the provider: %v", err)
			}
			return
		}
		if len(reg.Account) != 12 || reg.Region == "" || strings.ContainsAny(reg.Region, "./:") {
			t.Fatalf("parsed %q into %+v", host, reg)
		}
	})
}
