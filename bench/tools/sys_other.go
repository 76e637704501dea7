//go:build !linux

package tools

import (
	"os"
	"os/exec"
)

// setParentDeathSignal does nothing where the platform has no parent-death
// signal.
func setParentDeathSignal(*exec.Cmd) {}

// closeOnExec does nothing here: the measured program may inherit the
// report pipe, which only delays Run until it exits.
func closeOnExec(*os.File) {}

// FlushDirtyPages does nothing here: timed runs may overlap the writeback
// of earlier writes.
func FlushDirtyPages() {}
