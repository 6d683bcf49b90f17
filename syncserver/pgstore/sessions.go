package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

const sessionCols = `id, account_id, token_hash, device_name, created_at, last_seen_at`

// CreateSession implements syncserver.SessionStorage.
func (d *DB) CreateSession(ctx context.Context, s syncserver.Session) error {
	if s.ID == "" || len(s.TokenHash) == 0 {
		return fmt.Errorf("create session: id and token hash required: %w", model.ErrInvalid)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.ID, s.AccountID, s.TokenHash, s.DeviceName, s.CreatedAt, s.LastSeenAt)
	switch {
	case isForeignKey(err):
		return fmt.Errorf("create session for account %s: %w", s.AccountID, model.ErrNotFound)
	case isUnique(err):
		return fmt.Errorf("create session %s: exists: %w", s.ID, model.ErrConflict)
	case err != nil:
		return fmt.Errorf("create session %s: %w", s.ID, d.check(err))
	}
	return nil
}

func scanSession(row pgx.Row) (syncserver.Session, error) {
	var s syncserver.Session
	err := row.Scan(&s.ID, &s.AccountID, &s.TokenHash, &s.DeviceName, &s.CreatedAt, &s.LastSeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("session: %w", model.ErrNotFound)
	}
	return s, wrap(err)
}

// SessionByToken implements syncserver.SessionStorage.
func (d *DB) SessionByToken(ctx context.Context, hash []byte) (syncserver.Session, error) {
	var s syncserver.Session
	err := d.read(ctx, func() (err error) {
		s, err = scanSession(d.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, hash))
		return err
	})
	if err != nil {
		return s, fmt.Errorf("session by token: %w", d.check(err))
	}
	return s, nil
}

// TouchSession implements syncserver.SessionStorage.
func (d *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	tag, err := d.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, at)
	if err != nil {
		return fmt.Errorf("touch session %s: %w", id, d.check(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("session %s: %w", id, model.ErrNotFound)
	}
	return nil
}

// Sessions implements syncserver.SessionStorage.
func (d *DB) Sessions(ctx context.Context, accountID string) ([]syncserver.Session, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sessions of account %s: %w", accountID, d.check(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncserver.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("sessions of account %s: %w", accountID, d.check(err))
	}
	if out == nil {
		out = []syncserver.Session{}
	}
	return out, nil
}

// DeleteSession implements syncserver.SessionStorage.
func (d *DB) DeleteSession(ctx context.Context, accountID, id string) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, d.check(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("session %s of account %s: %w", id, accountID, model.ErrNotFound)
	}
	return nil
}
