//go:build !linux && !darwin && !freebsd

package boltstore

import "os"

// fdatasync flushes f's data, with its metadata.
func fdatasync(f *os.File) error { return f.Sync() }

// freeSpace says nothing on these systems.
func freeSpace(*os.File) (int64, bool) { return 0, false }
