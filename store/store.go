package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// FileName is the database file inside the profile directory.
const FileName = "courier.db"

// DefaultTimeout is how long Open waits for another process to release
// the profile.
const DefaultTimeout = time.Second

// ErrProfileLocked reports that another Courier holds the profile. It
// wraps model.ErrUnavailable.
var ErrProfileLocked = fmt.Errorf("profile locked: %w", model.ErrUnavailable)

// Options tune Open. The zero value is what the app uses.
type Options struct {
	// Timeout bounds the wait for the profile's file lock; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync on commit. For tests and benchmarks only: a
	// crash can lose or corrupt data.
	NoSync bool
	// Logger receives the store's log records; nil discards them.
	Logger *slog.Logger
	// SecretKey returns the key, SecretKeySize random bytes kept outside
	// the file (in the OS keyring), that seals the values of secret
	// variables at rest (see secrets.go). Open calls it once it holds the
	// profile's lock, so a key it creates cannot race another process's.
	// A nil func, or a nil key, keeps the values in plain text. Once a
	// profile holds a sealed value, Open needs the same key again (else
	// ErrSecretsLocked); an error from SecretKey fails Open.
	SecretKey func(ctx context.Context) ([]byte, error)
	// ReadOnly opens an existing profile for reading only, as for a
	// profile folder or file Courier may not write (see ErrNotWritable):
	// nothing is created, migrated, sealed, compacted or set aside, and
	// the file is opened read-only under a shared lock, beside other
	// read-only opens and never beside a read-write one. SecretKey is
	// called only when the profile holds sealed values, which need it as
	// they do for a read-write Open. Every write method fails with
	// model.ErrUnavailable saying the profile was opened read-only. See
	// readonly.go for the files it refuses.
	ReadOnly bool
}

// FixedKey returns an Options.SecretKey that returns key.
func FixedKey(key []byte) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return key, nil }
}

// DB is the local store of one profile. It implements app.Store. Its
// methods are safe for concurrent use.
type DB struct {
	dir    string
	path   string
	bolt   *bbolt.DB
	log    *slog.Logger
	notice string
	// sec seals secret values at rest; nil without Options.SecretKey.
	sec    *sealer
	noSync bool
	// readOnly: opened with Options.ReadOnly.
	readOnly bool

	// wmu serialises writes (bbolt does too) so that notifications are
	// queued in commit order.
	wmu sync.Mutex
	// unfinished says a QueueAllLocal, Rebase or SetSyncEnabled(false)
	// may be under way (metaQueueLocal, metaRebaseNext or metaFold set).
	unfinished atomic.Bool
	// rmu is held shared by every read transaction, and alone while the
	// free pages are scrubbed (which no reader may still see).
	rmu  sync.RWMutex
	subs *subscribers
	// early are the watchers of local ops before their commit (WatchOutbox).
	early outboxWatchers

	closeOnce sync.Once
	closeErr  error
}

var _ app.Store = (*DB)(nil)

// Dir returns the profile directory.
func (db *DB) Dir() string { return db.dir }

// SecretsSealed reports whether the store was opened with a secret key,
// so that secret variable values are stored sealed; false means they are
// stored in plain text, which the caller should tell the user about.
func (db *DB) SecretsSealed() bool { return db.sec != nil }

// ReadOnly reports whether the store was opened with Options.ReadOnly,
// so that every write fails.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Notice returns sentences for the user about the opening, or "": Open
// had to set a damaged database file aside (saying where it was kept), or
// it sealed secret values but could not wipe their plain copies.
func (db *DB) Notice() string { return db.notice }

// addNotice adds a sentence to Notice.
func (db *DB) addNotice(s string) {
	if db.notice != "" {
		s = db.notice + " " + s
	}
	db.notice = s
}

// Close stops change delivery (queued notifications are dropped) and
// closes the file. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.subs.close()
		db.wmu.Lock()
		defer db.wmu.Unlock()
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("close %s: %w: %w", db.path, model.ErrUnavailable, err)
		}
		releaseProfile(db.path, db.readOnly)
	})
	return db.closeErr
}

// view runs fn in a read transaction. what names the operation for errors.
func (db *DB) view(ctx context.Context, what string, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	db.rmu.RLock()
	defer db.rmu.RUnlock()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && !errors.Is(err, fnErr) {
		return db.ioError(what, err)
	}
	return db.dataError(what, err)
}

// update runs fn in one write transaction, then tells subscribers about
// the records fn wrote (remote says they came from the server).
func (db *DB) update(ctx context.Context, what string, remote bool, fn func(w *writeTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return db.updateLocked(what, remote, fn)
}

// updateLocked is update for a caller that holds db.wmu (one that runs
// several transactions no other write may come between).
func (db *DB) updateLocked(what string, remote bool, fn func(w *writeTx) error) error {
	var (
		fnErr error
		keys  []app.RecordKey
		scrub bool
		early *earlyBatch
	)
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		w, err := newWriteTx(tx, db.sec)
		if err == nil {
			w.watched = !remote && db.early.watched()
			err = fn(w)
		}
		if err == nil {
			err = w.finish()
		}
		keys = w.keysOrNil()
		scrub = w != nil && w.scrub
		fnErr = err
		if err == nil && w.earlyOps != nil {
			early = &earlyBatch{ops: w.earlyOps, before: w.earlyBefore}
			db.early.hand(early)
		}
		return err
	})
	if early != nil {
		early.done.Store(true)
	}
	if err != nil {
		if fnErr != nil && errors.Is(err, fnErr) {
			return db.dataError(what, err)
		}
		return db.ioError(what, err)
	}
	if scrub {
		db.rmu.Lock()
		err := scrubFreePages(db.bolt, db.path, db.noSync)
		db.rmu.Unlock()
		if err != nil {
			// The write is committed; the old plain copy stays in a free
			// page until bbolt reuses it.
			db.log.Warn("could not overwrite the free pages after sealing a value", "path", db.path, "err", err)
		}
	}
	if len(keys) > 0 {
		db.subs.publish(app.Changes{Keys: keys, Remote: remote})
	}
	return nil
}

func (w *writeTx) keysOrNil() []app.RecordKey {
	if w == nil {
		return nil
	}
	return w.keys
}

// dataError wraps an error from our own code inside a transaction: stored
// bytes that do not decode become model.ErrUnavailable with a sentence;
// the rest passes through.
func (db *DB) dataError(what string, err error) error {
	if err == nil || !errors.Is(err, errDamaged) {
		return err
	}
	return fmt.Errorf("%s: the profile database %s is damaged (%w): %w", what, db.path, model.ErrUnavailable, err)
}

// ioError wraps an error from bbolt itself (a failed write, fsync or
// mmap, or a closed database) in model.ErrUnavailable with a sentence.
func (db *DB) ioError(what string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%s: the store is closed: %w: %w", what, model.ErrUnavailable, err)
	case errors.Is(err, berrors.ErrDatabaseReadOnly):
		return db.readOnlyError(what, err)
	}
	return fmt.Errorf("%s: %s: %w: %w", what, writeProblem(db.dir, err), model.ErrUnavailable, markNotWritable(err))
}
