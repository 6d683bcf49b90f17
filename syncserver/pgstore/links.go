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

const linkCols = `id, account_id, token_hash, name, source, size, created_at, updated_at, expires_at`

// CreateLink implements syncserver.LinkStorage.
func (d *DB) CreateLink(ctx context.Context, l syncserver.Link) error {
	if l.ID == "" || l.AccountID == "" || len(l.TokenHash) == 0 {
		return fmt.Errorf("create link: id, account and token hash required: %w", model.ErrInvalid)
	}
	snap := l.Snapshot
	if snap == nil {
		snap = []byte{}
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO links (`+linkCols+`, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		l.ID, l.AccountID, l.TokenHash, l.Name, l.Source, len(snap), l.CreatedAt, l.UpdatedAt, nullTime(l.ExpiresAt), snap)
	switch {
	case isForeignKey(err):
		return fmt.Errorf("create link for account %s: %w", l.AccountID, model.ErrNotFound)
	case isUnique(err):
		return fmt.Errorf("create link %s: exists: %w", l.ID, model.ErrConflict)
	case err != nil:
		return fmt.Errorf("create link %s: %w", l.ID, d.check(err))
	}
	return nil
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// scanLink reads linkCols, then the snapshot when withSnapshot.
func scanLink(row pgx.Row, withSnapshot bool) (syncserver.Link, error) {
	var l syncserver.Link
	var exp *time.Time
	dest := []any{&l.ID, &l.AccountID, &l.TokenHash, &l.Name, &l.Source, &l.Size, &l.CreatedAt, &l.UpdatedAt, &exp}
	if withSnapshot {
		dest = append(dest, &l.Snapshot)
	}
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, fmt.Errorf("link: %w", model.ErrNotFound)
	}
	if err != nil {
		return l, wrap(err)
	}
	if exp != nil {
		l.ExpiresAt = *exp
	}
	return l, nil
}

// LinkByToken implements syncserver.LinkStorage.
func (d *DB) LinkByToken(ctx context.Context, hash []byte, now time.Time) (syncserver.Link, error) {
	l, err := scanLink(d.pool.QueryRow(ctx, `SELECT `+linkCols+`, snapshot FROM links WHERE token_hash = $1`, hash), true)
	if err != nil {
		return l, fmt.Errorf("link by token: %w", err)
	}
	if !l.Live(now) {
		return syncserver.Link{}, fmt.Errorf("link %s expired: %w", l.ID, model.ErrNotFound)
	}
	return l, nil
}

// Link implements syncserver.LinkStorage.
func (d *DB) Link(ctx context.Context, accountID, id string) (syncserver.Link, error) {
	l, err := scanLink(d.pool.QueryRow(ctx, `SELECT `+linkCols+`, snapshot FROM links WHERE account_id = $1 AND id = $2`, accountID, id), true)
	if err != nil {
		return l, fmt.Errorf("link %s of account %s: %w", id, accountID, err)
	}
	return l, nil
}

// Links implements syncserver.LinkStorage.
func (d *DB) Links(ctx context.Context, accountID string) ([]syncserver.Link, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+linkCols+` FROM links WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("links of account %s: %w", accountID, d.check(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncserver.Link, error) { return scanLink(r, false) })
	if err != nil {
		return nil, fmt.Errorf("links of account %s: %w", accountID, d.check(err))
	}
	if out == nil {
		out = []syncserver.Link{}
	}
	return out, nil
}

// UpdateLink implements syncserver.LinkStorage.
func (d *DB) UpdateLink(ctx context.Context, accountID, id string, u syncserver.LinkUpdate) (syncserver.Link, error) {
	var exp *time.Time
	if u.ExpiresAt != nil {
		exp = nullTime(*u.ExpiresAt)
	}
	l, err := scanLink(d.pool.QueryRow(ctx, `UPDATE links SET
			snapshot = CASE WHEN $3::bytea IS NULL THEN snapshot ELSE $3 END,
			name = CASE WHEN $3::bytea IS NULL THEN name ELSE $4 END,
			size = CASE WHEN $3::bytea IS NULL THEN size ELSE octet_length($3) END,
			expires_at = CASE WHEN $5 THEN $6 ELSE expires_at END,
			updated_at = $7
		WHERE account_id = $1 AND id = $2 RETURNING `+linkCols,
		accountID, id, u.Snapshot, u.Name, u.ExpiresAt != nil, exp, u.UpdatedAt), false)
	if err != nil {
		return l, fmt.Errorf("update link %s of account %s: %w", id, accountID, err)
	}
	return l, nil
}

// DeleteLink implements syncserver.LinkStorage.
func (d *DB) DeleteLink(ctx context.Context, accountID, id string) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM links WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return fmt.Errorf("delete link %s: %w", id, d.check(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("link %s of account %s: %w", id, accountID, model.ErrNotFound)
	}
	return nil
}
