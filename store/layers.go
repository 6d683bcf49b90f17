package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"sync/atomic"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// writeTx is one write transaction with its buckets resolved. Its methods
// keep the layers consistent: whatever changes confirmed or the outbox
// re-materialises the visible record, and whatever writes a visible history
// record updates the history index. It also collects the keys written, for
// the change notification sent after the commit.
type writeTx struct {
	tx                                             *bbolt.Tx
	meta, conf, vis, out, outIDs, outRec, settings *bbolt.Bucket
	hist, histSearch                               *bbolt.Bucket

	// sec seals secret values (nil: no key); sealed counts the values
	// this transaction sealed, so finish stores the key check.
	sec    *sealer
	sealed atomic.Int64
	// scrub says a value stored in plain text was replaced by a sealed
	// one: the free pages are overwritten after the commit.
	scrub bool

	// watched says early pushes are watched (see early.go); earlyOps
	// are the ops this write appends, to hand over before the commit
	// (none past maxEarlyOps), earlyBefore the ops pending before them
	// (none past maxEarlyBefore), and appended says an op was appended.
	watched     bool
	earlyOps    []model.Op
	earlyBefore []model.ID
	appended    bool

	keys      []app.RecordKey
	seen      map[app.RecordKey]bool
	histDelta int64

	// cursors holds a cursor per bucket for get.
	cursors map[*bbolt.Bucket]*bbolt.Cursor
}

// fillPercent is how full bbolt fills a page before splitting it.
const fillPercent = 0.9

func newWriteTx(tx *bbolt.Tx, sec *sealer) (*writeTx, error) {
	w := &writeTx{tx: tx, sec: sec, seen: map[app.RecordKey]bool{}, cursors: map[*bbolt.Bucket]*bbolt.Cursor{}}
	return w.resolve()
}

// resolve looks the buckets up (again, after some were recreated).
func (w *writeTx) resolve() (*writeTx, error) {
	for _, b := range []struct {
		dst  **bbolt.Bucket
		name []byte
	}{
		{&w.meta, bucketMeta}, {&w.conf, bucketConfirmed}, {&w.vis, bucketVisible},
		{&w.out, bucketOutbox}, {&w.outIDs, bucketOutboxIDs}, {&w.outRec, bucketOutboxRec},
		{&w.settings, bucketSettings}, {&w.hist, bucketHistory}, {&w.histSearch, bucketHistorySearch},
	} {
		*b.dst = w.tx.Bucket(b.name)
		if *b.dst == nil {
			return nil, fmt.Errorf("bucket %s missing: %w", b.name, errDamaged)
		}
		// Most keys arrive in order (ULIDs, sequences): fill pages
		// instead of splitting them in halves.
		(*b.dst).FillPercent = fillPercent
	}
	return w, nil
}

// touch records that (kind, id) was written, for the notification.
func (w *writeTx) touch(kind model.Kind, id model.ID) {
	k := app.RecordKey{Kind: kind, ID: id}
	if !w.seen[k] {
		w.seen[k] = true
		w.keys = append(w.keys, k)
	}
}

// finish writes what the transaction accumulated (the history count, and
// the key check when it sealed the profile's first secret value).
func (w *writeTx) finish() error {
	if w.sealed.Load() > 0 && w.meta.Get(metaSecretsCheck) == nil {
		if err := w.meta.Put(metaSecretsCheck, w.sec.checkValue()); err != nil {
			return err
		}
	}
	if w.histDelta == 0 {
		return nil
	}
	n, err := historyCount(w.meta)
	if err != nil {
		return err
	}
	n += w.histDelta
	if n < 0 {
		return fmt.Errorf("history count below zero: %w", errDamaged)
	}
	w.histDelta = 0
	return w.meta.Put(metaHistoryCount, u64(uint64(n)))
}

