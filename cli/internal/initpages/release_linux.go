package initpages

import (
	"fmt"
	"os"
	"reflect"
	"syscall"
)

// Release drops the resident pages of the executable's read-only mappings
// that hold no private copy, and returns how many bytes were resident in
// them. Call it once, at the start of main: pages still needed come back
// from the page cache on first use.
func Release() (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("release init pages: %w", err)
	}
	maps, err := parseSmaps(f)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("release init pages: %w", err)
	}
	// The executable is the file mapped where this function's code is.
	pc := uint64(reflect.ValueOf(Release).Pointer())
	var exe *mapping
	for i := range maps {
		if maps[i].start <= pc && pc < maps[i].end {
			exe = &maps[i]
			break
		}
	}
	if exe == nil || exe.inode == 0 {
		return 0, fmt.Errorf("release init pages: no file mapping holds the program's code")
	}
	var released int64
	for _, m := range maps {
		if !m.releasable(exe.dev, exe.inode) || m.rss == 0 {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("release init pages: madvise %x-%x: %w", m.start, m.end, errno)
		}
		released += int64(m.rss)
	}
	return released, nil
}
