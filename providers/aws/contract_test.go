package aws

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
)

// TestTokenProviderContract runs the token provider contract with
// short-lived container credentials from a loopback credentials endpoint
// (the identity server the contract refuses and holds) and a loopback STS
// that verifies the signed GetCallerIdentity the token carries.
func TestTokenProviderContract(t *testing.T) {
	const authToken = "container-authorization-secret"
	authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
		isolate(t)
		srv := newSTSServer(t)
		srv.secrets = cloneWith(srv.secrets, "ASIACONTAINER", "container-secret")
		srv.arns = cloneWith(srv.arns, "ASIACONTAINER", "arn:aws:sts::"+testAccount+":assumed-role/task/abc")
		t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
		gate := &authtest.Gate{}
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", authToken)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", containerCreds(t, gate.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != authToken {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{
				"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret",
				"Token": "container-session", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
		})).ServeHTTP))
		return authtest.Harness{
			Provider: NewTokenFactory(),
			Name:     TokenProviderName,
			Settings: auth.Settings{UserAgent: "flux-mirror/test"},
			Audience: audience,
			Check: func(tok auth.Token, aud string) error {
				_, err := replay(context.Background(), tok.Value, aud)
				return err
			},
			Secrets: []string{testSecretKey, "container-secret", "container-session", authToken},
			Fail:    func() { gate.Fail(http.StatusForbidden) },
			Hang:    func() <-chan struct{} { return gate.Hang(t) },
		}
	})
}
