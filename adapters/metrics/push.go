package metrics

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
)

// DefaultJob is the Pushgateway job label of flux-mirror's metrics.
const DefaultJob = "flux-mirror"

// Push sends the run's metrics to the Pushgateway at gatewayURL under job
// and the grouping labels. It uses POST, which replaces only the metric
// families it carries, so a failed run (which carries no last-success
// metric) leaves the last success of an earlier run in place. client may be
// nil for http.DefaultClient.
func Push(ctx context.Context, gatewayURL, job string, grouping map[string]string, run Run, client *http.Client) error {
	u, err := url.Parse(gatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("pushgateway URL %q: it must be an absolute http:// or https:// URL", gatewayURL)
	}
	if u.User != nil {
		return fmt.Errorf("pushgateway URL %s: put no credentials in the URL", u.Redacted())
	}
	reg, err := Registry(run, time.Time{})
	if err != nil {
		return err
	}
	if client == nil {
		client = http.DefaultClient
	}
	p := push.New(u.String(), job).Gatherer(reg).Client(client)
	for _, k := range slices.Sorted(maps.Keys(grouping)) {
		p = p.Grouping(k, grouping[k])
	}
	if err := p.AddContext(ctx); err != nil {
		return fmt.Errorf("push metrics to %s: %w", u.Redacted(), err)
	}
	return nil
}
