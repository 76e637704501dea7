//go:build !unix

package registry_test

import "net/http"

// smallSendBuffers returns the default transport where socket options
// are not portable.
func smallSendBuffers() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone()
}
