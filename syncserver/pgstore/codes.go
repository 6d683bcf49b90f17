package pgstore

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// PutCode implements syncserver.CodeStorage.
func (d *DB) PutCode(ctx context.Context, c syncserver.Code) error {
	if len(c.Hash) == 0 || c.Purpose == "" {
		return fmt.Errorf("put code: hash and purpose required: %w", model.ErrInvalid)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO codes (account_id, purpose, hash, expires_at, failures) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id, purpose) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at, failures = excluded.failures`,
		c.AccountID, string(c.Purpose), c.Hash, c.ExpiresAt, c.Failures)
	if isForeignKey(err) {
		return fmt.Errorf("put code for account %s: %w", c.AccountID, model.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put %s code for account %s: %w", c.Purpose, c.AccountID, d.check(err))
	}
	return nil
}

// liveCode reads the account's code of purpose p that is live at now.
func liveCode(ctx context.Context, q pgx.Tx, accountID string, p syncserver.CodePurpose, now time.Time, lock bool) (syncserver.Code, error) {
	c := syncserver.Code{AccountID: accountID, Purpose: p}
	sql := `SELECT hash, expires_at, failures FROM codes WHERE account_id = $1 AND purpose = $2 AND expires_at > $3`
	if lock {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, accountID, string(p), now).Scan(&c.Hash, &c.ExpiresAt, &c.Failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("%s code of account %s: %w", p, accountID, model.ErrNotFound)
	}
	return c, err
}

// CodeFor implements syncserver.CodeStorage.
func (d *DB) CodeFor(ctx context.Context, accountID string, p syncserver.CodePurpose, now time.Time) (syncserver.Code, error) {
	var c syncserver.Code
	err := d.tx(ctx, func(tx pgx.Tx) (err error) {
		c, err = liveCode(ctx, tx, accountID, p, now, false)
		return err
	})
	return c, err
}

// CodeFailed implements syncserver.CodeStorage.
func (d *DB) CodeFailed(ctx context.Context, accountID string, p syncserver.CodePurpose, maxFailures int) error {
	return d.tx(ctx, func(tx pgx.Tx) error {
		var failures int
		err := tx.QueryRow(ctx, `UPDATE codes SET failures = failures + 1 WHERE account_id = $1 AND purpose = $2 RETURNING failures`,
			accountID, string(p)).Scan(&failures)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s code of account %s: %w", p, accountID, model.ErrNotFound)
		}
		if err != nil || failures < maxFailures {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM codes WHERE account_id = $1 AND purpose = $2`, accountID, string(p))
		return err
	})
}

// ConfirmEmail implements syncserver.CodeStorage.
func (d *DB) ConfirmEmail(ctx context.Context, hash []byte, now time.Time) (syncserver.Account, error) {
	var a syncserver.Account
	err := d.tx(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `DELETE FROM codes WHERE hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING account_id`,
			hash, string(syncserver.PurposeConfirmEmail), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("confirm email: no such live code: %w", model.ErrNotFound)
		}
		if err != nil {
			return err
		}
		a, err = scanAccount(tx.QueryRow(ctx, `UPDATE accounts SET email_confirmed = true WHERE id = $1 RETURNING `+accountCols, id), id)
		return err
	})
	return a, err
}

// ResetSecrets implements syncserver.CodeStorage.
func (d *DB) ResetSecrets(ctx context.Context, accountID string, hash []byte, now time.Time, s syncserver.AccountSecrets, erase bool) error {
	return d.tx(ctx, func(tx pgx.Tx) error {
		c, err := liveCode(ctx, tx, accountID, syncserver.PurposeResetPassword, now, true)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(c.Hash, hash) != 1 {
			return fmt.Errorf("reset code of account %s does not match: %w", accountID, model.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM codes WHERE account_id = $1 AND purpose = $2`, accountID, string(syncserver.PurposeResetPassword)); err != nil {
			return err
		}
		if err := setSecrets(ctx, tx, accountID, s); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		if erase {
			return eraseSync(ctx, tx, accountID)
		}
		return nil
	})
}
