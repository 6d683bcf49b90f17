package boltfile

import (
	"os"

	"golang.org/x/sys/windows"
)

// locked says whether another open file holds bbolt's lock on f: a shared
// lock on the byte range bbolt locks (the last byte of the address space),
// tried without waiting and released at once.
func locked(f *os.File) bool {
	const m1 = 1<<32 - 1
	h := windows.Handle(f.Fd())
	ol := windows.Overlapped{Offset: m1, OffsetHigh: m1}
	err := windows.LockFileEx(h, windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if err == nil {
		_ = windows.UnlockFileEx(h, 0, 1, 0, &windows.Overlapped{Offset: m1, OffsetHigh: m1})
		return false
	}
	return err == windows.ERROR_LOCK_VIOLATION
}
