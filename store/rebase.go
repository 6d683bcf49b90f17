package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
)

// Starting over after the server was put back from a backup. The server's
// stream then ends before this device's cursor: the seqs past the backup
// (up to the cursor) are lost there, and what they wrote lives on only in
// the devices that applied them. Rebase turns the confirmed layer into
// ops that push it again, but only where it is needed: while the stream
// is pulled again from seq 1, every field the server sends drops out of
// the rebase op of its record when the server holds the same value, or
// when the server wrote it after the restore (a seq past the old cursor:
// the server moves its head past every seq it may have lost, see
// syncserver.CursorChecker), since such a value is an edit made since
// and newer than this device's. What is left once caught up is what the
// restore lost, and it is pushed. A record this device had confirmed
// deleted, which the stream shows live as of before the restore, lost
// its deletion there: the deletion is queued again, unless the record is
// written since. Ops that were pending stay as they were, after the
// rebase ops, so the user's own edits win as they always do.

// bucketRebase maps "kind/id" to a rebaseEntry. It exists only while a
// start-over is under way; a file written by a Courier that knows none of
// this never has it.
var bucketRebase = []byte("rebase")

// metaRebaseBound (in bucketMeta) holds the cursor the device had when it
// started over, while bucketRebase exists.
var metaRebaseBound = []byte("rebase_bound")

// rebaseEntry is the start-over state of one record: a record confirmed
// live has a rebase op (at outbox sequence seq) carrying the fields the
// server may have lost; a record confirmed deleted (deletion) may need
// its deletion pushed again, once the server shows it live as of before
// the restore (seq 0 until then, then that op's).
type rebaseEntry struct {
	seq      uint64
	deletion bool
}

func (e rebaseEntry) encode() []byte {
	b := u64(e.seq)
	if e.deletion {
		b = append(b, 1)
	}
	return b
}

func decodeRebaseEntry(b []byte) (rebaseEntry, bool) {
	switch {
	case len(b) == 8:
		return rebaseEntry{seq: binary.BigEndian.Uint64(b)}, true
	case len(b) == 9 && b[8] == 1:
		return rebaseEntry{seq: binary.BigEndian.Uint64(b), deletion: true}, true
	}
	return rebaseEntry{}, false
}

// metaRebaseNext (in bucketMeta) is set while Rebase is still queuing the
// confirmed layer (a rebaseProgress). A file written by a Courier that
// knows none of this never has it.
var metaRebaseNext = []byte("rebase_next")

// rebaseProgress is where a start-over that queues the confirmed layer a
// chunk per transaction stands: the outbox sequence for the next rebase
// op, the first sequence of the ops that were pending before it (moved
// past every rebase op's), and the key of the last confirmed record
// queued (nil before the first).
type rebaseProgress struct {
	next, pending uint64
	after         []byte
}

func (p rebaseProgress) encode() []byte {
	return append(append(u64(p.next), u64(p.pending)...), p.after...)
}

func decodeRebaseProgress(b []byte) (rebaseProgress, error) {
	if len(b) < 16 {
		return rebaseProgress{}, fmt.Errorf("start-over progress %x: %w", b, errDamaged)
	}
	p := rebaseProgress{next: binary.BigEndian.Uint64(b), pending: binary.BigEndian.Uint64(b[8:])}
	if len(b) > 16 {
		p.after = bytes.Clone(b[16:])
	}
	return p, nil
}

