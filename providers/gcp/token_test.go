package gcp

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const audience = "registry.example.com"

func mint(t *testing.T, e env, aud string) (auth.Token, error) {
	t.Helper()
	f := tokenFactory(e)
	if f.Name != "gcp" || NewTokenFactory().Name != "gcp" {
		t.Fatalf("factory name = %q", f.Name)
	}
	ts, err := f.New(context.Background(), auth.Settings{UserAgent: "flux-mirror/test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ts.Token(ctx, aud)
}

// checkIDToken verifies the minted token with the test's Google key and
// checks its audience and that ExpiresAt is its exp.
func checkIDToken(t *testing.T, tok auth.Token, wantExp time.Time) {
	t.Helper()
	claims, err := verifyJWT(tok.Value, &googleKey.PublicKey)
	if err != nil {
		t.Fatalf("minted token: %v", err)
	}
	if claims["aud"] != audience {
		t.Errorf("aud = %v, want %s", claims["aud"], audience)
	}
	if !tok.ExpiresAt.Equal(wantExp) {
		t.Errorf("ExpiresAt = %v, want the token's exp %v", tok.ExpiresAt, wantExp)
	}
}

func TestTokenFromMetadataServer(t *testing.T) {
	e := isolate(t)
	m := newMetadataServer(t)
	tok, err := mint(t, e, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, tok, m.exp)
	if len(m.queries) != 1 || m.queries[0].Get("audience") != audience || m.queries[0].Get("format") != "full" {
		t.Errorf("metadata queries = %v", m.queries)
	}
}

func TestTokenFromServiceAccountKey(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
	tok, err := mint(t, e, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, tok, g.exp)
	if g.assertion["target_audience"] != audience {
		t.Errorf("assertion target_audience = %v", g.assertion["target_audience"])
	}
}

// TestTokenFromWellKnownFile checks gcloud's ADC file under CLOUDSDK_CONFIG.
func TestTokenFromWellKnownFile(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	dir := t.TempDir()
	copyFile(t, g.serviceAccountKeyFile(t), dir+"/application_default_credentials.json")
	t.Setenv(envCloudSDK, dir)
	tok, err := mint(t, e, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, tok, g.exp)
}

func TestTokenFromWorkloadIdentityFederation(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	t.Setenv(EnvCredentials, g.externalAccountFile(t, true))
	tok, err := mint(t, e, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, tok, g.exp)
	want := []string{"/v1/token", "/v1/projects/-/serviceAccounts/" + saEmail + ":generateIdToken"}
	if fmt.Sprint(g.requests) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v (the federated token calls generateIdToken directly)", g.requests, want)
	}
	if b := g.iamBodies[0]; b["audience"] != audience || b["includeEmail"] != true {
		t.Errorf("generateIdToken body = %v", b)
	}
}

func TestTokenFromImpersonatedServiceAccount(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	source := readFile(t, g.serviceAccountKeyFile(t))
	t.Setenv(EnvCredentials, writeJSON(t, "impersonated.json", map[string]any{
		"type":                              "impersonated_service_account",
		"service_account_impersonation_url": g.URL + "/v1/projects/-/serviceAccounts/" + saEmail + ":generateAccessToken",
		"delegates":                         []string{"hop@example-project.iam.gserviceaccount.com"},
		"source_credentials":                rawJSON(source),
	}))
	tok, err := mint(t, e, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, tok, g.exp)
	if b := g.iamBodies[0]; fmt.Sprint(b["delegates"]) != "[projects/-/serviceAccounts/hop@example-project.iam.gserviceaccount.com]" {
		t.Errorf("delegates = %v", b["delegates"])
	}
	if g.assertion["scope"] != cloudPlatform {
		t.Errorf("source credentials asserted scope %v", g.assertion["scope"])
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, g *googleServer)
		aud     string
		want    []string
		wantErr error
	}{
		{
			name:  "missing environment",
			setup: func(t *testing.T, g *googleServer) {},
			want:  []string{"gcp provider: no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS"},
		},
		{
			name:  "empty audience",
			setup: func(t *testing.T, g *googleServer) { newMetadataServer(t) },
			aud:   "-",
			want:  []string{"gcp provider: the audience is empty"},
		},
		{
			name:  "metadata server down",
			setup: func(t *testing.T, g *googleServer) { t.Setenv(EnvMetadataHost, closedAddr(t)) },
			want:  []string{"gcp provider: request an ID token from the metadata server"},
		},
		{
			name: "metadata server forbids",
			setup: func(t *testing.T, g *googleServer) {
				newMetadataServer(t).identity = func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "Caller is not authorized", http.StatusForbidden)
				}
			},
			want:    []string{"gcp provider: request an ID token from the metadata server: GET http://127.0.0.1:", "/computeMetadata/v1/instance/service-accounts/default/identity: 403 Forbidden"},
			wantErr: core.ErrDenied,
		},
		{
			name: "metadata server without service account",
			setup: func(t *testing.T, g *googleServer) {
				newMetadataServer(t).identity = func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
			},
			want:    []string{"404 Not Found", "is a service account attached"},
			wantErr: core.ErrNotFound,
		},
		{
			name: "metadata server malformed",
			setup: func(t *testing.T, g *googleServer) {
				newMetadataServer(t).identity = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>") }
			},
			want: []string{"gcp provider: the identity endpoint returned a malformed ID token: not a JWT"},
		},
		{
			name:  "credentials file missing",
			setup: func(t *testing.T, g *googleServer) { t.Setenv(EnvCredentials, "/nonexistent/key.json") },
			want:  []string{"gcp provider: read the credentials file /nonexistent/key.json (from GOOGLE_APPLICATION_CREDENTIALS): no such file"},
		},
		{
			name:  "credentials file not JSON",
			setup: func(t *testing.T, g *googleServer) { t.Setenv(EnvCredentials, writeRaw(t, "nope")) },
			want:  []string{"is not JSON"},
		},
		{
			name: "token endpoint forbids",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
				g.respond["/token"] = func(w http.ResponseWriter) { oauthError(w, http.StatusForbidden, "access_denied", "Account disabled") }
			},
			want:    []string{"gcp provider: request an ID token from the service account's token_uri: POST http://127.0.0.1:", "/token: 403 Forbidden: access_denied: Account disabled"},
			wantErr: core.ErrDenied,
		},
		{
			name: "token endpoint down",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
				g.Close()
			},
			want: []string{"gcp provider: request an ID token from the service account's token_uri: ", "connection refused"},
		},
		{
			name: "token endpoint malformed",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
				g.respond["/token"] = func(w http.ResponseWriter) { fmt.Fprint(w, `{"access_token":"x"}`) }
			},
			want: []string{"gcp provider: request an ID token from the service account's token_uri: "},
		},
		{
			name: "user credentials",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, writeJSON(t, "user.json", map[string]string{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}))
			},
			want: []string{"gcp provider: the user credentials in", "cannot mint ID tokens for an audience"},
		},
		{
			name:  "federation without impersonation",
			setup: func(t *testing.T, g *googleServer) { t.Setenv(EnvCredentials, g.externalAccountFile(t, false)) },
			want:  []string{"have no service_account_impersonation_url"},
		},
		{
			name: "generateIdToken forbidden",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.externalAccountFile(t, true))
				g.respond["/v1/projects/-/serviceAccounts/"+saEmail+":generateIdToken"] = func(w http.ResponseWriter) {
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource","status":"PERMISSION_DENIED"}}`)
				}
			},
			want:    []string{"IAM Credentials refused generateIdToken", "403 Forbidden: PERMISSION_DENIED: Permission 'iam.serviceAccounts.getOpenIdToken' denied"},
			wantErr: core.ErrDenied,
		},
		{
			name: "STS refuses the subject token",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.externalAccountFile(t, true))
				g.respond["/v1/token"] = func(w http.ResponseWriter) {
					oauthError(w, http.StatusBadRequest, "invalid_grant", "The audience in ID Token does not match")
				}
			},
			want: []string{"obtain the source access token for impersonating " + saEmail, "invalid_grant"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := isolate(t)
			g := newGoogleServer(t)
			tt.setup(t, g)
			aud := audience
			if tt.aud == "-" {
				aud = ""
			}
			_, err := mint(t, e, aud)
			t.Logf("error: %v", err)
			checkError(t, err, tt.want, tt.wantErr, secrets(g)...)
		})
	}
}

func TestGenerateIDTokenURL(t *testing.T) {
	got, account, err := generateIDTokenURL("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" + saEmail + ":generateAccessToken")
	if err != nil || got != "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"+saEmail+":generateIdToken" || account != saEmail {
		t.Errorf("got %q %q %v", got, account, err)
	}
	for _, bad := range []string{"", "ftp://x/y:generateAccessToken", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa"} {
		if _, _, err := generateIDTokenURL(bad); err == nil {
			t.Errorf("generateIDTokenURL(%q) accepted", bad)
		}
	}
}
