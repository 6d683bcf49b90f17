package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

var _ syncserver.SyncStorage = (*DB)(nil)

// Sync data lives in bSync/<account id>/, with five sub-buckets; the head
// lives in bHeads so it keeps counting up after the data is erased.
var (
	sbOps    = []byte("ops")    // op id -> seq
	sbFields = []byte("fields") // kind 0x00 id 0x00 field -> seq (8 bytes BE) + value
	sbLog    = []byte("log")    // seq (8 bytes BE) -> logRec JSON
	// sbDead lists the log entries that may hold no value any more
	// (seq -> nothing): compaction candidates (compact.go).
	sbDead = []byte("dead")
	// sbCursors holds the cursor each session last reported (session
	// id -> seq).
	sbCursors = []byte("cursors")
	// kUsage (a key, not a bucket) holds the usage: live records, bytes,
	// log entries (8 bytes BE each; files of older servers lack the
	// last). kOldUsage, of older files, counted deleted records too;
	// migrate recounts it into kUsage.
	kUsage    = []byte("usage.live")
	kOldUsage = []byte("usage")
	// kDeletedFinal (in bMeta) marks a file whose deleted records keep
	// only their _deleted value, kCompaction one whose accounts track
	// compaction candidates and session cursors (see migrate).
	kDeletedFinal = []byte("sync.deleted_final")
	kCompaction   = []byte("sync.compaction")
)

// logRec is one applied op: which fields it wrote.
type logRec struct {
	OpID   model.ID   `json:"op_id,omitempty"`
	Kind   model.Kind `json:"kind"`
	ID     model.ID   `json:"id"`
	Fields []string   `json:"fields"`
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func fieldKey(kind model.Kind, id model.ID, field string) []byte {
	return append(key2(string(kind), string(id)), append([]byte{0}, field...)...)
}

func head(tx *bbolt.Tx, accountID string) uint64 {
	if v := tx.Bucket(bHeads).Get([]byte(accountID)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Head implements syncserver.SyncStorage.
func (d *DB) Head(ctx context.Context, accountID string) (uint64, error) {
	var h uint64
	err := d.syncView(ctx, accountID, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("head of account %s: %w", accountID, model.ErrNotFound)
		}
		h = head(tx, accountID)
		return nil
	})
	return h, err
}

// Push implements syncserver.SyncStorage. It commits through the group
// committer: pushes that arrive while one is made durable share the next
// log write (and its fsync); see committer.
func (d *DB) Push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	for _, op := range ops {
		if op.OpID == "" || !op.Kind.Valid() || op.ID.Validate() != nil {
			return syncserver.PushResult{}, fmt.Errorf("push: op %q on %s %q: %w", op.OpID, op.Kind, op.ID, model.ErrInvalid)
		}
	}
	var res syncserver.PushResult
	err := d.commitRec(ctx, func(tx *bbolt.Tx) error {
		var err error
		res, err = push(tx, accountID, ops, quota)
		return err
	}, encodePush(accountID, ops), accountID)
	return res, err
}

// replayPush applies a push's log record again, into the state the push
// was applied to, so with the same results. The quota is not checked: the
// push passed it (the server's configuration may have changed since).
func replayPush(tx *bbolt.Tx, payload []byte) error {
	acct, ops, err := decodePush(payload)
	if err != nil {
		return err
	}
	_, err = push(tx, acct, ops, syncserver.Quota{})
	return err
}

func push(tx *bbolt.Tx, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	res := syncserver.PushResult{}
	if tx.Bucket(bAccounts).Get([]byte(accountID)) == nil {
		return res, fmt.Errorf("push to account %s: %w", accountID, model.ErrNotFound)
	}
	acct, err := syncBucket(tx, accountID)
	if err != nil {
		return res, err
	}
	before, err := usage(acct)
	if err != nil {
		return res, err
	}
	u, h := before, head(tx, accountID)
	for _, op := range ops {
		if acct.Bucket(sbOps).Get([]byte(op.OpID)) != nil {
			res.Dup = append(res.Dup, op.OpID)
			continue
		}
		h++
		u.Log++
		rewritten, err := applyOp(acct, h, op, &u)
		if err != nil {
			return res, err
		}
		res.Rewritten = res.Rewritten || rewritten
	}
	if err := quota.Exceeds(before, u); err != nil {
		return res, fmt.Errorf("push to account %s: %w", accountID, err)
	}
	res.Head, res.Usage = h, u
	if err := putUsage(acct, u); err != nil {
		return res, err
	}
	return res, tx.Bucket(bHeads).Put([]byte(accountID), u64(h))
}

