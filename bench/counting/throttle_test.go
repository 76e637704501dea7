package counting

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		rate  float64
		burst float64
		at    []time.Duration
		want  []bool
	}{
		{name: "burst passes, then refused", rate: 1, burst: 2, at: []time.Duration{0, 0, 0}, want: []bool{true, true, false}},
		{name: "refills at the rate", rate: 10, burst: 1, at: []time.Duration{0, 0, 50 * time.Millisecond, 100 * time.Millisecond}, want: []bool{true, false, false, true}},
		{name: "never above the burst", rate: 100, burst: 2, at: []time.Duration{0, time.Second, time.Second, time.Second}, want: []bool{true, true, true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &bucket{rate: tc.rate, burst: tc.burst, tokens: tc.burst}
			for i, at := range tc.at {
				if got := b.take(t0.Add(at)); got != tc.want[i] {
					t.Errorf("request %d at %s: %v, want %v", i, at, got, tc.want[i])
				}
			}
		})
	}
}

// TestThrottleAndPeak sends requests through a counted handler: above the
// burst they are answered 429 with Retry-After and counted apart; the peak
// of requests in flight is what the handler saw at once.
func TestThrottleAndPeak(t *testing.T) {
	t.Parallel()
	c := New()
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
	})))
	defer srv.Close()
	c.SetThrottle(0.001, 3, 1500*time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/v2/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	arrived.Wait() // all three are in the handler at once
	resp, err := http.Get(srv.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("4th request: %d, Retry-After %q; want 429 and 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(release)
	wg.Wait()
	got := c.Snapshot()
	if got.PeakInFlight != 3 || got.Throttled != 1 || got.Requests[Ping] != 3 {
		t.Errorf("peak %d, throttled %d, pings %d; want 3, 1, 3", got.PeakInFlight, got.Throttled, got.Requests[Ping])
	}
}
