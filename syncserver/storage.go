package syncserver

import (
	"context"
	"fmt"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// Storage is everything the server keeps. Each method is one transaction
// (all or nothing), so a SQL backend maps each to one BEGIN...COMMIT.
// Methods never return nil, nil: a missing object is an error wrapping
// model.ErrNotFound. Times are passed in (the server owns the clock); byte
// slices returned are the caller's to keep. Implementations are safe for
// concurrent use. Every backend passes storetest.Run.
type Storage interface {
	AccountStorage
	SessionStorage
	CodeStorage
	LinkStorage
	SyncStorage
	// LoadOrCreateSecret returns the secret stored under name, first
	// storing size random bytes if there is none. Replicas sharing a
	// backend share its secrets (the prelogin fake-salt key).
	LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error)
	// Stats counts accounts and live sessions (for /metrics).
	Stats(ctx context.Context) (Stats, error)
	// Close releases the backend.
	Close() error
}

// CursorChecker is implemented by storages whose file may be a backup
// copy put back in place (boltstore): ForeignCursor reports whether a
// device's cursor counts in a stream the storage does not hold (the one
// that went on past the copy), so the device must start over.
type CursorChecker interface {
	ForeignCursor(ctx context.Context, accountID string, cursor uint64) (bool, error)
}

// Stats are counts for metrics.
type Stats struct {
	Accounts int
	Sessions int
}

// Account is one user's account as stored. Username and Email are stored
// normalised (syncproto.NormalizeUsername/NormalizeEmail) and are each
// unique.
type Account struct {
	ID             string
	Username       string
	Email          string
	EmailConfirmed bool
	Secrets        AccountSecrets
	CreatedAt      time.Time
}

// AccountSecrets are the credential-derived values of an account.
type AccountSecrets struct {
	KDFSalt   []byte
	KDFParams syncproto.KDFParams
	// AuthHash is SHA-256(authKey); the authKey itself is never stored.
	AuthHash []byte
	// WrappedAccountKey and RecoveryWrappedKey are opaque sealed keys.
	WrappedAccountKey  []byte
	RecoveryWrappedKey []byte
}

// AccountStorage keeps accounts.
type AccountStorage interface {
	// CreateAccount stores a new account. A taken email returns an
	// error wrapping ErrEmailTaken, a taken username one wrapping
	// ErrUsernameTaken (both wrap model.ErrConflict); the email is checked
	// first.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns the account id.
	Account(ctx context.Context, id string) (Account, error)
	// AccountByEmail and AccountByUsername look up by the normalised form.
	AccountByEmail(ctx context.Context, email string) (Account, error)
	AccountByUsername(ctx context.Context, username string) (Account, error)
	// SetSecrets replaces the secrets of account id (a nil
	// RecoveryWrappedKey keeps the old one) and deletes every session of
	// the account except keepSession (empty: delete all).
	SetSecrets(ctx context.Context, id string, s AccountSecrets, keepSession string) error
	// DeleteAccount removes the account with its sessions, codes, links and
	// sync data.
	DeleteAccount(ctx context.Context, id string) error
}

