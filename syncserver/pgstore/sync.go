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

// Push implements syncserver.SyncStorage. It is one statement, so one
// round trip in an implicit transaction: courier_push (migration 0003,
// with 0004's short path for one op, 0006's count of live records,
// 0007's final deletions and 0009's log bound) locks the account's row
// (serialising this account's writers only), skips the op ids applied
// before, assigns seqs, checks the quota and writes the log, the last
// value of each field (each entry listing the seqs of the values its op
// overwrote, for Compact) and the new head and usage. Once committed, it
// queues the head for NOTIFY.
func (d *DB) Push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	for _, op := range ops {
		if op.OpID == "" || !op.Kind.Valid() || op.ID.Validate() != nil {
			return syncserver.PushResult{}, fmt.Errorf("push: op %q on %s %q: %w", op.OpID, op.Kind, op.ID, model.ErrInvalid)
		}
	}
	res, retried, err := d.pushRetrying(ctx, accountID, ops, quota)
	if err != nil {
		return syncserver.PushResult{}, err
	}
	// A retried push may find its own ops applied by the attempt whose
	// outcome was lost: notify then too.
	if res.Head > 0 && (retried || len(res.Dup) < len(ops)) {
		d.notifier.queue(accountID, res.Head)
	}
	return res, nil
}

