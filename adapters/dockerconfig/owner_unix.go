//go:build unix

package dockerconfig

import (
	"io/fs"
	"os"
	"syscall"
)

// copyOwner gives dst the owner of the file described by fi, as docker/cli
// does (so that `sudo` does not hand a user's config to root). Failures are
// ignored: only root may change owners, and then the mode still protects.
func copyOwner(fi fs.FileInfo, dst string) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 || st.Gid == 0 {
		return
	}
	_ = os.Chown(dst, int(st.Uid), int(st.Gid))
}