// Rebase starts over from a server whose stream no longer holds this
// device's cursor (see the comment above): every confirmed record that is
// not deleted becomes a pending op carrying its confirmed fields, queued
// before the ops already pending, the confirmed layer is emptied and the
// cursor goes back to 0, and sync is on. What the user sees does not
// change. cursor is the device's cursor before, the bound
// ApplyServerChanges tells a value written since the restore by. A record
// confirmed deleted gets its deletion pushed again if the stream shows it
// live with nothing written since the restore. Rebase ops of an earlier
// start-over become ordinary pending ops. It returns how many rebase ops
// it queued.
//
// As QueueAllLocal does, it queues a chunk of records per transaction
// with no other write in between. The first transaction sets the cursor
// to 0 and moves the pending ops past the sequences the rebase ops will
// take, so a start-over stopped half way leaves local edits on top; the
// rest is queued before the first server change is applied, or by the
// next Rebase first.
func (db *DB) Rebase(ctx context.Context, cursor uint64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if err := db.finishLocked(ctx); err != nil {
		return 0, err
	}
	err := db.updateLocked("start over from the server's stream", false, func(w *writeTx) error {
		return w.startRebase(cursor)
	})
	if err != nil {
		return 0, err
	}
	db.unfinished.Store(true)
	n, err := db.rebaseLocal(ctx)
	if err == nil {
		db.unfinished.Store(false)
	}
	return n, err
}

// startRebase is Rebase's first transaction.
func (w *writeTx) startRebase(cursor uint64) error {
	w.watched = false // pushed only once caught up, never early
	if !syncEnabled(w.meta) {
		return errSyncOff
	}
	if err := w.dropRebase(); err != nil {
		return err
	}
	pending, err := w.takeOutbox()
	if err != nil {
		return err
	}
	// Room for a rebase op per confirmed record, before the pending ops.
	first := w.out.Sequence() + 1
	if err := w.out.SetSequence(first - 1 + uint64(w.conf.Stats().KeyN)); err != nil {
		return err
	}
	for _, op := range pending {
		if err := w.appendOp(op); err != nil {
			return err
		}
	}
	if _, err := w.tx.CreateBucket(bucketRebase); err != nil {
		return err
	}
	if err := w.meta.Put(metaRebaseNext, rebaseProgress{next: first, pending: w.out.Sequence() - uint64(len(pending)) + 1}.encode()); err != nil {
		return err
	}
	if err := w.meta.Put(metaCursor, u64(0)); err != nil {
		return err
	}
	if err := w.meta.Put(metaRebaseBound, u64(cursor)); err != nil {
		return err
	}
	w.keys = nil // nothing visible changed
	return w.meta.Put(metaSync, []byte{1})
}

// rebaseLocal runs the transactions of the start-over under way, if any,
// db.wmu held, and returns how many rebase ops they queued.
func (db *DB) rebaseLocal(ctx context.Context) (int, error) {
	return db.inChunks(ctx, "start over from the server's stream", func(w *writeTx, _ bool) (int, bool, error) {
		return w.rebaseChunk()
	})
}

// rebaseChunk queues the rebase ops of the next chunk of confirmed
// records (see queueConfirmed). It reports done once the start-over has
// queued them all: the last chunk empties the confirmed layer,
// materialises the records of the ops pending before the start-over and
// drops metaRebaseNext. With no start-over queuing, it does nothing.
func (w *writeTx) rebaseChunk() (queued int, done bool, err error) {
	w.watched = false
	b := w.meta.Get(metaRebaseNext)
	if b == nil {
		return 0, true, nil
	}
	p, err := decodeRebaseProgress(b)
	if err != nil {
		return 0, false, err
	}
	rb := w.tx.Bucket(bucketRebase)
	if rb == nil {
		return 0, false, fmt.Errorf("start-over under way without its bucket: %w", errDamaged)
	}
	queued, more, err := w.queueConfirmed(rb, &p)
	if err != nil {
		return 0, false, err
	}
	w.keys = nil // nothing visible changes
	if more {
		return queued, false, w.meta.Put(metaRebaseNext, p.encode())
	}
	if err := w.clearBuckets(bucketConfirmed); err != nil {
		return 0, false, err
	}
	// The records of the ops pending before, and of any written since,
	// stand on the rebase ops now.
	c := w.out.Cursor()
	var recs []model.Op
	for k, v := c.Seek(u64(p.pending)); k != nil; k, v = c.Next() {
		op, err := w.sec.decodeOp(v)
		if err != nil {
			return 0, false, fmt.Errorf("outbox op %x: %w", k, err)
		}
		recs = append(recs, model.Op{Kind: op.Kind, ID: op.ID})
	}
	for _, op := range recs {
		if err := w.materialise(op.Kind, op.ID); err != nil {
			return 0, false, err
		}
	}
	w.keys = nil
	return queued, true, w.meta.Delete(metaRebaseNext)
}

