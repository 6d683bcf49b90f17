-- The seq gaps left by marking restored data (DB.MarkRestored): after a
-- backup of the database is put back, every account's head moves ahead,
-- and a device whose cursor falls in the gap it leaves counts in a stream
-- the database no longer holds, so it starts over.
CREATE TABLE sync_gaps (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	from_seq   bigint NOT NULL,
	to_seq     bigint NOT NULL,
	PRIMARY KEY (account_id, from_seq)
);
