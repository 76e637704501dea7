package spiffe

import (
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// FuzzAddress checks that the address check never panics, accepts only what
// go-spiffe can dial, and suggests unix:// for a bare path.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{"unix:///run/spire/agent.sock", "tcp://127.0.0.1:8081", "/run/spire/agent.sock", "", " ", "unix:", "tcp://host:1", "http://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		addr, err := newOptions([]Option{env(map[string]string{EnvSocket: v})}).address()
		if err != nil {
			if addr != "" {
				t.Fatalf("address %q with error %v", addr, err)
			}
			if strings.HasPrefix(v, "/") && strings.TrimSpace(v) == v && !strings.Contains(err.Error(), "use unix://"+v) {
				t.Fatalf("bare path %q: %v", v, err)
			}
			return
		}
		if verr := workloadapi.ValidateAddress(addr); verr != nil {
			t.Fatalf("accepted %q, which go-spiffe refuses: %v", addr, verr)
		}
	})
}
