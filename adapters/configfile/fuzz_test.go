package configfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

// FuzzParse feeds arbitrary bytes to Parse: it must return an error or a
// valid config, never panic; a valid config must re-validate, reference only
// paths under the root, and parse back to itself from its JSON form.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "invalid/*.yaml"} {
		files, _ := filepath.Glob(filepath.Join(examplesDir, pattern))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(header + "hosts:\n  - host: a.example\n    credential: {fromPath: ../x}\n"))
	f.Add([]byte("&a [*a]"))
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		purpose := config.Purpose(len(data) % 2)
		c, err := Parse(data, root, Options{LookupEnv: lookupExample, Purpose: purpose})
		if err != nil {
			if c != nil {
				t.Fatal("a config with an error")
			}
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		// A v1beta1 config re-validates as parsed. A v1beta2 one runs as its
		// v1beta1 form, which may hold what v1beta1 cannot write (several
		// audiences, an envelope, a serverID prefix); Parse validated it
		// under the v1beta2 rules.
		v1beta2 := c.Version() == config.APIVersionV1Beta2
		if err := c.Validate(purpose); err != nil && !v1beta2 {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
		for _, h := range c.Hosts {
			var paths []string
			if cr := h.Credential; cr != nil {
				paths = append(paths, cr.FromPath, cr.JWKPath)
			}
			if tl := h.TLS; tl != nil {
				if tl.ServerAuth != nil {
					paths = append(paths, tl.ServerAuth.FromPath)
				}
				if ca := tl.ClientAuth; ca != nil {
					if ca.Certificate != nil {
						paths = append(paths, ca.Certificate.FromPath)
					}
					if ca.Key != nil {
						paths = append(paths, ca.Key.FromPath)
					}
				}
			}
			for _, p := range paths {
				if p != "" && !(filepath.IsAbs(p) && strings.HasPrefix(p, root+string(filepath.Separator)) || p == root) {
					t.Fatalf("path %q is not absolute under %s", p, root)
				}
			}
		}
		// The JSON form of the version it was read as parses back to it.
		var doc any = c
		if v1beta2 {
			v1 := *c
			v1.ReadAs = ""
			v2, err := v1.ToV1Beta2()
			if err != nil {
				t.Fatalf("a valid v1beta2 config has no v1beta2 form: %v", err)
			}
			doc = v2
		}
		j, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(j, root, Options{NoEnvSubst: true, Purpose: purpose})
		if err != nil {
			t.Fatalf("the JSON form of a valid config does not parse: %v\n%s", err, j)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the config:\n%s", j)
		}
	})
}
