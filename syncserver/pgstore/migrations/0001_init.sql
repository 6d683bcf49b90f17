-- Accounts, sessions, emailed codes, server secrets and sync data.
-- The head and usage of an account's sync data live on its row: a push
-- locks that row, which serialises the writers of one account and never
-- those of different accounts.
CREATE TABLE accounts (
	id                   text PRIMARY KEY,
	username             text NOT NULL UNIQUE,
	email                text NOT NULL UNIQUE,
	email_confirmed      boolean NOT NULL DEFAULT false,
	kdf_salt             bytea NOT NULL,
	kdf_params           jsonb NOT NULL,
	auth_hash            bytea NOT NULL,
	wrapped_account_key  bytea NOT NULL,
	recovery_wrapped_key bytea,
	created_at           timestamptz NOT NULL,
	head                 bigint NOT NULL DEFAULT 0,
	usage_records        bigint NOT NULL DEFAULT 0,
	usage_bytes          bigint NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	id           text PRIMARY KEY,
	account_id   text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	token_hash   bytea NOT NULL UNIQUE,
	device_name  text NOT NULL,
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id, created_at, id);

CREATE TABLE codes (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	purpose    text NOT NULL,
	hash       bytea NOT NULL,
	expires_at timestamptz NOT NULL,
	failures   integer NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, purpose)
);
CREATE INDEX codes_hash ON codes (hash);

CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE links (
	id         text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	token_hash bytea NOT NULL UNIQUE,
	name       text NOT NULL,
	source     text NOT NULL,
	snapshot   bytea NOT NULL,
	size       integer NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	expires_at timestamptz
);
CREATE INDEX links_account ON links (account_id, created_at, id);

-- One row per assigned seq: the op that got it.
CREATE TABLE sync_log (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	seq        bigint NOT NULL,
	op_id      text NOT NULL,
	kind       text NOT NULL,
	record_id  text NOT NULL,
	PRIMARY KEY (account_id, seq)
);
CREATE UNIQUE INDEX sync_log_op ON sync_log (account_id, op_id);

-- The latest value of every field, with the seq of the op that wrote it.
CREATE TABLE sync_fields (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	kind       text NOT NULL,
	record_id  text NOT NULL,
	field      text NOT NULL,
	seq        bigint NOT NULL,
	value      bytea NOT NULL,
	PRIMARY KEY (account_id, kind, record_id, field)
);
CREATE INDEX sync_fields_seq ON sync_fields (account_id, seq);
