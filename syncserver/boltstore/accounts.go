package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// accountRec is the stored form of an account; its JSON is the file format.
type accountRec struct {
	ID                 string              `json:"id"`
	Username           string              `json:"username"`
	Email              string              `json:"email"`
	EmailConfirmed     bool                `json:"email_confirmed"`
	KDFSalt            []byte              `json:"kdf_salt"`
	KDFParams          syncproto.KDFParams `json:"kdf_params"`
	AuthHash           []byte              `json:"auth_hash"`
	WrappedAccountKey  []byte              `json:"wrapped_account_key"`
	RecoveryWrappedKey []byte              `json:"recovery_wrapped_key"`
	CreatedAt          time.Time           `json:"created_at"`
}

func toRec(a syncserver.Account) accountRec {
	s := a.Secrets
	return accountRec{ID: a.ID, Username: a.Username, Email: a.Email, EmailConfirmed: a.EmailConfirmed,
		KDFSalt: s.KDFSalt, KDFParams: s.KDFParams, AuthHash: s.AuthHash, WrappedAccountKey: s.WrappedAccountKey,
		RecoveryWrappedKey: s.RecoveryWrappedKey, CreatedAt: a.CreatedAt}
}

func (r accountRec) account() syncserver.Account {
	return syncserver.Account{ID: r.ID, Username: r.Username, Email: r.Email, EmailConfirmed: r.EmailConfirmed,
		CreatedAt: r.CreatedAt, Secrets: syncserver.AccountSecrets{KDFSalt: r.KDFSalt, KDFParams: r.KDFParams,
			AuthHash: r.AuthHash, WrappedAccountKey: r.WrappedAccountKey, RecoveryWrappedKey: r.RecoveryWrappedKey}}
}

// CreateAccount implements syncserver.AccountStorage.
func (d *DB) CreateAccount(ctx context.Context, a syncserver.Account) error {
	if a.ID == "" || a.Email == "" || a.Username == "" {
		return fmt.Errorf("create account: id, email and username required: %w", model.ErrInvalid)
	}
	return d.update(ctx, func(tx *bbolt.Tx) error { return createAccount(tx, a) })
}

func createAccount(tx *bbolt.Tx, a syncserver.Account) error {
	if tx.Bucket(bEmails).Get([]byte(a.Email)) != nil {
		return fmt.Errorf("create account: %w", syncserver.ErrEmailTaken)
	}
	if tx.Bucket(bUsernames).Get([]byte(a.Username)) != nil {
		return fmt.Errorf("create account %s: %w", a.Username, syncserver.ErrUsernameTaken)
	}
	if tx.Bucket(bAccounts).Get([]byte(a.ID)) != nil {
		return fmt.Errorf("create account %s: id taken: %w", a.ID, model.ErrConflict)
	}
	if err := putJSON(tx.Bucket(bAccounts), []byte(a.ID), toRec(a)); err != nil {
		return err
	}
	if err := tx.Bucket(bEmails).Put([]byte(a.Email), []byte(a.ID)); err != nil {
		return err
	}
	return tx.Bucket(bUsernames).Put([]byte(a.Username), []byte(a.ID))
}

func getAccount(tx *bbolt.Tx, id []byte) (accountRec, error) {
	var r accountRec
	err := getJSON(tx.Bucket(bAccounts), id, &r, "account")
	return r, err
}

// Account implements syncserver.AccountStorage.
func (d *DB) Account(ctx context.Context, id string) (syncserver.Account, error) {
	var r accountRec
	err := d.view(ctx, func(tx *bbolt.Tx) (err error) {
		r, err = getAccount(tx, []byte(id))
		return err
	})
	return r.account(), err
}

func (d *DB) accountBy(ctx context.Context, index []byte, key, what string) (syncserver.Account, error) {
	var r accountRec
	err := d.view(ctx, func(tx *bbolt.Tx) (err error) {
		id := tx.Bucket(index).Get([]byte(key))
		if id == nil {
			return fmt.Errorf("account with %s: %w", what, model.ErrNotFound)
		}
		r, err = getAccount(tx, id)
		return err
	})
	return r.account(), err
}

// AccountByEmail implements syncserver.AccountStorage.
func (d *DB) AccountByEmail(ctx context.Context, email string) (syncserver.Account, error) {
	return d.accountBy(ctx, bEmails, email, "this email")
}

// AccountByUsername implements syncserver.AccountStorage.
func (d *DB) AccountByUsername(ctx context.Context, username string) (syncserver.Account, error) {
	return d.accountBy(ctx, bUsernames, username, "username "+username)
}

// SetSecrets implements syncserver.AccountStorage.
func (d *DB) SetSecrets(ctx context.Context, id string, s syncserver.AccountSecrets, keepSession string) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if err := setSecrets(tx, id, s); err != nil {
			return err
		}
		return deleteSessions(tx, id, keepSession)
	})
}

func setSecrets(tx *bbolt.Tx, id string, s syncserver.AccountSecrets) error {
	r, err := getAccount(tx, []byte(id))
	if err != nil {
		return err
	}
	r.KDFSalt, r.KDFParams, r.AuthHash, r.WrappedAccountKey = s.KDFSalt, s.KDFParams, s.AuthHash, s.WrappedAccountKey
	if s.RecoveryWrappedKey != nil {
		r.RecoveryWrappedKey = s.RecoveryWrappedKey
	}
	return putJSON(tx.Bucket(bAccounts), []byte(id), r)
}

// DeleteAccount implements syncserver.AccountStorage.
func (d *DB) DeleteAccount(ctx context.Context, id string) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		r, err := getAccount(tx, []byte(id))
		if err != nil {
			return err
		}
		if err := deleteSessions(tx, id, ""); err != nil {
			return err
		}
		for _, p := range []syncserver.CodePurpose{syncserver.PurposeConfirmEmail, syncserver.PurposeResetPassword} {
			if err := deleteCode(tx, id, p); err != nil {
				return err
			}
		}
		if err := eraseSync(tx, id); err != nil {
			return err
		}
		if err := deleteLinks(tx, id); err != nil {
			return err
		}
		if err := deleteIdentities(tx, id); err != nil {
			return err
		}
		for _, del := range []struct{ b, k []byte }{{bEmails, []byte(r.Email)}, {bUsernames, []byte(r.Username)}, {bAccounts, []byte(id)}, {bHeads, []byte(id)}} {
			if err := tx.Bucket(del.b).Delete(del.k); err != nil {
				return err
			}
		}
		return nil
	})
}

// eraseSync removes the account's sync data; the head stays, so seqs
// keep increasing and no client cursor points past new data.
func eraseSync(tx *bbolt.Tx, id string) error {
	b := tx.Bucket(bSync)
	if b.Bucket([]byte(id)) != nil {
		return b.DeleteBucket([]byte(id))
	}
	return b.Delete([]byte(id))
}

func prefixKeys(b *bbolt.Bucket, prefix []byte) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}
