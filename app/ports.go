package app

import (
	"context"
	"time"

	"github.com/courierapp/courier/model"
)

// Store is the local database as the use cases see it. package store
// implements it on bbolt; tests may pass a fake.
//
// What it returns is the visible state: the confirmed layer (the server's
// state as of the cursor, or everything when there is no account) with the
// outbox of unacknowledged local ops applied on top. Deleted records are
// never returned. Errors wrap model.ErrNotFound, model.ErrInvalid,
// model.ErrUnavailable (disk full, read-only profile) or model.ErrTooLarge.
type Store interface {
	// Get returns the visible record (kind, id), or an error wrapping
	// model.ErrNotFound when it does not exist or is deleted.
	Get(ctx context.Context, kind model.Kind, id model.ID) (model.Record, error)
	// List returns every visible record of kind, in ID order. For history,
	// use History, which does not decode whole entries.
	List(ctx context.Context, kind model.Kind) ([]model.Record, error)
	// Apply commits local ops in one transaction: all or none. Without
	// sync they change the confirmed layer directly; with sync enabled
	// they are appended to the outbox too. Subscribers are told after the
	// commit.
	Apply(ctx context.Context, ops ...model.Op) error
	// History returns summaries of history entries, newest first (by
	// ID, which is time-ordered), matching q.
	History(ctx context.Context, q HistoryQuery) ([]model.HistorySummary, error)
	// HistoryCount returns how many history entries are visible.
	HistoryCount(ctx context.Context) (int, error)
	// Setting decodes the local (never synced) setting key into v; it
	// returns an error wrapping model.ErrNotFound when it was never set.
	Setting(ctx context.Context, key string, v any) error
	// SetSetting stores v (JSON-encoded) as the local setting key.
	SetSetting(ctx context.Context, key string, v any) error
	// Subscribe calls fn after every committed change, on a goroutine of
	// the store's (never while a transaction is open), until cancel is
	// called. Calls are serialised and in commit order.
	Subscribe(fn func(Changes)) (cancel func())
	// Dir returns the profile directory (for response files and the like).
	Dir() string
}

// HistoryQuery selects history entries.
type HistoryQuery struct {
	// Search keeps entries whose method, URL or name contains it,
	// case-insensitively; empty keeps all.
	Search string
	// Before keeps entries older than this ID (for paging); empty starts
	// at the newest.
	Before model.ID
	// Limit caps the number of entries returned; 0 means 100.
	Limit int
}

// ServerPage is one page of the server's stream that a store has checked
// and partly encoded ahead of the transaction that applies it (see
// syncclient.Store). It is immutable.
type ServerPage interface {
	// Changes returns the page's changes, values opened, in stream order.
	Changes() []model.Change
}

// RecordKey names one record.
type RecordKey struct {
	Kind model.Kind
	ID   model.ID
}

// Changes describes one committed transaction of the store.
type Changes struct {
	Keys []RecordKey
	// Remote is true when the change came from the server stream.
	Remote bool
}

// Has reports whether any record of kind changed.
func (c Changes) Has(kind model.Kind) bool {
	for _, k := range c.Keys {
		if k.Kind == kind {
			return true
		}
	}
	return false
}

// Clock tells the time; tests pass a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }
