//go:build unix && !solaris && !aix

package boltfile

import (
	"os"
	"syscall"
)

// locked says whether another open file holds bbolt's lock on f: a
// non-blocking shared flock, as bbolt takes an exclusive one in write mode.
// Ours goes when f is closed.
func locked(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		ferr = syscall.Flock(int(fd), syscall.LOCK_SH|syscall.LOCK_NB)
	}); err != nil {
		return false
	}
	return ferr == syscall.EWOULDBLOCK
}
