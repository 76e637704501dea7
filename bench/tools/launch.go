package tools

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// launchEnv marks a process that Run started as a launcher.
const launchEnv = "FMBENCH_TOOLS_LAUNCHER"

// launcher reports that Main was called and returned: the program can
// start itself as a launcher.
var launcher atomic.Bool

// Main makes the calling program usable as Run's launcher. Call it first
// thing in main or TestMain. In a process Run started as a launcher it runs
// the measured program, reports its rusage to Run and exits; elsewhere it
// returns at once.
//
// Why a launcher: Linux folds the memory high-water mark of the process
// that calls exec into the new program's ru_maxrss (exec_mmap), and Go
// starts children with vfork, so a child of a large process (a benchmark
// holding registries) reports at least its parent's peak. Started from the
// small launcher instead, the program's ru_maxrss is its own peak (or the
// launcher's few MiB, whichever is larger).
func Main() {
	if os.Getenv(launchEnv) == "" {
		launcher.Store(true)
		return
	}
	os.Exit(launch(os.Args[1:]))
}

// launch runs args with the launcher's standard streams and environment
// (minus launchEnv), writes "maxrss-bytes wall-ns" to file descriptor 3, and
// returns the program's exit code (125 when it could not start).
func launch(args []string) int {
	report := os.NewFile(3, "report")
	if len(args) == 0 || report == nil {
		fmt.Fprintln(os.Stderr, "fmbench launcher: no program to run")
		return 125
	}
	closeOnExec(report)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutEnv(os.Environ(), launchEnv)
	setParentDeathSignal(cmd)
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "fmbench launcher: %v\n", err)
		return 125
	}
	fmt.Fprintf(report, "%d %d\n", maxRSS(cmd.ProcessState), wall.Nanoseconds())
	_ = report.Close()
	if code := cmd.ProcessState.ExitCode(); code >= 0 {
		return code
	}
	return 128
}

// viaLauncher rewrites cmd, which has not started, to run through this
// program as a launcher, and returns the pipe the launcher reports on.
func viaLauncher(cmd *exec.Cmd) (r, w *os.File, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find the launcher: %w", err)
	}
	if cmd.Err != nil {
		return nil, nil, cmd.Err
	}
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("launcher pipe: %w", err)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Args = append([]string{self, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = self
	cmd.Env = append(withoutEnv(env, launchEnv), launchEnv+"=1")
	cmd.ExtraFiles = []*os.File{w}
	return r, w, nil
}

// parseReport reads the launcher's "maxrss-bytes wall-ns" line.
func parseReport(b []byte) (rss int64, wall time.Duration, err error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, errors.New("the launcher reported nothing")
	}
	rss, err1 := strconv.ParseInt(f[0], 10, 64)
	ns, err2 := strconv.ParseInt(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("launcher report %q: %w", b, err)
	}
	return rss, time.Duration(ns), nil
}

func withoutEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}
