package configfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/fluxcd/flux-mirror/core/config"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// Root returns the directory that the files of the config at path must stay
// under, as Load confines them: the config file's directory, or for a
// config read from stdin ("-") the working directory (opts.WorkDir, else
// the process's). Readers of those files confine every later read to it
// too (os.Root), so that a file swapped for a symlink leaving it while
// flux-mirror runs is not read.
func Root(path string, opts Options) (string, error) {
	wd, err := workDir(opts)
	if err != nil {
		return "", err
	}
	switch path {
	case "":
		return "", errors.New("no config file given")
	case Stdin:
		return wd, nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(wd, path)
	}
	return filepath.Dir(path), nil
}

// resolvePaths rewrites every file path in c to an absolute, cleaned path
// under root, and reports every path that escapes root lexically or
// through a symlink, as *config.FieldError.
func resolvePaths(c *config.Config, root string, stdin bool) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("resolve the config directory: %w", err)
	}
	where := "the config directory " + root
	if stdin {
		where = "the working directory " + root
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", where, err)
	}
	var errs []error
	fix := func(i int, host, path string, p *string) {
		if *p == "" {
			return
		}
		abs, msg := confine(root, realRoot, *p, where)
		if msg != "" {
			errs = append(errs, &config.FieldError{
				Path:    "hosts[" + strconv.Itoa(i) + "]." + path,
				Host:    host,
				Message: fmt.Sprintf("%q %s", *p, msg),
			})
			return
		}
		*p = abs
	}
	for i := range c.Hosts {
		h := &c.Hosts[i]
		if cr := h.Credential; cr != nil {
			fix(i, h.Host, "credential.fromPath", &cr.FromPath)
			fix(i, h.Host, "credential.jwkPath", &cr.JWKPath)
		}
		if h.TLS == nil {
			continue
		}
		if s := h.TLS.ServerAuth; s != nil {
			fix(i, h.Host, "tls.serverAuth.fromPath", &s.FromPath)
		}
		if ca := h.TLS.ClientAuth; ca != nil {
			if ca.Certificate != nil {
				fix(i, h.Host, "tls.clientAuth.certificate.fromPath", &ca.Certificate.FromPath)
			}
			if ca.Key != nil {
				fix(i, h.Host, "tls.clientAuth.key.fromPath", &ca.Key.FromPath)
			}
		}
	}
	return errors.Join(errs...)
}

// confine returns p as an absolute, cleaned path under root, or a message
// saying how it leaves root (described by where): lexically, through .. or
// an absolute path elsewhere, or through a symlink, whether or not the file
// exists.
func confine(root, realRoot, p, where string) (string, string) {
	const keep = "; keep referenced files under it"
	if strings.ContainsRune(p, 0) {
		return "", "contains a NUL byte"
	}
	abs := p
	if !filepath.IsAbs(p) {
		abs = filepath.Join(root, p)
	}
	abs = filepath.Clean(abs)
	if !within(root, abs) {
		if filepath.IsAbs(p) {
			return "", "is outside " + where + keep + " and write the path relative to it"
		}
		return "", "escapes " + where + keep
	}
	real, err := realPath(abs)
	if err != nil {
		return "", "cannot be resolved: " + err.Error()
	}
	if !within(realRoot, real) {
		return "", "resolves through a symlink to " + real + ", outside " + where + keep
	}
	return abs, ""
}

// within reports whether p is root or under it; both are clean and absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// realPath resolves the symlinks along the absolute path p as the kernel
// would, component by component, following dangling links too; the part of
// the path that does not exist is appended as is.
func realPath(p string) (string, error) {
	sep := string(filepath.Separator)
	vol := filepath.VolumeName(p)
	cur := vol + sep
	parts := strings.Split(strings.TrimPrefix(p[len(vol):], sep), sep)
	hops := 0
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			// Nothing below a missing component can be a symlink.
			return filepath.Join(append([]string{next}, parts[i+1:]...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		rest := parts[i+1:]
		if filepath.IsAbs(target) {
			vol = filepath.VolumeName(target)
			cur = vol + sep
			target = target[len(vol):]
		}
		parts = append(strings.Split(strings.TrimPrefix(target, sep), sep), rest...)
		i = -1
	}
	return cur, nil
}
