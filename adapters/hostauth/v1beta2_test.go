package hostauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

// TestV1Beta2Credentials checks what v1beta2 adds to a credential source:
// several audiences in one signed JWT, the envelope applied to whatever the
// source resolved, and a provider refused more than one audience.
func TestV1Beta2Credentials(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	jwk := jwkJSON(t, key, "k1", "", true)

	src, err := NewSource(config.Host{Host: "r.example", Credential: &config.Credential{
		JWKValue: jwk, Iss: "i", Sub: "s", Audiences: []string{"a1", "a2"}, Envelope: "jwt-{{ .Token }}",
	}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, ok := strings.CutPrefix(c.Secret, "jwt-")
	if !ok {
		t.Fatalf("the envelope was not applied: secret does not start with jwt-")
	}
	_, claims := verifyJWT(t, tok, key.Public())
	if !reflect.DeepEqual([]string(claims.Audience), []string{"a1", "a2"}) {
		t.Errorf("aud = %v, want [a1 a2]", claims.Audience)
	}

	src, err = NewSource(config.Host{Host: "r.example", Username: "u", Credential: &config.Credential{Value: "tok", Envelope: "{{ hex .Token }}"}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := src.Credential(t.Context()); err != nil || c.Secret != hex.EncodeToString([]byte("tok")) || c.Username != "u" {
		t.Errorf("static value with envelope: %v, %v", c, err)
	}

	_, err = NewSource(config.Host{Host: "r.example", Credential: &config.Credential{Value: "tok", Envelope: "{{ .Nope }}"}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "credential.envelope: cannot be executed") {
		t.Errorf("bad envelope: %v", err)
	}
	_, err = NewSource(config.Host{Host: "r.example", Credential: &config.Credential{Provider: "github", Audiences: []string{"a", "b"}}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), `credential.audiences: provider "github" mints a token for one audience here`) {
		t.Errorf("provider with two audiences: %v", err)
	}
}
