package store

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names, declared once; Open creates them.
var (
	// bucketMeta holds the schema version, the sync flag, the cursor and
	// the history count.
	bucketMeta = []byte("meta")
	// bucketConfirmed maps "kind/id" to the confirmed fields.
	bucketConfirmed = []byte("confirmed")
	// bucketVisible maps "kind/id" to the materialised fields of every
	// record that is not deleted, or to sameAsConfirmed when they are the
	// confirmed fields (no pending ops).
	bucketVisible = []byte("visible")
	// bucketOutbox maps a big-endian sequence to a pending op.
	bucketOutbox = []byte("outbox")
	// bucketOutboxIDs maps an op_id to its outbox sequence.
	bucketOutboxIDs = []byte("outbox_ids")
	// bucketOutboxRec maps "kind/id" 0x00 sequence to nothing: the pending
	// ops of one record, in outbox order.
	bucketOutboxRec = []byte("outbox_rec")
	// bucketSettings maps a setting name to its JSON value (never synced).
	bucketSettings = []byte("settings")
	// bucketHistory maps a visible history entry's ID to its summary JSON.
	bucketHistory = []byte("history")
	// bucketHistorySearch maps a visible history entry's ID to the text a
	// search matches.
	bucketHistorySearch = []byte("history_search")
)

// Keys of bucketMeta.
var (
	metaSchema       = []byte("schema")
	metaSync         = []byte("sync")
	metaCursor       = []byte("cursor")
	metaHistoryCount = []byte("history_count")
	// metaSecretsCheck is a value sealed with the profile's secret key,
	// stored with the first sealed secret value (see secrets.go).
	metaSecretsCheck = []byte("secrets_check")
	// metaQueueLocal is set while QueueAllLocal is under way: the key of
	// the last visible record it queued (see queueChunk). A file written
	// by a Courier that knows none of this never has it.
	metaQueueLocal = []byte("queue_local")
)

// schemaVersion is the layout this code reads and writes.
//
//	1: meta, confirmed, visible, outbox (+ its two indexes), settings
//	2: the history index (history, history_search) and count
//	3: secret variable values may be sealed at rest (meta secrets_check);
//	   a Courier that reads only up to 2 would take them for JSON
const schemaVersion = 3

// bucketsV1 are the buckets of schema 1.
var bucketsV1 = [][]byte{bucketMeta, bucketConfirmed, bucketVisible, bucketOutbox, bucketOutboxIDs, bucketOutboxRec, bucketSettings}

// migrations[v] turns a schema v file into a schema v+1 file, inside the
// transaction that then records v+1.
var migrations = map[uint64]func(tx *bbolt.Tx) error{
	1: migrateAddHistoryIndex,
	2: func(*bbolt.Tx) error { return nil }, // sealing starts when a key is given
}

// errNewerSchema reports a file written by a newer Courier.
var errNewerSchema = errors.New("written by a newer version of Courier")

// schemaState reports the file's schema version: 0 for a new, empty file.
// It fails with errDamaged when our meta bucket is unreadable.
func schemaState(tx *bbolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bbolt.Bucket) error { empty = false; return nil })
		if !empty {
			return 0, fmt.Errorf("no meta bucket beside other buckets: %w", errDamaged)
		}
		return 0, nil
	}
	v, err := getU64(meta.Get(metaSchema))
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if v == 0 {
		return 0, fmt.Errorf("schema version 0: %w", errDamaged)
	}
	return v, nil
}

// initSchema creates every bucket of a new file and records the current
// version.
func initSchema(tx *bbolt.Tx) error {
	for _, name := range append(bucketsV1, bucketHistory, bucketHistorySearch) {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(metaSchema, u64(schemaVersion))
}

// migrate runs the migrations from version from up to schemaVersion.
func migrate(tx *bbolt.Tx, from uint64) error {
	for v := from; v < schemaVersion; v++ {
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema %d: %w", v, errDamaged)
		}
		if err := m(tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
		if err := tx.Bucket(bucketMeta).Put(metaSchema, u64(v+1)); err != nil {
			return err
		}
	}
	return nil
}

// migrateAddHistoryIndex builds the history index and count from the
// visible history records.
func migrateAddHistoryIndex(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketHistory, bucketHistorySearch} {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	w, err := newWriteTx(tx, nil)
	if err != nil {
		return err
	}
	return w.rebuildHistoryIndex()
}
