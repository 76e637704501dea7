package aws

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// validEnvelope is a well-formed envelope as the provider produces it.
func validEnvelope() *Envelope {
	return &Envelope{
		Audience: "registry.example.com",
		IssuedAt: 1700000000,
		Expiry:   1700000900,
		Method:   "POST",
		URL:      "https://sts.us-east-1.amazonaws.com/",
		Headers: map[string]string{
			"Authorization":        "AWS4-HMAC-SHA256 Credential=ASIA/20231114/us-east-1/sts/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-audience, Signature=abc",
			"Content-Type":         "application/x-www-form-urlencoded",
			"X-Amz-Date":           "20231114T221320Z",
			"X-Amz-Security-Token": "session",
			"X-Audience":           "registry.example.com",
		},
		Body: GetCallerIdentityBody,
	}
}

func encodeRaw(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "."
}

func TestParseEnvelope(t *testing.T) {
	tok, err := validEnvelope().encode()
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(tok)
	if err != nil {
		t.Fatalf("valid envelope: %v", err)
	}
	req, err := env.Request(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.Method != "POST" || req.URL.String() != env.URL || string(body) != GetCallerIdentityBody ||
		req.Header.Get("X-Audience") != env.Audience || req.ContentLength != int64(len(GetCallerIdentityBody)) {
		t.Errorf("replayed request = %s %s %q %v", req.Method, req.URL, body, req.Header)
	}

	mutate := func(f func(e *Envelope)) string {
		e := validEnvelope()
		f(e)
		s, err := e.encode()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct{ name, token, want string }{
		{"two segments", "a.b", "three dot-separated segments"},
		{"signature present", tok + "c2ln", "signature segment must be empty"},
		{"header not base64", "!!." + strings.SplitN(tok, ".", 2)[1], "header is not base64url"},
		{"header not JSON", encodeRaw("nope", "{}"), "header is not JSON"},
		{"wrong typ", encodeRaw(`{"alg":"none","typ":"JWT"}`, "{}"), `typ "aws-sigv4-getcalleridentity"`},
		{"signed alg", encodeRaw(`{"alg":"RS256","typ":"aws-sigv4-getcalleridentity"}`, "{}"), `alg "none"`},
		{"payload not JSON", encodeRaw(string(envelopeHeader), "[1]"), "payload is not a JSON object"},
		{"no aud", mutate(func(e *Envelope) { e.Audience = "" }), "aud is empty"},
		{"exp before iat", mutate(func(e *Envelope) { e.Expiry = e.IssuedAt - 1 }), "exp not before iat"},
		{"GET", mutate(func(e *Envelope) { e.Method = "GET" }), "method must be POST"},
		{"file URL", mutate(func(e *Envelope) { e.URL = "file:///etc/passwd" }), "absolute http(s) URL"},
		{"userinfo URL", mutate(func(e *Envelope) { e.URL = "https://u:p@sts.amazonaws.com/" }), "without userinfo"},
		{"other action", mutate(func(e *Envelope) { e.Body = "Action=AssumeRole&Version=2011-06-15" }), "body must be"},
		{"no signature", mutate(func(e *Envelope) { delete(e.Headers, "Authorization") }), "Authorization is missing"},
		{"no date", mutate(func(e *Envelope) { delete(e.Headers, "X-Amz-Date") }), "X-Amz-Date is missing"},
		{"aud header differs", mutate(func(e *Envelope) { e.Headers["X-Audience"] = "other" }), "differs from aud"},
		{"host header", mutate(func(e *Envelope) { e.Headers["Host"] = "evil" }), "Host must not be set"},
		{"duplicate header", mutate(func(e *Envelope) { e.Headers["x-audience"] = "registry.example.com" }), "given twice"},
		{"header injection", mutate(func(e *Envelope) { e.Headers["Content-Type"] = "a\r\nX-Evil: 1" }), "line break"},
		{"not sigv4", mutate(func(e *Envelope) { e.Headers["Authorization"] = "Bearer x" }), "not an AWS4-HMAC-SHA256"},
		{"audience unsigned", mutate(func(e *Envelope) {
			e.Headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=A/20231114/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=abc"
		}), "x-audience is not among the signed headers"},
		{"token unsigned", mutate(func(e *Envelope) {
			e.Headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=A/20231114/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-audience, Signature=abc"
		}), "x-amz-security-token is not among"},
		{"too large", strings.Repeat("a", maxEnvelope+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope(tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "aws envelope: ") {
				t.Errorf("error %q does not name the envelope", err)
			}
		})
	}
}

func TestIsSTSEndpoint(t *testing.T) {
	tests := map[string]bool{
		"https://sts.amazonaws.com/":                     true,
		"https://sts.amazonaws.com":                      true,
		"https://sts.eu-west-1.amazonaws.com/":           true,
		"https://sts-fips.us-east-1.amazonaws.com/":      true,
		"https://sts.cn-north-1.amazonaws.com.cn/":       true,
		"https://sts.us-gov-west-1.amazonaws.com/":       true,
		"https://sts.eu-west-1.api.aws/":                 true,
		"http://sts.amazonaws.com/":                      false,
		"https://sts.amazonaws.com:8443/":                false,
		"https://sts.amazonaws.com.evil.example/":        false,
		"https://evil.example/sts.amazonaws.com":         false,
		"https://sts.amazonaws.com/?Action=AssumeRole":   false,
		"https://user@sts.amazonaws.com/":                false,
		"https://sts.eu-west-1.amazonaws.com/other/path": false,
		"https://xsts.amazonaws.com/":                    false,
		"https://127.0.0.1/":                             false,
		"::":                                             false,
	}
	for u, want := range tests {
		if got := IsSTSEndpoint(u); got != want {
			t.Errorf("IsSTSEndpoint(%q) = %v, want %v", u, got, want)
		}
	}
}

func FuzzParseEnvelope(f *testing.F) {
	tok, _ := validEnvelope().encode()
	f.Add(tok)
	f.Add("a.b.")
	f.Add(encodeRaw(string(envelopeHeader), `{"aud":"x","headers":{"X-Audience":"x"}}`))
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnvelope(s)
		if err != nil {
			return
		}
		// Whatever parses must be a replayable, header-safe POST.
		if env.Method != "POST" || env.Body != GetCallerIdentityBody || env.Headers["X-Audience"] != env.Audience {
			t.Fatalf("accepted an invalid envelope: %+v", env)
		}
		if _, err := env.Request(context.Background()); err != nil {
			t.Fatalf("parsed envelope does not rebuild: %v", err)
		}
		again, err := env.encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseEnvelope(again); err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v", err)
		}
	})
}
