package helmtest

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	tls        bool
	clientAuth bool
	user, pass string
	jsonIndex  bool
	prefix     string
	// requestCert asks clients for a certificate without requiring one.
	requestCert bool
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost,
// signed by a CA generated for this server alone (see CAPEM, CertPool and
// CAFile).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithClientAuth serves HTTPS (it implies WithTLS) and requires every client
// to present a certificate signed by the server's CA (mutual TLS). Issue one
// with ClientCertFiles.
func WithClientAuth() Option {
	return func(c *config) { c.tls, c.clientAuth = true, true }
}

// WithClientCertRequest serves HTTPS (it implies WithTLS) and asks every
// client for a certificate without requiring or verifying one, so that
// Request.ClientCert tells whether a client presented its certificate to
// this server (e.g. one it was redirected to).
func WithClientCertRequest() Option {
	return func(c *config) { c.tls, c.requestCert = true, true }
}

// WithBasicAuth requires HTTP Basic authentication with this username and
// password on every request; others get 401 with a Basic challenge.
func WithBasicAuth(username, password string) Option {
	return func(c *config) { c.user, c.pass = username, password }
}

// WithJSONIndex serves index.yaml encoded as JSON, as Helm's
// IndexFile.WriteJSONFile writes it (Helm reads both encodings).
func WithJSONIndex() Option { return func(c *config) { c.jsonIndex = true } }

// WithPathPrefix serves the repository under a path, e.g. "/charts/stable",
// so that URL() is "http://127.0.0.1:port/charts/stable".
func WithPathPrefix(prefix string) Option {
	return func(c *config) { c.prefix = "/" + strings.Trim(prefix, "/") }
}

// Request is one request the server received.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the request path relative to the repository root, e.g.
	// "index.yaml" or "demo-1.0.0.tgz".
	Path string
	// Authorization is the Authorization header as received ("" if none).
	Authorization string
	// UserAgent is the User-Agent header.
	UserAgent string
	// ClientCert tells whether the client presented a TLS certificate.
	ClientCert bool
}

// Server is a classic Helm chart repository served by an httptest server.
// Its methods are safe for concurrent use; a test may change the repository
// while a client reads it.
type Server struct {
	t   testing.TB
	cfg config
	srv *httptest.Server
	ca  *testCA
	// dir holds the packaged charts; the index is generated from it.
	dir string
	// scratch holds the index as Helm writes it, and written key material.
	scratch string

	mu        sync.Mutex
	files     map[string][]byte // extra files served as is (PutFile)
	redirects map[string]string // path -> Location (Redirect)
	deleted   map[string]bool   // indexed tarballs that answer 404
	baseURL   string            // chart URL base in the index; "" = relative URLs
	edits     []func(*repo.IndexFile)
	rawIndex  []byte
	indexPad  int
	requests  []Request
	caFile    string
	certFiles [2]string
}

// NewServer starts a Helm repository with no charts on 127.0.0.1 and stops
// it when the test ends. Add charts with AddChart.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		dir:       t.TempDir(),
		scratch:   t.TempDir(),
		files:     map[string][]byte{},
		deleted:   map[string]bool{},
		redirects: map[string]string{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Failed TLS handshakes are expected in tests of wrong CAs.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.cfg.tls {
		ca, err := newTestCA()
		if err != nil {
			t.Fatalf("helmtest: %v", err)
		}
		cert, err := ca.serverCertificate()
		if err != nil {
			t.Fatalf("helmtest: server certificate: %v", err)
		}
		s.ca = ca
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		switch {
		case s.cfg.clientAuth:
			s.srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
			s.srv.TLS.ClientCAs = ca.pool()
		case s.cfg.requestCert:
			s.srv.TLS.ClientAuth = tls.RequestClientCert
		}
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the repository URL, without a trailing slash, e.g.
// "https://127.0.0.1:41234" or "http://127.0.0.1:41234/charts/stable".
func (s *Server) URL() string { return s.srv.URL + s.cfg.prefix }

// Host is the server's host:port.
func (s *Server) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.srv.URL, "https://"), "http://")
}

// Close stops the server; later requests fail to connect. NewServer already
// registers it with t.Cleanup.
func (s *Server) Close() { s.srv.Close() }

// CAPEM returns the PEM certificate of the server's CA, or nil without TLS.
func (s *Server) CAPEM() []byte {
	if s.ca == nil {
		return nil
	}
	return append([]byte(nil), s.ca.pem...)
}

// CertPool returns a pool holding the server's CA, or nil without TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.ca == nil {
		return nil
	}
	return s.ca.pool()
}

