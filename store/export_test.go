package store

// SetCompactLimits sets the free bytes from which a file is compacted and
// the most live bytes a compaction copies, until the returned restore.
func SetCompactLimits(minFree, maxLive int64) (restore func()) {
	oldFree, oldLive := compactMinFree, compactMaxLive
	compactMinFree, compactMaxLive = minFree, maxLive
	return func() { compactMinFree, compactMaxLive = oldFree, oldLive }
}
