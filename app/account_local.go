package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/courierapp/courier/model"
)

// Store returns the store the core runs over, for the wiring of the
// account and sync use cases, which share it.
func (a *App) Store() Store { return a.store }

// HoldsLocalWork reports whether signing in to accountID must ask the
// person what to do with the profile's local records (merge them into the
// account, or keep them aside): true when the profile is not attached to
// accountID yet and holds records. A store that cannot sync never asks.
func HoldsLocalWork(ctx context.Context, st Store, accountID string) (bool, error) {
	ss, ok := st.(SyncStore)
	if !ok {
		return false, nil
	}
	var prev string
	if err := st.Setting(ctx, syncAccountSetting, &prev); err != nil && !isNotFound(err) {
		return false, fmt.Errorf("read the synced account: %w", err)
	}
	on, err := ss.SyncEnabled(ctx)
	if err != nil {
		return false, fmt.Errorf("read the sync flag: %w", err)
	}
	if on && (prev == accountID || prev == "") {
		return false, nil
	}
	return holdsRecords(ctx, st)
}

// HoldsOtherAccountData reports whether the profile's records are those
// of another account than accountID (it synced with one, and was signed
// out of it without removing its data): signing in to accountID would
// merge them into it, unless the person keeps them aside. The CLI asks
// for an explicit choice then, since they are not work made on this
// device.
func HoldsOtherAccountData(ctx context.Context, st Store, accountID string) (bool, error) {
	if _, ok := st.(SyncStore); !ok {
		return false, nil
	}
	var prev string
	if err := st.Setting(ctx, syncAccountSetting, &prev); err != nil && !isNotFound(err) {
		return false, fmt.Errorf("read the synced account: %w", err)
	}
	if prev == "" || prev == accountID {
		return false, nil
	}
	return holdsRecords(ctx, st)
}

// holdsRecords reports whether st has any visible record.
func holdsRecords(ctx context.Context, st Store) (bool, error) {
	for _, k := range model.Kinds {
		if k == model.KindHistory {
			continue
		}
		rs, err := st.List(ctx, k)
		if err != nil {
			return false, fmt.Errorf("look for local %s records: %w", k, err)
		}
		if len(rs) > 0 {
			return true, nil
		}
	}
	n, err := st.HistoryCount(ctx)
	if err != nil {
		return false, fmt.Errorf("look for local history: %w", err)
	}
	return n > 0, nil
}

// ErrUnpushed marks a removal of the account's data refused because
// some of it exists only on this device: changes not yet acknowledged by
// the server, or records of a profile never attached to the account.
var ErrUnpushed = errors.New("the account's data was kept on this device")

// RemoveAccountData deletes the signed-out account's records from the
// profile (what sign-out's "remove this account's data" means): every
// record layer is emptied and the profile is detached, so the next
// sign-in starts from the server's data. Settings stay.
//
// It removes only what the server holds too: while changes made here
// are pending, or when the profile was never attached to the account
// (its records are its own), it removes nothing and fails with
// ErrUnpushed and model.ErrConflict. Other errors wrap model.ErrInvalid
// when st cannot sync, or the store's errors.
func RemoveAccountData(ctx context.Context, st Store) error {
	ss, ok := st.(SyncStore)
	if !ok {
		return fmt.Errorf("remove the account's data: this store cannot sync: %w", model.ErrInvalid)
	}
	on, err := ss.SyncEnabled(ctx)
	if err != nil {
		return fmt.Errorf("remove the account's data: %w", err)
	}
	if !on {
		local, err := holdsRecords(ctx, st)
		if err != nil {
			return fmt.Errorf("remove the account's data: %w", err)
		}
		if local {
			return fmt.Errorf("%w: this profile's records were never synced to the account, so they exist only here: %w", ErrUnpushed, model.ErrConflict)
		}
	}
	n, err := ss.PendingCount(ctx)
	if err != nil {
		return fmt.Errorf("remove the account's data: %w", err)
	}
	if n > 0 {
		what := fmt.Sprintf("%d changes made here have not reached the server yet; sign in and sync to push them", n)
		if n == 1 {
			what = "1 change made here has not reached the server yet; sign in and sync to push it"
		}
		return fmt.Errorf("%w: %s, then remove the data: %w", ErrUnpushed, what, model.ErrConflict)
	}
	if err := ss.DiscardLocal(ctx); err != nil {
		return fmt.Errorf("remove the account's data: %w", err)
	}
	if err := ss.SetSyncEnabled(ctx, false); err != nil {
		return fmt.Errorf("remove the account's data: %w", err)
	}
	if err := st.SetSetting(ctx, syncAccountSetting, ""); err != nil {
		return fmt.Errorf("remove the account's data: %w", err)
	}
	return nil
}
