-- Log compaction (DB.Compact). The log kept one entry per op for ever, so
-- an account that rewrites one value over and over grew without bound.
-- Compact drops the entries that hold no value any more, at or below the
-- lowest cursor the account's active sessions recorded; accounts.usage_log
-- counts the entries left, which the quota's log bound caps.
--
-- sessions.sync_cursor is the last cursor the session recorded (NULL:
-- none, so it counts for nothing). Sessions made before this migration
-- start at 0: a device that pushed before the upgrade holds compaction
-- back until it says how far it got.
ALTER TABLE sessions ADD COLUMN sync_cursor bigint DEFAULT 0;
ALTER TABLE sessions ALTER COLUMN sync_cursor DROP DEFAULT;

-- So that a compaction costs what was logged since the one before, not
-- the whole log, and a push only a few more bytes: an entry's kills lists
-- the seqs of the values its op overwrote or deleted (a push of several
-- ops lists them all on its last entry), and accounts.sync_compacted is
-- the head at the last compaction. Compact looks at the entries logged
-- since, with their kills, and drops those that hold no value at or below
-- the low water; those above it wait in sync_dead. An entry that still
-- holds a value is listed again by the op that overwrites or deletes its
-- last one. The entries that hold no value at this migration start out
-- in sync_dead.
ALTER TABLE sync_log ADD COLUMN kills bigint[];
ALTER TABLE accounts ADD COLUMN usage_log bigint NOT NULL DEFAULT 0,
	ADD COLUMN sync_compacted bigint NOT NULL DEFAULT 0;
UPDATE accounts a SET sync_compacted = a.head,
	usage_log = (SELECT count(*) FROM sync_log l WHERE l.account_id = a.id);
CREATE TABLE sync_dead (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	seq        bigint NOT NULL,
	PRIMARY KEY (account_id, seq)
);
INSERT INTO sync_dead (account_id, seq)
SELECT l.account_id, l.seq FROM sync_log l
WHERE NOT EXISTS (SELECT 1 FROM sync_fields f WHERE f.account_id = l.account_id AND f.seq = l.seq);

-- courier_push (0007) with the log bound: p_quota_log bounds usage_log,
-- and a push past it passes only when it adds no more entries than the
-- live records it deletes (syncserver.Quota.Exceeds). It keeps usage_log
-- (one entry per applied op), returns it before and after, and fills in
-- the kills of the entries it writes.
DROP FUNCTION courier_push(text, text[], text[], text[], integer[], text[], bytea[], bigint, bigint);
CREATE FUNCTION courier_push(
	p_account text, p_op_ids text[], p_kinds text[], p_ids text[],
	p_field_ops integer[], p_field_names text[], p_field_values bytea[],
	p_quota_records bigint, p_quota_bytes bigint, p_quota_log bigint,
	OUT head bigint, OUT dup text[],
	OUT before_records bigint, OUT before_bytes bigint,
	OUT after_records bigint, OUT after_bytes bigint, OUT applied boolean,
	OUT rewritten boolean, OUT before_log bigint, OUT after_log bigint)
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
	all_bytes bigint; -- the stored values of its record
	start_head bigint; -- the head before the push
	fnames text[]; fvalues bytea[]; -- the fields of one op (slow path)
	i integer; -- its index
	killed bigint[]; -- the seqs of the values an op overwrites or deletes (maybe repeated)
