//go:build !linux

package boltstore

import "os"

// fdatasync flushes f's data; elsewhere than Linux, with its metadata.
func fdatasync(f *os.File) error { return f.Sync() }

// freeSpace says nothing elsewhere than Linux.
func freeSpace(*os.File) (int64, bool) { return 0, false }