// get is b.Get(k) through a cursor on b kept for the transaction, since
// every Get makes a cursor of its own and a page of a first sync does
// thousands.
func (w *writeTx) get(b *bbolt.Bucket, k []byte) []byte {
	c := w.cursors[b]
	if c == nil {
		c = b.Cursor()
		w.cursors[b] = c
	}
	if ck, v := c.Seek(k); bytes.Equal(ck, k) {
		return v
	}
	return nil
}

// fieldsAt decodes the fields stored under rk in b, or returns nil,
// opening a sealed value.
func (w *writeTx) fieldsAt(b *bbolt.Bucket, rk []byte) (model.Fields, error) {
	v := w.get(b, rk)
	if v == nil {
		return nil, nil
	}
	return w.sec.decodeRecord(rk, v)
}

// sameAsConfirmed is the visible value of a record that has no pending
// ops: its visible fields are its confirmed fields, stored only once. (A
// stored field set always starts with codecVersion, never 0.)
var sameAsConfirmed = []byte{0}

// visibleFields decodes the visible value v of record key rk, following
// sameAsConfirmed to the confirmed bucket. s opens a sealed value.
func visibleFields(s *sealer, conf *bbolt.Bucket, rk, v []byte) (model.Fields, error) {
	if bytes.Equal(v, sameAsConfirmed) {
		if v = conf.Get(rk); v == nil {
			return nil, fmt.Errorf("record %s: visible as confirmed, but not confirmed: %w", rk, errDamaged)
		}
	}
	return s.decodeRecord(rk, v)
}

// visibleAt returns the visible fields of rk, or nil.
func visibleAt(s *sealer, vis, conf *bbolt.Bucket, rk []byte) (model.Fields, error) {
	v := vis.Get(rk)
	if v == nil {
		return nil, nil
	}
	return visibleFields(s, conf, rk, v)
}

// mergeConfirmed merges fields into the confirmed record (later values
// win); see mergeFields.
func (w *writeTx) mergeConfirmed(kind model.Kind, id model.ID, fields model.Fields) error {
	rk := recKey(kind, id)
	cur, err := w.fieldsAt(w.conf, rk)
	if err != nil {
		return err
	}
	return w.put(w.conf, rk, w.sec.encodeRecord(kind, id, mergeFields(kind, cur, fields), &w.sealed))
}

// mergeFields returns cur with fields merged in (later values win); cur
// may be changed. A deleted history entry keeps only its tombstone:
// entries are never undeleted, and their bodies are most of the file.
func mergeFields(kind model.Kind, cur, fields model.Fields) model.Fields {
	r := model.Record{Kind: kind, Fields: cur}
	r.Apply(fields)
	if kind == model.KindHistory && r.Deleted() {
		return model.Fields{model.FieldDeleted: json.RawMessage("true")}
	}
	return r.Fields
}

// appendOp appends op to the outbox and its two indexes.
func (w *writeTx) appendOp(op model.Op) error {
	if w.outIDs.Get([]byte(op.OpID)) != nil {
		return fmt.Errorf("op %s is already pending: %w", op.OpID, model.ErrConflict)
	}
	if w.watched && !w.appended {
		if w.earlyBefore, w.watched = w.pendingIDs(maxEarlyBefore); w.watched {
			w.earlyOps = make([]model.Op, 0, 1)
		}
	}
	if w.watched {
		// A copy: the engine may still seal it after Apply returned
		// and its caller reused the values.
		c := model.Record{Kind: op.Kind, ID: op.ID, Fields: op.Fields}.Clone()
		w.earlyOps = append(w.earlyOps, model.Op{OpID: op.OpID, Kind: op.Kind, ID: op.ID, Fields: c.Fields})
		if len(w.earlyOps) > maxEarlyOps {
			w.watched, w.earlyOps, w.earlyBefore = false, nil, nil
		}
	}
	w.appended = true
	seq, err := w.out.NextSequence()
	if err != nil {
		return err
	}
	return w.putOp(op, seq)
}