// Session is one signed-in device. TokenHash is SHA-256 of the bearer
// token; the token itself is never stored.
type Session struct {
	ID         string
	AccountID  string
	TokenHash  []byte
	DeviceName string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// SessionStorage keeps sessions.
type SessionStorage interface {
	// CreateSession stores s; the account must exist (else
	// model.ErrNotFound).
	CreateSession(ctx context.Context, s Session) error
	// SessionByToken returns the session whose TokenHash is hash.
	SessionByToken(ctx context.Context, hash []byte) (Session, error)
	// TouchSession sets LastSeenAt of session id.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// Sessions lists the account's sessions, oldest first (empty, not an
	// error, when there are none).
	Sessions(ctx context.Context, accountID string) ([]Session, error)
	// DeleteSession removes session id of accountID; model.ErrNotFound
	// when the account holds no such session.
	DeleteSession(ctx context.Context, accountID, id string) error
}

// CodePurpose says what an emailed code is for.
type CodePurpose string

// The code purposes.
const (
	PurposeConfirmEmail  CodePurpose = "confirm_email"
	PurposeResetPassword CodePurpose = "reset_password"
)

// Code is an emailed secret, stored as SHA-256 of its canonical form. An
// account holds at most one code per purpose.
type Code struct {
	Hash      []byte
	AccountID string
	Purpose   CodePurpose
	ExpiresAt time.Time
	// Failures counts wrong guesses against this code.
	Failures int
}

// CodeStorage keeps emailed codes. A code whose ExpiresAt is not after
// the given now counts as absent.
type CodeStorage interface {
	// PutCode stores c, replacing the account's earlier code of the same
	// purpose. The account must exist.
	PutCode(ctx context.Context, c Code) error
	// CodeFor returns the account's live code of purpose.
	CodeFor(ctx context.Context, accountID string, purpose CodePurpose, now time.Time) (Code, error)
	// CodeFailed counts one wrong guess against the account's code of
	// purpose and deletes the code when Failures reaches maxFailures.
	CodeFailed(ctx context.Context, accountID string, purpose CodePurpose, maxFailures int) error
	// ConfirmEmail consumes the live confirm_email code whose hash is
	// hash and marks its account confirmed; it returns that account.
	ConfirmEmail(ctx context.Context, hash []byte, now time.Time) (Account, error)
	// ResetSecrets consumes the account's live reset_password code, which
	// must have hash, sets s as in SetSecrets, deletes every session, and
	// when erase is set deletes the account's sync data. A missing,
	// expired or different code returns model.ErrNotFound and changes
	// nothing.
	ResetSecrets(ctx context.Context, accountID string, hash []byte, now time.Time, s AccountSecrets, erase bool) error
}

// SyncStorage keeps the sync data (DESIGN.md section 4): per account, a
// sequence counter (the head) and the latest value of every field with the
// seq of the op that wrote it. boltstore implements it and
// storetest.RunSync checks it; the sync endpoint (sync.go) uses it.
// DeleteAccount removes it all; ResetSecrets with erase removes the data
// (and its usage) but keeps the head, so seqs keep increasing.
type SyncStorage interface {
	// Push applies ops in order in one transaction. An op whose OpID the
	// account already applied is skipped and listed in Dup; every other
	// op gets the next seq and its field values replace older ones. A
	// deleted record (one with a _deleted field) is final: the op that
	// deletes it keeps only its _deleted value and drops the record's
	// others, and an op on it afterwards writes nothing (its change then
	// carries no field, as a superseded one does). An
	// unknown account is model.ErrNotFound; an op without OpID, with an
	// unknown kind or a bad id is model.ErrInvalid. A push that would
	// take the account's usage past a non-zero bound of quota, in records
	// or bytes, is refused whole with an error wrapping ErrQuotaExceeded
	// (pushes that do not grow an over-quota usage pass). Push returns
	// only once the transaction is durable; concurrent pushes, across
	// accounts too, share one fsync.
	Push(ctx context.Context, accountID string, ops []model.Op, quota Quota) (PushResult, error)
	// SyncUsage returns what the account's sync data holds.
	SyncUsage(ctx context.Context, accountID string) (Usage, error)
	// Head returns the account's last assigned seq (0 for none).
	Head(ctx context.Context, accountID string) (uint64, error)
	// Changes returns one change per seq after `after`, in seq order,
	// each with its op's OpID and the fields it wrote that no later op
	// overwrote (none at all makes it a bare acknowledgement). It stops
	// after limit changes, or once the values returned reach maxBytes
	// (always at least one change when there is one), so a page ends on
	// a seq boundary. Caught up is an empty, non-nil slice.
	Changes(ctx context.Context, accountID string, after uint64, limit, maxBytes int) ([]model.Change, error)
	// Compact records, when sessionID is not empty, that this session
	// of the account has applied the account's changes up to cursor (at
	// most the head, else model.ErrInvalid). Then it drops the log
	// entries no device can still need: those at or below the low water
	// (the lowest cursor recorded for the account's sessions last seen
	// at or after activeSince) none of whose values is still stored
	// (later ops overwrote them all, a deletion dropped them, or they
	// wrote none). Their op ids go with them. The session that pushed
	// such an op has applied its change, so it has no use for the echo
	// or the dedupe any more; the op of an entry that still holds a
	// value keeps both. A session that never recorded a cursor counts
	// for nothing, and its first record is the head whatever cursor it
	// reports: every push follows a hello, whose cursor the server
	// records, so it can hold back only the ops it pushes from now on.
	// With no session counting, the low water is the head.
	// Sessions made before a backend kept cursors count from 0 until
	// they record one. An unknown account is model.ErrNotFound.
	Compact(ctx context.Context, accountID, sessionID string, cursor uint64, activeSince time.Time) (CompactResult, error)
}

// CompactResult reports what Compact did.
type CompactResult struct {
	// LowWater is the seq up to which entries could go (0: none).
	LowWater uint64
	// Dropped counts the entries dropped.
	Dropped int
	// Usage is the account's usage after the compaction.
	Usage Usage
}

// PushResult reports what Push did.
type PushResult struct {
	// Head is the account's head after the push. The ops not in Dup took
	// the seqs up to it, in push order, and read back as they were
	// pushed unless Rewritten (the server then hands them to the
	// account's connections without reading them back).
	Head uint64
	// Rewritten says some op was not stored as pushed: it deleted a
	// record, or wrote to a deleted one.
	Rewritten bool
	// Dup lists the OpIDs that were applied before.
	Dup []model.ID
	// Usage is the account's usage after the push.
	Usage Usage
}

// Usage measures an account's sync data: the live records it holds (a
// record is live while it has a field and no _deleted one; clients never
// clear that field once written), the bytes of every stored field value
// (a deleted record keeps only its _deleted one) and the entries of its
// log (one per op, until Compact drops it). So deleting frees room under
// the records quota: an account that keeps its 10,000 latest history
// entries never reaches it by sending requests.
type Usage struct {
	Records int64
	Bytes   int64
	Log     int64
}

// Quota bounds an account's Usage; a zero field means no bound.
type Quota struct {
	Records int64
	Bytes   int64
	// Log bounds the log entries: what an account that rewrites one
	// value over and over grows while a device of its holds back the
	// compaction (or never reports its cursor).
	Log int64
}

// LogEntryCost is about what one log entry takes on disk with its op
// id: the server's default bound on the log is the bytes bound over it.
const LogEntryCost = 256

// ErrQuotaExceeded is what a push past the account's quota wraps.
var ErrQuotaExceeded = fmt.Errorf("sync quota exceeded: %w", model.ErrTooLarge)

// QuotaError is the error of a push that would take an account past one
// bound of its quota. It wraps ErrQuotaExceeded.
type QuotaError struct {
	// Bytes says the bound is the bytes one, Log the log one (else it
	// is the records one).
	Bytes, Log bool
	// Would is what the account would hold, Limit the bound.
	Would, Limit int64
}

func (e *QuotaError) Error() string {
	if e.Log {
		return fmt.Sprintf("the account's log of changes would hold %d entries, more than its quota of %d", e.Would, e.Limit)
	}
	if e.Bytes {
		return fmt.Sprintf("the account would hold %s of sealed values, more than its quota of %s", model.FormatSize(e.Would), model.FormatSize(e.Limit))
	}
	return fmt.Sprintf("the account would hold %d records, more than its quota of %d", e.Would, e.Limit)
}

// Unwrap returns ErrQuotaExceeded.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }

// Exceeds reports whether going from usage before to after breaks q, as
// a *QuotaError: a bound is broken when the usage grows past it. Past the
// log bound, a push still passes when it adds no more entries than the
// live records it deletes: an account can always make room, and
// deleting leaves the record's earlier entries to the compaction.
func (q Quota) Exceeds(before, after Usage) error {
	if q.Records > 0 && after.Records > q.Records && after.Records > before.Records {
		return &QuotaError{Would: after.Records, Limit: q.Records}
	}
	if q.Bytes > 0 && after.Bytes > q.Bytes && after.Bytes > before.Bytes {
		return &QuotaError{Bytes: true, Would: after.Bytes, Limit: q.Bytes}
	}
	if q.Log > 0 && after.Log > q.Log && after.Log-before.Log > before.Records-after.Records {
		return &QuotaError{Log: true, Would: after.Log, Limit: q.Log}
	}
	return nil
}
