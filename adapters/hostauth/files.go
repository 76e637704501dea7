package hostauth

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/flux-mirror/core/retry"
)

// maxSecretFile caps what is read from a credential or key file, so that a
// wrong path (a log, a device) fails fast instead of filling memory.
const maxSecretFile = 1 << 20

// confinedFiles reads the files a config names (credential.fromPath,
// credential.jwkPath, the tls CA bundle, client certificate and key) so
// that each read stays inside root at the moment of the read: every open
// goes through os.Root, which refuses a path that leaves root through "..",
// a symlink pointing out of it, or an absolute symlink. A file swapped for
// such a symlink while flux-mirror runs is therefore refused, not read.
//
// An empty root confines each file to its own directory.
type confinedFiles struct {
	root string
}

// files returns the confined reader of deps.Root.
func (d Deps) files() confinedFiles { return confinedFiles{root: d.Root} }

// open opens path, which is absolute, inside the root. Errors name the path
// and the cause only; a missing file and a path that leaves the root are
// marked permanent (another attempt reads the same file).
func (c confinedFiles) open(path string) (*os.File, error) {
	root := c.root
	if root == "" {
		root = filepath.Dir(path)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, retry.Permanent(fmt.Errorf("read %s: it is outside %s; keep the file under it", path, root))
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("read %s: open the directory %s: %w", path, root, pathCause(err))
	}
	defer r.Close()
	f, err := r.Open(rel)
	if err != nil && isEscape(pathCause(err)) {
		// os.Root refuses absolute symlinks even when they point inside
		// it; follow those as relative ones, and let os.Root judge the
		// rest again.
		if resolved, rerr := resolveAbsoluteLinks(r, root, rel); rerr == nil && resolved != rel {
			f, err = r.Open(resolved)
		}
	}
	if err != nil {
		cause := pathCause(err)
		switch {
		case isEscape(cause):
			return nil, retry.Permanent(fmt.Errorf("read %s: it resolves outside %s through a symlink; keep the file, and every symlink's target, under it", path, root))
		case errors.Is(cause, fs.ErrNotExist):
			return nil, retry.Permanent(fmt.Errorf("read %s: %w", path, cause))
		}
		return nil, fmt.Errorf("read %s: %w", path, cause)
	}
	return f, nil
}

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// resolveAbsoluteLinks follows the symlinks along rel inside r, rewriting
// an absolute target that lies under root (or its real location) as a path
// relative to root. A target elsewhere is left for os.Root to refuse. The
// result is only a hint: it is opened through r again, so a file swapped
// meanwhile is still confined.
func resolveAbsoluteLinks(r *os.Root, root, rel string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	sep := string(filepath.Separator)
	parts := strings.Split(rel, sep)
	cur, hops := "", 0
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		switch part {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return "", errors.New("escapes the root")
			}
			cur = filepath.Dir(cur)
			if cur == "." {
				cur = ""
			}
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := r.Lstat(next)
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
		target, err := r.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			t, ok := under(realRoot, target)
			if !ok {
				if t, ok = under(root, target); !ok {
					return "", errors.New("escapes the root")
				}
			}
			target, cur = t, ""
		}
		parts = append(strings.Split(target, sep), parts[i+1:]...)
		i = -1
	}
	return cur, nil
}

// under returns p relative to dir when p is dir or below it.
func under(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, filepath.Clean(p))
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return rel, true
}

// read reads a small file whose content must never be echoed, and returns
// it with the file's info as of the read.
func (c confinedFiles) read(path string) ([]byte, os.FileInfo, error) {
	f, err := c.open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readOpen(f, path)
}

// readOpen reads an open file of at most maxSecretFile bytes.
func readOpen(f *os.File, path string) ([]byte, os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	if fi.IsDir() {
		return nil, nil, retry.Permanent(fmt.Errorf("read %s: it is a directory, not a file", path))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	if len(b) > maxSecretFile {
		return nil, nil, retry.Permanent(fmt.Errorf("read %s: larger than %d bytes; is this the right file?", path, maxSecretFile))
	}
	return b, fi, nil
}

// isEscape reports os.Root's refusal of a path that leaves the root. The
// os package does not export that error, so its fixed text is compared.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// pathCause strips the *os.PathError wrapper (which repeats the path) and
// keeps its cause, e.g. "no such file or directory".
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
