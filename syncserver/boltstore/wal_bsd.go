//go:build darwin || freebsd

package boltstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data, with its metadata (on macOS, through the
// drive's cache: Go's Sync uses F_FULLFSYNC there).
func fdatasync(f *os.File) error { return f.Sync() }

// freeSpace returns the bytes free to f's file system for this process.
func freeSpace(f *os.File) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
