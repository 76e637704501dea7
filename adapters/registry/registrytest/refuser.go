package registrytest

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// Refuser answers like an authenticating proxy to a client without
// (enough) credentials: 401 with a Basic challenge, or 403, for the
// repositories it was told to refuse; every other request passes. Install
// it with WithMiddleware(r.Middleware). The zero value refuses nothing.
type Refuser struct {
	mu      sync.Mutex
	refused map[string]int // repository path → status
}

// Refuse makes requests under repository path answer status (401 or 403).
func (g *Refuser) Refuse(path string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refused == nil {
		g.refused = map[string]int{}
	}
	g.refused[path] = status
}

// Middleware refuses the requests of the refused repositories, with the
// distribution spec's error body, and passes the others to next.
func (g *Refuser) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		status := 0
		for path, s := range g.refused {
			if strings.HasPrefix(r.URL.Path, "/v2/"+path+"/") {
				status = s
			}
		}
		g.mu.Unlock()
		code := map[int]string{http.StatusUnauthorized: "UNAUTHORIZED", http.StatusForbidden: "DENIED"}[status]
		if code == "" {
			next.ServeHTTP(w, r)
			return
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"errors":[{"code":"`+code+`","message":"refused by the test's auth wrapper"}]}`)
	})
}
