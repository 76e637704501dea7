package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, token, want string
		wantErr                 string
	}{
		{name: "identity", text: "{{.Token}}", token: "abc", want: "abc"},
		{name: "hex with prefix", text: "token-{{ hex .Token }}", token: "ab", want: "token-6162"},
		{name: "base64", text: "Bearer {{ base64 .Token }}", token: "a:b", want: "Bearer YTpi"},
		{name: "nested", text: "{{ .Token | hex | base64 }}", token: "a", want: "NjE="},
		{name: "syntax error", text: "{{ .Token", wantErr: "is not a valid Go template"},
		{name: "unknown function", text: "{{ sha .Token }}", wantErr: "is not a valid Go template"},
		{name: "unknown field", text: "{{ .Secret }}", wantErr: "cannot be executed"},
		{name: "empty result", text: "{{/* nothing */}}", wantErr: "produces an empty token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := ParseEnvelope(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEnvelope(%q) = %v, want an error containing %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Apply(tt.token)
			if err != nil || got != tt.want {
				t.Fatalf("Apply(%q) = %q, %v; want %q", tt.token, got, err, tt.want)
			}
		})
	}
}

func TestWithEnvelope(t *testing.T) {
	t.Parallel()
	e, err := ParseEnvelope("x-{{ .Token }}")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	src := SourceFunc(func(context.Context) (Credential, error) {
		n++
		return Credential{Username: "u", Secret: strings.Repeat("t", n)}, nil
	})
	s := WithEnvelope(src, e)
	for i, want := range []string{"x-t", "x-tt"} { // enveloped afresh on every resolution
		c, err := s.Credential(context.Background())
		if err != nil || c.Secret != want || c.Username != "u" {
			t.Fatalf("resolution %d: %v, %v; want secret %q", i, c, err, want)
		}
	}
	boom := errors.New("mint failed")
	if _, err := WithEnvelope(SourceFunc(func(context.Context) (Credential, error) { return Credential{}, boom }), e).Credential(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("source error: got %v", err)
	}
	if WithEnvelope(src, nil) == nil {
		t.Fatal("a nil envelope must keep the source")
	}
}
