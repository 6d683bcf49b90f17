package store

// SetCompactMinFree sets the free bytes from which a file is compacted,
// until the returned restore.
func SetCompactMinFree(n int64) (restore func()) {
	old := compactMinFree
	compactMinFree = n
	return func() { compactMinFree = old }
}