// putOp stores op in the outbox at sequence seq, with its indexes.
func (w *writeTx) putOp(op model.Op, seq uint64) error {
	if err := w.out.Put(u64(seq), w.sec.encodeOp(op, &w.sealed)); err != nil {
		return err
	}
	if err := w.outIDs.Put([]byte(op.OpID), u64(seq)); err != nil {
		return err
	}
	return w.outRec.Put(pendingKey(recKey(op.Kind, op.ID), seq), nil)
}

// removeOp drops the pending op opID, if any, and reports its record.
func (w *writeTx) removeOp(opID model.ID) (model.Op, bool, error) {
	sk := w.outIDs.Get([]byte(opID))
	if sk == nil {
		return model.Op{}, false, nil
	}
	sk = bytes.Clone(sk)
	seq, err := getU64(sk)
	if err != nil {
		return model.Op{}, false, fmt.Errorf("outbox index of op %s: %w", opID, err)
	}
	v := w.out.Get(sk)
	if v == nil {
		return model.Op{}, false, fmt.Errorf("op %s indexed but not in the outbox: %w", opID, errDamaged)
	}
	op, err := w.sec.decodeOp(v)
	if err != nil {
		return model.Op{}, false, fmt.Errorf("outbox op %d: %w", seq, err)
	}
	if err := w.dropRebaseEntry(recKey(op.Kind, op.ID), sk); err != nil {
		return model.Op{}, false, err
	}
	for _, del := range []struct {
		b *bbolt.Bucket
		k []byte
	}{{w.out, sk}, {w.outIDs, []byte(opID)}, {w.outRec, pendingKey(recKey(op.Kind, op.ID), seq)}} {
		if err := del.b.Delete(del.k); err != nil {
			return model.Op{}, false, err
		}
	}
	return op, true, nil
}

// pendingFields returns the fields of the pending ops of record rk, in
// outbox order.
func (w *writeTx) pendingFields(rk []byte) ([]model.Fields, error) {
	var out []model.Fields
	prefix := pendingPrefix(rk)
	c := w.outRec.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		sk := k[len(prefix):]
		v := w.out.Get(sk)
		if v == nil {
			return nil, fmt.Errorf("record %s: pending op %x missing: %w", rk, sk, errDamaged)
		}
		op, err := w.sec.decodeOp(v)
		if err != nil {
			return nil, fmt.Errorf("outbox op %x: %w", sk, err)
		}
		out = append(out, op.Fields)
	}
	return out, nil
}

// materialise recomputes the visible record (kind, id): confirmed with its
// pending ops applied on top, in outbox order.
func (w *writeTx) materialise(kind model.Kind, id model.ID) error {
	conf, err := w.fieldsAt(w.conf, recKey(kind, id))
	if err != nil {
		return err
	}
	return w.materialiseFrom(kind, id, conf, false)
}

// materialiseFrom is materialise given the record's confirmed fields conf
// (which it does not change); noPending says the outbox is empty, so
// there are no pending ops to look up.
func (w *writeTx) materialiseFrom(kind model.Kind, id model.ID, conf model.Fields, noPending bool) error {
	return w.materialisePrepared(kind, id, conf, noPending, nil)
}

// materialisePrepared is materialiseFrom given, when noPending, the
// history index entry of the record computed beforehand (nil: compute it
// here).
func (w *writeTx) materialisePrepared(kind model.Kind, id model.ID, conf model.Fields, noPending bool, idx *historyIndex) error {
	if noPending {
		return w.setVisibleIndexed(model.Record{Kind: kind, ID: id, Fields: conf}, true, idx)
	}
	pend, err := w.pendingFields(recKey(kind, id))
	if err != nil {
		return err
	}
	if len(pend) == 0 {
		return w.setVisible(model.Record{Kind: kind, ID: id, Fields: conf}, true)
	}
	r := model.Record{Kind: kind, ID: id, Fields: maps.Clone(conf)}
	for _, f := range pend {
		r.Apply(f)
	}
	return w.setVisible(r, false)
}

