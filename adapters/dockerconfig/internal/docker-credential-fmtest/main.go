// Command docker-credential-fmtest is a real Docker credential helper for
// tests: it speaks the docker-credential-helpers protocol (store, get, erase,
// list and version over stdin/stdout, through that project's own Serve) and
// keeps its credentials in the JSON file named by $FMTEST_STORE, so that a
// test can inspect what docker/cli handed to it. With $FMTEST_FAIL set, every
// action fails with that message, like a locked keychain.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"

	"github.com/docker/docker-credential-helpers/credentials"
)

// entry is one stored credential.
type entry struct {
	Username string `json:"username"`
	Secret   string `json:"secret"`
}

// fileHelper implements credentials.Helper on a JSON file.
type fileHelper struct{ path string }

func (h fileHelper) load() (map[string]entry, error) {
	if msg := os.Getenv("FMTEST_FAIL"); msg != "" {
		return nil, errors.New(msg)
	}
	all := map[string]entry{}
	b, err := os.ReadFile(h.path)
	if errors.Is(err, os.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("parse %s: %w", h.path, err)
	}
	return all, nil
}

func (h fileHelper) save(all map[string]entry) error {
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(h.path, b, 0o600)
}

func (h fileHelper) Add(c *credentials.Credentials) error {
	all, err := h.load()
	if err != nil {
		return err
	}
	all[c.ServerURL] = entry{Username: c.Username, Secret: c.Secret}
	return h.save(all)
}

func (h fileHelper) Delete(serverURL string) error {
	all, err := h.load()
	if err != nil {
		return err
	}
	if _, ok := all[serverURL]; !ok {
		return credentials.NewErrCredentialsNotFound()
	}
	delete(all, serverURL)
	return h.save(all)
}

func (h fileHelper) Get(serverURL string) (string, string, error) {
	all, err := h.load()
	if err != nil {
		return "", "", err
	}
	e, ok := all[serverURL]
	if !ok {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	return e.Username, e.Secret, nil
}

func (h fileHelper) List() (map[string]string, error) {
	all, err := h.load()
	if err != nil {
		return nil, err
	}
	users := make(map[string]string, len(all))
	for k, e := range maps.All(all) {
		users[k] = e.Username
	}
	return users, nil
}

func main() {
	path := os.Getenv("FMTEST_STORE")
	if path == "" {
		fmt.Println("docker-credential-fmtest: set FMTEST_STORE to the JSON file that holds the credentials")
		os.Exit(1)
	}
	credentials.Serve(fileHelper{path: path})
}
