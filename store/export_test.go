package store

import "go.etcd.io/bbolt"

// SetCompactLimits sets the free bytes from which a file is compacted and
// the most live bytes a compaction copies, until the returned restore.
func SetCompactLimits(minFree, maxLive int64) (restore func()) {
	oldFree, oldLive := compactMinFree, compactMaxLive
	compactMinFree, compactMaxLive = minFree, maxLive
	return func() { compactMinFree, compactMaxLive = oldFree, oldLive }
}

// RebaseEntries counts the records of a start-over under way.
func (db *DB) RebaseEntries() int {
	n := 0
	_ = db.bolt.View(func(tx *bbolt.Tx) error {
		if rb := tx.Bucket(bucketRebase); rb != nil {
			n = rb.Stats().KeyN
		}
		return nil
	})
	return n
}

// SetQueueChunk sets the most records and bytes QueueAllLocal queues per
// transaction, until the returned restore.
func SetQueueChunk(records, bytes int) (restore func()) {
	oldN, oldB := queueChunk, queueChunkBytes
	queueChunk, queueChunkBytes = records, bytes
	return func() { queueChunk, queueChunkBytes = oldN, oldB }
}