BEGIN
	dup := '{}';
	rewritten := false;
	SELECT a.head, a.usage_records, a.usage_bytes, a.usage_log INTO head, before_records, before_bytes, before_log
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
			coalesce(sum(octet_length(s.value)) FILTER (WHERE s.field = ANY(p_field_names)), 0),
			coalesce(sum(octet_length(s.value)), 0),
			array_agg(s.seq) FILTER (WHERE deleting OR s.field = ANY(p_field_names))
		INTO known, had, dead, old_bytes, all_bytes, killed
		FROM sync_fields s WHERE s.account_id = p_account AND s.kind = p_kinds[1] AND s.record_id = p_ids[1];
		IF known THEN
			dup := p_op_ids;
		END IF;
		rewritten := NOT known AND nf > 0 AND (dead OR deleting);
		IF known OR nf = 0 OR dead THEN
			-- Nothing to write (an op on a deleted record only gets a seq).
			new_bytes := 0;
			old_bytes := 0;
		ELSIF deleting THEN
			-- The record keeps only its _deleted value.
			new_bytes := octet_length(p_field_values[array_position(p_field_names, '_deleted')]);
			old_bytes := all_bytes;
		END IF;
		after_records := before_records + CASE WHEN nf = 0 OR known OR dead THEN 0
			ELSE (CASE WHEN NOT deleting THEN 1 ELSE 0 END) - (CASE WHEN had THEN 1 ELSE 0 END) END;
		after_bytes := before_bytes + new_bytes - old_bytes;
		after_log := before_log + CASE WHEN known THEN 0 ELSE 1 END;
		applied := NOT ((p_quota_records > 0 AND after_records > p_quota_records AND after_records > before_records)
			OR (p_quota_bytes > 0 AND after_bytes > p_quota_bytes AND after_bytes > before_bytes)
			OR (p_quota_log > 0 AND after_log > p_quota_log AND after_log - before_log > before_records - after_records));
		IF known OR NOT applied THEN
			RETURN;
		END IF;
		head := head + 1;
		IF deleting AND NOT dead THEN
			DELETE FROM sync_fields s WHERE s.account_id = p_account AND s.kind = p_kinds[1] AND s.record_id = p_ids[1];
		END IF;
		WITH l AS (
			INSERT INTO sync_log (account_id, seq, op_id, kind, record_id, kills)
			VALUES (p_account, head, p_op_ids[1], p_kinds[1], p_ids[1], CASE WHEN NOT dead THEN killed END)
		), f AS (
			INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
			SELECT p_account, p_kinds[1], p_ids[1], x.field, head, x.value
			FROM unnest(p_field_names, p_field_values) AS x (field, value)
			WHERE NOT dead AND (NOT deleting OR x.field = '_deleted')
			ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value
		)
		UPDATE accounts SET head = courier_push.head, usage_records = after_records, usage_bytes = after_bytes,
			usage_log = after_log
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
	after_log := before_log + cardinality(fresh);
	-- A push that deletes a record, or writes to a deleted one, takes the
	-- slow path: one op at a time, as the short path does, in a block
	-- whose writes are undone when the quota refuses the push.
	IF EXISTS (SELECT 1 FROM unnest(p_field_ops, p_field_names) AS x (op, field)
			WHERE x.field = '_deleted' AND x.op = ANY(fresh))
		OR EXISTS (SELECT 1 FROM unnest(fresh) AS n (i) JOIN sync_fields s ON s.account_id = p_account
			AND s.kind = p_kinds[n.i] AND s.record_id = p_ids[n.i] AND s.field = '_deleted') THEN
		start_head := head;
		rewritten := true;
		after_records := before_records;
		after_bytes := before_bytes;
		BEGIN
			FOREACH i IN ARRAY fresh LOOP
				head := head + 1;
				SELECT array_agg(x.field ORDER BY x.field), array_agg(x.value ORDER BY x.field) INTO fnames, fvalues
				FROM (SELECT DISTINCT ON (p_field_names[j]) p_field_names[j] AS field, p_field_values[j] AS value
					FROM generate_subscripts(p_field_ops, 1) AS j WHERE p_field_ops[j] = i
					ORDER BY p_field_names[j], j DESC) x;
				SELECT count(*) > 0, coalesce(bool_or(s.field = '_deleted'), false),
					coalesce(sum(octet_length(s.value)) FILTER (WHERE s.field = ANY(fnames)), 0),
					coalesce(sum(octet_length(s.value)), 0),
					array_agg(s.seq) FILTER (WHERE '_deleted' = ANY(fnames) OR s.field = ANY(fnames))
				INTO had, dead, old_bytes, all_bytes, killed
				FROM sync_fields s WHERE s.account_id = p_account AND s.kind = p_kinds[i] AND s.record_id = p_ids[i];
				INSERT INTO sync_log (account_id, seq, op_id, kind, record_id, kills)
				VALUES (p_account, head, p_op_ids[i], p_kinds[i], p_ids[i], CASE WHEN NOT dead THEN killed END);
				CONTINUE WHEN fnames IS NULL OR dead;
				IF '_deleted' = ANY(fnames) THEN
					DELETE FROM sync_fields s WHERE s.account_id = p_account AND s.kind = p_kinds[i] AND s.record_id = p_ids[i];
					INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
					VALUES (p_account, p_kinds[i], p_ids[i], '_deleted', head, fvalues[array_position(fnames, '_deleted')]);
					after_records := after_records - CASE WHEN had THEN 1 ELSE 0 END;
					after_bytes := after_bytes - all_bytes + octet_length(fvalues[array_position(fnames, '_deleted')]);
				ELSE
					INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
					SELECT p_account, p_kinds[i], p_ids[i], x.field, head, x.value FROM unnest(fnames, fvalues) AS x (field, value)
					ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value;
					after_records := after_records + CASE WHEN had THEN 0 ELSE 1 END;
					after_bytes := after_bytes - old_bytes + (SELECT sum(octet_length(v)) FROM unnest(fvalues) AS v);
				END IF;
			END LOOP;
			applied := NOT ((p_quota_records > 0 AND after_records > p_quota_records AND after_records > before_records)
				OR (p_quota_bytes > 0 AND after_bytes > p_quota_bytes AND after_bytes > before_bytes)
				OR (p_quota_log > 0 AND after_log > p_quota_log AND after_log - before_log > before_records - after_records));
			IF NOT applied THEN
				RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'courier_push: over quota';
			END IF;
			UPDATE accounts SET head = courier_push.head, usage_records = after_records, usage_bytes = after_bytes,
				usage_log = after_log
			WHERE id = p_account;
		EXCEPTION WHEN raise_exception THEN
			-- The quota refused the push: its writes are undone.
			head := start_head;
		END;
		RETURN;
	END IF;
	-- The set-based path (0004's): no record here is deleted or being
	-- deleted, so a record is new when it had no field and counts from now.
	WITH n AS (
		SELECT u.i, head + u.k AS seq FROM unnest(fresh) WITH ORDINALITY AS u (i, k)
	), w AS (
		SELECT DISTINCT ON (p_kinds[x.op], p_ids[x.op], x.field)
			p_kinds[x.op] AS kind, p_ids[x.op] AS record_id, x.field, n.seq, x.value
		FROM unnest(p_field_ops, p_field_names, p_field_values) AS x (op, field, value) JOIN n ON n.i = x.op
		ORDER BY p_kinds[x.op], p_ids[x.op], x.field, n.seq DESC
	), r AS (
		SELECT w.*, row_number() OVER (PARTITION BY w.kind, w.record_id) = 1 AS first FROM w
	)
	SELECT array_agg(r.kind), array_agg(r.record_id), array_agg(r.field), array_agg(r.seq), array_agg(r.value),
		before_records + count(r.kind) FILTER (WHERE r.first AND NOT EXISTS (
			SELECT 1 FROM sync_fields s WHERE s.account_id = p_account AND s.kind = r.kind AND s.record_id = r.record_id)),
		before_bytes + coalesce(sum(octet_length(r.value) - coalesce(o.bytes, 0)), 0),
		array_agg(DISTINCT o.seq) FILTER (WHERE o.seq IS NOT NULL)
	INTO fk, fi, fn, fs, fv, after_records, after_bytes, killed
	FROM r LEFT JOIN LATERAL (
		SELECT octet_length(s.value) AS bytes, s.seq FROM sync_fields s WHERE s.account_id = p_account
			AND s.kind = r.kind AND s.record_id = r.record_id AND s.field = r.field) o ON true;
	applied := NOT ((p_quota_records > 0 AND after_records > p_quota_records AND after_records > before_records)
		OR (p_quota_bytes > 0 AND after_bytes > p_quota_bytes AND after_bytes > before_bytes)
		OR (p_quota_log > 0 AND after_log > p_quota_log AND after_log - before_log > before_records - after_records));
	IF NOT applied OR cardinality(fresh) = 0 THEN
		RETURN;
	END IF;
	-- The push's last entry lists the seqs of the values it overwrites.
	WITH l AS (
		INSERT INTO sync_log (account_id, seq, op_id, kind, record_id, kills)
		SELECT p_account, head + n.k, p_op_ids[n.i], p_kinds[n.i], p_ids[n.i],
			CASE WHEN n.k = cardinality(fresh) THEN killed END
		FROM unnest(fresh) WITH ORDINALITY AS n (i, k)
	), f AS (
		INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
		SELECT p_account, * FROM unnest(fk, fi, fn, fs, fv)
		ON CONFLICT (account_id, kind, record_id, field) DO UPDATE SET seq = excluded.seq, value = excluded.value
	)
	UPDATE accounts SET head = courier_push.head + cardinality(fresh), usage_records = after_records, usage_bytes = after_bytes,
		usage_log = after_log
	WHERE id = p_account;
	head := head + cardinality(fresh);
END
$$;
