package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/courierapp/courier/model"
)

// SyncStore is what the sync use cases need of the store beyond Store
// (package store implements it; see its package comment on the layers).
type SyncStore interface {
	Store
	// SyncEnabled reports whether the profile is attached to an account
	// (local writes go to the outbox).
	SyncEnabled(ctx context.Context) (bool, error)
	// SetSyncEnabled attaches (true) or detaches the profile; attaching
	// fails with model.ErrConflict while local records are visible.
	SetSyncEnabled(ctx context.Context, on bool) error
	// QueueAllLocal queues every visible record once and attaches.
	QueueAllLocal(ctx context.Context) (int, error)
	// CopyTo writes a copy of the whole database to path, without the
	// settings named in dropSettings.
	CopyTo(ctx context.Context, path string, dropSettings ...string) error
	// DiscardLocal empties every record layer.
	DiscardLocal(ctx context.Context) error
	// PendingCount and Cursor describe the outbox and the stream.
	PendingCount(ctx context.Context) (int, error)
	Cursor(ctx context.Context) (uint64, error)
}

// Local settings of sync.
const (
	// syncAccountSetting is the account id the store's sync layers belong
	// to.
	syncAccountSetting = "sync.account"
	// syncPausedSetting is true while the person turned sync off.
	syncPausedSetting = "sync.paused"
	// syncLastSetting is when the profile was last IN SYNC with the
	// account of syncAccountSetting (JoinAccount forgets it when the
	// profile joins another).
	syncLastSetting = "sync.last"
	// syncFailureSetting is why the last one-shot sync failed, and when
	// (a syncFailure; empty once one succeeds).
	syncFailureSetting = "sync.failure"
)

// profileFile is the store's file name in a profile folder (store.FileName),
// so a kept-aside copy opens with --profile.
const profileFile = "courier.db"

// JoinResult says what JoinAccount did with the profile's local work.
type JoinResult struct {
	// Queued counts the local records queued as ops to merge them into
	// the account.
	Queued int
	// KeptAside is the profile folder holding the local data set aside
	// (open it with --profile), or "".
	KeptAside string
}

// JoinAccount attaches the profile's store to accountID at sign-in. A
// profile without local records simply attaches. One with local work
// (never synced, or another account's) keeps it: by default every local
// record is queued once as an op (merge into the account); with keepLocal
// the whole database is first copied to a new profile folder beside the
// store, then the records are discarded so the profile starts from the
// account's data. Joining the account the profile already belongs to does
// nothing. Errors wrap model.ErrInvalid when st cannot sync, or the
// store's errors; a failed copy discards nothing.
func JoinAccount(ctx context.Context, st Store, accountID string, keepLocal bool) (JoinResult, error) {
	ss, ok := st.(SyncStore)
	if !ok || accountID == "" {
		return JoinResult{}, fmt.Errorf("join account: this store cannot sync: %w", model.ErrInvalid)
	}
	var prev string
	if err := st.Setting(ctx, syncAccountSetting, &prev); err != nil && !isNotFound(err) {
		return JoinResult{}, fmt.Errorf("join account: %w", err)
	}
	on, err := ss.SyncEnabled(ctx)
	if err != nil {
		return JoinResult{}, fmt.Errorf("join account: %w", err)
	}
	if on && (prev == accountID || prev == "") {
		return JoinResult{}, rememberJoin(ctx, st, accountID)
	}
	// The profile starts over with this account (its cursor is 0 from
	// here): it was never in sync with it, and the last failure was
	// another account's, or of data it no longer holds.
	if err := forgetSyncState(ctx, st); err != nil {
		return JoinResult{}, fmt.Errorf("join account: %w", err)
	}
	if on {
		// Another account's data: it becomes local work (the outbox is
		// folded in, nothing is lost), then joins like any local work.
		if err := ss.SetSyncEnabled(ctx, false); err != nil {
			return JoinResult{}, fmt.Errorf("join account: detach from the previous account: %w", err)
		}
	}
	res, err := joinStore(ctx, ss, keepLocal)
	if err != nil {
		// A merge stopped half way (a full disk, a cancel) leaves sync on
		// with part of the records queued: they are this account's now,
		// and the rest is queued when sync next runs.
		if on, serr := ss.SyncEnabled(ctx); serr == nil && on {
			err = errors.Join(err, rememberJoin(ctx, st, accountID))
		}
		return res, fmt.Errorf("join account: %w", err)
	}
	return res, rememberJoin(ctx, st, accountID)
}

func joinStore(ctx context.Context, ss SyncStore, keepLocal bool) (JoinResult, error) {
	err := ss.SetSyncEnabled(ctx, true)
	if err == nil || !errors.Is(err, model.ErrConflict) {
		return JoinResult{}, err
	}
	if !keepLocal {
		n, err := ss.QueueAllLocal(ctx)
		return JoinResult{Queued: n}, err
	}
	dir := filepath.Join(ss.Dir(), "kept-local-"+time.Now().UTC().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return JoinResult{}, fmt.Errorf("keep local data aside in %s: %w: %w", dir, model.ErrUnavailable, err)
	}
	// The copy is the local work from before the account: it claims
	// neither the account nor its sync state.
	account := []string{accountSettingKey, linksSettingKey, syncAccountSetting, syncPausedSetting, syncLastSetting, syncFailureSetting}
	if err := ss.CopyTo(ctx, filepath.Join(dir, profileFile), account...); err != nil {
		return JoinResult{}, fmt.Errorf("keep local data aside in %s: %w", dir, err)
	}
	if err := ss.DiscardLocal(ctx); err != nil {
		return JoinResult{KeptAside: dir}, err
	}
	return JoinResult{KeptAside: dir}, ss.SetSyncEnabled(ctx, true)
}

// forgetSyncState forgets when the profile was last in sync, and why its
// last sync failed.
func forgetSyncState(ctx context.Context, st Store) error {
	if err := st.SetSetting(ctx, syncLastSetting, time.Time{}); err != nil {
		return fmt.Errorf("forget the last sync: %w", err)
	}
	if err := st.SetSetting(ctx, syncFailureSetting, syncFailure{}); err != nil {
		return fmt.Errorf("forget the last sync failure: %w", err)
	}
	return nil
}

func rememberJoin(ctx context.Context, st Store, accountID string) error {
	if err := st.SetSetting(ctx, syncAccountSetting, accountID); err != nil {
		return fmt.Errorf("join account: remember the account: %w", err)
	}
	return nil
}
