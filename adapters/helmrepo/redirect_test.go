package helmrepo_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/repo"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
	"github.com/fluxcd/flux-mirror/adapters/helmrepo/helmtest"
)

// TestCredentialsStayWithTheirOrigin checks that the Basic credentials of a
// repository reach its own scheme, host and port only, on the first request
// and on every redirect hop, unless pass_credentials_all allows other hosts;
// even then they never travel from https down to http.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	t.Parallel()
	const user, pass = "dora", "redirect-secret"
	type hop int
	const (
		indexRedirect hop = iota // index.yaml answers 302 to the other place
		chartRedirect            // the chart .tgz answers 302 to the other place
		chartURL                 // the index lists the chart at the other place
	)
	hops := map[hop]string{indexRedirect: "index.yaml redirect", chartRedirect: "chart redirect", chartURL: "chart URL"}
	type place int
	const (
		otherPort place = iota // same host name, another port
		otherName              // localhost instead of 127.0.0.1, same port
		downgrade              // https to http
	)
	places := map[place]string{otherPort: "other port", otherName: "other host name", downgrade: "https to http"}

	type testCase struct {
		name    string
		hop     hop
		place   place
		tls     bool
		passAll bool
	}
	var tests []testCase
	for h, hn := range hops {
		for p, pn := range places {
			for _, tls := range []bool{false, true} {
				if p == downgrade && !tls {
					continue
				}
				for _, passAll := range []bool{false, true} {
					name := hn + "/" + pn
					if tls {
						name += "/https"
					}
					if passAll {
						name += "/pass_credentials_all"
					}
					tests = append(tests, testCase{name: name, hop: h, place: p, tls: tls, passAll: passAll})
				}
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []helmtest.Option
			if tt.tls {
				opts = append(opts, helmtest.WithTLS())
			}
			srv := helmtest.NewServer(t, opts...)
			tgz := srv.AddChart("demo", "1.0.0")
			index := fetch(t, srv.Client(), srv.URL()+"/index.yaml")
			seen := len(srv.Requests()) // the test's own fetch

			// other is the server behind the other origin; base is how
			// the redirect or the index names it.
			other, base := srv, ""
			switch tt.place {
			case otherPort:
				other = helmtest.NewServer(t, opts...)
				base = other.URL()
			case otherName:
				base = strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)
			case downgrade:
				other = helmtest.NewServer(t)
				base = other.URL()
			}
			other.PutFile("moved/index.yaml", index)
			other.PutFile("moved/demo-1.0.0.tgz", tgz)
			var movedPath string
			switch tt.hop {
			case indexRedirect:
				movedPath = "moved/index.yaml"
				srv.Redirect("index.yaml", base+"/"+movedPath)
			case chartRedirect:
				movedPath = "moved/demo-1.0.0.tgz"
				srv.Redirect("demo-1.0.0.tgz", base+"/"+movedPath)
			case chartURL:
				movedPath = "moved/demo-1.0.0.tgz"
				srv.EditIndex(func(idx *repo.IndexFile) { idx.Entries["demo"][0].URLs = []string{base + "/" + movedPath} })
			}

			e := srv.Entry("private")
			e.Username, e.Password = user, pass
			e.PassCredentialsAll = tt.passAll
			if tt.tls {
				// Trust both servers (each has its own CA).
				e.CAFile, e.InsecureSkipTLSverify = "", true
			}
			src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
			wantFirstTarball(t, src, srv.URL(), "demo", tgz)

			want := ""
			if tt.passAll && tt.place != downgrade {
				want = basic(user, pass)
			}
			moved := 0
			for _, r := range other.Requests() {
				if r.Path != movedPath {
					continue
				}
				moved++
				if r.Authorization != want {
					t.Errorf("%s got Authorization %q, want %q", base+"/"+r.Path, r.Authorization, want)
				}
			}
			if moved != 1 {
				t.Errorf("%s was requested %d times, want once", base+"/"+movedPath, moved)
			}
			for _, r := range srv.Requests()[seen:] {
				if !strings.HasPrefix(r.Path, "moved/") && r.Authorization != basic(user, pass) {
					t.Errorf("the repository's own %s got Authorization %q, want the credentials", r.Path, r.Authorization)
				}
			}
		})
	}
}

// TestClientCertificateStaysWithItsOrigin checks that a repository's client
// certificate is presented to its own origin only, also after a redirect,
// unless pass_credentials_all is set.
func TestClientCertificateStaysWithItsOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string // the path that redirects
		passAll bool
		want    bool
	}{
		{name: "index.yaml", path: "index.yaml"},
		{name: "chart", path: "demo-1.0.0.tgz"},
		{name: "index.yaml/pass_credentials_all", path: "index.yaml", passAll: true, want: true},
		{name: "chart/pass_credentials_all", path: "demo-1.0.0.tgz", passAll: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := helmtest.NewServer(t, helmtest.WithClientAuth())
			tgz := srv.AddChart("demo", "1.0.0")
			index := fetch(t, srv.Client(), srv.URL()+"/index.yaml")
			other := helmtest.NewServer(t, helmtest.WithClientCertRequest())
			other.PutFile("moved/index.yaml", index)
			other.PutFile("moved/demo-1.0.0.tgz", tgz)
			srv.Redirect(tt.path, other.URL()+"/moved/"+tt.path)

			e := srv.Entry("mtls")
			e.CAFile, e.InsecureSkipTLSverify = "", true
			e.PassCredentialsAll = tt.passAll
			src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
			wantFirstTarball(t, src, srv.URL(), "demo", tgz)

			reqs := other.Requests()
			if len(reqs) != 1 || reqs[0].Path != "moved/"+tt.path {
				t.Fatalf("the other server got %+v, want one request for %s", reqs, tt.path)
			}
			if reqs[0].ClientCert != tt.want {
				t.Errorf("client certificate presented to the other server: %v, want %v", reqs[0].ClientCert, tt.want)
			}
		})
	}
}

// fetch GETs url with client and returns the body.
func fetch(t *testing.T, client *http.Client, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body
}
