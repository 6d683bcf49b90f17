package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

var _ syncserver.OIDCStorage = (*DB)(nil)

// CreateOIDCAccount implements syncserver.OIDCStorage.
func (d *DB) CreateOIDCAccount(ctx context.Context, a syncserver.Account, id syncserver.Identity) error {
	if a.ID == "" || a.Email == "" || a.Username == "" || id.Provider == "" || id.Subject == "" {
		return fmt.Errorf("create oidc account: id, email, username, provider and subject required: %w", model.ErrInvalid)
	}
	id.AccountID = a.ID
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if err := insertAccount(ctx, tx, a); err != nil {
			return err
		}
		return linkIdentity(ctx, tx, id)
	})
	if isUnique(err) {
		return d.whichTaken(ctx, a)
	}
	if err != nil {
		return fmt.Errorf("create oidc account %s: %w", a.ID, err)
	}
	return nil
}

// LinkIdentity implements syncserver.OIDCStorage.
func (d *DB) LinkIdentity(ctx context.Context, id syncserver.Identity) error {
	if id.AccountID == "" || id.Provider == "" || id.Subject == "" {
		return fmt.Errorf("link identity: account, provider and subject required: %w", model.ErrInvalid)
	}
	err := d.tx(ctx, func(tx pgx.Tx) error { return linkIdentity(ctx, tx, id) })
	if isForeignKey(err) {
		return fmt.Errorf("link identity to account %s: %w", id.AccountID, model.ErrNotFound)
	}
	return err
}

// linkIdentity links id to id.AccountID unless it is linked already: to
// the same account that is no change, to another ErrIdentityTaken.
func linkIdentity(ctx context.Context, tx pgx.Tx, id syncserver.Identity) error {
	tag, err := tx.Exec(ctx, `INSERT INTO identities (provider, subject, account_id, email, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (provider, subject) DO NOTHING`, id.Provider, id.Subject, id.AccountID, id.Email, id.CreatedAt)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	var owner string
	if err := tx.QueryRow(ctx, `SELECT account_id FROM identities WHERE provider = $1 AND subject = $2`, id.Provider, id.Subject).Scan(&owner); err != nil {
		return err
	}
	if owner != id.AccountID {
		return fmt.Errorf("link identity of %s: %w", id.Provider, syncserver.ErrIdentityTaken)
	}
	return nil
}

const identityCols = `provider, subject, account_id, email, created_at`

func scanIdentity(row pgx.Row) (syncserver.Identity, error) {
	var id syncserver.Identity
	err := row.Scan(&id.Provider, &id.Subject, &id.AccountID, &id.Email, &id.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return id, fmt.Errorf("identity: %w", model.ErrNotFound)
	}
	return id, wrap(err)
}

// IdentityBySubject implements syncserver.OIDCStorage.
func (d *DB) IdentityBySubject(ctx context.Context, provider, subject string) (syncserver.Identity, error) {
	id, err := scanIdentity(d.pool.QueryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE provider = $1 AND subject = $2`, provider, subject))
	if err != nil {
		return id, fmt.Errorf("identity at %s: %w", provider, err)
	}
	return id, nil
}

// Identities implements syncserver.OIDCStorage.
func (d *DB) Identities(ctx context.Context, accountID string) ([]syncserver.Identity, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+identityCols+` FROM identities WHERE account_id = $1 ORDER BY created_at, provider, subject`, accountID)
	if err != nil {
		return nil, fmt.Errorf("identities of account %s: %w", accountID, d.check(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncserver.Identity, error) { return scanIdentity(r) })
	if err != nil {
		return nil, fmt.Errorf("identities of account %s: %w", accountID, err)
	}
	if out == nil {
		out = []syncserver.Identity{}
	}
	return out, nil
}
