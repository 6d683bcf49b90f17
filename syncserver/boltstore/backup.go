package boltstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database to w while the server
// runs, and returns its size. It first commits the pushes waiting in the
// push log, so the copy holds every push acknowledged before the call.
// Pushes go on meanwhile, though a checkpoint that must grow the file
// waits for the copy to end. Canceling ctx stops the copy. The copy is
// the file as it is: BackupFile makes one to put back in place of the
// server's.
func (d *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := d.commit(ctx, func(*bbolt.Tx) error { return nil }); err != nil {
		return 0, fmt.Errorf("back up: commit the logged pushes: %w", err)
	}
	var n int64
	err := d.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up: %w", diskError(err))
	}
	return n, nil
}

// ctxWriter fails its writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// BackupFile writes Backup to the file path (mode 0600) through a
// temporary file in its folder, synced and then renamed, so path holds a
// whole copy or none. The copy is made ready to be put back in place of
// the server's file (see markCopy).
func (d *DB) BackupFile(ctx context.Context, path string) (int64, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("back up: %w", diskError(err))
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	n, err := d.Backup(ctx, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return n, fmt.Errorf("back up to %s: %w", path, diskError(err))
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("back up to %s: %w", path, diskError(err))
	}
	done = true
	if err := markCopy(tmp); err != nil {
		_ = os.Remove(tmp)
		return n, fmt.Errorf("back up to %s: %w", path, diskError(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return n, fmt.Errorf("back up to %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // the rename itself durable
		_ = d.Sync()
		_ = d.Close()
	}
	return n, nil
}

// copyGap is how far a backup copy moves each account's head (see
// markCopy): more seqs than a server assigns between a backup and its
// restore.
const copyGap = 1 << 40

// markCopy readies the backup copy at path to be put back in place of
// the server's file (see markGaps); the copy also gets a log id of its
// own, so the push log of the server it replaces replays nothing into it.
func markCopy(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, FreelistType: bbolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := markGaps(tx); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Delete(kLogID) // a new one at open
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// MarkRestored readies a file put back from a backup that was not made
// by BackupFile (a plain copy), as BackupFile readies its copies (see
// markGaps), and returns how many accounts' streams it moved. Run it once
// after the restore, before devices connect.
func (d *DB) MarkRestored(ctx context.Context) (int, error) {
	var n int
	err := d.commit(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = markGaps(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark the restored data: %w", err)
	}
	return n, nil
}

// markGaps readies the data in tx to be put back in place of a server
// whose streams went on past it meanwhile: devices that applied those
// later seqs must start over (rebuild from the stream and push again what
// the data lacks), while devices whose cursor it holds go on. So each
// account's head moves ahead by copyGap and the gap it leaves is recorded:
// a cursor inside a gap counts in a stream this file does not hold
// (DB.ForeignCursor), and the seqs assigned after the restore, past the
// gap, never repeat the lost ones that such a cursor counts. It returns
// how many accounts it moved.
func markGaps(tx *bbolt.Tx) (int, error) {
	heads, gaps := tx.Bucket(bHeads), tx.Bucket(bGaps)
	if gaps == nil { // a file older than the bucket
		var err error
		if gaps, err = tx.CreateBucket(bGaps); err != nil {
			return 0, err
		}
	}
	type moved struct {
		acct []byte
		head uint64
	}
	var all []moved
	err := heads.ForEach(func(k, v []byte) error {
		if len(v) == 8 {
			all = append(all, moved{bytes.Clone(k), binary.BigEndian.Uint64(v)})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, m := range all {
		if m.head > math.MaxInt64-copyGap { // seqs stay within int64 on every backend
			return 0, fmt.Errorf("account %s: head %d leaves no room for a gap", m.acct, m.head)
		}
		if err := heads.Put(m.acct, u64(m.head+copyGap)); err != nil {
			return 0, err
		}
		list := append(bytes.Clone(gaps.Get(m.acct)), append(u64(m.head), u64(m.head+copyGap)...)...)
		if err := gaps.Put(m.acct, list); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}

// markErased records, once an account's sync data was erased (a password
// reset without the key to it), that every cursor up to its head counts
// in a stream the server no longer holds: each device that synced before
// starts over, and pushes again what it holds (sealed with the new key),
// instead of taking itself for in sync with an empty account.
func markErased(tx *bbolt.Tx, accountID string) error {
	h := head(tx, accountID)
	if h == 0 {
		return nil
	}
	gaps := tx.Bucket(bGaps)
	list := append(bytes.Clone(gaps.Get([]byte(accountID))), append(u64(0), u64(h)...)...)
	return gaps.Put([]byte(accountID), list)
}

// ForeignCursor reports whether a device's cursor counts in a stream this
// file does not hold: one that went on past the backup copy this file was
// made from (the cursor falls in a gap markCopy left). Such a device must
// start over from the stream. It implements syncserver.CursorChecker.
func (d *DB) ForeignCursor(ctx context.Context, accountID string, cursor uint64) (bool, error) {
	foreign := false
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		list := tx.Bucket(bGaps).Get([]byte(accountID))
		for ; len(list) >= 16; list = list[16:] {
			from, to := binary.BigEndian.Uint64(list), binary.BigEndian.Uint64(list[8:])
			if cursor > from && cursor <= to {
				foreign = true
			}
		}
		return nil
	})
	return foreign, err
}
