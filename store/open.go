package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/courierapp/courier/internal/boltfile"
	"github.com/courierapp/courier/model"
)

// openProfiles holds the database paths this process has open: -1 for
// one read-write DB, else the number of read-only ones. bbolt's file lock
// is per open file, so without it a second Open in the same process would
// wait the whole timeout; with it, it fails at once. As bbolt's lock
// does across processes, read-only DBs share a path and a read-write one
// has it alone.
var openProfiles = struct {
	sync.Mutex
	paths map[string]int
}{paths: map[string]int{}}

func claimProfile(path string, readOnly bool) bool {
	openProfiles.Lock()
	defer openProfiles.Unlock()
	n := openProfiles.paths[path]
	switch {
	case readOnly && n >= 0:
		openProfiles.paths[path] = n + 1
	case !readOnly && n == 0:
		openProfiles.paths[path] = -1
	default:
		return false
	}
	return true
}

func releaseProfile(path string, readOnly bool) {
	openProfiles.Lock()
	defer openProfiles.Unlock()
	if n := openProfiles.paths[path]; readOnly && n > 1 {
		openProfiles.paths[path] = n - 1
		return
	}
	delete(openProfiles.paths, path)
}

// Open opens or creates dir/courier.db (creating dir with mode 0700) and
// brings its schema up to date.
//
// Errors: another process (or another Open in this one) holding the
// profile gives an error wrapping ErrProfileLocked; a directory or file
// that cannot be created or written, or a file written by a newer Courier,
// gives model.ErrUnavailable with a sentence (one that may not be written
// at all, permission denied or a read-only file system, also matches
// ErrNotWritable: Options.ReadOnly may still read it); a profile whose
// secret values were sealed with another key than opts.SecretKey (or none
// given) gives ErrSecretsLocked and is left unchanged. A file that is not
// a readable database (including one cut short, as by a crash, a full disk
// or a partial copy) is never deleted: it is renamed to
// courier.db.corrupt-YYYYMMDD-HHMMSS, a fresh database is opened in its
// place, and Notice says where the old one was kept.
//
// With opts.ReadOnly, Open writes nothing, in the folder or the file: see
// Options.ReadOnly.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w: %w", dir, model.ErrUnavailable, err)
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create the profile folder %s: %w: %w", abs, model.ErrUnavailable, markNotWritable(err))
		}
	}
	path := filepath.Join(abs, FileName)
	if !claimProfile(path, opts.ReadOnly) {
		return nil, lockedError(abs)
	}
	db := &DB{dir: abs, path: path, log: log, subs: newSubscribers(), noSync: opts.NoSync, readOnly: opts.ReadOnly}
	if opts.ReadOnly {
		err = db.openReadOnly(ctx, opts)
	} else {
		err = db.open(ctx, opts)
	}
	if err != nil {
		releaseProfile(path, opts.ReadOnly)
		return nil, err
	}
	return db, nil
}

func lockedError(dir string) error {
	return fmt.Errorf("the profile %s is in use by another Courier; to run a second one, start it with --profile DIR naming another folder: %w", dir, ErrProfileLocked)
}

// open opens the file, setting a damaged one aside once.
func (db *DB) open(ctx context.Context, opts Options) error {
	// Asked once the file is locked, and only once.
	key := sync.OnceValues(func() ([]byte, error) { return secretKey(ctx, opts) })
	b, err := db.openFile(opts, key)
	if errors.Is(err, errDamaged) {
		kept, rerr := db.setAside(err)
		if rerr != nil {
			return rerr
		}
		db.addNotice(fmt.Sprintf("Courier could not read its database, so it started a new one; the old file was kept as %s.", kept))
		b, err = db.openFile(opts, key)
	}
	if err != nil {
		return err
	}
	db.bolt = b
	return nil
}

// initialMmapSize is the address space the database file is mapped with
// at first. bbolt remaps as the file grows, and a remap inside a write
// copies every node the transaction touched to the heap; mapping room for
// a large profile at once spares the first sync about ten of those. Pages
// not touched take no memory. Not on Windows, where bbolt grows the file
// to the size of its mapping.
func initialMmapSize() int {
	if runtime.GOOS == "windows" {
		return 0
	}
	return 256 << 20
}

