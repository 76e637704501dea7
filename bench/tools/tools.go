// Package tools builds, installs and runs the command-line programs the
// sync benchmark compares, and measures each run: wall time and the peak
// resident memory of the child process (from its rusage).
package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Result is what one run of a program cost and printed.
type Result struct {
	// Wall is the time from start to exit.
	Wall time.Duration
	// MaxRSS is the child's peak resident set size in bytes (0 where the
	// platform does not report it).
	MaxRSS int64
	// Stdout and Stderr are everything the program printed.
	Stdout, Stderr []byte
	// ExitCode is the exit status (-1 if the program did not exit normally).
	ExitCode int
}

// Run runs cmd to completion, capturing its output, and measures it. A run
// that cannot start, or exits with a status other than 0, returns the
// Result and an error that ends with the tail of its stderr.
//
// When the program called Main, cmd runs under a launcher (a second copy of
// this program) so that MaxRSS is the command's own peak; otherwise MaxRSS
// is at least this process's own peak at the time of the start (see Main).
func Run(cmd *exec.Cmd) (Result, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	name := strings.Join(cmd.Args, " ")
	var r, w *os.File
	if launcher.Load() {
		var err error
		if r, w, err = viaLauncher(cmd); err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("%s: %w", name, err)
		}
		defer r.Close()
	}
	start := time.Now()
	err := cmd.Run()
	res := Result{Wall: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		res.MaxRSS = maxRSS(cmd.ProcessState)
	}
	if w != nil {
		_ = w.Close()
		b, _ := io.ReadAll(r)
		rss, wall, rerr := parseReport(b)
		if rerr != nil && err == nil {
			err = rerr
		}
		if rerr == nil {
			res.MaxRSS, res.Wall = rss, wall
		}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w%s", name, err, tail(stderr.Bytes()))
	}
	return res, nil
}

// tail returns the last lines of a program's stderr for an error message.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return ":\n" + s
}

// GoInstall installs the main package pkg at version (`go install
// pkg@version`) into dir/<name>@<version>, unless it is already there, and
// returns the binary's path. It runs outside any workspace (GOWORK=off), so
// the tool builds with its own go.mod.
func GoInstall(ctx context.Context, pkg, version, dir string) (string, error) {
	name := filepath.Base(pkg)
	bin := filepath.Join(dir, name+"@"+version)
	path := filepath.Join(bin, name)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("install %s@%s: %w", pkg, version, err)
	}
	cmd := exec.CommandContext(ctx, "go", "install", pkg+"@"+version)
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOWORK=off")
	if _, err := Run(cmd); err != nil {
		return "", fmt.Errorf("install %s@%s: %w", pkg, version, err)
	}
	return path, nil
}

// BuildFluxMirror builds the flux-mirror binary from the module at cliDir
// (the repository's cli/ folder; the go.work above it, if any, applies) into
// out, and returns out. It is built as make dist, make image and the
// release build it: static (CGO_ENABLED=0), without symbol tables.
func BuildFluxMirror(ctx context.Context, cliDir, out string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/flux-mirror")
	cmd.Dir = cliDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if _, err := Run(cmd); err != nil {
		return "", fmt.Errorf("build flux-mirror: %w", err)
	}
	return out, nil
}

// CacheDir returns the folder where GoInstall keeps the comparison tools
// between runs: $FMBENCH_CACHE, else <user cache dir>/flux-mirror-bench.
func CacheDir() (string, error) {
	if d := os.Getenv("FMBENCH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errors.New("no cache folder for the comparison tools: set FMBENCH_CACHE or HOME")
	}
	return filepath.Join(d, "flux-mirror-bench"), nil
}
