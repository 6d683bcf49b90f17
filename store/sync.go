package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// The methods the sync engine builds on. The flag SyncEnabled says where
// local writes go: false (no account) straight into confirmed; true (the
// profile belongs to an account, connected or not) into the outbox, where
// they wait until the server's stream echoes them. The outbox is only ever
// non-empty while the flag is true.

// SetSyncEnabled sets the flag.
//
// Turning it on attaches the profile to an account. The confirmed layer
// must then be the server's state as of the cursor, so with the cursor at
// 0 it must hold nothing local: if records are visible, SetSyncEnabled
// fails with model.ErrConflict and the caller lets the user choose between
// QueueAllLocal (merge them into the account; it turns sync on itself) and
// CopyTo then DiscardLocal (keep them aside). Local tombstones alone are
// dropped.
//
// Turning it off detaches the profile from its account: the pending ops
// are folded into confirmed (so nothing the user sees changes or is lost),
// a chunk per transaction (see foldLocal), the outbox is emptied and the
// cursor goes back to 0. Pausing sync while signed in must keep the flag
// on, so the outbox keeps growing.
func (db *DB) SetSyncEnabled(ctx context.Context, on bool) error {
	if on {
		return db.update(ctx, "set sync", false, func(w *writeTx) error { return w.enableSync() })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.unfinished.Store(true)
	if err := db.foldLocal(ctx, true); err != nil {
		return err
	}
	db.unfinished.Store(false)
	return nil
}

// metaFold (in bucketMeta) is set while turning sync off folds the outbox
// into confirmed, a chunk per transaction. A file written by a Courier
// that knows none of this never has it.
var metaFold = []byte("fold")

// foldLocal runs the transactions that turn sync off, db.wmu held: a new
// fold when start (or the one under way), else only the one under way.
//
// Like QueueAllLocal, it goes a chunk of ops at a time, from the oldest,
// so that an outbox of a hundred thousand ops does not sit in one
// transaction. Sync stays on until the last chunk: a fold stopped half
// way is a profile whose first ops the server seems to have confirmed,
// and local writes keep going on top of the rest. It is finished before
// any server change is applied (which then fails: sync is off), or by
// SetSyncEnabled(false) again.
func (db *DB) foldLocal(ctx context.Context, start bool) error {
	_, err := db.inChunks(ctx, "turn sync off", func(w *writeTx, first bool) (int, bool, error) {
		return w.foldChunk(start && first)
	})
	return err
}

// foldChunk folds the next chunk of pending ops into confirmed (see
// foldLocal): the first, when start, abandons a merge or start-over under
// way (what they queued is folded like any op). The last sets the cursor
// to 0 and turns sync off. It returns how many ops it folded, and done
// once no fold is under way.
func (w *writeTx) foldChunk(start bool) (folded int, done bool, err error) {
	if w.meta.Get(metaFold) == nil {
		if !start {
			return 0, true, nil
		}
		if err := w.dropRebase(); err != nil {
			return 0, false, err
		}
		if err := w.meta.Delete(metaQueueLocal); err != nil {
			return 0, false, err
		}
		if err := w.meta.Put(metaFold, []byte{1}); err != nil {
			return 0, false, err
		}
	}
	var ops []model.Op
	size := 0
	c := w.out.Cursor()
	k, v := c.First()
	for ; k != nil && len(ops) < queueChunk && size < queueChunkBytes; k, v = c.Next() {
		op, err := w.sec.decodeOp(v)
		if err != nil {
			return 0, false, fmt.Errorf("outbox op %x: %w", k, err)
		}
		ops = append(ops, op)
		size += len(v)
	}
	more := k != nil
	for _, op := range ops {
		if _, _, err := w.removeOp(op.OpID); err != nil {
			return 0, false, err
		}
	}
	for _, op := range ops {
		if err := w.mergeConfirmed(op.Kind, op.ID, op.Fields); err != nil {
			return 0, false, err
		}
	}
	for _, op := range ops {
		if err := w.materialise(op.Kind, op.ID); err != nil {
			return 0, false, err
		}
	}
	w.keys = nil // nothing visible changed
	if more {
		return len(ops), false, nil
	}
	if err := w.meta.Put(metaCursor, u64(0)); err != nil {
		return 0, false, err
	}
	if err := w.meta.Put(metaSync, []byte{0}); err != nil {
		return 0, false, err
	}
	return len(ops), true, w.meta.Delete(metaFold)
}

func (w *writeTx) enableSync() error {
	if syncEnabled(w.meta) {
		return nil
	}
	cursor, err := cursorOf(w.meta)
	if err != nil {
		return err
	}
	if cursor == 0 {
		if k, _ := w.vis.Cursor().First(); k != nil {
			return fmt.Errorf("the profile holds local records: merge them into the account (QueueAllLocal) or keep them aside (CopyTo, DiscardLocal) first: %w", model.ErrConflict)
		}
		if err := w.clearBuckets(bucketConfirmed); err != nil {
			return err
		}
	}
	return w.meta.Put(metaSync, []byte{1})
}

// clearBuckets empties the named buckets.
func (w *writeTx) clearBuckets(names ...[]byte) error {
	for _, name := range names {
		if err := w.tx.DeleteBucket(name); err != nil {
			return err
		}
		if _, err := w.tx.CreateBucket(name); err != nil {
			return err
		}
	}
	_, err := w.resolve()
	return err
}

// SyncEnabled reports the flag.
func (db *DB) SyncEnabled(ctx context.Context) (bool, error) {
	var on bool
	err := db.view(ctx, "read sync flag", func(tx *bbolt.Tx) error {
		on = syncEnabled(tx.Bucket(bucketMeta))
		return nil
	})
	return on, err
}

// Cursor returns the seq of the last server change applied (0 before the
// first).
func (db *DB) Cursor(ctx context.Context) (uint64, error) {
	var n uint64
	err := db.view(ctx, "read cursor", func(tx *bbolt.Tx) error {
		var err error
		n, err = cursorOf(tx.Bucket(bucketMeta))
		return err
	})
	return n, err
}

// ApplyServerChanges applies one page of the server's stream in one
// transaction: each change's fields are merged into confirmed in the given
// order (a later change overwrites a field: last writer wins in server
// order); every pending op whose op_id a change carries is dropped from the
// outbox (the echo is the ack); the cursor is set; and each touched record
// is re-materialised from confirmed plus its remaining pending ops. A server
// value is never skipped because a local op is pending: the op stays on
// top until it is echoed or acked.
//
// Changes with Seq at or below the stored cursor were applied before (a
// page delivered twice) and are ignored, and the cursor never moves back.
// Seqs start at 1. A change with seq 0 or a bad kind, id, field name or
// JSON fails the whole page with model.ErrInvalid; nothing is applied.
//
// A first sync is thousands of these pages, so each record is read from
// confirmed once per page, merged in memory, written once, and
// materialised from memory (without the outbox lookup when the outbox is
// empty). The commit fsyncs as every other write does.
//
// ApplyServerChanges is PrepareServerChanges then ApplyServerPage; the
// sync engine calls the two apart, so that a page is prepared while the
// one before commits.
func (db *DB) ApplyServerChanges(ctx context.Context, changes []model.Change, cursor uint64) error {
	p, err := db.PrepareServerChanges(changes)
	if err != nil {
		return err
	}
	return db.ApplyServerPage(ctx, p, cursor)
}

// PrepareServerChanges checks a page of the server's stream as
// ApplyServerChanges does and computes, on all cores, what applying it
// needs of each change alone: its fields in their stored form (secret
// values sealed) and, for a history entry, its index entry. A change that
// creates its record, the whole of a first sync, is then stored as
// prepared. It reads and writes nothing, so it may run while another
// transaction commits.
func (db *DB) PrepareServerChanges(changes []model.Change) (app.ServerPage, error) {
	p, err := db.preparePage(changes)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// preparePage is PrepareServerChanges.
func (db *DB) preparePage(changes []model.Change) (*ServerPage, error) {
	p := &ServerPage{sec: db.sec, changes: changes, pre: make([]preparedChange, len(changes))}
	var (
		mu    sync.Mutex
		first = len(changes)
		ferr  error
	)
	inParallel(len(changes), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			c := changes[i]
			if err := validateChange(i, c); err != nil {
				mu.Lock()
				if i < first {
					first, ferr = i, err
				}
				mu.Unlock()
				return
			}
			p.pre[i] = prepareChange(db.sec, c)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return p, nil
}

// JoinServerPages joins consecutive pages of the stream, each from
// PrepareServerChanges, into one page that ApplyServerPage applies in one
// transaction: a device catching up with many pages waiting pays one
// commit for them all rather than one each. The pages keep their
// prepared forms; pages prepared by another store are prepared again.
func (db *DB) JoinServerPages(pages []app.ServerPage) (app.ServerPage, error) {
	n, own := 0, true
	for _, pg := range pages {
		p, ok := pg.(*ServerPage)
		own = own && ok && p.sec == db.sec
		n += len(pg.Changes())
	}
	changes := make([]model.Change, 0, n)
	for _, pg := range pages {
		changes = append(changes, pg.Changes()...)
	}
	if !own {
		return db.PrepareServerChanges(changes)
	}
	pre := make([]preparedChange, 0, n)
	for _, pg := range pages {
		pre = append(pre, pg.(*ServerPage).pre...)
	}
	return &ServerPage{sec: db.sec, changes: changes, pre: pre}, nil
}

// ApplyServerPage applies a page from PrepareServerChanges in one
// transaction, as ApplyServerChanges does. A page prepared by another
// store (or another implementation) is prepared again here.
func (db *DB) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	p, ok := page.(*ServerPage)
	if !ok || p.sec != db.sec {
		var err error
		if p, err = db.preparePage(page.Changes()); err != nil {
			return err
		}
	}
	// Until a merge, a start-over or turning sync off is done, the
	// confirmed layer holds records that are not the server's.
	if err := db.finish(ctx); err != nil {
		return err
	}
	return db.update(ctx, "apply server changes", true, func(w *writeTx) error {
		if w.meta.Get(metaQueueLocal) != nil || w.meta.Get(metaRebaseNext) != nil || w.meta.Get(metaFold) != nil {
			return fmt.Errorf("the profile's records are being rewritten (a merge, a start-over or turning sync off is under way): %w", model.ErrConflict)
		}
		if !syncEnabled(w.meta) {
			return errSyncOff
		}
		old, err := cursorOf(w.meta)
		if err != nil {
			return err
		}
		page := newServerPage(p)
		// With nothing pending (a new device's first sync, a device that
		// only receives), no change can be the echo of an op here.
		pending := !w.outboxEmpty()
		rb, bound, err := w.rebaseBound()
		if err != nil {
			return err
		}
		for i, c := range p.changes {
			if c.Seq <= old {
				continue
			}
			if err := page.merge(w, i); err != nil {
				return err
			}
			if pending && c.OpID != "" {
				op, ok, err := w.removeOp(c.OpID)
				if err != nil {
					return err
				}
				if ok {
					page.mark(op.Kind, op.ID)
					continue
				}
			}
			if rb != nil {
				if err := w.rebaseChange(rb, bound, c); err != nil {
					return err
				}
			}
		}
		if rb != nil && old <= bound && cursor > bound {
			if err := settleDeletions(rb); err != nil {
				return err
			}
		}
		if cursor > old {
			if err := w.meta.Put(metaCursor, u64(cursor)); err != nil {
				return err
			}
		}
		return page.commit(w)
	})
}

// validateChange checks change c, the i-th of its page.
func validateChange(i int, c model.Change) error {
	if c.Seq == 0 {
		return fmt.Errorf("server change %d: seq 0: %w", i, model.ErrInvalid)
	}
	if err := validateRecord(c.Kind, c.ID, c.Fields); err != nil {
		return fmt.Errorf("server change %d (seq %d): %w", i, c.Seq, err)
	}
	if c.OpID != "" {
		if err := c.OpID.Validate(); err != nil {
			return fmt.Errorf("server change %d (seq %d): op_id: %w", i, c.Seq, err)
		}
	}
	return nil
}

// PendingOps returns up to limit pending ops (all when limit <= 0), oldest
// first.
func (db *DB) PendingOps(ctx context.Context, limit int) ([]model.Op, error) {
	var out []model.Op
	err := db.view(ctx, "read outbox", func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			op, err := db.sec.decodeOp(v)
			if err != nil {
				return fmt.Errorf("outbox op %x: %w", k, err)
			}
			out = append(out, op)
		}
		return nil
	})
	return out, err
}

