package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/courierapp/courier/internal/boltfile"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// Bucket names, created in Open.
var (
	bAccounts        = []byte("accounts")         // id -> accountRec JSON
	bEmails          = []byte("account_email")    // email -> id
	bUsernames       = []byte("account_username") // username -> id
	bSessions        = []byte("sessions")         // id -> sessionRec JSON
	bTokens          = []byte("session_token")    // token hash -> session id
	bAccountSessions = []byte("account_sessions") // account id 0x00 session id -> nil
	bCodes           = []byte("codes")            // account id 0x00 purpose -> codeRec JSON
	bCodeHashes      = []byte("code_hash")        // code hash -> account id 0x00 purpose
	bSecrets         = []byte("secrets")          // name -> bytes
	bSync            = []byte("sync")             // account id -> sync data (sub-buckets, see sync.go)
	bHeads           = []byte("sync_head")        // account id -> last seq (8 bytes BE)
	bIdentities      = []byte("oidc_identity")    // provider 0x00 subject -> identityRec JSON
	bAcctIdentities  = []byte("account_oidc")     // account id 0x00 provider 0x00 subject -> nil
	bMeta            = []byte("meta")             // the file's own settings (see migrate)
	bGaps            = []byte("sync_gaps")        // account id -> the seq gaps of backup copies (see backup.go)
	allBuckets       = [][]byte{bAccounts, bEmails, bUsernames, bSessions, bTokens, bAccountSessions, bCodes, bCodeHashes, bSecrets, bSync, bHeads, bIdentities, bAcctIdentities, bMeta, bGaps}
)

// DB is the bbolt backend. It is safe for concurrent use.
type DB struct {
	db      *bbolt.DB
	commits *committer
}

var _ syncserver.Storage = (*DB)(nil)

// ErrInUse is the error of a file another process holds open.
var ErrInUse = errors.New("in use by another process")

// Open opens (creating if needed) the database file at path. A file held
// by another process returns an error wrapping ErrInUse and
// model.ErrUnavailable after a second. A damaged file (cut short, or without a valid meta page) is
// left untouched and returns an error wrapping boltfile.ErrDamaged that
// says what is wrong.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir for %s: %w", path, err)
	}
	// boltfile checks the file before bbolt maps it: bbolt would crash
	// the process on a file cut short.
	db, err := boltfile.Open(path, 0o600, &bbolt.Options{
		Timeout: time.Second,
		// A large initial map spares the remaps that stall every reader
		// while the file grows; it is address space, not memory.
		InitialMmapSize: 256 << 20,
		FreelistType:    bbolt.FreelistMapType,
		// The free-page list is rebuilt at open (a walk of the file)
		// instead of written by every commit: once an account's
		// deletion or months of churn free tens of thousands of pages,
		// writing the list would make each commit, and so each push's
		// acknowledgement, several times slower.
		NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w: %w", path, ErrInUse, model.ErrUnavailable)
	}
	if errors.Is(err, boltfile.ErrDamaged) {
		return nil, fmt.Errorf("open %s: the database file is damaged and was left as it is: %w; put a backup copy in its place (see Restoring in docs/deployment.md)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	log, err := openPushLog(path + ".log")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var lsn uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		if err := migrate(tx); err != nil {
			return err
		}
		if err := migrateCompaction(tx); err != nil {
			return err
		}
		lsn, err = recoverLog(tx, log)
		return err
	})
	if err != nil {
		log.close()
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	log.reset()
	log.prepare()
	return &DB{db: db, commits: newCommitter(db, log, lsn)}, nil
}

// recoverLog reads (or makes) the file's log id, replays the pushes the
// log holds after the last checkpoint (acknowledged, but not yet in the
// file when the server stopped) and returns the last lsn.
func recoverLog(tx *bbolt.Tx, log *pushLog) (uint64, error) {
	meta := tx.Bucket(bMeta)
	if log.id = bytes.Clone(meta.Get(kLogID)); len(log.id) == 0 {
		log.id = make([]byte, 16)
		rand.Read(log.id)
		if err := meta.Put(kLogID, log.id); err != nil {
			return 0, err
		}
	}
	var lsn uint64
	if v := meta.Get(kLogLSN); len(v) == 8 {
		lsn = binary.BigEndian.Uint64(v)
	}
	recs, err := log.scan(lsn)
	if err != nil || len(recs) == 0 {
		return lsn, err
	}
	for _, r := range recs {
		lsn++
		if err := replayPush(tx, r); err != nil {
			return 0, fmt.Errorf("replay push log record %d: %w", lsn, err)
		}
	}
	return lsn, meta.Put(kLogLSN, u64(lsn))
}

// Close closes the file (after the sync writes already queued, and a
// last checkpoint).
func (d *DB) Close() error {
	d.commits.close()
	return errors.Join(d.db.Close(), d.commits.log.close())
}

func (d *DB) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.db.View(fn)
}

// update runs fn in a group commit (sync_commit.go): concurrent writers
// share one fsync, and a lone writer commits at once (bbolt's DB.Batch
// would wait MaxBatchDelay for company first). fn may run more than once,
// so it must be idempotent.
func (d *DB) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	return d.commit(ctx, fn)
}

func key2(a string, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func getJSON(b *bbolt.Bucket, k []byte, v any, what string) error {
	raw := b.Get(k)
	if raw == nil {
		return fmt.Errorf("%s %q: %w", what, k, model.ErrNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", what, k, err)
	}
	return nil
}

func putJSON(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", k, err)
	}
	return b.Put(k, raw)
}

// LoadOrCreateSecret implements syncserver.Storage.
func (d *DB) LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error) {
	var out []byte
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bSecrets).Get([]byte(name)))
		return nil
	})
	if err != nil || out != nil {
		return out, err
	}
	fresh := make([]byte, size)
	rand.Read(fresh)
	err = diskError(d.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSecrets)
		if v := b.Get([]byte(name)); v != nil {
			out = bytes.Clone(v)
			return nil
		}
		out = fresh
		return b.Put([]byte(name), fresh)
	}))
	if err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	return out, nil
}

// Stats implements syncserver.Storage.
func (d *DB) Stats(ctx context.Context) (syncserver.Stats, error) {
	var s syncserver.Stats
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		s.Accounts = tx.Bucket(bAccounts).Stats().KeyN
		s.Sessions = tx.Bucket(bSessions).Stats().KeyN
		return nil
	})
	return s, err
}
