package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// compactBatch bounds the candidates one transaction of Compact looks at,
// so the first compaction of a large log does not hold every page it
// frees in memory at once.
const compactBatch = 16 << 10

// Compact implements syncserver.SyncStorage. The candidates (sbDead) are
// the seqs whose entries lost a value, or never had one: a push lists
// them as it overwrites or drops values, so a compaction looks only at
// what changed since the last one.
func (d *DB) Compact(ctx context.Context, accountID, sessionID string, cursor uint64, activeSince time.Time) (syncserver.CompactResult, error) {
	var res syncserver.CompactResult
	first := true
	for {
		more := false
		err := d.update(ctx, func(tx *bbolt.Tx) error {
			var err error
			r := res
			more, err = compact(tx, accountID, sessionID, cursor, activeSince, first, &r)
			if err == nil {
				res = r
			}
			return err
		})
		if err != nil {
			return res, fmt.Errorf("compact the sync log of account %s: %w", accountID, err)
		}
		first = false
		if !more {
			return res, nil
		}
	}
}

// compact runs one transaction of Compact: it records the session's
// cursor when record is set, then drops up to compactBatch candidates
// at or below the low water, adding to res. It reports whether
// candidates below the low water remain.
func compact(tx *bbolt.Tx, accountID, sessionID string, cursor uint64, activeSince time.Time, record bool, res *syncserver.CompactResult) (bool, error) {
	if tx.Bucket(bAccounts).Get([]byte(accountID)) == nil {
		return false, model.ErrNotFound
	}
	h := head(tx, accountID)
	if record && sessionID != "" && cursor > h {
		return false, fmt.Errorf("session %s reports cursor %d, past the head %d: %w", sessionID, cursor, h, model.ErrInvalid)
	}
	acct := tx.Bucket(bSync).Bucket([]byte(accountID))
	if acct == nil && (!record || sessionID == "") {
		return false, nil // no sync data: nothing to drop
	}
	acct, err := syncBucket(tx, accountID)
	if err != nil {
		return false, err
	}
	cursors := acct.Bucket(sbCursors)
	if record && sessionID != "" {
		if cursors.Get([]byte(sessionID)) == nil {
			cursor = h // its first: it has pushed nothing before
		}
		if err := cursors.Put([]byte(sessionID), u64(cursor)); err != nil {
			return false, err
		}
	}
	low, err := lowWater(tx, accountID, cursors, activeSince, h)
	if err != nil {
		return false, err
	}
	res.LowWater = low
	u, err := usage(acct)
	if err != nil {
		return false, err
	}
	fields, log, ops := acct.Bucket(sbFields), acct.Bucket(sbLog), acct.Bucket(sbOps)
	var seen, drop [][]byte
	more := false
	c := acct.Bucket(sbDead).Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= low; k, _ = c.Next() {
		if len(seen) == compactBatch {
			more = true
			break
		}
		seen = append(seen, bytes.Clone(k))
		v := log.Get(k)
		if v == nil {
			continue
		}
		rec, err := decodeLogRec(v, nil)
		if err != nil {
			return false, fmt.Errorf("decode sync log entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if !holdsValue(fields, k, rec) {
			drop = append(drop, seen[len(seen)-1])
			if rec.OpID != "" && bytes.Equal(ops.Get([]byte(rec.OpID)), k) {
				if err := ops.Delete([]byte(rec.OpID)); err != nil {
					return false, err
				}
			}
		}
	}
	for _, k := range drop {
		if err := log.Delete(k); err != nil {
			return false, err
		}
	}
	for _, k := range seen {
		if err := acct.Bucket(sbDead).Delete(k); err != nil {
			return false, err
		}
	}
	res.Usage = u
	if len(drop) == 0 {
		return more, nil
	}
	res.Usage.Log -= int64(len(drop))
	res.Dropped += len(drop)
	return more, putUsage(acct, res.Usage)
}

// holdsValue reports whether some field the entry rec (at seq, 8 bytes
// BE) wrote still holds the value it wrote.
func holdsValue(fields *bbolt.Bucket, seq []byte, rec logRec) bool {
	for _, f := range rec.Fields {
		if v := fields.Get(fieldKey(rec.Kind, rec.ID, f)); len(v) >= 8 && bytes.Equal(v[:8], seq) {
			return true
		}
	}
	return false
}

// lowWater returns the lowest cursor recorded for the account's sessions
// last seen at or after activeSince, or h when none counts. It drops the
// cursors of sessions that are gone.
func lowWater(tx *bbolt.Tx, accountID string, cursors *bbolt.Bucket, activeSince time.Time, h uint64) (uint64, error) {
	low := h
	var gone [][]byte
	err := cursors.ForEach(func(id, v []byte) error {
		var r sessionRec
		err := getJSON(tx.Bucket(bSessions), id, &r, "session")
		switch {
		case err != nil || r.AccountID != accountID:
			gone = append(gone, bytes.Clone(id))
		case len(v) == 8 && !r.LastSeenAt.Before(activeSince):
			low = min(low, binary.BigEndian.Uint64(v))
		}
		return nil
	})
	for _, id := range gone {
		if err == nil {
			err = cursors.Delete(id)
		}
	}
	return low, err
}

// migrateCompaction brings the sync data of a file written before
// compaction to its rules, once (marked in bMeta): each account's log
// entries that hold no value become candidates, its usage counts its log,
// and its sessions count from cursor 0 (one may have pushed ops it has not
// heard back about) until they report one.
func migrateCompaction(tx *bbolt.Tx) error {
	return migrateOnce(tx, kCompaction, "migrate the sync data for compaction", func(id []byte) error {
		return migrateAccountCompaction(tx, string(id))
	})
}

func migrateAccountCompaction(tx *bbolt.Tx, accountID string) error {
	acct, err := syncBucket(tx, accountID)
	if err != nil {
		return err
	}
	fields, dead := acct.Bucket(sbFields), acct.Bucket(sbDead)
	err = acct.Bucket(sbLog).ForEach(func(k, v []byte) error {
		rec, err := decodeLogRec(v, nil)
		if err != nil {
			return fmt.Errorf("decode sync log entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if holdsValue(fields, k, rec) {
			return nil
		}
		return dead.Put(bytes.Clone(k), []byte{})
	})
	if err != nil {
		return err
	}
	u, err := countUsage(acct)
	if err != nil {
		return err
	}
	if err := putUsage(acct, u); err != nil {
		return err
	}
	for _, k := range prefixKeys(tx.Bucket(bAccountSessions), key2(accountID, "")) {
		if err := acct.Bucket(sbCursors).Put(bytes.Clone(k[len(accountID)+1:]), u64(0)); err != nil {
			return err
		}
	}
	return nil
}
