package core

import (
	"net/url"
	"strings"
)

// SameOrigin reports whether a and b are the same origin: the same scheme,
// host and port, the scheme and host compared case-insensitively and a
// missing port taken as the scheme's default (https://h is https://h:443,
// http://h is http://h:80). It is the one rule that decides where a
// credential configured for a URL may be sent: never to another port, host
// name (not even a subdomain, nor an IP address for a name) or scheme, so
// never from https down to http. A URL without a host is no origin and
// matches nothing.
func SameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	sa, ha, pa, ok := origin(a)
	if !ok {
		return false
	}
	sb, hb, pb, ok := origin(b)
	if !ok {
		return false
	}
	return sa == sb && ha == hb && pa == pb
}

// origin returns the lower-case scheme and host of u and its port, the
// scheme's default port when u names none. ok is false without a scheme or
// host.
func origin(u *url.URL) (scheme, host, port string, ok bool) {
	scheme = strings.ToLower(u.Scheme)
	host = strings.ToLower(u.Hostname())
	if scheme == "" || host == "" {
		return "", "", "", false
	}
	port = u.Port()
	if port == "" {
		port = defaultPorts[scheme]
	}
	return scheme, host, port, true
}

// defaultPorts are the ports a URL without one connects to.
var defaultPorts = map[string]string{"http": "80", "https": "443"}
