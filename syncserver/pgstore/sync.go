package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// fieldKey names one stored field value.
type fieldKey struct {
	kind model.Kind
	id   model.ID
	name string
}

// recordKey names one record.
type recordKey struct {
	kind model.Kind
	id   model.ID
}

// pushState is what a push reads under its account's row lock.
type pushState struct {
	head    uint64
	usage   syncserver.Usage
	applied map[model.ID]bool // op ids among the pushed ones applied before
	sizes   map[fieldKey]int  // stored sizes of the fields of touched records
	records map[recordKey]bool
}

// pushWrites is what a push writes.
type pushWrites struct {
	log    [4][]string // op ids, kinds, record ids (and seqs below)
	seqs   []int64
	fields map[fieldKey]fieldWrite
}

type fieldWrite struct {
	seq   int64
	value []byte
}

// Push implements syncserver.SyncStorage. It locks the account's row
// (serialising this account's writers only), reads the op ids already
// applied and the sizes of the touched fields, assigns seqs, and writes
// the log, the last value of each field and the new head and usage; then,
// once committed, it queues the head for NOTIFY.
func (d *DB) Push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	for _, op := range ops {
		if op.OpID == "" || !op.Kind.Valid() || op.ID.Validate() != nil {
			return syncserver.PushResult{}, fmt.Errorf("push: op %q on %s %q: %w", op.OpID, op.Kind, op.ID, model.ErrInvalid)
		}
	}
	res, err := d.pushRetrying(ctx, accountID, ops, quota)
	if err != nil {
		return syncserver.PushResult{}, err
	}
	if res.Head > 0 && len(res.Dup) < len(ops) {
		d.notifier.queue(accountID, res.Head)
	}
	return res, nil
}

// pushRetrying runs push, once more on a fresh connection when the
// database stopped answering before the commit was sent (as tx does).
func (d *DB) pushRetrying(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	for attempt := 0; ; attempt++ {
		res, committing, err := d.push(ctx, accountID, ops, quota)
		err = d.check(err)
		if attempt > 0 || committing || ctx.Err() != nil || !errors.Is(err, model.ErrUnavailable) {
			return res, err
		}
	}
}

// push is one transaction in two round trips: BEGIN with the reads under
// the account's row lock, then the writes with COMMIT. committing says
// whether the COMMIT was sent (after which a lost connection leaves the
// outcome unknown; op id dedupe makes the client's retry safe).
func (d *DB) push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (res syncserver.PushResult, committing bool, err error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return res, false, err
	}
	// The pool destroys a connection released inside a transaction, so
	// a failed ROLLBACK cannot leak one.
	defer conn.Release()
	defer func() {
		if err != nil {
			conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	st, err := readPushState(ctx, conn, accountID, ops)
	if err != nil {
		return res, false, err
	}
	w, r := plan(st, ops)
	if err := quota.Exceeds(st.usage, r.Usage); err != nil {
		return res, false, fmt.Errorf("push to account %s: %w", accountID, err)
	}
	if err := write(ctx, conn, accountID, w, r); err != nil {
		return res, true, err
	}
	return r, true, nil
}

// batcher sends a pipeline of statements: a connection or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pushReadSQL reads, after the account's row is locked (so in a later
// statement, whose snapshot sees the writes of the account's previous
// push), the op ids among $2 applied before and the stored sizes of the
// fields of the records ($3, $4) the ops touch, as one row of arrays.
const pushReadSQL = `
SELECT
	ARRAY(SELECT op_id FROM sync_log WHERE account_id = $1 AND op_id = ANY($2)),
	s.kinds, s.ids, s.fields, s.sizes
FROM (SELECT array_agg(f.kind) AS kinds, array_agg(f.record_id) AS ids, array_agg(f.field) AS fields,
		array_agg(octet_length(f.value)) AS sizes
	FROM sync_fields f
	JOIN unnest($3::text[], $4::text[]) AS r (kind, record_id) ON f.kind = r.kind AND f.record_id = r.record_id
	WHERE f.account_id = $1) s`

// readPushState begins a transaction, locks the account's row and reads
// what plan needs, in one round trip.
func readPushState(ctx context.Context, q batcher, accountID string, ops []model.Op) (pushState, error) {
	st := pushState{applied: map[model.ID]bool{}, sizes: map[fieldKey]int{}, records: map[recordKey]bool{}}
	opIDs, kinds, ids := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	for i, op := range ops {
		opIDs[i], kinds[i], ids[i] = string(op.OpID), string(op.Kind), string(op.ID)
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SELECT head, usage_records, usage_bytes FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&st.head, &st.usage.Records, &st.usage.Bytes)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("push to account %s: %w", accountID, model.ErrNotFound)
		}
		return err
	})
	b.Queue(pushReadSQL, accountID, opIDs, kinds, ids).QueryRow(func(row pgx.Row) error {
		var applied, fkinds, fids, fnames []string
		var sizes []int
		if err := row.Scan(&applied, &fkinds, &fids, &fnames, &sizes); err != nil {
			return err
		}
		for _, id := range applied {
			st.applied[model.ID(id)] = true
		}
		for i := range fkinds {
			k := fieldKey{model.Kind(fkinds[i]), model.ID(fids[i]), fnames[i]}
			st.sizes[k] = sizes[i]
			st.records[recordKey{k.kind, k.id}] = true
		}
		return nil
	})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return st, err
	}
	return st, nil
}

