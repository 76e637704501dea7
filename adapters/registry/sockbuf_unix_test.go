//go:build unix

package registry_test

import (
	"net"
	"net/http"
	"syscall"
)

// smallSendBuffers returns a transport whose connections have a 32 KiB
// send buffer, so that an upload's progress follows what the server reads
// instead of disappearing into megabytes of loopback socket buffers.
func smallSendBuffers() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	tr.DialContext = d.DialContext
	return tr
}
