-- courier_push (0004) counting live records only: a record counts against
-- the records quota while it has a field and no _deleted one (clients never
-- clear _deleted once written). Deleted records used to count for ever, so
-- an account that only ever kept its 10,000 latest history entries reached
-- the quota of records after a million requests sent. Their stored values
-- still count in the bytes. The usage of every account is recounted.
CREATE OR REPLACE FUNCTION courier_push(
	p_account text, p_op_ids text[], p_kinds text[], p_ids text[],
	p_field_ops integer[], p_field_names text[], p_field_values bytea[],
	p_quota_records bigint, p_quota_bytes bigint,
	OUT head bigint, OUT dup text[],
	OUT before_records bigint, OUT before_bytes bigint,
	OUT after_records bigint, OUT after_bytes bigint, OUT applied boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	fresh integer[] := '{}'; -- indexes of the ops that get a seq, in order
	seen text[] := '{}'; -- their op ids
	fk text[]; fi text[]; fn text[]; fs bigint[]; fv bytea[]; -- last write of each field
	nf integer := coalesce(cardinality(p_field_names), 0);
	short boolean := coalesce(cardinality(p_op_ids), 0) = 1;
	known boolean; -- the one op was applied before
	had boolean; -- its record has a field
	dead boolean; -- its record has a _deleted field
	deleting boolean := coalesce('_deleted' = ANY(p_field_names), false); -- it writes one
	old_bytes bigint; -- the stored values of the fields it writes
	new_bytes bigint := 0;
BEGIN
	dup := '{}';
	SELECT a.head, a.usage_records, a.usage_bytes INTO head, before_records, before_bytes
	FROM accounts a WHERE a.id = p_account FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	-- Later statements take new snapshots: they see the account's
	-- previous push, committed before the lock was granted.
	FOR j IN 1 .. nf LOOP
		EXIT WHEN NOT short;
		short := p_field_ops[j] = 1 AND NOT p_field_names[j] = ANY(p_field_names[1:j-1]);
		new_bytes := new_bytes + octet_length(p_field_values[j]);
	END LOOP;
	IF short THEN
		SELECT EXISTS (SELECT 1 FROM sync_log l WHERE l.account_id = p_account AND l.op_id = p_op_ids[1]),
			count(*) > 0, coalesce(bool_or(s.field = '_deleted'), false),
			coalesce(sum(octet_length(s.value)) FILTER (WHERE s.field = ANY(p_field_names)), 0)
		INTO known, had, dead, old_bytes
		FROM sync_fields s WHERE s.account_id = p_account AND s.kind = p_kinds[1] AND s.record_id = p_ids[1];
		IF known THEN
			dup := p_op_ids;
			new_bytes := 0;
			old_bytes := 0;
		END IF;
		after_records := before_records + CASE WHEN nf = 0 OR known THEN 0
			ELSE (CASE WHEN NOT dead AND NOT deleting THEN 1 ELSE 0 END) - (CASE WHEN had AND NOT dead THEN 1 ELSE 0 END) END;
		after_bytes := before_bytes + new_bytes - old_bytes;
		applied := NOT ((p_quota_records > 0 AND after_records > p_quota_records AND after_records > before_records)
			OR (p_quota_bytes > 0 AND after_bytes > p_quota_bytes AND after_bytes > before_bytes));
		IF known OR NOT applied THEN
			RETURN;
		END IF;
		head := head + 1;
		WITH l AS (
			INSERT INTO sync_log (account_id, seq, op_id, kind, record_id)
			VALUES (p_account, head, p_op_ids[1], p_kinds[1], p_ids[1])
		), f AS (
			INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
			SELECT p_account, p_kinds[1], p_ids[1], x.field, head, x.value
			FROM unnest(p_field_names, p_field_values) AS x (field, value)
			ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value
		)
		UPDATE accounts SET head = courier_push.head, usage_records = after_records, usage_bytes = after_bytes
		WHERE id = p_account;
		RETURN;
	END IF;
	-- The general path. One lookup per op keeps to the unique index on
	-- (account_id, op_id).
	FOR i IN 1 .. coalesce(cardinality(p_op_ids), 0) LOOP
		IF p_op_ids[i] = ANY(seen) OR EXISTS (
			SELECT 1 FROM sync_log l WHERE l.account_id = p_account AND l.op_id = p_op_ids[i]) THEN
			dup := dup || p_op_ids[i];
		ELSE
			fresh := fresh || i;
			seen := seen || p_op_ids[i];
		END IF;
	END LOOP;
	-- A record counts while live: it has a field, none of them _deleted.
	-- Each record a fresh op writes counts after the push unless it had
	-- or gets a _deleted field, and counted before if it had a field and
	-- no _deleted one.
	WITH n AS (
		SELECT u.i, head + u.k AS seq FROM unnest(fresh) WITH ORDINALITY AS u (i, k)
	), w AS (
		SELECT DISTINCT ON (p_kinds[x.op], p_ids[x.op], x.field)
			p_kinds[x.op] AS kind, p_ids[x.op] AS record_id, x.field, n.seq, x.value
		FROM unnest(p_field_ops, p_field_names, p_field_values) AS x (op, field, value) JOIN n ON n.i = x.op
		ORDER BY p_kinds[x.op], p_ids[x.op], x.field, n.seq DESC
	), r AS (
		SELECT w.*, row_number() OVER (PARTITION BY w.kind, w.record_id) = 1 AS first,
			bool_or(w.field = '_deleted') OVER (PARTITION BY w.kind, w.record_id) AS kills
		FROM w
	)
	SELECT array_agg(r.kind), array_agg(r.record_id), array_agg(r.field), array_agg(r.seq), array_agg(r.value),
		before_records + count(r.kind) FILTER (WHERE r.first AND NOT r.kills AND NOT EXISTS (
			SELECT 1 FROM sync_fields s WHERE s.account_id = p_account AND s.kind = r.kind AND s.record_id = r.record_id
				AND s.field = '_deleted'))
		- count(r.kind) FILTER (WHERE r.first AND EXISTS (
			SELECT 1 FROM sync_fields s WHERE s.account_id = p_account AND s.kind = r.kind AND s.record_id = r.record_id)
			AND NOT EXISTS (
			SELECT 1 FROM sync_fields s WHERE s.account_id = p_account AND s.kind = r.kind AND s.record_id = r.record_id
				AND s.field = '_deleted')),
		before_bytes + coalesce(sum(octet_length(r.value) - coalesce(
			(SELECT octet_length(s.value) FROM sync_fields s WHERE s.account_id = p_account
				AND s.kind = r.kind AND s.record_id = r.record_id AND s.field = r.field), 0)), 0)
	INTO fk, fi, fn, fs, fv, after_records, after_bytes
	FROM r;
	applied := NOT ((p_quota_records > 0 AND after_records > p_quota_records AND after_records > before_records)
		OR (p_quota_bytes > 0 AND after_bytes > p_quota_bytes AND after_bytes > before_bytes));
	IF NOT applied OR cardinality(fresh) = 0 THEN
		RETURN;
	END IF;
	WITH l AS (
		INSERT INTO sync_log (account_id, seq, op_id, kind, record_id)
		SELECT p_account, head + n.k, p_op_ids[n.i], p_kinds[n.i], p_ids[n.i]
		FROM unnest(fresh) WITH ORDINALITY AS n (i, k)
	), f AS (
		INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
		SELECT p_account, * FROM unnest(fk, fi, fn, fs, fv)
		ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value
	)
	UPDATE accounts SET head = courier_push.head + cardinality(fresh), usage_records = after_records, usage_bytes = after_bytes
	WHERE id = p_account;
	head := head + cardinality(fresh);
END
$$;

UPDATE accounts a SET usage_records = coalesce((
	SELECT count(*) FROM (
		SELECT 1 FROM sync_fields s WHERE s.account_id = a.id
		GROUP BY s.kind, s.record_id HAVING NOT bool_or(s.field = '_deleted')) live), 0);
