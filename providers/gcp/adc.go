package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"

	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/compute/metadata"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// The environment variables ADC reads.
const (
	EnvCredentials  = "GOOGLE_APPLICATION_CREDENTIALS"
	EnvMetadataHost = "GCE_METADATA_HOST"
	envCloudSDK     = "CLOUDSDK_CONFIG"
)

// maxCredentialsFile bounds a credentials file.
const maxCredentialsFile = 1 << 20

// env abstracts the process environment and the metadata probe, so that
// tests never probe the real metadata address.
type env struct {
	lookup func(string) (string, bool)
	onGCE  func(ctx context.Context) bool
}

// osEnv is the real environment.
var osEnv = env{lookup: os.LookupEnv, onGCE: onGCE}

// onGCE trusts GCE_METADATA_HOST, and otherwise probes the metadata server
// (the probe's answer is memoized by the metadata package).
func onGCE(ctx context.Context) bool {
	if h, ok := os.LookupEnv(EnvMetadataHost); ok && h != "" {
		return true
	}
	return metadata.OnGCEWithContext(ctx)
}

// adc is the resolved Application Default Credentials source: a credentials
// file, or the metadata server when file is empty.
type adc struct {
	file     string // where the JSON came from
	json     []byte
	credType credentials.CredType
}

// metadataServer reports whether the source is the metadata server.
func (a adc) metadataServer() bool { return a.file == "" }

// findADC resolves ADC in Google's order: GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's well-known file, then the metadata server.
func findADC(ctx context.Context, name string, e env) (adc, error) {
	if p, ok := e.lookup(EnvCredentials); ok && p != "" {
		return readCredentialsFile(name, p, EnvCredentials)
	}
	if p := wellKnownFile(e); p != "" {
		if _, err := os.Stat(p); err == nil {
			return readCredentialsFile(name, p, "gcloud's application default credentials")
		}
	}
	if e.onGCE(ctx) {
		return adc{}, nil
	}
	return adc{}, fmt.Errorf("%s provider: no Google credentials found: set %s to a service account key or workload identity federation "+
		"config, run `gcloud auth application-default login`, or run on GCE/GKE (or set %s to the metadata server's host:port)",
		name, EnvCredentials, EnvMetadataHost)
}

// wellKnownFile is gcloud's application_default_credentials.json path.
func wellKnownFile(e env) string {
	if dir, ok := e.lookup(envCloudSDK); ok && dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	if runtime.GOOS == "windows" {
		if dir, ok := e.lookup("APPDATA"); ok && dir != "" {
			return filepath.Join(dir, "gcloud", "application_default_credentials.json")
		}
		return ""
	}
	if home, ok := e.lookup("HOME"); ok && home != "" {
		return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
	}
	return ""
}

// readCredentialsFile reads a credentials JSON file and its type. Errors
// name the file, never its content.
func readCredentialsFile(name, path, origin string) (adc, error) {
	f, err := os.Open(path)
	if err != nil {
		return adc{}, fmt.Errorf("%s provider: read the credentials file %s (from %s): %w", name, path, origin, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialsFile))
	if err != nil {
		return adc{}, fmt.Errorf("%s provider: read the credentials file %s: %w", name, path, err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return adc{}, fmt.Errorf("%s provider: the credentials file %s (from %s) is not JSON", name, path, origin)
	}
	if head.Type == "" {
		return adc{}, fmt.Errorf("%s provider: the credentials file %s has no \"type\"", name, path)
	}
	return adc{file: path, json: b, credType: credentials.CredType(head.Type)}, nil
}

// httpClient returns the client for identity endpoints: Settings.HTTPClient
// (or a default one), with the User-Agent set.
func httpClient(s auth.Settings) *http.Client {
	base := s.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	if s.UserAgent == "" {
		return base
	}
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = userAgent{ua: s.UserAgent, next: rt}
	return &c
}

// userAgent sets the User-Agent header.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// logger returns s's logger, or one that discards.
func logger(s auth.Settings) *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
