package syncserver

import (
	"context"
	"time"
)

// revokingStore wraps the Storage so that every way a session ends (sign
// out, session revoke, password change or reset, account deletion) also
// closes the sync connections open on it, at once and whatever handler
// caused it. Connections re-check their session at every ping as well,
// for revocations made by other replicas.
type revokingStore struct {
	Storage
	hub *hub
}

// DeleteSession closes the session's connections once it is deleted.
func (r revokingStore) DeleteSession(ctx context.Context, accountID, id string) error {
	if err := r.Storage.DeleteSession(ctx, accountID, id); err != nil {
		return err
	}
	r.hub.revoke(accountID, func(sid string) bool { return sid == id })
	return nil
}

// SetSecrets closes the connections of every session it deletes.
func (r revokingStore) SetSecrets(ctx context.Context, id string, s AccountSecrets, keepSession string) error {
	if err := r.Storage.SetSecrets(ctx, id, s, keepSession); err != nil {
		return err
	}
	r.hub.revoke(id, func(sid string) bool { return keepSession == "" || sid != keepSession })
	return nil
}

// ResetSecrets closes every connection of the account (it deletes every
// session).
func (r revokingStore) ResetSecrets(ctx context.Context, accountID string, hash []byte, now time.Time, s AccountSecrets, erase bool) error {
	if err := r.Storage.ResetSecrets(ctx, accountID, hash, now, s, erase); err != nil {
		return err
	}
	r.hub.revoke(accountID, nil)
	return nil
}

// DeleteAccount closes every connection of the account.
func (r revokingStore) DeleteAccount(ctx context.Context, id string) error {
	if err := r.Storage.DeleteAccount(ctx, id); err != nil {
		return err
	}
	r.hub.revoke(id, nil)
	return nil
}