// CAFile writes the CA certificate to a file in a temporary directory (once)
// and returns its path, for a repositories.yaml caFile. It fails the test
// without TLS.
func (s *Server) CAFile() string {
	s.t.Helper()
	if s.ca == nil {
		s.t.Fatalf("helmtest: CAFile needs a server started WithTLS")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caFile == "" {
		s.caFile = s.writeTemp("ca.crt", s.ca.pem)
	}
	return s.caFile
}

// ClientCertFiles issues a client certificate signed by the server's CA
// (once), writes it and its key to files and returns their paths, for a
// repositories.yaml certFile and keyFile. It fails the test without TLS.
func (s *Server) ClientCertFiles() (certFile, keyFile string) {
	s.t.Helper()
	if s.ca == nil {
		s.t.Fatalf("helmtest: ClientCertFiles needs a server started WithTLS or WithClientAuth")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certFiles[0] == "" {
		certPEM, keyPEM, err := s.ca.issue("helmtest client", false)
		if err != nil {
			s.t.Fatalf("helmtest: client certificate: %v", err)
		}
		s.certFiles = [2]string{s.writeTemp("client.crt", certPEM), s.writeTemp("client.key", keyPEM)}
	}
	return s.certFiles[0], s.certFiles[1]
}

// Client returns an HTTP client that trusts the server's CA (and presents a
// client certificate when the server requires one).
func (s *Server) Client() *http.Client {
	s.t.Helper()
	if s.ca == nil {
		return &http.Client{}
	}
	cfg := &tls.Config{RootCAs: s.ca.pool(), MinVersion: tls.VersionTLS12}
	if s.cfg.clientAuth {
		certFile, keyFile := s.ClientCertFiles()
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			s.t.Fatalf("helmtest: load client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}
}

// ChartOption customizes a chart that AddChart packages.
type ChartOption func(*chart.Chart)

// WithMetadata edits the chart's metadata (Chart.yaml) before it is
// packaged, e.g. to set the appVersion, annotations or apiVersion "v1".
func WithMetadata(edit func(*chart.Metadata)) ChartOption {
	return func(c *chart.Chart) { edit(c.Metadata) }
}

// WithFile adds a file to the chart, e.g. "templates/configmap.yaml", or
// "values.yaml" to replace the default values. Random data in a file makes
// the tarball as large as the data (it does not compress).
func WithFile(name string, data []byte) ChartOption {
	return func(c *chart.Chart) {
		f := &chart.File{Name: name, Data: data}
		switch {
		case name == chartutil.ValuesfileName:
			c.Raw = append(c.Raw, f)
		case strings.HasPrefix(name, "templates/"):
			c.Templates = append(c.Templates, f)
		default:
			c.Files = append(c.Files, f)
		}
	}
}

// AddChart packages a chart named name at version with Helm's chartutil.Save
// (apiVersion v2, a values.yaml and one template, changed by opts), adds it to
// the repository as <name>-<version>.tgz, and returns the tarball's bytes.
// The index is regenerated with repo.IndexDirectory on the next request.
func (s *Server) AddChart(name, version string, opts ...ChartOption) []byte {
	s.t.Helper()
	c := &chart.Chart{
		Metadata: &chart.Metadata{
			APIVersion:  chart.APIVersionV2,
			Name:        name,
			Version:     version,
			Description: "A Helm chart packaged by helmtest",
			Type:        "application",
			AppVersion:  "1.0.0",
		},
		Templates: []*chart.File{{
			Name: "templates/configmap.yaml",
			Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"),
		}},
	}
	for _, o := range opts {
		o(c)
	}
	if !hasRaw(c, chartutil.ValuesfileName) {
		c.Raw = append(c.Raw, &chart.File{Name: chartutil.ValuesfileName, Data: []byte("greeting: hello\n")})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	file, err := chartutil.Save(c, s.dir)
	if err != nil {
		s.t.Fatalf("helmtest: package chart %s %s: %v", name, version, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		s.t.Fatalf("helmtest: %v", err)
	}
	delete(s.deleted, filepath.Base(file))
	return data
}

func hasRaw(c *chart.Chart, name string) bool {
	for _, f := range c.Raw {
		if f.Name == name {
			return true
		}
	}
	return false
}

// TarballName is the file name under which AddChart serves a chart version.
func TarballName(name, version string) string { return name + "-" + version + ".tgz" }

// Tarball returns the bytes of a chart version added with AddChart.
func (s *Server) Tarball(name, version string) []byte {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dir, TarballName(name, version)))
	if err != nil {
		s.t.Fatalf("helmtest: tarball of %s %s: %v", name, version, err)
	}
	return data
}

// PutFile serves data at name, relative to the repository root, without
// adding it to the index. Use it to host another server's tarball (see
// SetChartBaseURL) or any file a test needs.
func (s *Server) PutFile(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[strings.TrimPrefix(name, "/")] = append([]byte(nil), data...)
}

// Redirect makes requests for path, relative to the repository root (e.g.
// "index.yaml" or "demo-1.0.0.tgz"), answer 302 Found with location as the
// Location header, after the Basic auth check. An empty location removes
// the redirect.
func (s *Server) Redirect(path, location string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path = strings.TrimPrefix(path, "/")
	if location == "" {
		delete(s.redirects, path)
		return
	}
	s.redirects[path] = location
}

// DeleteTarball makes a chart version's tarball answer 404 while the index
// still lists it.
func (s *Server) DeleteTarball(name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[TarballName(name, version)] = true
}

// CorruptDigest makes the index announce a wrong sha256 digest for a chart
// version (the tarball is unchanged).
func (s *Server) CorruptDigest(name, version string) {
	s.EditIndex(func(idx *repo.IndexFile) {
		for _, cv := range idx.Entries[name] {
			if cv.Version == version {
				cv.Digest = strings.Repeat("0", 64)
			}
		}
	})
}

// SetChartBaseURL makes the index list absolute chart URLs,
// <base>/<name>-<version>.tgz, as `helm repo index --url` does. Pass another
// Server's URL (and PutFile the tarballs there) to serve charts from a
// different host; pass "" to go back to relative URLs.
func (s *Server) SetChartBaseURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = base
}

// EditIndex registers a function that changes the generated index before it
// is served, e.g. to announce another version or URL. Edits apply in order,
// on every request.
func (s *Server) EditIndex(edit func(*repo.IndexFile)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.edits = append(s.edits, edit)
}

// SetRawIndex serves body as index.yaml instead of the generated index (nil
// goes back to the generated one).
func (s *Server) SetRawIndex(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rawIndex = body
}

// PadIndex appends n newlines to the served index: it stays a valid index
// but is n bytes larger (for size-limit tests). The response carries no
// Content-Length, so a client must bound its read.
func (s *Server) PadIndex(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexPad = n
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount returns how many requests asked for path, relative to the
// repository root (e.g. "index.yaml").
func (s *Server) RequestCount(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// Index returns the index as the server currently serves it (before
// encoding), for assertions.
func (s *Server) Index() *repo.IndexFile {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.index()
	if err != nil {
		s.t.Fatalf("helmtest: %v", err)
	}
	return idx
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, s.cfg.prefix+"/")
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method:        r.Method,
		Path:          rel,
		Authorization: r.Header.Get("Authorization"),
		UserAgent:     r.UserAgent(),
		ClientCert:    r.TLS != nil && len(r.TLS.PeerCertificates) > 0,
	})
	s.mu.Unlock()

	if s.cfg.user != "" || s.cfg.pass != "" {
		u, p, has := r.BasicAuth()
		if !has || subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="helmtest"`)
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !ok || rel == "" || path.Clean("/"+rel) != "/"+rel {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	location, redirect := s.redirects[rel]
	s.mu.Unlock()
	if redirect {
		w.Header().Set("Location", location)
		w.WriteHeader(http.StatusFound)
		return
	}
	if rel == "index.yaml" {
		s.serveIndex(w)
		return
	}

	s.mu.Lock()
	data, extra := s.files[rel]
	deleted := s.deleted[rel]
	s.mu.Unlock()
	if !extra {
		if deleted || strings.Contains(rel, "/") || !strings.HasSuffix(rel, ".tgz") {
			http.NotFound(w, r)
			return
		}
		var err error
		if data, err = os.ReadFile(filepath.Join(s.dir, rel)); err != nil {
			http.NotFound(w, r)
			return
		}
	}
	if strings.HasSuffix(rel, ".tgz") {
		w.Header().Set("Content-Type", "application/gzip")
	}
	_, _ = w.Write(data)
}

func (s *Server) serveIndex(w http.ResponseWriter) {
	s.mu.Lock()
	body, pad := s.rawIndex, s.indexPad
	var err error
	if body == nil {
		body, err = s.encodedIndex()
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.cfg.jsonIndex {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/x-yaml")
	}
	if pad == 0 {
		_, _ = w.Write(body)
		return
	}
	// Stream in chunks, so the response has no Content-Length.
	if _, err := w.Write(body); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("\n", 32<<10))
	for pad > 0 {
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		pad -= n
	}
}

// index generates the index with Helm's repo.IndexDirectory and applies the
// edits. s.mu must be held.
func (s *Server) index() (*repo.IndexFile, error) {
	idx, err := repo.IndexDirectory(s.dir, s.baseURL)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", s.dir, err)
	}
	for _, edit := range s.edits {
		edit(idx)
	}
	idx.SortEntries()
	return idx, nil
}

// encodedIndex writes the index with Helm's own writers and reads it back,
// so the bytes are exactly what `helm repo index` would publish. s.mu must
// be held.
func (s *Server) encodedIndex() ([]byte, error) {
	idx, err := s.index()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(s.scratch, "index.yaml")
	if s.cfg.jsonIndex {
		err = idx.WriteJSONFile(file, 0o644)
	} else {
		err = idx.WriteFile(file, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("write index: %w", err)
	}
	return os.ReadFile(file)
}

// writeTemp writes data to a new file in a temporary directory of the test.
func (s *Server) writeTemp(name string, data []byte) string {
	file := filepath.Join(s.scratch, name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		s.t.Fatalf("helmtest: %v", err)
	}
	return file
}