// PendingDeletions returns the pending ops that delete a record the
// server holds (live in the confirmed layer), oldest first. Pushed ahead
// of the rest of the outbox they make room in the account's quota: a
// deletion is final, so a record's earlier pending ops, pushed after it,
// leave it deleted all the same. A deletion of a record the server never
// had is left in order, since it would grow the account instead. It reads
// the whole outbox.
func (db *DB) PendingDeletions(ctx context.Context) ([]model.Op, error) {
	var out []model.Op
	err := db.view(ctx, "read outbox deletions", func(tx *bbolt.Tx) error {
		conf := tx.Bucket(bucketConfirmed)
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !bytes.Contains(v, deletedName) { // field names are stored plain
				continue
			}
			op, err := db.sec.decodeOp(v)
			if err != nil {
				return fmt.Errorf("outbox op %x: %w", k, err)
			}
			if !(model.Record{Fields: op.Fields}).Deleted() {
				continue
			}
			rk := recKey(op.Kind, op.ID)
			cv := conf.Get(rk)
			if cv == nil {
				continue
			}
			fields, err := db.sec.decodeRecord(rk, cv)
			if err != nil {
				return fmt.Errorf("confirmed record %s: %w", rk, err)
			}
			if len(fields) > 0 && !(model.Record{Fields: fields}).Deleted() {
				out = append(out, op)
			}
		}
		return nil
	})
	return out, err
}

