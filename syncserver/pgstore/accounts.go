package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

const accountCols = `id, username, email, email_confirmed, kdf_salt, kdf_params, auth_hash, wrapped_account_key, recovery_wrapped_key, created_at`

// CreateAccount implements syncserver.AccountStorage.
func (d *DB) CreateAccount(ctx context.Context, a syncserver.Account) error {
	if a.ID == "" || a.Email == "" || a.Username == "" {
		return fmt.Errorf("create account: id, email and username required: %w", model.ErrInvalid)
	}
	err := insertAccount(ctx, d.pool, a)
	if isUnique(err) {
		return d.whichTaken(ctx, a)
	}
	if err != nil {
		return fmt.Errorf("create account %s: %w", a.ID, d.check(err))
	}
	return nil
}

// execer is a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertAccount(ctx context.Context, q execer, a syncserver.Account) error {
	params, err := json.Marshal(a.Secrets.KDFParams)
	if err != nil {
		return err
	}
	s := a.Secrets
	_, err = q.Exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.Username, a.Email, a.EmailConfirmed, s.KDFSalt, params, s.AuthHash, s.WrappedAccountKey, s.RecoveryWrappedKey, a.CreatedAt)
	return err
}

// whichTaken names what a refused account collided with, the email first
// (the insert waited for the other writer, whose row is now visible).
func (d *DB) whichTaken(ctx context.Context, a syncserver.Account) error {
	var email, user bool
	err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1), EXISTS (SELECT 1 FROM accounts WHERE username = $2)`,
		a.Email, a.Username).Scan(&email, &user)
	switch {
	case err != nil:
		return fmt.Errorf("create account %s: %w", a.ID, d.check(err))
	case email:
		return fmt.Errorf("create account: %w", syncserver.ErrEmailTaken)
	case user:
		return fmt.Errorf("create account %s: %w", a.Username, syncserver.ErrUsernameTaken)
	}
	return fmt.Errorf("create account %s: id taken: %w", a.ID, model.ErrConflict)
}

func scanAccount(row pgx.Row, what string) (syncserver.Account, error) {
	var a syncserver.Account
	var params []byte
	s := &a.Secrets
	err := row.Scan(&a.ID, &a.Username, &a.Email, &a.EmailConfirmed, &s.KDFSalt, &params, &s.AuthHash, &s.WrappedAccountKey, &s.RecoveryWrappedKey, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("account %s: %w", what, model.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", what, wrap(err))
	}
	if err := json.Unmarshal(params, &s.KDFParams); err != nil {
		return a, fmt.Errorf("decode KDF params of account %s: %w", a.ID, err)
	}
	return a, nil
}

// Account implements syncserver.AccountStorage.
func (d *DB) Account(ctx context.Context, id string) (syncserver.Account, error) {
	var a syncserver.Account
	err := d.read(ctx, func() (err error) {
		a, err = scanAccount(d.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id), id)
		return err
	})
	return a, err
}

// AccountByEmail implements syncserver.AccountStorage.
func (d *DB) AccountByEmail(ctx context.Context, email string) (syncserver.Account, error) {
	return scanAccount(d.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = $1`, email), "with this email")
}

// AccountByUsername implements syncserver.AccountStorage.
func (d *DB) AccountByUsername(ctx context.Context, username string) (syncserver.Account, error) {
	return scanAccount(d.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE username = $1`, username), "username "+username)
}

// SetSecrets implements syncserver.AccountStorage.
func (d *DB) SetSecrets(ctx context.Context, id string, s syncserver.AccountSecrets, keepSession string) error {
	return d.tx(ctx, func(tx pgx.Tx) error {
		if err := setSecrets(ctx, tx, id, s); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id <> $2`, id, keepSession)
		return err
	})
}

func setSecrets(ctx context.Context, tx pgx.Tx, id string, s syncserver.AccountSecrets) error {
	params, err := json.Marshal(s.KDFParams)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE accounts SET kdf_salt = $2, kdf_params = $3, auth_hash = $4, wrapped_account_key = $5,
		recovery_wrapped_key = coalesce($6, recovery_wrapped_key) WHERE id = $1`,
		id, s.KDFSalt, params, s.AuthHash, s.WrappedAccountKey, s.RecoveryWrappedKey)
	if err != nil {
		return fmt.Errorf("set secrets of account %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("account %s: %w", id, model.ErrNotFound)
	}
	return nil
}

// DeleteAccount implements syncserver.AccountStorage. Sessions, codes,
// links and sync data go with the account (ON DELETE CASCADE).
func (d *DB) DeleteAccount(ctx context.Context, id string) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete account %s: %w", id, d.check(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("account %s: %w", id, model.ErrNotFound)
	}
	return nil
}