// plan assigns seqs to the ops not applied before and works out the
// writes, the new head and the usage (as boltstore counts it: a record is
// new when it had no field and the op writes one).
func plan(st pushState, ops []model.Op) (pushWrites, syncserver.PushResult) {
	w := pushWrites{fields: map[fieldKey]fieldWrite{}}
	res := syncserver.PushResult{Head: st.head, Usage: st.usage}
	for _, op := range ops {
		if st.applied[op.OpID] {
			res.Dup = append(res.Dup, op.OpID)
			continue
		}
		st.applied[op.OpID] = true
		res.Head++
		seq := int64(res.Head)
		w.log[0], w.log[1], w.log[2] = append(w.log[0], string(op.OpID)), append(w.log[1], string(op.Kind)), append(w.log[2], string(op.ID))
		w.seqs = append(w.seqs, seq)
		if rk := (recordKey{op.Kind, op.ID}); !st.records[rk] && len(op.Fields) > 0 {
			res.Usage.Records++
			st.records[rk] = true
		}
		for name, v := range op.Fields {
			k := fieldKey{op.Kind, op.ID, name}
			res.Usage.Bytes += int64(len(v) - st.sizes[k])
			st.sizes[k] = len(v)
			w.fields[k] = fieldWrite{seq: seq, value: v}
		}
	}
	return w, res
}

// pushWriteSQL appends the log rows ($2 to $5), upserts the field values
// ($6 to $10) and sets the account's head and usage, in one statement.
const pushWriteSQL = `
WITH l AS (
	INSERT INTO sync_log (account_id, seq, op_id, kind, record_id)
	SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
), f AS (
	INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
	SELECT $1, * FROM unnest($6::text[], $7::text[], $8::text[], $9::bigint[], $10::bytea[])
	ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value
)
UPDATE accounts SET head = $11, usage_records = $12, usage_bytes = $13 WHERE id = $1`

// write stores the planned log rows and field values and the account's
// new head and usage, and commits, in one round trip.
func write(ctx context.Context, q batcher, accountID string, w pushWrites, res syncserver.PushResult) error {
	b := &pgx.Batch{}
	if len(w.seqs) > 0 {
		var kinds, ids, names []string
		var seqs []int64
		var values [][]byte
		for k, f := range w.fields {
			kinds, ids, names = append(kinds, string(k.kind)), append(ids, string(k.id)), append(names, k.name)
			seqs, values = append(seqs, f.seq), append(values, f.value)
		}
		b.Queue(pushWriteSQL, accountID, w.seqs, w.log[0], w.log[1], w.log[2], kinds, ids, names, seqs, values,
			int64(res.Head), res.Usage.Records, res.Usage.Bytes)
	}
	b.Queue(`COMMIT`)
	return q.SendBatch(ctx, b).Close()
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
	err := d.pool.QueryRow(ctx, `SELECT usage_records, usage_bytes FROM accounts WHERE id = $1`, accountID).Scan(&u.Records, &u.Bytes)
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
// new data.
func eraseSync(ctx context.Context, tx pgx.Tx, accountID string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM sync_fields WHERE account_id = $1`, accountID)
	b.Queue(`DELETE FROM sync_log WHERE account_id = $1`, accountID)
	b.Queue(`UPDATE accounts SET usage_records = 0, usage_bytes = 0 WHERE id = $1`, accountID)
	return tx.SendBatch(ctx, b).Close()
}