// openFile opens the bbolt file and prepares its schema. Errors wrapping
// errDamaged mean the file is not a usable database.
func (db *DB) openFile(opts Options, key func() ([]byte, error)) (*bbolt.DB, error) {
	b, err := boltOpen(db.path, &bbolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync, FreelistType: bbolt.FreelistMapType, InitialMmapSize: initialMmapSize()})
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, lockedError(db.dir)
	case isDamaged(err):
		return nil, fmt.Errorf("open %s: %w: %w", db.path, errDamaged, err)
	default:
		return nil, fmt.Errorf("cannot open the profile database %s (%s): %w: %w", db.path, writeProblem(db.dir, err), model.ErrUnavailable, markNotWritable(err))
	}
	if err := removeCompactLeftover(db.path); err != nil {
		db.log.Warn("could not remove the copy an unfinished compaction left", "path", db.path, "err", err)
	}
	if nb, err := db.compact(context.Background(), b); err != nil {
		db.log.Warn("could not compact the profile database", "path", db.path, "err", err)
	} else if nb != nil {
		b = nb
	}
	err = db.prepare(b)
	if err == nil {
		err = db.prepareSecrets(b, key, opts.NoSync)
	}
	if err == nil {
		err = b.View(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			db.unfinished.Store(meta.Get(metaQueueLocal) != nil || meta.Get(metaRebaseNext) != nil || meta.Get(metaFold) != nil)
			return nil
		})
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// isDamaged reports whether err, from boltOpen, says the file is not a
// usable database.
func isDamaged(err error) bool {
	return errors.Is(err, boltfile.ErrDamaged) ||
		errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, errDamaged) ||
		strings.Contains(err.Error(), "file size too small")
}

// boltOpen is bbolt.Open after boltfile's check of the file: a file cut
// short, one without a valid meta page, or one bbolt panics or faults on
// while opening gives an error wrapping boltfile.ErrDamaged instead of a
// crash.
func boltOpen(path string, o *bbolt.Options) (*bbolt.DB, error) {
	return boltfile.Open(path, 0o600, o)
}

// prepare checks the schema and, only when something is missing or old,
// creates or migrates in one write transaction (so opening an up-to-date
// file on a full disk still works).
func (db *DB) prepare(b *bbolt.DB) (err error) {
	version, err := db.schemaVersion(b)
	switch {
	case err != nil:
		return err
	case version == schemaVersion:
		return nil
	case version > schemaVersion:
		return db.newerSchemaError(version)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading %s panicked: %v: %w", db.path, p, errDamaged)
		}
	}()
	err = b.Update(func(tx *bbolt.Tx) error {
		if version == 0 {
			return initSchema(tx)
		}
		db.log.Info("migrating profile database", "path", db.path, "from", version, "to", schemaVersion)
		return migrate(tx, version)
	})
	if err != nil && !errors.Is(err, errDamaged) {
		return fmt.Errorf("prepare %s: %s: %w: %w", db.path, writeProblem(db.dir, err), model.ErrUnavailable, markNotWritable(err))
	}
	return err
}

// schemaVersion reads the file's schema version (0 for a new, empty
// file). Errors wrap errDamaged when our meta bucket is unreadable.
func (db *DB) schemaVersion(b *bbolt.DB) (version uint64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading %s panicked: %v: %w", db.path, p, errDamaged)
		}
	}()
	if verr := b.View(func(tx *bbolt.Tx) error {
		var serr error
		version, serr = schemaState(tx)
		return serr
	}); verr != nil {
		return 0, fmt.Errorf("open %s: %w", db.path, verr)
	}
	return version, nil
}

func (db *DB) newerSchemaError(version uint64) error {
	return fmt.Errorf("the profile database %s was %w (schema %d; this one reads up to %d): %w",
		db.path, errNewerSchema, version, schemaVersion, model.ErrUnavailable)
}

// setAside renames the damaged database file to a name that says when,
// never overwriting anything, and returns the new path.
func (db *DB) setAside(cause error) (string, error) {
	base := db.path + ".corrupt-" + time.Now().Format("20060102-150405")
	kept := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(kept); errors.Is(err, os.ErrNotExist) {
			break
		}
		kept = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(db.path, kept); err != nil {
		return "", fmt.Errorf("the profile database %s is damaged and could not be set aside: %w: %w", db.path, model.ErrUnavailable, err)
	}
	db.log.Warn("profile database damaged; kept aside", "path", db.path, "kept", kept, "err", cause)
	return kept, nil
}

// dropCopySettings deletes settings from the fresh copy at path.
func dropCopySettings(path string, keys []string) error {
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		settings := tx.Bucket(bucketSettings)
		if settings == nil {
			return nil
		}
		for _, k := range keys {
			if err := settings.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}

// CopyTo writes a consistent copy of the whole database to path (mode
// 0600), for keeping local data aside, without the settings named in
// dropSettings (those of an account the copy is not to claim). It fails
// with model.ErrUnavailable when path cannot be written; an existing file
// at path is replaced.
func (db *DB) CopyTo(ctx context.Context, path string, dropSettings ...string) error {
	db.rmu.RLock()
	defer db.rmu.RUnlock()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return tx.CopyFile(path, 0o600)
	})
	if err == nil && len(dropSettings) > 0 {
		err = dropCopySettings(path, dropSettings)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("copy the profile database to %s: %w: %w", path, model.ErrUnavailable, err)
}