// SyncUsage implements syncserver.SyncStorage.
func (d *DB) SyncUsage(ctx context.Context, accountID string) (syncserver.Usage, error) {
	var u syncserver.Usage
	err := d.syncView(ctx, accountID, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("usage of account %s: %w", accountID, model.ErrNotFound)
		}
		acct := tx.Bucket(bSync).Bucket([]byte(accountID))
		if acct == nil {
			return nil
		}
		var err error
		u, err = usage(acct)
		return err
	})
	return u, err
}

// usage reads the account's usage (counting it when it was never kept).
func usage(acct *bbolt.Bucket) (syncserver.Usage, error) {
	if v := acct.Get(kUsage); len(v) == 24 {
		return syncserver.Usage{
			Records: int64(binary.BigEndian.Uint64(v)),
			Bytes:   int64(binary.BigEndian.Uint64(v[8:])),
			Log:     int64(binary.BigEndian.Uint64(v[16:])),
		}, nil
	}
	return countUsage(acct)
}

func putUsage(acct *bbolt.Bucket, u syncserver.Usage) error {
	v := binary.BigEndian.AppendUint64(u64(uint64(u.Records)), uint64(u.Bytes))
	return acct.Put(kUsage, binary.BigEndian.AppendUint64(v, uint64(u.Log)))
}

// countUsage counts the account's usage from its stored values and log.
func countUsage(acct *bbolt.Bucket) (syncserver.Usage, error) {
	var u syncserver.Usage
	if log := acct.Bucket(sbLog); log != nil {
		u.Log = int64(log.Stats().KeyN)
	}
	var last []byte
	live := false // the record at last has no _deleted field so far
	err := acct.Bucket(sbFields).ForEach(func(k, v []byte) error {
		i := bytes.LastIndexByte(k, 0) + 1
		if rec := k[:i]; !bytes.Equal(rec, last) {
			if live {
				u.Records++
			}
			last, live = bytes.Clone(rec), true
		}
		if string(k[i:]) == model.FieldDeleted {
			live = false
		}
		u.Bytes += int64(len(v) - 8)
		return nil
	})
	if live {
		u.Records++
	}
	return u, err
}

