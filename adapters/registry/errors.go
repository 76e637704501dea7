package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// safeQueryKeys are query parameters that carry no secrets; the values of
// all others (upload state, pre-signed storage signatures) are redacted.
var safeQueryKeys = []string{"n", "last", "digest", "mount", "from", "service", "scope", "artifactType"}

// redactURL returns u for messages: core.RedactedURL keeping the values of
// the registry API's own query parameters.
func redactURL(u *url.URL) string { return core.RedactedURL(u, safeQueryKeys...) }

// responseError turns an unexpected response into a *core.HTTPError and
// closes its body.
func responseError(resp *http.Response) *core.HTTPError {
	defer resp.Body.Close()
	e := &core.HTTPError{
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		e.URL = redactURL(resp.Request.URL)
	}
	if resp.Request == nil || resp.Request.Method != http.MethodHead {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e.Code, e.Message = parseErrorBody(body)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return e
}

// parseErrorBody extracts the distribution-spec error codes and messages.
func parseErrorBody(body []byte) (code, message string) {
	var doc struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", ""
	}
	var codes, msgs []string
	for _, e := range doc.Errors {
		if e.Code != "" {
			codes = append(codes, e.Code)
		}
		if e.Message != "" {
			msgs = append(msgs, e.Message)
		}
	}
	return strings.Join(codes, ", "), strings.Join(msgs, "; ")
}

// parseRetryAfter parses a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// requestError describes a failed exchange that produced no response. A
// *transport.Error from go-containerregistry's authentication becomes a
// *core.HTTPError.
func requestError(method string, u *url.URL, err error) error {
	return translate(method, u, err)
}

// translate converts go-containerregistry's *transport.Error into a
// *core.HTTPError, and names the request of other errors without the
// secrets a *url.Error would print.
func translate(method string, u *url.URL, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		e := &core.HTTPError{Method: method, URL: redactURL(u), StatusCode: te.StatusCode}
		if te.Request != nil {
			e.Method, e.URL = te.Request.Method, redactURL(te.Request.URL)
		}
		var codes, msgs []string
		for _, d := range te.Errors {
			codes = append(codes, string(d.Code))
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			}
		}
		e.Code, e.Message = strings.Join(codes, ", "), strings.Join(msgs, "; ")
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u == nil {
			if pu, perr := url.Parse(ue.URL); perr == nil {
				u = pu
			}
		}
		err = ue.Err
	}
	if u == nil {
		return err
	}
	return fmt.Errorf("%s %s: %w", method, redactURL(u), err)
}

// wrap adds the operation and target to err, and for 401 and 403 a hint
// naming the host and where its credentials come from.
func (h *hostState) wrap(op, target string, err error) error {
	var (
		refused *WriteRefusedError
		hinted  *hintError
	)
	switch {
	case errors.As(err, &refused), errors.As(err, &hinted):
		// It says what to check already.
	case errors.Is(err, core.ErrUnauthorized):
		return fmt.Errorf("%s %s: %w (registry %s did not accept the credentials sent, if any: check its hosts[] entry in the config, or run `docker login %s`)",
			op, target, err, h.name, h.name)
	case errors.Is(err, core.ErrDenied):
		return fmt.Errorf("%s %s: %w (the credentials used for registry %s lack permission for this repository: check its hosts[] entry or the Docker config)",
			op, target, err, h.name)
	}
	return fmt.Errorf("%s %s: %w", op, target, err)
}

// invalid reports bad input, which no retry can fix.
func invalid(format string, args ...any) error {
	return retry.Permanent(fmt.Errorf(format, args...))
}

// WriteRefusedError reports a destination registry that answers a write
// (blob upload, manifest PUT) with 403 or 405: it is read-only, a
// pull-through cache, or the credentials may not push. It unwraps to the
// *core.HTTPError and to core.ErrDenied; no retry changes the answer.
type WriteRefusedError struct {
	// Host is the registry as written in the repository.
	Host string
	// Repo is the repository path on the registry.
	Repo string
	// Operation is the refused write, e.g. "blob upload".
	Operation string
	// Err is the registry's answer.
	Err *core.HTTPError
}

// Error names the registry, the answer and what to check.
func (e *WriteRefusedError) Error() string {
	return fmt.Sprintf("destination registry %s refuses writes (HTTP %d on %s to repo %s): check the registry is not read-only or a pull-through cache and that the credentials may push: %v",
		e.Host, e.Err.StatusCode, e.Operation, e.Repo, e.Err)
}

// Unwrap returns the registry's answer and core.ErrDenied.
func (e *WriteRefusedError) Unwrap() []error { return []error{e.Err, core.ErrDenied} }

// writeError turns an unexpected answer to a write request into an error:
// a *WriteRefusedError for 403 and 405, else the *core.HTTPError.
func (h *hostState) writeError(operation string, repo oci.Repository, resp *http.Response) error {
	he := responseError(resp)
	if he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusMethodNotAllowed {
		return &WriteRefusedError{Host: h.name, Repo: repo.Path, Operation: operation, Err: he}
	}
	return he
}
