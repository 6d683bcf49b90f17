package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/syncserver"
)

var _ syncserver.CursorChecker = (*DB)(nil)

// restoreGap is how far MarkRestored moves each account's head: more
// seqs than a server assigns between a backup and its restore (as
// boltstore's copies do).
const restoreGap = 1 << 40

// MarkRestored readies a database put back from a backup: devices that
// applied seqs the backup lacks must start over (rebuild from the stream
// and push again what it lacks), while devices whose cursor it holds go
// on. Each account's head moves ahead by restoreGap and the gap is
// recorded, so a cursor inside it is foreign (ForeignCursor) and the seqs
// assigned afterwards never repeat the lost ones. Run it once after the
// restore, with every server stopped; it returns how many accounts it
// moved.
func (d *DB) MarkRestored(ctx context.Context) (int, error) {
	var n int64
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_gaps (account_id, from_seq, to_seq)
			SELECT id, head, head + $1 FROM accounts WHERE head <= $2
			ON CONFLICT (account_id, from_seq) DO NOTHING`, int64(restoreGap), int64(maxHead)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE accounts SET head = head + $1 WHERE head <= $2`, int64(restoreGap), int64(maxHead))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark the restored data: %w", d.check(err))
	}
	return int(n), nil
}

// maxHead is the highest head MarkRestored can move past a gap.
const maxHead = 1<<63 - 1 - restoreGap

// ForeignCursor implements syncserver.CursorChecker: whether cursor
// falls in a gap MarkRestored left.
func (d *DB) ForeignCursor(ctx context.Context, accountID string, cursor uint64) (bool, error) {
	var foreign bool
	err := d.read(ctx, func() error {
		return d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_gaps
			WHERE account_id = $1 AND from_seq < $2 AND $2 <= to_seq)`, accountID, int64(cursor)).Scan(&foreign)
	})
	if err != nil {
		return false, fmt.Errorf("cursor of account %s: %w", accountID, d.check(err))
	}
	return foreign, nil
}
