package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

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
// restore lost, and it is pushed. Ops that were pending stay as they were,
// after the rebase ops, so the user's own edits win as they always do.

// bucketRebase maps "kind/id" to the outbox sequence of the record's
// rebase op (8 bytes BE) and the cursor the device had when it started
// over (8 bytes BE). It exists only while rebase ops are pending; a file
// written by a Courier that knows none of this never has it.
var bucketRebase = []byte("rebase")

// Rebase starts over from a server whose stream no longer holds this
// device's cursor (see the comment above): in one transaction, every
// confirmed record that is not deleted becomes a pending op carrying its
// confirmed fields, queued before the ops already pending, the confirmed
// layer is emptied and the cursor goes back to 0, and sync is on. What
// the user sees does not change. cursor is the device's cursor before, the
// bound ApplyServerChanges tells a value written since the restore by.
// Rebase ops of an earlier start-over become ordinary pending ops. It
// returns how many rebase ops it queued.
func (db *DB) Rebase(ctx context.Context, cursor uint64) (int, error) {
	n := 0
	err := db.update(ctx, "start over from the server's stream", false, func(w *writeTx) error {
		w.watched = false // pushed only once caught up, never early
		if err := w.dropRebase(); err != nil {
			return err
		}
		pending, err := w.takeOutbox()
		if err != nil {
			return err
		}
		ops, err := w.confirmedOps(ctx)
		if err != nil {
			return err
		}
		if err := w.clearBuckets(bucketConfirmed); err != nil {
			return err
		}
		rb, err := w.tx.CreateBucket(bucketRebase)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := w.appendOp(op); err != nil {
				return err
			}
			entry := append(bytes.Clone(w.outIDs.Get([]byte(op.OpID))), u64(cursor)...)
			if err := rb.Put(recKey(op.Kind, op.ID), entry); err != nil {
				return err
			}
		}
		for _, op := range pending {
			if err := w.appendOp(op); err != nil {
				return err
			}
		}
		for _, op := range append(ops, pending...) {
			if err := w.materialise(op.Kind, op.ID); err != nil {
				return err
			}
		}
		if err := w.meta.Put(metaCursor, u64(0)); err != nil {
			return err
		}
		w.keys = nil // nothing visible changed
		n = len(ops)
		return w.meta.Put(metaSync, []byte{1})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
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

// confirmedOps returns an op carrying the confirmed fields of every
// confirmed record that is not deleted.
func (w *writeTx) confirmedOps(ctx context.Context) ([]model.Op, error) {
	var ops []model.Op
	c := w.conf.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(ops)%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		kind, id, err := parseRecKey(k)
		if err != nil {
			return nil, err
		}
		f, err := w.sec.decodeRecord(k, v)
		if err != nil {
			return nil, fmt.Errorf("confirmed record %s: %w", k, err)
		}
		if len(f) == 0 || (model.Record{Fields: f}).Deleted() {
			continue
		}
		ops = append(ops, model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: f})
	}
	return ops, nil
}

// rebaseChange narrows the rebase op of change c's record, if it has
// one, by what c says the server holds (see the comment above). An op
// left without a field is dropped; so is the op of a record the server
// deleted. The caller re-materialises the record.
func (w *writeTx) rebaseChange(c model.Change) error {
	rb := w.tx.Bucket(bucketRebase)
	if rb == nil {
		return nil
	}
	rk := recKey(c.Kind, c.ID)
	entry := rb.Get(rk)
	if entry == nil {
		return nil
	}
	if len(entry) != 16 { // damaged: its op, if any, is pushed as it is
		return rb.Delete(rk)
	}
	sk, bound := bytes.Clone(entry[:8]), binary.BigEndian.Uint64(entry[8:])
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

// dropRebaseEntry deletes the rebase entry of record rk when it names the
// op at outbox sequence sk.
func (w *writeTx) dropRebaseEntry(rk, sk []byte) error {
	rb := w.tx.Bucket(bucketRebase)
	if rb == nil {
		return nil
	}
	if e := rb.Get(rk); len(e) >= 8 && bytes.Equal(e[:8], sk) {
		return rb.Delete(rk)
	}
	return nil
}

// dropRebase forgets every rebase entry: their ops, if pending, become
// ordinary ones.
func (w *writeTx) dropRebase() error {
	if w.tx.Bucket(bucketRebase) == nil {
		return nil
	}
	return w.tx.DeleteBucket(bucketRebase)
}