func syncBucket(tx *bbolt.Tx, accountID string) (*bbolt.Bucket, error) {
	acct, err := tx.Bucket(bSync).CreateBucketIfNotExists([]byte(accountID))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{sbOps, sbFields, sbLog, sbDead, sbCursors} {
		if _, err := acct.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return acct, nil
}

// applyOp applies op at seq (see syncserver.SyncStorage.Push) and
// reports whether it stored the op otherwise than pushed. A record counts
// in u.Records while it is live: it has a field, and no _deleted one. A
// deleted record is final: an op on it writes no field, and the op that
// deletes it keeps only its _deleted value.
func applyOp(acct *bbolt.Bucket, seq uint64, op model.Op, u *syncserver.Usage) (rewritten bool, err error) {
	rec := logRec{OpID: op.OpID, Kind: op.Kind, ID: op.ID}
	fields, dead := acct.Bucket(sbFields), acct.Bucket(sbDead)
	prefix := fieldKey(op.Kind, op.ID, "")
	deleted, deletes := op.Fields[model.FieldDeleted]
	switch {
	case len(op.Fields) == 0:
		err = dead.Put(u64(seq), []byte{})
	case fields.Get(fieldKey(op.Kind, op.ID, model.FieldDeleted)) != nil:
		rewritten = true // nothing written: the change only acknowledges the op
		err = dead.Put(u64(seq), []byte{})
	case deletes:
		rewritten = true
		n, err := dropRecord(fields, dead, prefix, u)
		if err != nil {
			return rewritten, err
		}
		if n > 0 {
			u.Records--
		}
		rec.Fields = []string{model.FieldDeleted}
		u.Bytes += int64(len(deleted))
		if err := fields.Put(fieldKey(op.Kind, op.ID, model.FieldDeleted), append(u64(seq), deleted...)); err != nil {
			return rewritten, err
		}
	default:
		if k, _ := fields.Cursor().Seek(prefix); !bytes.HasPrefix(k, prefix) {
			u.Records++
		}
		for f, v := range op.Fields {
			rec.Fields = append(rec.Fields, f)
			key := fieldKey(op.Kind, op.ID, f)
			if old := fields.Get(key); len(old) >= 8 {
				u.Bytes -= int64(len(old) - 8)
				if err := dead.Put(bytes.Clone(old[:8]), []byte{}); err != nil {
					return rewritten, err
				}
			}
			u.Bytes += int64(len(v))
			if err := fields.Put(key, append(u64(seq), v...)); err != nil {
				return rewritten, err
			}
		}
	}
	if err != nil {
		return rewritten, err
	}
	if err := acct.Bucket(sbOps).Put([]byte(op.OpID), u64(seq)); err != nil {
		return rewritten, err
	}
	return rewritten, putJSON(acct.Bucket(sbLog), u64(seq), rec)
}

// dropRecord deletes the stored values of the record whose field keys
// start with prefix, takes their bytes off u, lists the seqs that wrote
// them in dead (when not nil) and returns how many there were.
func dropRecord(fields, dead *bbolt.Bucket, prefix []byte, u *syncserver.Usage) (int, error) {
	var keys [][]byte
	c := fields.Cursor()
	for k, v := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		u.Bytes -= int64(len(v) - 8)
		if dead != nil && len(v) >= 8 {
			if err := dead.Put(bytes.Clone(v[:8]), []byte{}); err != nil {
				return 0, err
			}
		}
	}
	for _, k := range keys {
		if err := fields.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// migrate brings the sync data of a file written by an older server up
// to this one's rules, once (marked in bMeta): the deleted records keep
// only their _deleted value, and each account's usage is recounted.
func migrate(tx *bbolt.Tx) error {
	return migrateOnce(tx, kDeletedFinal, "migrate the sync data", func(id []byte) error {
		return migrateAccount(tx.Bucket(bSync).Bucket(id))
	})
}

// migrateOnce runs fn on each account's sync bucket (by id) unless bMeta
// holds done, then puts done there.
func migrateOnce(tx *bbolt.Tx, done []byte, what string, fn func(id []byte) error) error {
	meta := tx.Bucket(bMeta)
	if meta.Get(done) != nil {
		return nil
	}
	var accts [][]byte
	err := tx.Bucket(bSync).ForEachBucket(func(id []byte) error {
		accts = append(accts, bytes.Clone(id))
		return nil
	})
	for _, id := range accts {
		if err != nil {
			break
		}
		err = fn(id)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return meta.Put(done, []byte{1})
}

// migrateAccount is migrate for one account's sync bucket.
func migrateAccount(acct *bbolt.Bucket) error {
	fields := acct.Bucket(sbFields)
	if fields == nil {
		return nil
	}
	var dead [][]byte // the deleted records' _deleted keys
	suffix := append([]byte{0}, model.FieldDeleted...)
	err := fields.ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, suffix) {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		v := bytes.Clone(fields.Get(k))
		if _, err := dropRecord(fields, nil, k[:len(k)-len(model.FieldDeleted)], &syncserver.Usage{}); err != nil {
			return err
		}
		if err := fields.Put(k, v); err != nil {
			return err
		}
	}
	if err := acct.Delete(kOldUsage); err != nil {
		return err
	}
	u, err := countUsage(acct)
	if err != nil {
		return err
	}
	return putUsage(acct, u)
}

// Changes implements syncserver.SyncStorage. Every seq after `after` gives
// one change carrying its op id; its fields are those the op wrote that no
// later op has overwritten (possibly none: the change is then only an ack).
func (d *DB) Changes(ctx context.Context, accountID string, after uint64, limit, maxBytes int) ([]model.Change, error) {
	out := []model.Change{}
	err := d.syncView(ctx, accountID, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("changes of account %s: %w", accountID, model.ErrNotFound)
		}
		acct := tx.Bucket(bSync).Bucket([]byte(accountID))
		if acct == nil {
			return nil
		}
		var err error
		out, err = readPage(acct, after, limit, maxBytes)
		return err
	})
	return out, err
}