// deletedName is the _deleted field's name as the store writes it.
var deletedName = []byte(model.FieldDeleted)

// PendingCount returns how many ops are pending.
func (db *DB) PendingCount(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "count outbox", func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketOutboxIDs).Stats().KeyN
		return nil
	})
	return n, err
}

// AckOps removes the pending ops opIDs (unknown ids are ignored) and
// re-materialises their records, in one transaction. The server sends such
// acks for ops it had applied before (a retried push).
func (db *DB) AckOps(ctx context.Context, opIDs []model.ID) error {
	return db.update(ctx, "acknowledge ops", true, func(w *writeTx) error {
		var done []model.Op
		for _, id := range opIDs {
			op, ok, err := w.removeOp(id)
			if err != nil {
				return err
			}
			if ok {
				done = append(done, op)
			}
		}
		for _, op := range done {
			if err := w.materialise(op.Kind, op.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// QueueAllLocal queues every visible record once as an op carrying all its
// fields, and turns sync on: the first sign-in's "merge into the account".
// With the cursor at 0 (nothing pulled yet) the confirmed layer is emptied
// too, since none of it came from the server (local tombstones are
// dropped; what the user sees does not change). Call it before the first
// ApplyServerChanges. It returns how many ops it queued.
//
// A profile may hold a hundred thousand records, so the records are
// queued a chunk per transaction (queueChunk records or queueChunkBytes,
// whichever comes first), with no other write in between: the heap holds
// one chunk, not the whole profile. The first transaction turns sync on,
// so whatever stops the queue half way (a cancelled ctx, a full disk, a
// killed process) leaves a profile whose local writes go to the outbox on
// top of the ops queued so far, as they should. A queue under way is
// finished before any server change is applied (ApplyServerPage), or by
// QueueAllLocal called again; turning sync off or DiscardLocal abandons it.
func (db *DB) QueueAllLocal(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if _, err := db.rebaseLocal(ctx); err != nil {
		return 0, err
	}
	if err := db.foldLocal(ctx, false); err != nil {
		return 0, err
	}
	db.unfinished.Store(true)
	n, err := db.queueLocal(ctx, true)
	switch {
	case err == nil:
		db.unfinished.Store(false)
	case n > 0:
		err = fmt.Errorf("%d local records were queued, the rest will be when sync runs: %w", n, err)
	}
	return n, err
}

// Chunks of QueueAllLocal, Rebase and turning sync off (variables for
// tests).
var (
	queueChunk      = 4096
	queueChunkBytes = 8 << 20
)

// finish finishes a QueueAllLocal, Rebase or SetSyncEnabled(false) left
// under way, if any.
func (db *DB) finish(ctx context.Context) error {
	if !db.unfinished.Load() {
		return nil
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return db.finishLocked(ctx)
}

// finishLocked is finish for a caller that holds db.wmu.
func (db *DB) finishLocked(ctx context.Context) error {
	if !db.unfinished.Load() {
		return nil
	}
	if _, err := db.queueLocal(ctx, false); err != nil {
		return fmt.Errorf("finish queuing the local records: %w", err)
	}
	if _, err := db.rebaseLocal(ctx); err != nil {
		return fmt.Errorf("finish starting over from the server's stream: %w", err)
	}
	if err := db.foldLocal(ctx, false); err != nil {
		return fmt.Errorf("finish turning sync off: %w", err)
	}
	db.unfinished.Store(false)
	return nil
}

// errSyncOff refuses server changes to a profile whose sync is off: its
// confirmed layer holds its own records.
var errSyncOff = fmt.Errorf("sync is off on this profile: %w", model.ErrConflict)

// queueLocal runs QueueAllLocal's transactions, db.wmu held: a new queue
// when fresh (or the one under way), else only the one under way.
func (db *DB) queueLocal(ctx context.Context, fresh bool) (int, error) {
	return db.inChunks(ctx, "queue local records", func(w *writeTx, first bool) (int, bool, error) {
		return w.queueChunk(fresh && first)
	})
}

// inChunks runs step in one write transaction after another, db.wmu held,
// until it reports done, checking ctx between them (first says it is the
// first). It returns the sum of what the steps counted, for those that
// committed.
func (db *DB) inChunks(ctx context.Context, what string, step func(w *writeTx, first bool) (n int, done bool, err error)) (int, error) {
	total := 0
	for first := true; ; first = false {
		var n int
		done := false
		err := db.updateLocked(what, false, func(w *writeTx) error {
			var err error
			n, done, err = step(w, first)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// queueChunk queues the next chunk of visible records after the one
// metaQueueLocal names (from the first when start). It reports done once
// the queue is finished: the last chunk empties the confirmed layer at
// cursor 0 and drops metaQueueLocal. Without start and with no queue under
// way it does nothing.
func (w *writeTx) queueChunk(start bool) (queued int, done bool, err error) {
	w.watched = false // pushed once caught up, in pushes of their own size
	after := w.meta.Get(metaQueueLocal)
	if after == nil && !start {
		return 0, true, nil
	}
	var keys [][]byte
	size := 0
	c := w.vis.Cursor()
	k, v := c.Seek(after)
	if after != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for ; k != nil && len(keys) < queueChunk && size < queueChunkBytes; k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		size += len(k) + len(v)
		if bytes.Equal(v, sameAsConfirmed) {
			size += len(w.conf.Get(k))
		}
	}
	for _, k := range keys {
		kind, id, err := parseRecKey(k)
		if err != nil {
			return 0, false, err
		}
		f, err := visibleAt(w.sec, w.vis, w.conf, k)
		if err != nil {
			return 0, false, err
		}
		if err := w.appendOp(model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: f}); err != nil {
			return 0, false, err
		}
		// Now pending, the record is no longer visible as confirmed.
		if err := w.detachVisible(kind, id, k, w.get(w.conf, k)); err != nil {
			return 0, false, err
		}
	}
	if err := w.meta.Put(metaSync, []byte{1}); err != nil {
		return 0, false, err
	}
	if k != nil {
		// More to queue: remember where this chunk ended.
		return len(keys), false, w.meta.Put(metaQueueLocal, keys[len(keys)-1])
	}
	cursor, err := cursorOf(w.meta)
	if err != nil {
		return 0, false, err
	}
	if cursor == 0 {
		if err := w.clearBuckets(bucketConfirmed); err != nil {
			return 0, false, err
		}
	}
	return len(keys), true, w.meta.Delete(metaQueueLocal)
}

// DiscardLocal empties every record layer (confirmed, outbox, visible,
// history) and sets the cursor to 0, in one transaction; settings and the
// sync flag stay. It is the second half of "keep local data aside" (after
// CopyTo), before SetSyncEnabled(true). Subscribers are told which records
// went away.
func (db *DB) DiscardLocal(ctx context.Context) error {
	return db.update(ctx, "discard local records", false, func(w *writeTx) error {
		c := w.vis.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			kind, id, err := parseRecKey(k)
			if err != nil {
				return err
			}
			w.touch(kind, id)
		}
		if err := w.clearBuckets(bucketConfirmed, bucketVisible, bucketOutbox, bucketOutboxIDs, bucketOutboxRec, bucketHistory, bucketHistorySearch); err != nil {
			return err
		}
		if err := w.dropRebase(); err != nil {
			return err
		}
		if err := w.meta.Put(metaHistoryCount, u64(0)); err != nil {
			return err
		}
		if err := w.meta.Delete(metaQueueLocal); err != nil {
			return err
		}
		return w.meta.Put(metaCursor, u64(0))
	})
}