// takeOutbox removes every pending op and returns them, in order.
func (w *writeTx) takeOutbox() ([]model.Op, error) {
	var ops []model.Op
	c := w.out.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		op, err := w.sec.decodeOp(v)
		if err != nil {
			return nil, fmt.Errorf("outbox op %x: %w", k, err)
		}
		ops = append(ops, op)
	}
	for _, op := range ops {
		if _, _, err := w.removeOp(op.OpID); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// queueConfirmed appends to the outbox, at sequence p.next on, an op
// carrying the confirmed fields of each confirmed record after p.after
// that is not deleted, with its rebase entry in rb, detaches its visible
// form from the confirmed layer, which is about to go (a record with
// pending ops is materialised again after), and gives every deleted
// record a deletion entry. It stops after a chunk (queueChunk records or
// queueChunkBytes), moves p on, and returns how many ops it queued and
// whether records are left.
func (w *writeTx) queueConfirmed(rb *bbolt.Bucket, p *rebaseProgress) (queued int, more bool, err error) {
	c := w.conf.Cursor()
	k, v := c.Seek(p.after)
	if p.after != nil && bytes.Equal(k, p.after) {
		k, v = c.Next()
	}
	// Writes to the buckets move no cursor of conf, which this only
	// reads; the last key is kept aside before the next write.
	for n, size := 0, 0; k != nil; k, v = c.Next() {
		if n >= queueChunk || size >= queueChunkBytes {
			return queued, true, nil
		}
		n++
		size += len(k) + len(v)
		p.after = bytes.Clone(k)
		kind, id, err := parseRecKey(k)
		if err != nil {
			return 0, false, err
		}
		f, err := w.sec.decodeRecord(k, v)
		if err != nil {
			return 0, false, fmt.Errorf("confirmed record %s: %w", k, err)
		}
		entry := rebaseEntry{deletion: true}
		switch {
		case (model.Record{Fields: f}).Deleted():
		case len(f) > 0:
			op := model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: f}
			if err := w.putOp(op, p.next); err != nil {
				return 0, false, err
			}
			entry.seq, entry.deletion = p.next, false
			p.next++
			queued++
			if err := w.detachVisible(kind, id, k, v); err != nil {
				return 0, false, err
			}
		default:
			continue
		}
		if err := rb.Put(k, entry.encode()); err != nil {
			return 0, false, err
		}
	}
	return queued, false, nil
}

// rebaseChange narrows the rebase op of change c's record, if it has
// one, by what c says the server holds (see the comment above). An op
// left without a field is dropped; so is the op of a record the server
// deleted. The caller re-materialises the record.
func (w *writeTx) rebaseChange(rb *bbolt.Bucket, bound uint64, c model.Change) error {
	rk := recKey(c.Kind, c.ID)
	b := rb.Get(rk)
	if b == nil {
		return nil
	}
	e, ok := decodeRebaseEntry(b)
	switch {
	case !ok: // damaged: its op, if any, is pushed as it is
		return rb.Delete(rk)
	case e.deletion:
		return w.rebaseDeletion(rb, rk, e, bound, c)
	}
	sk := u64(e.seq)
	v := w.out.Get(sk)
	if v == nil { // its op went (an older Courier acknowledged it)
		return rb.Delete(rk)
	}
	op, err := w.sec.decodeOp(v)
	if err != nil {
		return fmt.Errorf("outbox op %x: %w", sk, err)
	}
	if op.Kind != c.Kind || op.ID != c.ID {
		return rb.Delete(rk)
	}
	changed := false
	for f, val := range c.Fields {
		mine, ok := op.Fields[f]
		if ok && (c.Seq > bound || bytes.Equal(mine, val)) {
			delete(op.Fields, f)
			changed = true
		}
	}
	if (model.Record{Fields: c.Fields}).Deleted() || len(op.Fields) == 0 {
		_, _, err := w.removeOp(op.OpID)
		return err
	}
	if !changed {
		return nil
	}
	return w.out.Put(sk, w.sec.encodeOp(op, &w.sealed))
}

