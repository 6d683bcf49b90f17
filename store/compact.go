package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Compaction. bbolt never gives pages back to the file system, and it
// writes its whole list of free pages with every commit: after the user
// clears a large history, every later commit (an edit, a send, a change
// from the server) writes hundreds of kilobytes of that list and takes two
// to three times as long. So when at least compactMinFree bytes and half
// the file are free, the store copies its live data into a new file
// (courier.db.compact), makes it durable, and renames it over courier.db:
// when Open finds such a file, and when the app asks (after deleting
// history). Reads and writes wait for the copy, which takes about a second
// per 100 MiB of live data, so a file with more than compactMaxLive of it
// is left as it is.
//
// Nothing is lost if it stops half way: until the rename the old file is
// whole and in use, and a copy left by a process that died is removed by
// the next Open; the rename swaps one whole file for another. The new file
// is opened, and so locked, before it takes the old one's name, so no other
// process can open it in between. Not on Windows, where an open file cannot
// be renamed over.

// compactMinFree is the free space from which a file is compacted, and
// compactMaxLive the most live data a compaction copies (a pause of about
// half a second). Variables for the tests.
var compactMinFree, compactMaxLive int64 = 32 << 20, 64 << 20

// compactTxSize bounds the bytes copied per transaction of a compaction.
const compactTxSize = 64 << 20

// compactSuffix names the copy being made, beside the database file.
const compactSuffix = ".compact"

// Compact compacts the file if at least 32 MiB and half of it are free,
// and at most 64 MiB is in use, and reports whether it did. Reads and
// writes wait while it runs. On failure the store goes on with the file
// it had, unchanged. A store opened read-only never compacts: it fails
// with model.ErrUnavailable.
func (db *DB) Compact(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if db.readOnly {
		return false, db.readOnlyError("compact", berrors.ErrDatabaseReadOnly)
	}
	db.rmu.RLock()
	_, due := compactable(db.bolt)
	db.rmu.RUnlock()
	if !due {
		return false, nil
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.rmu.Lock()
	defer db.rmu.Unlock()
	b, err := db.compact(ctx, db.bolt)
	if err != nil || b == nil {
		return false, err
	}
	db.bolt = b
	return true, nil
}

// compactable reports the free bytes of b and whether they call for a
// compaction.
func compactable(b *bbolt.DB) (int64, bool) {
	if runtime.GOOS == "windows" {
		return 0, false
	}
	st := b.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * int64(b.Info().PageSize)
	var size int64
	if err := b.View(func(tx *bbolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return free, false
	}
	return free, free >= compactMinFree && 2*free >= size && size-free <= compactMaxLive
}

// compact copies b into a new file renamed over db.path when compactable
// says so, and returns that file open, after closing b; nil with nothing
// to do. On error b is still open and unchanged.
func (db *DB) compact(ctx context.Context, b *bbolt.DB) (*bbolt.DB, error) {
	free, ok := compactable(b)
	if !ok {
		return nil, nil
	}
	tmp := db.path + compactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("compact %s: %w", db.path, err)
	}
	// Written without a sync per transaction: the file is made durable
	// once, whole, before it takes the database's name.
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true, FreelistType: bbolt.FreelistMapType, InitialMmapSize: initialMmapSize()})
	if err != nil {
		return nil, fmt.Errorf("compact %s: %w", db.path, err)
	}
	fail := func(err error) (*bbolt.DB, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("compact %s: %w", db.path, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := copyLive(dst, b); err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, db.path); err != nil {
		return fail(err)
	}
	// From here the new file is the database, whatever happens next.
	if err := syncDir(filepath.Dir(db.path)); err != nil {
		db.log.Warn("could not sync the profile folder after compacting", "path", db.path, "err", err)
	}
	if err := b.Close(); err != nil {
		db.log.Warn("could not close the database file the compaction replaced", "path", db.path, "err", err)
	}
	dst.NoSync = db.noSync
	db.log.Info("compacted the profile database", "path", db.path, "freed_bytes", free)
	return dst, nil
}

// copyLive copies every bucket of src into dst, turning a panic of bbolt
// on a damaged page into an error.
func copyLive(dst, src *bbolt.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading the database panicked: %v: %w", p, errDamaged)
		}
	}()
	return bbolt.Compact(dst, src, compactTxSize)
}

// removeCompactLeftover removes a copy that a compaction that did not
// finish left beside path.
func removeCompactLeftover(path string) error {
	if err := os.Remove(path + compactSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir makes the entries of dir durable (a rename in it).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
