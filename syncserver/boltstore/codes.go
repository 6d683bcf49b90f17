package boltstore

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

type codeRec struct {
	Hash      []byte    `json:"hash"`
	AccountID string    `json:"account_id"`
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
	Failures  int       `json:"failures"`
}

func (r codeRec) code() syncserver.Code {
	return syncserver.Code{Hash: r.Hash, AccountID: r.AccountID, Purpose: syncserver.CodePurpose(r.Purpose), ExpiresAt: r.ExpiresAt, Failures: r.Failures}
}

func codeKey(accountID string, p syncserver.CodePurpose) []byte { return key2(accountID, string(p)) }

// PutCode implements syncserver.CodeStorage.
func (d *DB) PutCode(ctx context.Context, c syncserver.Code) error {
	if len(c.Hash) == 0 || c.Purpose == "" {
		return fmt.Errorf("put code: hash and purpose required: %w", model.ErrInvalid)
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bAccounts).Get([]byte(c.AccountID)) == nil {
			return fmt.Errorf("put code for account %s: %w", c.AccountID, model.ErrNotFound)
		}
		if err := deleteCode(tx, c.AccountID, c.Purpose); err != nil {
			return err
		}
		k := codeKey(c.AccountID, c.Purpose)
		rec := codeRec{Hash: c.Hash, AccountID: c.AccountID, Purpose: string(c.Purpose), ExpiresAt: c.ExpiresAt, Failures: c.Failures}
		if err := putJSON(tx.Bucket(bCodes), k, rec); err != nil {
			return err
		}
		return tx.Bucket(bCodeHashes).Put(c.Hash, k)
	})
}

func deleteCode(tx *bbolt.Tx, accountID string, p syncserver.CodePurpose) error {
	k := codeKey(accountID, p)
	var r codeRec
	if err := getJSON(tx.Bucket(bCodes), k, &r, "code"); err != nil {
		return nil // nothing to delete
	}
	if err := tx.Bucket(bCodeHashes).Delete(r.Hash); err != nil {
		return err
	}
	return tx.Bucket(bCodes).Delete(k)
}

func liveCode(tx *bbolt.Tx, accountID string, p syncserver.CodePurpose, now time.Time) (codeRec, error) {
	var r codeRec
	if err := getJSON(tx.Bucket(bCodes), codeKey(accountID, p), &r, "code"); err != nil {
		return r, err
	}
	if !r.ExpiresAt.After(now) {
		return r, fmt.Errorf("%s code of account %s expired: %w", p, accountID, model.ErrNotFound)
	}
	return r, nil
}

// CodeFor implements syncserver.CodeStorage.
func (d *DB) CodeFor(ctx context.Context, accountID string, p syncserver.CodePurpose, now time.Time) (syncserver.Code, error) {
	var r codeRec
	err := d.view(ctx, func(tx *bbolt.Tx) (err error) {
		r, err = liveCode(tx, accountID, p, now)
		return err
	})
	return r.code(), err
}

// CodeFailed implements syncserver.CodeStorage.
func (d *DB) CodeFailed(ctx context.Context, accountID string, p syncserver.CodePurpose, maxFailures int) error {
	return diskError(d.db.Update(func(tx *bbolt.Tx) error { // not Batch: not idempotent
		var r codeRec
		k := codeKey(accountID, p)
		if err := getJSON(tx.Bucket(bCodes), k, &r, "code"); err != nil {
			return err
		}
		r.Failures++
		if r.Failures >= maxFailures {
			return deleteCode(tx, accountID, p)
		}
		return putJSON(tx.Bucket(bCodes), k, r)
	}))
}

// ConfirmEmail implements syncserver.CodeStorage.
func (d *DB) ConfirmEmail(ctx context.Context, hash []byte, now time.Time) (syncserver.Account, error) {
	var acct accountRec
	err := d.update(ctx, func(tx *bbolt.Tx) error {
		k := tx.Bucket(bCodeHashes).Get(hash)
		if k == nil {
			return fmt.Errorf("confirm email: no such code: %w", model.ErrNotFound)
		}
		var r codeRec
		if err := getJSON(tx.Bucket(bCodes), k, &r, "code"); err != nil {
			return err
		}
		if r.Purpose != string(syncserver.PurposeConfirmEmail) || !r.ExpiresAt.After(now) {
			return fmt.Errorf("confirm email: code expired or of another purpose: %w", model.ErrNotFound)
		}
		a, err := getAccount(tx, []byte(r.AccountID))
		if err != nil {
			return err
		}
		a.EmailConfirmed = true
		if err := putJSON(tx.Bucket(bAccounts), []byte(a.ID), a); err != nil {
			return err
		}
		acct = a
		return deleteCode(tx, r.AccountID, syncserver.PurposeConfirmEmail)
	})
	return acct.account(), err
}

// ResetSecrets implements syncserver.CodeStorage.
func (d *DB) ResetSecrets(ctx context.Context, accountID string, hash []byte, now time.Time, s syncserver.AccountSecrets, erase bool) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		r, err := liveCode(tx, accountID, syncserver.PurposeResetPassword, now)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(r.Hash, hash) != 1 {
			return fmt.Errorf("reset code of account %s does not match: %w", accountID, model.ErrNotFound)
		}
		if err := deleteCode(tx, accountID, syncserver.PurposeResetPassword); err != nil {
			return err
		}
		if err := setSecrets(tx, accountID, s); err != nil {
			return err
		}
		if err := deleteSessions(tx, accountID, ""); err != nil {
			return err
		}
		if erase {
			if err := eraseSync(tx, accountID); err != nil {
				return err
			}
			return markErased(tx, accountID)
		}
		return nil
	})
}
