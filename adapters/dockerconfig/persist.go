package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

// member is one name/value pair of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// parseObject splits a JSON object into its members, in order. Empty input
// and null are an empty object; a repeated name keeps its first position and
// its last value, as encoding/json decodes it. Like docker/cli's loader, it
// reads the first JSON value and ignores what follows.
func parseObject(raw []byte) ([]member, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var members []member
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("invalid JSON value of %q: %w", key, err)
		}
		if i, dup := index[key]; dup {
			members[i].value = value
			continue
		}
		index[key] = len(members)
		members = append(members, member{key, value})
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return members, nil
}

// renderObject encodes members as a JSON object indented with tabs, the
// layout of docker/cli's config.json.
func renderObject(members []member) ([]byte, error) {
	var flat bytes.Buffer
	flat.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			flat.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		flat.Write(k)
		flat.WriteByte(':')
		if err := json.Compact(&flat, m.value); err != nil {
			return nil, fmt.Errorf("value of %q: %w", m.key, err)
		}
	}
	flat.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, flat.Bytes(), "", "\t"); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

var (
	configFields = jsonNames(reflect.TypeFor[configfile.ConfigFile]())
	authFields   = jsonNames(reflect.TypeFor[types.AuthConfig]())
)

// jsonNames lists the JSON member names encoding/json maps onto t's fields.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// known reports whether encoding/json would decode a member called key into
// one of the fields named names (it matches names case-insensitively).
func known(key string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}

// mergeUnknown adds to docker/cli's encoding of a config (encoded) the
// members of the original file (raw) that docker/cli does not know, at the
// top level and inside each "auths" entry that is still present, so that
// saving a credential loses nothing else. Without such members the encoding
// is returned unchanged.
func mergeUnknown(raw, encoded []byte) ([]byte, error) {
	orig, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("re-read the original config: %w", err)
	}
	var extraTop []member
	extraAuth := map[string][]member{}
	for _, m := range orig {
		if !known(m.key, configFields) {
			extraTop = append(extraTop, m)
			continue
		}
		if !strings.EqualFold(m.key, "auths") {
			continue
		}
		entries, err := parseObject(m.value)
		if err != nil {
			return nil, fmt.Errorf("re-read %q of the original config: %w", m.key, err)
		}
		for _, e := range entries {
			fields, err := parseObject(e.value)
			if err != nil {
				return nil, fmt.Errorf("re-read auths entry %q of the original config: %w", e.key, err)
			}
			var extra []member
			for _, f := range fields {
				if !known(f.key, authFields) {
					extra = append(extra, f)
				}
			}
			if extra != nil {
				extraAuth[e.key] = extra
			} else {
				delete(extraAuth, e.key)
			}
		}
	}
	if len(extraTop) == 0 && len(extraAuth) == 0 {
		return encoded, nil
	}

	top, err := parseObject(encoded)
	if err != nil {
		return nil, fmt.Errorf("re-read the encoded config: %w", err)
	}
	for i, m := range top {
		if m.key != "auths" || len(extraAuth) == 0 {
			continue
		}
		entries, err := parseObject(m.value)
		if err != nil {
			return nil, err
		}
		for j, e := range entries {
			extra, ok := extraAuth[e.key]
			if !ok {
				continue
			}
			fields, err := parseObject(e.value)
			if err != nil {
				return nil, err
			}
			if entries[j].value, err = renderObject(append(fields, extra...)); err != nil {
				return nil, err
			}
		}
		if top[i].value, err = renderObject(entries); err != nil {
			return nil, err
		}
	}
	return renderObject(append(top, extraTop...))
}

// writeAtomic replaces path with data through a temporary file in the same
// directory and a rename, so that a reader sees the old or the new config,
// never a torn one. Like docker/cli's ConfigFile.Save it follows a symlinked
// config.json (even a dangling one) and keeps an existing file's mode and
// ownership; a new file gets mode 0600.
func writeAtomic(path string, data []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the config directory: %w", err)
	}
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	} else if pe, ok := errors.AsType[*fs.PathError](err); ok && errors.Is(err, fs.ErrNotExist) {
		target = pe.Path
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the config directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create a temporary config file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := copyPermissions(target, tmp.Name()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	return nil
}

// copyPermissions gives dst the mode of the regular file src, 0600 when src
// does not exist, and src's owner where the platform allows.
func copyPermissions(src, dst string) error {
	mode := fs.FileMode(0o600)
	fi, err := os.Stat(src)
	switch {
	case err == nil && fi.Mode().IsRegular():
		mode = fi.Mode().Perm()
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("set the mode of %s: %w", dst, err)
	}
	if fi != nil {
		copyOwner(fi, dst)
	}
	return nil
}
