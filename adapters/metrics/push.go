package metrics

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// DefaultJob is the Pushgateway job label of flux-mirror's metrics.
const DefaultJob = "flux-mirror"

// maxErrorBody bounds how much of a refusing Pushgateway's answer an error
// quotes.
const maxErrorBody = 512

// Push sends the run's metrics to the Pushgateway at gatewayURL under job
// and the grouping labels, in the text format 0.0.4. It uses POST, which
// replaces only the metric families it carries, so a failed run (which
// carries no last-success metric) leaves the last success of an earlier
// run in place. Grouping label names match [a-zA-Z_][a-zA-Z0-9_]* and must
// not be labels of the metrics. client may be nil for http.DefaultClient.
func Push(ctx context.Context, gatewayURL, job string, grouping map[string]string, run Run, client *http.Client) error {
	u, err := url.Parse(gatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("pushgateway URL %q: it must be an absolute http:// or https:// URL", core.RedactURL(gatewayURL))
	}
	if u.User != nil {
		return fmt.Errorf("pushgateway URL %s: put no credentials in the URL", u.Redacted())
	}
	fams, err := families(run, time.Time{})
	if err != nil {
		return err
	}
	if err := checkGrouping(job, grouping, fams); err != nil {
		return fmt.Errorf("push metrics to %s: %w", u.Redacted(), err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	// u has no user information, so its string is already redacted.
	target := strings.TrimSuffix(u.String(), "/") + "/metrics/" + groupingPath(job, grouping)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(appendText(nil, fams)))
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", u.Redacted(), err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // only for the message
		return fmt.Errorf("push metrics to %s: unexpected status code %d while pushing to %s: %s",
			u.Redacted(), resp.StatusCode, target, bytes.TrimSpace(body))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	return nil
}

// checkGrouping refuses what client_golang's push package refuses: an
// empty job, an invalid grouping label name, and metrics that carry the
// job label or a grouping label themselves.
func checkGrouping(job string, grouping map[string]string, fams []family) error {
	if job == "" {
		return errors.New("job name is empty")
	}
	for _, name := range slices.Sorted(maps.Keys(grouping)) {
		if !validLabelName(name) {
			return fmt.Errorf("grouping label has invalid name: %s", name)
		}
	}
	for _, f := range fams {
		for _, s := range f.Samples {
			for _, l := range s.Labels {
				if l.Name == "job" {
					return fmt.Errorf("pushed metric %s (%s) already contains a job label", f.Name, appendLabels(nil, s.Labels))
				}
				if _, ok := grouping[l.Name]; ok {
					return fmt.Errorf("pushed metric %s (%s) already contains grouping label %s", f.Name, appendLabels(nil, s.Labels), l.Name)
				}
			}
		}
	}
	return nil
}

// groupingPath is the part of the push URL after /metrics/: the job and
// the grouping labels (sorted by name) as name/value path segments.
func groupingPath(job string, grouping map[string]string) string {
	parts := []string{pathSegments("job", job)}
	for _, name := range slices.Sorted(maps.Keys(grouping)) {
		parts = append(parts, pathSegments(name, grouping[name]))
	}
	return strings.Join(parts, "/")
}

// pathSegments encodes one label as the Pushgateway's URL path expects,
// exactly as client_golang's push package does: a value that is empty or
// contains '/' becomes name@base64/<unpadded base64url> ("=" for an empty
// value, so no path segment is empty); any other value is query-escaped.
func pathSegments(name, value string) string {
	switch {
	case value == "":
		return name + "@base64/="
	case strings.Contains(value, "/"):
		return name + "@base64/" + base64.RawURLEncoding.EncodeToString([]byte(value))
	}
	return name + "/" + url.QueryEscape(value)
}
