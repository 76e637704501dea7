package helmtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo/helmtest"
)

// helmClient reads the server with Helm's own repository client, the oracle
// that the served repository is a real Helm repository.
func helmClient(t *testing.T, e *repo.Entry) *repo.IndexFile {
	t.Helper()
	providers := getter.Providers{{Schemes: []string{"http", "https"}, New: getter.NewHTTPGetter}}
	cr, err := repo.NewChartRepository(e, providers)
	if err != nil {
		t.Fatal(err)
	}
	cr.CachePath = t.TempDir()
	file, err := cr.DownloadIndexFile()
	if err != nil {
		t.Fatalf("helm DownloadIndexFile: %v", err)
	}
	idx, err := repo.LoadIndexFile(file)
	if err != nil {
		t.Fatalf("helm LoadIndexFile: %v", err)
	}
	return idx
}

func helmDownload(t *testing.T, e *repo.Entry, chartURL string) []byte {
	t.Helper()
	g, err := getter.NewHTTPGetter()
	if err != nil {
		t.Fatal(err)
	}
	buf, err := g.Get(chartURL,
		getter.WithURL(e.URL),
		getter.WithBasicAuth(e.Username, e.Password),
		getter.WithTLSClientConfig(e.CertFile, e.KeyFile, e.CAFile),
		getter.WithPassCredentialsAll(e.PassCredentialsAll))
	if err != nil {
		t.Fatalf("helm download %s: %v", chartURL, err)
	}
	return buf.Bytes()
}

func TestServerIsAHelmRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []helmtest.Option
	}{
		{"plain http", nil},
		{"json index", []helmtest.Option{helmtest.WithJSONIndex()}},
		{"path prefix", []helmtest.Option{helmtest.WithPathPrefix("/charts/stable/")}},
		{"basic auth over tls", []helmtest.Option{helmtest.WithTLS(), helmtest.WithBasicAuth("alice", "s3cret")}},
		{"mutual tls", []helmtest.Option{helmtest.WithClientAuth()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := helmtest.NewServer(t, tt.opts...)
			want := srv.AddChart("demo", "1.2.3+build.1", helmtest.WithMetadata(func(m *chart.Metadata) { m.AppVersion = "9.9" }))
			srv.AddChart("demo", "1.0.0")
			srv.AddChart("other", "0.1.0")

			e := srv.Entry("test")
			idx := helmClient(t, e)
			cv, err := idx.Get("demo", "1.2.3+build.1")
			if err != nil {
				t.Fatalf("index: %v", err)
			}
			if cv.AppVersion != "9.9" || len(idx.Entries["demo"]) != 2 || len(idx.Entries["other"]) != 1 {
				t.Fatalf("index entries = %+v", idx.Entries)
			}
			sum := sha256.Sum256(want)
			if cv.Digest != hex.EncodeToString(sum[:]) {
				t.Errorf("digest = %s, want sha256 of the tarball", cv.Digest)
			}
			if cv.URLs[0] != "demo-1.2.3+build.1.tgz" {
				t.Errorf("URL = %s, want a relative URL", cv.URLs[0])
			}
			chartURL, err := repo.ResolveReferenceURL(srv.URL(), cv.URLs[0])
			if err != nil {
				t.Fatal(err)
			}
			got := helmDownload(t, e, chartURL)
			if !bytes.Equal(got, want) {
				t.Fatal("downloaded tarball differs from the packaged one")
			}
			ch, err := loader.LoadArchive(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name() != "demo" || ch.Metadata.Version != "1.2.3+build.1" {
				t.Errorf("chart = %s %s", ch.Name(), ch.Metadata.Version)
			}
			if n := srv.RequestCount("index.yaml"); n != 1 {
				t.Errorf("index requests = %d, want 1", n)
			}
		})
	}
}

func get(t *testing.T, c *http.Client, url string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestServerHooks(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t, helmtest.WithJSONIndex())
	tgz := srv.AddChart("demo", "1.0.0")
	c := srv.Client()

	srv.CorruptDigest("demo", "1.0.0")
	srv.DeleteTarball("demo", "1.0.0")
	if code, _ := get(t, c, srv.URL()+"/demo-1.0.0.tgz"); code != http.StatusNotFound {
		t.Errorf("deleted tarball: status %d, want 404", code)
	}
	_, body := get(t, c, srv.URL()+"/index.yaml")
	var idx repo.IndexFile
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("JSON index: %v", err)
	}
	if d := idx.Entries["demo"][0].Digest; d != strings.Repeat("0", 64) {
		t.Errorf("corrupted digest = %s", d)
	}

	other := helmtest.NewServer(t)
	other.PutFile("demo-1.0.0.tgz", tgz)
	srv.SetChartBaseURL(other.URL())
	if u := srv.Index().Entries["demo"][0].URLs[0]; u != other.URL()+"/demo-1.0.0.tgz" {
		t.Errorf("absolute URL = %s", u)
	}
	if code, got := get(t, c, other.URL()+"/demo-1.0.0.tgz"); code != 200 || !bytes.Equal(got, tgz) {
		t.Errorf("other host: status %d, %d bytes", code, len(got))
	}
	if other.RequestCount("demo-1.0.0.tgz") != 1 {
		t.Errorf("requests = %+v", other.Requests())
	}

	srv.PadIndex(100 << 10)
	if _, body := get(t, c, srv.URL()+"/index.yaml"); len(body) < 100<<10 {
		t.Errorf("padded index is %d bytes", len(body))
	}
	srv.SetRawIndex([]byte("<html>not an index</html>"))
	if _, body := get(t, c, srv.URL()+"/index.yaml"); !bytes.HasPrefix(body, []byte("<html>")) {
		t.Errorf("raw index = %q", body)
	}
}

func TestServerBasicAuthRejects(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t, helmtest.WithBasicAuth("alice", "s3cret"))
	code, _ := get(t, srv.Client(), srv.URL()+"/index.yaml")
	if code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", code)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Authorization != "" || r[0].Path != "index.yaml" {
		t.Fatalf("requests = %+v", r)
	}
}

func TestWriteRepositoryConfig(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t, helmtest.WithTLS(), helmtest.WithBasicAuth("alice", "s3cret"))
	e := srv.Entry("demo")
	e.PassCredentialsAll = true
	f, err := repo.LoadFile(helmtest.WriteRepositoryConfig(t, e))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Get("demo")
	if got == nil || got.URL != srv.URL() || got.Username != "alice" || got.Password != "s3cret" ||
		got.CAFile == "" || !got.PassCredentialsAll {
		t.Fatalf("entry = %+v", got)
	}
}