// pushRetrying runs push, once more on a fresh connection when the
// database stopped answering (as tx does). The statement may have
// committed before its answer was lost; op id dedupe makes the second
// attempt safe, reporting those ops in Dup as a client's retry would.
func (d *DB) pushRetrying(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (res syncserver.PushResult, retried bool, err error) {
	for attempt := 0; ; attempt++ {
		res, err = d.push(ctx, accountID, ops, quota)
		err = d.check(err)
		if attempt > 0 || ctx.Err() != nil || !errors.Is(err, model.ErrUnavailable) {
			return res, attempt > 0, err
		}
	}
}

// pushSQL calls courier_push with the account ($1), the ops ($2 to $4),
// their fields ($5 to $7) and the quota ($8 to $10).
// An unknown account gives a NULL head (and NULL usage).
const pushSQL = `SELECT head, dup, coalesce(before_records, 0), coalesce(before_bytes, 0), coalesce(before_log, 0),
	coalesce(after_records, 0), coalesce(after_bytes, 0), coalesce(after_log, 0), coalesce(applied, false), coalesce(rewritten, false)
FROM courier_push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// push makes one attempt at ops.
func (d *DB) push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	opIDs, kinds, ids := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	var fieldOps []int32
	var names []string
	var values [][]byte
	for i, op := range ops {
		opIDs[i], kinds[i], ids[i] = string(op.OpID), string(op.Kind), string(op.ID)
		for name, v := range op.Fields {
			fieldOps, names, values = append(fieldOps, int32(i+1)), append(names, name), append(values, v)
		}
	}
	var head *int64
	var dup []string
	var before, after syncserver.Usage
	var applied, rewritten bool
	err := d.pool.QueryRow(ctx, pushSQL, accountID, opIDs, kinds, ids, fieldOps, names, values, quota.Records, quota.Bytes, quota.Log).
		Scan(&head, &dup, &before.Records, &before.Bytes, &before.Log, &after.Records, &after.Bytes, &after.Log, &applied, &rewritten)
	if err != nil {
		return syncserver.PushResult{}, err
	}
	if head == nil {
		return syncserver.PushResult{}, fmt.Errorf("push to account %s: %w", accountID, model.ErrNotFound)
	}
	if err := quota.Exceeds(before, after); err != nil {
		return syncserver.PushResult{}, fmt.Errorf("push to account %s: %w", accountID, err)
	}
	if !applied {
		return syncserver.PushResult{}, fmt.Errorf("push to account %s: refused by the database within quota", accountID)
	}
	res := syncserver.PushResult{Head: uint64(*head), Usage: after, Rewritten: rewritten}
	for _, id := range dup {
		res.Dup = append(res.Dup, model.ID(id))
	}
	return res, nil
}

// Head implements syncserver.SyncStorage.
func (d *DB) Head(ctx context.Context, accountID string) (uint64, error) {
	var h int64
	err := d.read(ctx, func() error {
		return d.pool.QueryRow(ctx, `SELECT head FROM accounts WHERE id = $1`, accountID).Scan(&h)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("head of account %s: %w", accountID, model.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("head of account %s: %w", accountID, d.check(err))
	}
	return uint64(h), nil
}

// SyncUsage implements syncserver.SyncStorage.
func (d *DB) SyncUsage(ctx context.Context, accountID string) (syncserver.Usage, error) {
	var u syncserver.Usage
	err := d.pool.QueryRow(ctx, `SELECT usage_records, usage_bytes, usage_log FROM accounts WHERE id = $1`, accountID).
		Scan(&u.Records, &u.Bytes, &u.Log)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("usage of account %s: %w", accountID, model.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("usage of account %s: %w", accountID, d.check(err))
	}
	return u, nil
}

// changesSQL reads up to $3 seqs after $2 with their surviving fields,
// keeping a seq only while the values before it stay under $4 bytes (the
// first seq always), so a page ends on a seq boundary and never reads far
// past its byte budget.
const changesSQL = `
WITH page AS (
	SELECT l.seq, l.op_id, l.kind, l.record_id,
		coalesce((SELECT sum(octet_length(f.value)) FROM sync_fields f WHERE f.account_id = $1 AND f.seq = l.seq), 0) AS n
	FROM sync_log l WHERE l.account_id = $1 AND l.seq > $2 ORDER BY l.seq LIMIT $3
), kept AS (
	SELECT seq, op_id, kind, record_id FROM (
		SELECT *, sum(n) OVER (ORDER BY seq) - n AS before, row_number() OVER (ORDER BY seq) AS i FROM page
	) p WHERE before < $4 OR i = 1
)
SELECT k.seq, k.op_id, k.kind, k.record_id, f.field, f.value
FROM kept k LEFT JOIN sync_fields f ON f.account_id = $1 AND f.seq = k.seq
ORDER BY k.seq`

// Changes implements syncserver.SyncStorage. The page is one statement
// (one snapshot, one round trip, no transaction); only an empty page
// costs a second look, to tell an unknown account from one with nothing
// after after.
func (d *DB) Changes(ctx context.Context, accountID string, after uint64, limit, maxBytes int) ([]model.Change, error) {
	var out []model.Change
	err := d.read(ctx, func() error {
		var err error
		if out, err = d.changes(ctx, accountID, after, limit, maxBytes); err != nil || len(out) > 0 {
			return err
		}
		var ok bool
		if err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("changes of account %s: %w", accountID, model.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes of account %s after %d: %w", accountID, after, err)
	}
	return out, nil
}

// changes reads one page with changesSQL.
func (d *DB) changes(ctx context.Context, accountID string, after uint64, limit, maxBytes int) ([]model.Change, error) {
	out := []model.Change{}
	rows, err := d.pool.Query(ctx, changesSQL, accountID, int64(after), limit, maxBytes)
	if err != nil {
		return nil, err
	}
	var seq int64
	var opID, kind, id string
	var field *string
	var value []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &opID, &kind, &id, &field, &value}, func() error {
		if n := len(out); n == 0 || out[n-1].Seq != uint64(seq) {
			out = append(out, model.Change{Seq: uint64(seq), OpID: model.ID(opID), Kind: model.Kind(kind), ID: model.ID(id), Fields: model.Fields{}})
		}
		if field != nil {
			out[len(out)-1].Fields[*field] = value
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eraseSync removes the account's sync data and zeroes its usage; the
// head stays, so seqs keep increasing and no client cursor points past
// new data. Every cursor up to the head then counts in a stream the
// database no longer holds (a gap from 0, see ForeignCursor): each device
// that synced before starts over, and pushes again what it holds (sealed
// with the new key), instead of taking itself for in sync with an empty
// account. The account's row is written first: that locks it, so a push
// in progress commits before the deletes look, and none starts until
// they are done.
func eraseSync(ctx context.Context, tx pgx.Tx, accountID string) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE accounts SET usage_records = 0, usage_bytes = 0, usage_log = 0 WHERE id = $1`, accountID)
	b.Queue(`INSERT INTO sync_gaps (account_id, from_seq, to_seq)
		SELECT id, 0, head FROM accounts WHERE id = $1 AND head > 0
		ON CONFLICT (account_id, from_seq) DO UPDATE SET to_seq = greatest(sync_gaps.to_seq, excluded.to_seq)`, accountID)
	b.Queue(`DELETE FROM sync_fields WHERE account_id = $1`, accountID)
	b.Queue(`DELETE FROM sync_log WHERE account_id = $1`, accountID)
	b.Queue(`DELETE FROM sync_dead WHERE account_id = $1`, accountID)
	return tx.SendBatch(ctx, b).Close()
}