// readPage reads the changes after `after` up to limit changes or
// maxBytes of values (at least one change when there is one).
func readPage(acct *bbolt.Bucket, after uint64, limit, maxBytes int) ([]model.Change, error) {
	out := make([]model.Change, 0, min(max(limit, 0), 256))
	r := pageReader{fields: acct.Bucket(sbFields).Cursor()}
	size := 0
	c := acct.Bucket(sbLog).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit && (size < maxBytes || len(out) == 0); k, v = c.Next() {
		ch, n, err := r.change(binary.BigEndian.Uint64(k), v)
		if err != nil {
			return nil, err
		}
		out, size = append(out, ch), size+n
	}
	return out, nil
}

// pageReader builds the changes of one page inside one read transaction.
// It keeps one cursor on the fields bucket (the fields of a record are
// adjacent, so one seek finds them all), and copies values into shared
// blocks rather than one allocation each.
type pageReader struct {
	fields *bbolt.Cursor
	key    []byte   // scratch: kind 0x00 id 0x00
	names  []string // scratch: the field names of the entry being read
	block  []byte   // the free end of the current value block
}

// Value blocks grow from minBlock to maxBlock; larger values get their
// own allocation.
const (
	minBlock = 4 << 10
	maxBlock = 64 << 10
)

// change builds the change of the log entry raw at seq, and the bytes of
// its values. Errors: a log entry that does not decode.
func (r *pageReader) change(seq uint64, raw []byte) (model.Change, int, error) {
	rec, err := decodeLogRec(raw, r.names[:0])
	if err != nil {
		return model.Change{}, 0, fmt.Errorf("decode sync log entry %d: %w", seq, err)
	}
	r.names = rec.Fields
	ch := model.Change{Seq: seq, Kind: rec.Kind, ID: rec.ID, OpID: rec.OpID, Fields: make(model.Fields, len(rec.Fields))}
	if len(rec.Fields) == 0 {
		return ch, 0, nil
	}
	r.key = append(append(append(append(r.key[:0], rec.Kind...), 0), rec.ID...), 0)
	size := 0
	for k, v := r.fields.Seek(r.key); bytes.HasPrefix(k, r.key); k, v = r.fields.Next() {
		if len(v) < 8 || binary.BigEndian.Uint64(v) != seq {
			continue // overwritten by a later op, which carries it
		}
		name, ok := findName(rec.Fields, k[len(r.key):])
		if !ok {
			continue
		}
		ch.Fields[name] = r.clone(v[8:])
		size += len(v) - 8
	}
	return ch, size, nil
}

// findName returns the name of names equal to b, without allocating.
func findName(names []string, b []byte) (string, bool) {
	for _, n := range names {
		if n == string(b) {
			return n, true
		}
	}
	return "", false
}

// clone copies v out of the transaction's memory.
func (r *pageReader) clone(v []byte) json.RawMessage {
	if len(v) > maxBlock/4 {
		return bytes.Clone(v)
	}
	if cap(r.block)-len(r.block) < len(v) {
		r.block = make([]byte, 0, min(max(2*cap(r.block), minBlock), maxBlock))
	}
	n := len(r.block)
	r.block = append(r.block, v...)
	return r.block[n:len(r.block):len(r.block)]
}
