package registry

import (
	"maps"
	"net/http"
	"sync"
)

// HostStats counts what went on the wire to one registry host.
type HostStats struct {
	// Requests is every HTTP request sent, token requests and retries
	// included.
	Requests int64
	// Throttled is the 429 Too Many Requests answers.
	Throttled int64
}

// wireStats counts requests per host name (host[:port] as on the wire).
type wireStats struct {
	mu    sync.Mutex
	hosts map[string]HostStats
}

func (s *wireStats) record(host string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hosts == nil {
		s.hosts = map[string]HostStats{}
	}
	h := s.hosts[host]
	h.Requests++
	if status == http.StatusTooManyRequests {
		h.Throttled++
	}
	s.hosts[host] = h
}

// Stats returns the requests sent so far, per host as the requests named
// it (a token service on another host counts under its own name).
func (c *Client) Stats() map[string]HostStats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	return maps.Clone(c.stats.hosts)
}