// compactSQL compacts account $1 whose head is $2 and whose last
// compaction was at head $3. The low water is the lowest cursor of its
// sessions seen since $4 that recorded one, else the head. It looks at
// the entries logged since the last compaction and those their ops
// overwrote (kills), keeping those that hold no value: at or below the
// low water they go, above it they wait in sync_dead, whose entries at
// or below it go too. It returns the low water and how many entries went
// (taken off usage_log). Whatever the statistics, each entry looked at
// costs one probe of sync_fields (OFFSET 0 keeps NOT EXISTS a subplan
// rather than a join, which may read all of the account's values) and
// each dropped one a probe of the log's key (they go in one array).
const compactSQL = `
WITH low AS (
	SELECT least(coalesce(min(s.sync_cursor), $2), $2) AS seq FROM sessions s
	WHERE s.account_id = $1 AND s.last_seen_at >= $4 AND s.sync_cursor IS NOT NULL
), listed AS (
	SELECT c.seq FROM (
		SELECT DISTINCT x AS seq FROM sync_log l, unnest(l.kills || l.seq) AS x
		WHERE l.account_id = $1 AND l.seq > $3) c
	WHERE NOT EXISTS (SELECT 1 FROM sync_fields f WHERE f.account_id = $1 AND f.seq = c.seq OFFSET 0)
), held AS (
	INSERT INTO sync_dead (account_id, seq) SELECT $1, seq FROM listed WHERE seq > (SELECT seq FROM low)
	ON CONFLICT DO NOTHING
), waited AS (
	DELETE FROM sync_dead WHERE account_id = $1 AND seq <= (SELECT seq FROM low) RETURNING seq
), gone AS (
	DELETE FROM sync_log l WHERE l.account_id = $1 AND l.seq = ANY ((
		SELECT array_agg(seq) FROM (SELECT seq FROM listed WHERE seq <= (SELECT seq FROM low)
			UNION ALL SELECT seq FROM waited) g)::bigint[])
	RETURNING 1
), n AS (
	SELECT count(*) AS n FROM gone
), done AS (
	UPDATE accounts SET sync_compacted = $2, usage_log = usage_log - n.n FROM n
	WHERE id = $1 AND (n.n > 0 OR sync_compacted <> $2)
)
SELECT (SELECT seq FROM low), n.n FROM n`

// Compact implements syncserver.SyncStorage, in one transaction that
// locks the account's row as a push does (so the two take turns). It
// records the session's cursor on its row (a session not of the
// account records nothing) and runs compactSQL, whose work is what was
// logged since the last compaction and what waits in sync_dead for the
// low water, not the log.
func (d *DB) Compact(ctx context.Context, accountID, sessionID string, cursor uint64, activeSince time.Time) (syncserver.CompactResult, error) {
	var res syncserver.CompactResult
	err := d.tx(ctx, func(tx pgx.Tx) error {
		res = syncserver.CompactResult{}
		var head, done, low, dropped int64
		u := &res.Usage
		err := tx.QueryRow(ctx, `SELECT head, sync_compacted, usage_records, usage_bytes, usage_log FROM accounts
			WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&head, &done, &u.Records, &u.Bytes, &u.Log)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("account %s: %w", accountID, model.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cursor > uint64(head) {
			return fmt.Errorf("cursor %d past the head %d: %w", cursor, head, model.ErrInvalid)
		}
		b := &pgx.Batch{}
		if sessionID != "" {
			// A session's first record is the head: it pushed nothing
			// before.
			b.Queue(`UPDATE sessions SET sync_cursor = CASE WHEN sync_cursor IS NULL THEN $4::bigint ELSE $3::bigint END
				WHERE id = $2 AND account_id = $1`, accountID, sessionID, int64(cursor), head)
		}
		b.Queue(compactSQL, accountID, head, done, activeSince).QueryRow(func(row pgx.Row) error { return row.Scan(&low, &dropped) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		res.LowWater, res.Dropped = uint64(low), int(dropped)
		u.Log -= dropped
		return nil
	})
	if err != nil {
		return syncserver.CompactResult{}, fmt.Errorf("compact the log of account %s: %w", accountID, err)
	}
	return res, nil
}
