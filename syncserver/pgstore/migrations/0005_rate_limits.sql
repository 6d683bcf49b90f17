-- Token buckets of the account API's rate limits, shared by every replica
-- (syncserver.RateStorage). A key is a hash of the action, the kind of
-- limit and the address or identifier, so the table holds neither. full_at
-- is when the bucket is full again: past it the row says nothing a fresh
-- bucket would not, and may go.
CREATE TABLE courier_rate (
	key bytea PRIMARY KEY,
	tokens double precision NOT NULL,
	at timestamptz NOT NULL,
	full_at timestamptz NOT NULL
);
CREATE INDEX courier_rate_full_at ON courier_rate (full_at);

-- courier_take_token takes a token from bucket p_key (p_burst tokens,
-- one more every p_every seconds), refilled by the database's clock, so
-- replicas whose clocks differ still share one bucket. ok says whether a
-- token was taken; wait is the seconds until one is back when not. Now and
-- then it drops the rows of buckets that are full again.
CREATE FUNCTION courier_take_token(p_key bytea, p_burst double precision, p_every double precision,
	OUT ok boolean, OUT wait double precision)
LANGUAGE plpgsql AS $$
DECLARE
	now_ timestamptz := clock_timestamp();
	t double precision;
BEGIN
	INSERT INTO courier_rate (key, tokens, at, full_at) VALUES (p_key, p_burst, now_, now_)
		ON CONFLICT (key) DO NOTHING;
	SELECT least(p_burst, tokens + greatest(0, extract(epoch FROM now_ - at)) / p_every) INTO t
		FROM courier_rate WHERE key = p_key FOR UPDATE;
	ok := t >= 1;
	IF ok THEN
		t := t - 1;
		wait := 0;
	ELSE
		wait := (1 - t) * p_every;
	END IF;
	UPDATE courier_rate SET tokens = t, at = greatest(at, now_),
		full_at = greatest(at, now_) + make_interval(secs => (p_burst - t) * p_every)
		WHERE key = p_key;
	IF random() < 0.001 THEN
		DELETE FROM courier_rate WHERE full_at < now_ AND key <> p_key;
	END IF;
END $$;
