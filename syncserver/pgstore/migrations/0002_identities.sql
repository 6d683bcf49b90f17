-- OpenID Connect identities linked to accounts.
CREATE TABLE identities (
	provider   text NOT NULL,
	subject    text NOT NULL,
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	email      text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_account ON identities (account_id, created_at);
