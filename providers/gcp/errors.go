package gcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	gauth "cloud.google.com/go/auth"
	"cloud.google.com/go/compute/metadata"

	"github.com/fluxcd/flux-mirror/core"
)

// identityError turns an SDK failure that carries an HTTP status into a
// *core.HTTPError, so callers classify it with errors.Is (core.ErrDenied
// for 403). Response bodies are reduced to their OAuth2 or Google error
// code and message, never quoted whole. metadataPath names the metadata
// server endpoint for a *metadata.Error.
func identityError(err error, metadataPath string) error {
	var nd metadata.NotDefinedError
	if errors.As(err, &nd) {
		return fmt.Errorf("%w (is a service account attached to the instance, or Workload Identity enabled for the GKE node pool and the Kubernetes service account?)",
			&core.HTTPError{Method: http.MethodGet, URL: metadataURL(metadataPath), StatusCode: http.StatusNotFound})
	}
	var me *metadata.Error
	if errors.As(err, &me) {
		herr := &core.HTTPError{Method: http.MethodGet, URL: metadataURL(metadataPath), StatusCode: me.Code}
		herr.Message = firstLine(me.Message)
		return herr
	}
	var ae *gauth.Error
	if errors.As(err, &ae) && ae.Response != nil {
		herr := &core.HTTPError{StatusCode: ae.Response.StatusCode}
		if r := ae.Response.Request; r != nil {
			herr.Method, herr.URL = r.Method, redactURL(r.URL.String())
		}
		herr.Code, herr.Message = errorFields(ae.Body)
		return herr
	}
	return err
}

// errorFields extracts the error code and message of an OAuth2
// ({"error": "...", "error_description": "..."}) or Google API
// ({"error": {"status": "...", "message": "..."}}) error body.
func errorFields(body []byte) (code, msg string) {
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oauth) == nil && oauth.Error != "" {
		return oauth.Error, firstLine(oauth.Description)
	}
	var google struct {
		Error struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &google) == nil {
		return google.Error.Status, firstLine(google.Error.Message)
	}
	return "", ""
}

// firstLine trims s to its first line and at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// metadataURL is the metadata server URL of path, as the metadata package
// builds it.
func metadataURL(path string) string {
	host := os.Getenv(EnvMetadataHost)
	if host == "" {
		host = "169.254.169.254"
	}
	return "http://" + host + "/computeMetadata/v1/" + path
}

// redactURL drops userinfo and the query.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
