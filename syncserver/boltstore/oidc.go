package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

var _ syncserver.OIDCStorage = (*DB)(nil)

// identityRec is the stored form of an OIDC identity link.
type identityRec struct {
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

func identityKey(provider, subject string) []byte {
	return []byte(provider + "\x00" + subject)
}

// CreateOIDCAccount implements syncserver.OIDCStorage.
func (d *DB) CreateOIDCAccount(ctx context.Context, a syncserver.Account, id syncserver.Identity) error {
	if a.ID == "" || a.Email == "" || a.Username == "" || id.Provider == "" || id.Subject == "" {
		return fmt.Errorf("create oidc account: id, email, username, provider and subject required: %w", model.ErrInvalid)
	}
	id.AccountID = a.ID
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if err := createAccount(tx, a); err != nil {
			return err
		}
		return linkIdentity(tx, id)
	})
}

// LinkIdentity implements syncserver.OIDCStorage.
func (d *DB) LinkIdentity(ctx context.Context, id syncserver.Identity) error {
	if id.AccountID == "" || id.Provider == "" || id.Subject == "" {
		return fmt.Errorf("link identity: account, provider and subject required: %w", model.ErrInvalid)
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if _, err := getAccount(tx, []byte(id.AccountID)); err != nil {
			return err
		}
		return linkIdentity(tx, id)
	})
}

func linkIdentity(tx *bbolt.Tx, id syncserver.Identity) error {
	k := identityKey(id.Provider, id.Subject)
	var old identityRec
	err := getJSON(tx.Bucket(bIdentities), k, &old, "identity")
	switch {
	case err == nil && old.AccountID == id.AccountID:
		return nil
	case err == nil:
		return fmt.Errorf("link identity of %s: %w", id.Provider, syncserver.ErrIdentityTaken)
	}
	if err := putJSON(tx.Bucket(bIdentities), k, identityRec{AccountID: id.AccountID, Email: id.Email, CreatedAt: id.CreatedAt}); err != nil {
		return err
	}
	return tx.Bucket(bAcctIdentities).Put(append([]byte(id.AccountID+"\x00"), k...), nil)
}

// IdentityBySubject implements syncserver.OIDCStorage.
func (d *DB) IdentityBySubject(ctx context.Context, provider, subject string) (syncserver.Identity, error) {
	var r identityRec
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		return getJSON(tx.Bucket(bIdentities), identityKey(provider, subject), &r, "identity")
	})
	if err != nil {
		return syncserver.Identity{}, err
	}
	return syncserver.Identity{Provider: provider, Subject: subject, AccountID: r.AccountID, Email: r.Email, CreatedAt: r.CreatedAt}, nil
}

// Identities implements syncserver.OIDCStorage.
func (d *DB) Identities(ctx context.Context, accountID string) ([]syncserver.Identity, error) {
	out := []syncserver.Identity{}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		for _, k := range prefixKeys(tx.Bucket(bAcctIdentities), []byte(accountID+"\x00")) {
			ik := k[len(accountID)+1:]
			var r identityRec
			if err := getJSON(tx.Bucket(bIdentities), ik, &r, "identity"); err != nil {
				return err
			}
			provider, subject, _ := bytes.Cut(ik, []byte{0})
			out = append(out, syncserver.Identity{Provider: string(provider), Subject: string(subject), AccountID: r.AccountID, Email: r.Email, CreatedAt: r.CreatedAt})
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// deleteIdentities removes the account's identity links (DeleteAccount).
func deleteIdentities(tx *bbolt.Tx, accountID string) error {
	for _, k := range prefixKeys(tx.Bucket(bAcctIdentities), []byte(accountID+"\x00")) {
		if err := tx.Bucket(bIdentities).Delete(k[len(accountID)+1:]); err != nil {
			return err
		}
		if err := tx.Bucket(bAcctIdentities).Delete(k); err != nil {
			return err
		}
	}
	return nil
}