// pendingIDs returns the ids of the pending ops, in no particular order,
// when there are at most limit of them.
func (w *writeTx) pendingIDs(limit int) ([]model.ID, bool) {
	var ids []model.ID
	c := w.outIDs.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(ids) == limit {
			return nil, false
		}
		ids = append(ids, model.ID(k))
	}
	return ids, true
}

// outboxEmpty reports whether no op is pending.
func (w *writeTx) outboxEmpty() bool {
	k, _ := w.out.Cursor().First()
	return k == nil
}

// applyOnVisible merges fields, the newest pending op of (kind, id), into
// its visible record. Visible is confirmed plus the pending ops in order,
// so adding the newest op on top of it is exact; a record without a visible
// form (new or deleted) is materialised in full.
func (w *writeTx) applyOnVisible(kind model.Kind, id model.ID, fields model.Fields) error {
	cur, err := visibleAt(w.sec, w.vis, w.conf, recKey(kind, id))
	if err != nil {
		return err
	}
	if cur == nil {
		return w.materialise(kind, id)
	}
	r := model.Record{Kind: kind, ID: id, Fields: cur}
	r.Apply(fields)
	return w.setVisible(r, false)
}

// detachVisible makes the visible form of record rk a copy of its
// confirmed one (stored as conf) where it only refers to it, before the
// confirmed layer goes: what the record shows does not change, nor does
// its history index entry.
func (w *writeTx) detachVisible(kind model.Kind, id model.ID, rk, conf []byte) error {
	if !bytes.Equal(w.get(w.vis, rk), sameAsConfirmed) {
		return nil
	}
	if conf == nil {
		return fmt.Errorf("record %s: visible as confirmed, but not confirmed: %w", rk, errDamaged)
	}
	w.touch(kind, id)
	return w.vis.Put(rk, bytes.Clone(conf))
}

// setVisible stores r as visible, or removes it when it is deleted or has
// no fields, and keeps the history index in step. asConfirmed says r is
// exactly the confirmed record (no pending ops), which is then not copied.
func (w *writeTx) setVisible(r model.Record, asConfirmed bool) error {
	return w.setVisibleIndexed(r, asConfirmed, nil)
}

// setVisibleIndexed is setVisible given the history index entry of r
// when it was computed beforehand (nil: compute it here).
func (w *writeTx) setVisibleIndexed(r model.Record, asConfirmed bool, idx *historyIndex) error {
	w.touch(r.Kind, r.ID)
	rk := recKey(r.Kind, r.ID)
	if len(r.Fields) == 0 || r.Deleted() {
		if err := w.vis.Delete(rk); err != nil {
			return err
		}
		if r.Kind == model.KindHistory {
			return w.unindexHistory(r.ID)
		}
		return nil
	}
	v := sameAsConfirmed
	if !asConfirmed {
		v = w.sec.encodeRecord(r.Kind, r.ID, r.Fields, &w.sealed)
	}
	if err := w.put(w.vis, rk, v); err != nil {
		return err
	}
	if r.Kind == model.KindHistory {
		return w.indexHistory(r.ID, r.Fields, idx)
	}
	return nil
}

// syncEnabled reads the sync flag.
func syncEnabled(meta *bbolt.Bucket) bool {
	v := meta.Get(metaSync)
	return len(v) == 1 && v[0] == 1
}

// cursorOf reads the cursor (0 when never set).
func cursorOf(meta *bbolt.Bucket) (uint64, error) {
	v := meta.Get(metaCursor)
	if v == nil {
		return 0, nil
	}
	n, err := getU64(v)
	if err != nil {
		return 0, fmt.Errorf("cursor: %w", err)
	}
	return n, nil
}

func historyCount(meta *bbolt.Bucket) (int64, error) {
	v := meta.Get(metaHistoryCount)
	if v == nil {
		return 0, nil
	}
	n, err := getU64(v)
	if err != nil {
		return 0, fmt.Errorf("history count: %w", err)
	}
	return int64(n), nil
}
