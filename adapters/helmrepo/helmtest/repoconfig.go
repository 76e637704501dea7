package helmtest

import (
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/repo"
)

// Entry returns the repositories.yaml entry that `helm repo add name URL`
// would store for this server: its URL, the Basic auth credentials it
// requires, its CA file with TLS, and a client certificate with
// WithClientAuth. Change fields (e.g. PassCredentialsAll, Password) before
// writing it with WriteRepositoryConfig.
func (s *Server) Entry(name string) *repo.Entry {
	s.t.Helper()
	e := &repo.Entry{Name: name, URL: s.URL(), Username: s.cfg.user, Password: s.cfg.pass}
	if s.ca != nil {
		e.CAFile = s.CAFile()
	}
	if s.cfg.clientAuth {
		e.CertFile, e.KeyFile = s.ClientCertFiles()
	}
	return e
}

// WriteRepositoryConfig writes a Helm repositories.yaml holding entries with
// Helm's own repo.File (as `helm repo add` does) into a temporary directory
// and returns its path, for $HELM_REPOSITORY_CONFIG or a RepositoryConfig
// option.
func WriteRepositoryConfig(t testing.TB, entries ...*repo.Entry) string {
	t.Helper()
	f := repo.NewFile()
	f.Add(entries...)
	file := filepath.Join(t.TempDir(), "repositories.yaml")
	if err := f.WriteFile(file, 0o600); err != nil {
		t.Fatalf("helmtest: write %s: %v", file, err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("helmtest: %v", err)
	}
	return file
}
