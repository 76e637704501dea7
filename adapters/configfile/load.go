package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/flux-mirror/core/config"
)

// MaxSize is the largest config Load reads, from a file or stdin.
const MaxSize = 4 << 20

// Stdin is the path that makes Load read the config from Options.Stdin.
const Stdin = "-"

// Options control how a config is loaded.
type Options struct {
	// NoEnvSubst parses ${VAR} literally instead of substituting it.
	NoEnvSubst bool
	// Purpose is the command the config is validated for.
	Purpose config.Purpose
	// LookupEnv returns environment variables for substitution; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Stdin is read when the path is "-"; nil means os.Stdin.
	Stdin io.Reader
	// WorkDir is the directory relative config paths are resolved against,
	// and the confinement root of a config read from stdin; empty means
	// the process working directory.
	WorkDir string
}

// Error is a failure to load one config file. Its message prefixes every
// underlying problem with the file name, one per line.
type Error struct {
	// File is the config path as given ("-" reads as "stdin").
	File string
	// Err holds the problems, joined; config.FieldErrors takes them apart.
	Err error
}

// Error renders each problem as "<file>: <problem>" on its own line.
func (e *Error) Error() string {
	var b strings.Builder
	for i, line := range strings.Split(e.Err.Error(), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File + ": " + line)
	}
	return b.String()
}

// Unwrap returns the underlying problems.
func (e *Error) Unwrap() error { return e.Err }

// Load reads, substitutes, parses, validates and resolves the config at
// path, or at stdin when path is "-". The document may be written as
// mirror.plugin.fluxcd.io/v1beta1 or v1beta2 (config.Read); the returned
// Config records which in ReadAs. Relative paths are resolved against
// opts.WorkDir. The files the config references must lie under the config
// file's directory (for stdin, under the working directory); their paths are
// rewritten to absolute, cleaned paths in the returned Config. A referenced
// file that does not exist yet is not an error: it is read when needed.
func Load(path string, opts Options) (*config.Config, error) {
	wd, err := workDir(opts)
	if err != nil {
		return nil, err
	}
	var (
		name = path
		root = wd
		data []byte
	)
	switch path {
	case "":
		return nil, errors.New("no config file given")
	case Stdin:
		name = "stdin"
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err = readAll(in)
	default:
		abs := path
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(wd, abs)
		}
		root = filepath.Dir(abs)
		var f *os.File
		if f, err = os.Open(abs); err == nil {
			var fi fs.FileInfo
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = errors.New("is a directory, not a config file")
			} else if err == nil {
				data, err = readAll(f)
			}
			f.Close()
		}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: name, Err: fmt.Errorf("cannot read the config: %w", err)}
	}
	c, err := parse(data, root, opts, path == Stdin)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	return c, nil
}

// Parse substitutes, parses, validates and resolves the config in data, as
// Load does after reading it. root is the directory referenced files must
// stay under: the config file's directory, or the working directory for a
// config read from stdin. Errors are not prefixed with a file name.
func Parse(data []byte, root string, opts Options) (*config.Config, error) {
	return parse(data, root, opts, false)
}

func parse(data []byte, root string, opts Options, stdin bool) (*config.Config, error) {
	raw := data
	if !opts.NoEnvSubst {
		lookup := opts.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		var err error
		if data, err = config.Substitute(data, lookup); err != nil {
			return nil, err
		}
	}
	doc, err := parseYAML(raw, data)
	if err != nil {
		return nil, err
	}
	// Either apiVersion: a v1beta2 document is validated under its own
	// field paths and converted into the v1beta1 form the rest runs on.
	c, verr := config.Read(doc, opts.Purpose)
	if c == nil {
		return nil, verr
	}
	perr := resolvePaths(c, root, stdin)
	if err := errors.Join(verr, perr); err != nil {
		return nil, err
	}
	return c, nil
}

func workDir(opts Options) (string, error) {
	wd := opts.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return "", fmt.Errorf("find the working directory: %w", err)
		}
	}
	return filepath.Abs(wd)
}

// readAll reads at most MaxSize bytes.
func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("the config is larger than %d MiB", MaxSize>>20)
	}
	return data, nil
}

// decodeJSON parses JSON text into a generic tree, keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseDocument parses one YAML (or JSON) config document into the generic
// tree config.Decode and config.Read take, as Load does but without ${VAR}
// substitution: a tool that rewrites the file (flux-mirror convert) keeps
// every ${VAR} as written, so no secret is baked into its output.
func ParseDocument(data []byte) (any, error) {
	return parseYAML(data, data)
}
