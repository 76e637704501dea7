package hostauth

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/config"
)

func TestValueSource(t *testing.T) {
	t.Parallel()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	jwtLike := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":`+itoa(exp.Unix())+`}`)) + ".sig"
	tests := []struct {
		name, user, value string
		wantExp           time.Time
	}{
		{"basic", "robot", "s3cr3t", time.Time{}},
		{"bearer JWT", "", jwtLike, exp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := NewSource(config.Host{Host: "r", Username: tt.user, Credential: &config.Credential{Value: tt.value}}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Credential(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.Username != tt.user || c.Secret != tt.value || !c.ExpiresAt.Equal(tt.wantExp) {
				t.Errorf("got %q/%v expires %v", c.Username, c.Bearer(), c.ExpiresAt)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFromPathRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "token", "  first-token\n")
	src, err := NewSource(config.Host{Host: "r", Username: "u", Credential: &config.Credential{FromPath: path}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.Credential(t.Context())
	if err != nil || c.Secret != "first-token" || c.Username != "u" {
		t.Fatalf("got %q, %v; want the trimmed first token", c.Secret, err)
	}
	writeFile(t, dir, "token", "second-token\r\n")
	c, err = src.Credential(t.Context())
	if err != nil || c.Secret != "second-token" {
		t.Fatalf("got %q, %v; want the rotated token", c.Secret, err)
	}
}

func TestFromPathErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		setup   func() string
		want    []string
		noLeaks string
	}{
		{"missing", func() string { return filepath.Join(dir, "missing") }, []string{"no such file"}, ""},
		{"empty", func() string { return writeFile(t, dir, "empty", " \n\t ") }, []string{"is empty"}, ""},
		{"directory", func() string { return dir }, []string{"directory"}, ""},
		{"too large", func() string {
			return writeFile(t, dir, "big", "LEAKME"+strings.Repeat("x", maxSecretFile))
		}, []string{"larger than"}, "LEAKME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.setup()
			src, err := NewSource(config.Host{Host: "r.example", Credential: &config.Credential{FromPath: path}}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Credential(t.Context())
			if err == nil {
				t.Fatal("want an error")
			}
			var he *HostError
			if !errors.As(err, &he) || he.Host != "r.example" {
				t.Errorf("error %v is not a HostError for r.example", err)
			}
			for _, w := range append(tt.want, "credential.fromPath", path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.noLeaks != "" && strings.Contains(err.Error(), tt.noLeaks) {
				t.Errorf("error %q leaks the file", err)
			}
		})
	}
}

func TestNoCredential(t *testing.T) {
	t.Parallel()
	src, err := NewSource(config.Host{Host: "r", TLS: &config.TLS{}}, Deps{})
	if src != nil || err != nil {
		t.Errorf("a TLS-only host has no source: got %v, %v", src, err)
	}
	_, err = NewSource(config.Host{Host: "r", Provider: "ecr", Credential: &config.Credential{Value: "v"}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("credential with provider: %v", err)
	}
}

func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return "h." + base64.RawURLEncoding.EncodeToString([]byte(s)) + ".s" }
	tests := []struct {
		token string
		want  time.Time
	}{
		{enc(`{"exp":1700000000}`), time.Unix(1700000000, 0).UTC()},
		{enc(`{"exp":1700000000.5}`), time.Unix(1700000000, 5e8).UTC()},
		{enc(`{"exp":"soon"}`), time.Time{}},
		{enc(`{"exp":-5}`), time.Time{}},
		{enc(`{"exp":1e300}`), time.Time{}},
		{enc(`{}`), time.Time{}},
		{"not-a-jwt", time.Time{}},
		{"a.!!!.c", time.Time{}},
	}
	for _, tt := range tests {
		if got := jwtExpiry(tt.token); !got.Equal(tt.want) {
			t.Errorf("jwtExpiry(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

func FuzzJWTExpiry(f *testing.F) {
	f.Add("a.eyJleHAiOjE3MDAwMDAwMDB9.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		got := jwtExpiry(s)
		if !got.IsZero() && got.Before(time.Unix(0, 0)) {
			t.Fatalf("negative expiry %v", got)
		}
	})
}
