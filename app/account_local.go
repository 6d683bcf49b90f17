package app

import (
	"context"
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

// RemoveAccountData deletes the signed-out account's records from the
// profile (what sign-out's "remove this account's data" means): every
// record layer is emptied and the profile is detached, so the next
// sign-in starts from the server's data. Settings stay. Errors wrap
// model.ErrInvalid when st cannot sync, or the store's errors.
func RemoveAccountData(ctx context.Context, st Store) error {
	ss, ok := st.(SyncStore)
	if !ok {
		return fmt.Errorf("remove the account's data: this store cannot sync: %w", model.ErrInvalid)
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
