package boltstore

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

type sessionRec struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	TokenHash  []byte    `json:"token_hash"`
	DeviceName string    `json:"device_name"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func (r sessionRec) session() syncserver.Session { return syncserver.Session(r) }

// CreateSession implements syncserver.SessionStorage.
func (d *DB) CreateSession(ctx context.Context, s syncserver.Session) error {
	if s.ID == "" || len(s.TokenHash) == 0 {
		return fmt.Errorf("create session: id and token hash required: %w", model.ErrInvalid)
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(s.AccountID)) == nil {
			return fmt.Errorf("create session for account %s: %w", s.AccountID, model.ErrNotFound)
		}
		if tx.Bucket(bSessions).Get([]byte(s.ID)) != nil || tx.Bucket(bTokens).Get(s.TokenHash) != nil {
			return fmt.Errorf("create session %s: exists: %w", s.ID, model.ErrConflict)
		}
		if err := putJSON(tx.Bucket(bSessions), []byte(s.ID), sessionRec(s)); err != nil {
			return err
		}
		if err := tx.Bucket(bTokens).Put(s.TokenHash, []byte(s.ID)); err != nil {
			return err
		}
		return tx.Bucket(bAccountSessions).Put(key2(s.AccountID, s.ID), []byte{})
	})
}

// SessionByToken implements syncserver.SessionStorage.
func (d *DB) SessionByToken(ctx context.Context, hash []byte) (syncserver.Session, error) {
	var r sessionRec
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		id := tx.Bucket(bTokens).Get(hash)
		if id == nil {
			return fmt.Errorf("session by token: %w", model.ErrNotFound)
		}
		return getJSON(tx.Bucket(bSessions), id, &r, "session")
	})
	return r.session(), err
}

// TouchSession implements syncserver.SessionStorage.
func (d *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		var r sessionRec
		if err := getJSON(tx.Bucket(bSessions), []byte(id), &r, "session"); err != nil {
			return err
		}
		r.LastSeenAt = at
		return putJSON(tx.Bucket(bSessions), []byte(id), r)
	})
}

// Sessions implements syncserver.SessionStorage. Session IDs are ULIDs, so
// key order is creation order.
func (d *DB) Sessions(ctx context.Context, accountID string) ([]syncserver.Session, error) {
	out := []syncserver.Session{}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		prefix := key2(accountID, "")
		for _, k := range prefixKeys(tx.Bucket(bAccountSessions), prefix) {
			var r sessionRec
			if err := getJSON(tx.Bucket(bSessions), k[len(prefix):], &r, "session"); err != nil {
				return err
			}
			out = append(out, r.session())
		}
		return nil
	})
	return out, err
}

// DeleteSession implements syncserver.SessionStorage.
func (d *DB) DeleteSession(ctx context.Context, accountID, id string) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if !hasKey(tx.Bucket(bAccountSessions), key2(accountID, id)) {
			return fmt.Errorf("session %s of account %s: %w", id, accountID, model.ErrNotFound)
		}
		return deleteSession(tx, accountID, id)
	})
}

func hasKey(b *bbolt.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return got != nil && string(got) == string(k)
}

func deleteSession(tx *bbolt.Tx, accountID, id string) error {
	var r sessionRec
	if err := getJSON(tx.Bucket(bSessions), []byte(id), &r, "session"); err != nil {
		return err
	}
	if err := tx.Bucket(bTokens).Delete(r.TokenHash); err != nil {
		return err
	}
	if err := tx.Bucket(bSessions).Delete([]byte(id)); err != nil {
		return err
	}
	return tx.Bucket(bAccountSessions).Delete(key2(accountID, id))
}

// deleteSessions removes every session of the account except keep.
func deleteSessions(tx *bbolt.Tx, accountID, keep string) error {
	prefix := key2(accountID, "")
	for _, k := range prefixKeys(tx.Bucket(bAccountSessions), prefix) {
		id := string(k[len(prefix):])
		if id == keep {
			continue
		}
		if err := deleteSession(tx, accountID, id); err != nil {
			return err
		}
	}
	return nil
}
