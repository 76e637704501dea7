package tools

import (
	"os"
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the measured program if its launcher dies
// (e.g. the benchmark is cancelled and kills the launcher).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// closeOnExec keeps the launcher's report pipe out of the measured
// program, so that only the launcher holds it open.
func closeOnExec(f *os.File) { syscall.CloseOnExec(int(f.Fd())) }

// FlushDirtyPages writes the page cache's dirty pages to disk and waits, so
// that a timed run does not compete with the writeback of what was written
// before it (the seeded source, the previous run's destination).
func FlushDirtyPages() { syscall.Sync() }
