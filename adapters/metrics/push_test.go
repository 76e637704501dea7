package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/report"
)

func TestGroupingPath(t *testing.T) {
	tests := []struct {
		name     string
		job      string
		grouping map[string]string
		want     string
	}{
		{"the job alone", DefaultJob, nil, "job/flux-mirror"},
		{"a shard", DefaultJob, map[string]string{"shard": "0/2"}, "job/flux-mirror/shard@base64/MC8y"},
		{"an empty value", DefaultJob, map[string]string{"shard": ""}, "job/flux-mirror/shard@base64/="},
		{"query escaping", DefaultJob, map[string]string{"shard": "a b+c?d%e&f"}, "job/flux-mirror/shard/a+b%2Bc%3Fd%25e%26f"},
		{"unicode", DefaultJob, map[string]string{"shard": "ünï€"}, "job/flux-mirror/shard/%C3%BCn%C3%AF%E2%82%AC"},
		{"unicode with a slash", DefaultJob, map[string]string{"shard": "ünï/€"}, "job/flux-mirror/shard@base64/w7xuw68v4oKs"},
		{"base64url, not base64", DefaultJob, map[string]string{"k": "/??>"}, "job/flux-mirror/k@base64/Lz8_Pg"},
		{"a job with a slash", "a/b", nil, "job@base64/YS9i"},
		{"a job with a space", "x y", nil, "job/x+y"},
		{"labels sorted by name", "j", map[string]string{"zone": "b", "az": "/", "m": ""}, "job/j/az@base64/Lw/m@base64/=/zone/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupingPath(tc.job, tc.grouping); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// recorder is a Pushgateway stand-in that records the requests it gets and
// answers with status and body.
type recorder struct {
	status int
	body   string

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, contentType, body string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.EscapedPath(), req.Header.Get("Content-Type"), string(b)})
	r.mu.Unlock()
	w.WriteHeader(r.status)
	io.WriteString(w, r.body)
}

func TestPushRequest(t *testing.T) {
	rec := &recorder{status: http.StatusOK}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	run := newRun(report.StatusCopied, report.StatusFailed)
	run.Labels = map[string]string{"config": "mirror"}
	if err := Push(context.Background(), srv.URL+"/pgw/", DefaultJob, map[string]string{"shard": "1/3"}, run, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(rec.reqs))
	}
	r := rec.reqs[0]
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST (PUT would delete the last success)", r.method)
	}
	if want := "/pgw/metrics/job/flux-mirror/shard@base64/MS8z"; r.path != want {
		t.Errorf("path %s, want %s", r.path, want)
	}
	if want := "text/plain; version=0.0.4; charset=utf-8"; r.contentType != want {
		t.Errorf("Content-Type %q, want %q", r.contentType, want)
	}
	got := parse(t, r.body)
	for k, v := range map[string]float64{
		"flux_mirror_tags{config=mirror,outcome=failed}":       1,
		"flux_mirror_exit_code{config=mirror}":                 1,
		"flux_mirror_requests{config=mirror,host=dst.example}": 12,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got[lastSuccessName+"{config=mirror}"]; ok {
		t.Error("a failed run pushed a last success")
	}
	fams, err := families(run, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := expfmtText(t, fams); r.body != want {
		t.Errorf("body\n%s\nwant what prometheus/common writes\n%s", r.body, want)
	}

	// Any 2xx is success; the Pushgateway answers 200 or 202 by version.
	rec.status = http.StatusAccepted
	if err := Push(context.Background(), srv.URL, DefaultJob, nil, run, nil); err != nil {
		t.Errorf("202: %v", err)
	}
	if want := "/metrics/job/flux-mirror"; rec.reqs[1].path != want {
		t.Errorf("path %s, want %s", rec.reqs[1].path, want)
	}
}

func TestPushErrors(t *testing.T) {
	rec := &recorder{status: http.StatusBadRequest, body: "pushed metrics are invalid or inconsistent with existing metrics: " + strings.Repeat("x", 1000) + "\n"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	withLabel := func(name, value string) Run {
		r := newRun(report.StatusCopied)
		r.Labels = map[string]string{name: value}
		return r
	}
	tests := []struct {
		name     string
		url      string
		job      string
		grouping map[string]string
		run      Run
		want     string // the whole error; ... ends a prefix
	}{
		{
			name: "an empty job", url: srv.URL, job: "", run: newRun(report.StatusCopied),
			want: "push metrics to " + srv.URL + ": job name is empty",
		},
		{
			name: "a grouping label name with a dash", url: srv.URL, job: DefaultJob, grouping: map[string]string{"bad-name": "x"}, run: newRun(report.StatusCopied),
			want: "push metrics to " + srv.URL + ": grouping label has invalid name: bad-name",
		},
		{
			name: "an empty grouping label name", url: srv.URL, job: DefaultJob, grouping: map[string]string{"": "x"}, run: newRun(report.StatusCopied),
			want: "push metrics to " + srv.URL + ": grouping label has invalid name: ",
		},
		{
			name: "a grouping label that is a constant label", url: srv.URL, job: DefaultJob, grouping: map[string]string{"config": "x"}, run: withLabel("config", "mirror"),
			want: "push metrics to " + srv.URL + `: pushed metric flux_mirror_bytes_copied ({config="mirror"}) already contains grouping label config`,
		},
		{
			name: "a grouping label that is a metric's label", url: srv.URL, job: DefaultJob, grouping: map[string]string{"outcome": "x"}, run: newRun(report.StatusCopied),
			want: "push metrics to " + srv.URL + `: pushed metric flux_mirror_tags ({outcome="copied"}) already contains grouping label outcome`,
		},
		{
			name: "a job label on the metrics", url: srv.URL, job: DefaultJob, run: withLabel("job", "x"),
			want: "push metrics to " + srv.URL + `: pushed metric flux_mirror_bytes_copied ({job="x"}) already contains a job label`,
		},
		{
			name: "a refusal", url: srv.URL + "/", job: DefaultJob, run: newRun(report.StatusCopied),
			want: "push metrics to " + srv.URL + "/: unexpected status code 400 while pushing to " + srv.URL + "/metrics/job/flux-mirror: pushed metrics are invalid or inconsistent with existing metrics: " + strings.Repeat("x", 512-66),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.reqs)
			err := Push(context.Background(), tc.url, tc.job, tc.grouping, tc.run, nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if tc.name != "a refusal" && len(rec.reqs) != before {
				t.Error("a refused push was sent")
			}
		})
	}
}

func TestPushTransportErrorsNameTheGateway(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := Push(context.Background(), url, DefaultJob, nil, newRun(report.StatusCopied), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "push metrics to "+url+": ") {
		t.Errorf("got %v, want an error starting with the gateway", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Push(ctx, url, DefaultJob, nil, newRun(report.StatusCopied), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled push: got %v, want context.Canceled", err)
	}
}
