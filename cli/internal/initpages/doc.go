// Package initpages hands back to the kernel the pages of the executable
// that only package initialisation needed.
//
// Go runs the init of every linked package before main. In the default
// flux-mirror build that is some 900 packages (Sigstore, Kubernetes, three
// cloud SDKs among them), and their init code and data are spread over the
// whole executable. Linux maps a file-backed page together with its
// neighbours already in the page cache (64 KiB "fault-around" windows), so
// by the time main runs about 24 MiB of the executable is resident, most of
// which no command touches again. [Release] unmaps the executable's
// read-only mappings once, at the start of main; what the command then runs
// is mapped again from the page cache on first use. It is the user-space
// counterpart of the kernel freeing its __init sections after boot.
//
// Only mappings the process has not written to are released (no private
// copy-on-write pages: a relocated RELRO segment of a PIE build keeps its
// pages), so the contents after the release are the file's, as before.
// On systems other than Linux, Release does nothing.
package initpages
