package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/courierapp/courier/model"
)

// Opening read-only (Options.ReadOnly). The file is opened O_RDONLY under
// bbolt's shared lock, and nothing that a read-write Open writes is done:
// no folder is created, no copy left by a compaction is removed, nothing
// is compacted, migrated or sealed, and a damaged file is not set aside.
// So a profile a read-write Open would have to change first is read as
// it is when the reading code copes, and refused otherwise:
//
//   - a file written by a newer Courier is refused, as Open does;
//   - schema 2 is read as it is: the step to 3 only records the number
//     (schema 3 may hold sealed values, which a schema 2 file never does);
//   - schema 1 (no history index), an empty file, and one without our
//     buckets yet are refused: they must be opened once with write access;
//   - plain secret values that a read-write Open with a key would seal are
//     read plain; sealed ones need the key, checked as Open checks it;
//   - a damaged file is refused and left where it is.
//
// A writer in the same process (claimProfile) or in another one (the lock,
// after Options.Timeout) makes the open fail with ErrProfileLocked, and a
// read-only DB keeps writers out in turn; read-only DBs share a profile.

// readOnlyMinSchema is the oldest schema a read-only open reads.
const readOnlyMinSchema = 2

// openReadOnly opens the file for reading only and checks that it can be
// read as it is.
func (db *DB) openReadOnly(ctx context.Context, opts Options) error {
	if fi, err := os.Stat(db.path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		// bbolt would write the first pages of a new database into it.
		return db.needsWrite("is empty", "set up")
	}
	b, err := boltOpen(db.path, &bbolt.Options{ReadOnly: true, Timeout: opts.Timeout, FreelistType: bbolt.FreelistMapType, InitialMmapSize: initialMmapSize()})
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return lockedError(db.dir)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("there is no profile database %s to read: %w: %w", db.path, model.ErrUnavailable, err)
	case isDamaged(err):
		return db.damagedReadOnly(err)
	default:
		return fmt.Errorf("cannot read the profile database %s: %w: %w", db.path, model.ErrUnavailable, err)
	}
	err = db.checkReadable(b)
	if err == nil {
		err = db.readSecrets(ctx, b, opts)
	}
	if err != nil {
		_ = b.Close()
		return err
	}
	db.bolt = b
	return nil
}

// checkReadable checks that the file's schema can be read as it is.
func (db *DB) checkReadable(b *bbolt.DB) error {
	version, err := db.schemaVersion(b)
	switch {
	case errors.Is(err, errDamaged):
		return db.damagedReadOnly(err)
	case err != nil:
		return fmt.Errorf("read %s: %w: %w", db.path, model.ErrUnavailable, err)
	case version == 0:
		return db.needsWrite("was never set up", "set up")
	case version > schemaVersion:
		return db.newerSchemaError(version)
	case version < readOnlyMinSchema:
		return db.needsWrite(fmt.Sprintf("was written by an older Courier (schema %d)", version), "upgraded")
	}
	return nil
}

// readSecrets checks the key when the profile holds sealed values; it
// asks for the key only then.
func (db *DB) readSecrets(ctx context.Context, b *bbolt.DB, opts Options) (err error) {
	var check []byte
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("reading %s panicked: %v: %w", db.path, p, errDamaged)
			}
		}()
		err = b.View(func(tx *bbolt.Tx) error {
			check = bytes.Clone(tx.Bucket(bucketMeta).Get(metaSecretsCheck))
			return nil
		})
	}()
	switch {
	case errors.Is(err, errDamaged):
		return db.damagedReadOnly(err)
	case err != nil:
		return fmt.Errorf("read %s: %w: %w", db.path, model.ErrUnavailable, err)
	case check == nil:
		return nil // nothing sealed: plain values read as they are
	}
	key, err := secretKey(ctx, opts)
	if err != nil {
		return fmt.Errorf("the key of the secret values of the profile %s: %w", db.dir, err)
	}
	sec, err := newSealer(key)
	if err != nil {
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	if err := sec.verify(db.dir, check); err != nil {
		return err
	}
	db.sec = sec
	return nil
}

// needsWrite is the error for a file that a read-only open cannot read
// before a read-write one changes it: the file is what state says, and
// must be done to.
func (db *DB) needsWrite(state, done string) error {
	return fmt.Errorf("the profile database %s %s and must be opened once with write access to be %s; it was opened read-only and left as it is: %w",
		db.path, state, done, model.ErrUnavailable)
}

// damagedReadOnly is the error for a damaged file met by a read-only open.
func (db *DB) damagedReadOnly(err error) error {
	return fmt.Errorf("the profile database %s is damaged; it was opened read-only and left as it is (opened with write access, Courier keeps it aside and starts a new one): %w: %w",
		db.path, model.ErrUnavailable, err)
}

// readOnlyError is the error of the write what on a store opened
// read-only; err is bbolt's.
func (db *DB) readOnlyError(what string, err error) error {
	return fmt.Errorf("%s: the profile %s was opened read-only, so nothing was saved: %w: %w", what, db.dir, model.ErrUnavailable, err)
}
