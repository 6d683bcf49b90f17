package boltstore

import "time"

// Logged reports whether acknowledged pushes wait in the push log for a
// checkpoint.
func Logged(d *DB) bool {
	return d.commits.dirty.Load()
}

// HoldCheckpoints makes logged pushes wait for a read or Close. Call it
// before the first write.
func HoldCheckpoints(d *DB) { d.commits.maxDirty = time.Hour }