// rebaseDeletion handles change c of a record this device had confirmed
// deleted (entry e): the server showing it live as of before the restore
// lost the deletion, which is queued again; the server deleting it, or
// writing it since the restore, settles it (an edit made since wins).
func (w *writeTx) rebaseDeletion(rb *bbolt.Bucket, rk []byte, e rebaseEntry, bound uint64, c model.Change) error {
	switch {
	case len(c.Fields) == 0:
		return nil
	case c.Seq > bound || (model.Record{Fields: c.Fields}).Deleted():
		if e.seq != 0 {
			if v := w.out.Get(u64(e.seq)); v != nil {
				op, err := w.sec.decodeOp(v)
				if err != nil {
					return fmt.Errorf("outbox op %d: %w", e.seq, err)
				}
				if _, _, err := w.removeOp(op.OpID); err != nil {
					return err
				}
			}
		}
		return rb.Delete(rk)
	case e.seq != 0:
		return nil // queued already
	}
	op := model.Op{OpID: model.NewID(), Kind: c.Kind, ID: c.ID, Fields: model.Fields{model.FieldDeleted: json.RawMessage(`true`)}}
	if err := w.appendOp(op); err != nil {
		return err
	}
	seq, err := getU64(w.outIDs.Get([]byte(op.OpID)))
	if err != nil {
		return err
	}
	e.seq = seq
	return rb.Put(rk, e.encode())
}

// rebaseBound returns the bucket of a start-over under way and the cursor
// the device had before it, or nil (with none under way, or a bound that
// does not read, which ends it).
func (w *writeTx) rebaseBound() (*bbolt.Bucket, uint64, error) {
	rb := w.tx.Bucket(bucketRebase)
	if rb == nil {
		return nil, 0, nil
	}
	bound, err := getU64(w.meta.Get(metaRebaseBound))
	if err != nil { // damaged: the rebase ops are pushed as they are
		return nil, 0, w.dropRebase()
	}
	return rb, bound, nil
}

// settleDeletions forgets the deleted records whose deletion was not
// queued again, once the stream passed the bound: every later seq was
// assigned after the restore, so none can show them live as of before.
func settleDeletions(rb *bbolt.Bucket) error {
	var keys [][]byte
	c := rb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if e, ok := decodeRebaseEntry(v); ok && e.deletion && e.seq == 0 {
			keys = append(keys, bytes.Clone(k))
		}
	}
	for _, k := range keys {
		if err := rb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// dropRebaseEntry deletes the rebase entry of record rk when it names the
// op at outbox sequence sk.
func (w *writeTx) dropRebaseEntry(rk, sk []byte) error {
	rb := w.tx.Bucket(bucketRebase)
	if rb == nil {
		return nil
	}
	if e, ok := decodeRebaseEntry(rb.Get(rk)); ok && bytes.Equal(u64(e.seq), sk) {
		return rb.Delete(rk)
	}
	return nil
}

// dropRebase forgets every rebase entry: their ops, if pending, become
// ordinary ones.
func (w *writeTx) dropRebase() error {
	if err := w.meta.Delete(metaRebaseNext); err != nil {
		return err
	}
	if w.tx.Bucket(bucketRebase) == nil {
		return nil
	}
	if err := w.meta.Delete(metaRebaseBound); err != nil {
		return err
	}
	return w.tx.DeleteBucket(bucketRebase)
}
