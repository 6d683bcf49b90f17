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

// MarkSynced turns sync on and sets the cursor without touching a layer,
// as if the confirmed records had come from the server up to cursor: a
// synced profile for the benchmarks, from a fixture built offline.
func (db *DB) MarkSynced(cursor uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaCursor, u64(cursor)); err != nil {
			return err
		}
		return meta.Put(metaSync, []byte{1})
	})
}

// SetScrubFailure makes the wiping of free pages after the sealing at Open
// fail with err, until the returned restore.
func SetScrubFailure(err error) (restore func()) {
	old := scrubOpened
	scrubOpened = func(*bbolt.DB, string, bool) error { return err }
	return func() { scrubOpened = old }
}
