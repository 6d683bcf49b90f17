package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

// migrateTo applies the migrations up to version to the empty schema at
// url, from the package's migrations directory, as an older server would
// have (recording them in schema_migrations as Open does).
func migrateTo(t *testing.T, conn *pgx.Conn, version int) {
	t.Helper()
	ctx := context.Background()
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v, %v", names, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names { // Glob sorts them
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		if v > version {
			break
		}
		sql, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrationCountsLogAndHoldsOldSessions builds a database as servers
// before migration 9 left it (three accounts, sessions, a log with
// entries that no longer hold a value) and opens it: usage_log must count
// each account's entries, the sessions made before must hold compaction
// at 0 until they report a cursor, and the entries that were dead
// before the migration must go once they do.
func TestMigrationCountsLogAndHoldsOldSessions(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	migrateTo(t, conn, 8)
	now := time.Now()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, a := range []string{"a", "b", "c"} {
		exec(`INSERT INTO accounts (id, username, email, kdf_salt, kdf_params, auth_hash, wrapped_account_key, created_at)
			VALUES ($1, $1, $1 || '@example.com', '\x00', '{}', '\x00', '\x00', $2)`, a, now)
	}
	for _, s := range [][2]string{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		exec(`INSERT INTO sessions (id, account_id, token_hash, device_name, created_at, last_seen_at)
			VALUES ($1, $2, convert_to($1, 'UTF8'), 'old', $3, $3)`, s[0], s[1], now)
	}
	// push calls 0007's courier_push with one op per item: record, then
	// field name and value pairs.
	push := func(acct string, ops ...[]string) {
		t.Helper()
		var opIDs, kinds, ids, names []string
		var fieldOps []int32
		var values [][]byte
		for i, o := range ops {
			opIDs, kinds, ids = append(opIDs, fmt.Sprintf("%s-op%d-%d", acct, i, rand.Int())), append(kinds, "request"), append(ids, o[0])
			for j := 1; j+1 < len(o); j += 2 {
				fieldOps, names, values = append(fieldOps, int32(i+1)), append(names, o[j]), append(values, []byte(o[j+1]))
			}
		}
		var applied bool
		if err := conn.QueryRow(ctx, `SELECT applied FROM courier_push($1, $2, $3, $4, $5, $6, $7, 0, 0)`,
			acct, opIDs, kinds, ids, fieldOps, names, values).Scan(&applied); err != nil || !applied {
			t.Fatalf("push to %s: %v, applied %v", acct, err, applied)
		}
	}
	push("a", []string{"r1", "name", `"1"`}, []string{"r2", "name", `"x"`}) // 1 (dead: 3), 2 (dead: 5's deletion)
	push("a", []string{"r1", "name", `"2"`})                                // 3: live
	push("a", []string{"r3"})                                               // 4: no field, dead
	push("a", []string{"r2", model.FieldDeleted, "true"})                   // 5: live
	push("a", []string{"r2", "name", `"y"`})                                // 6: on a deleted record, dead
	push("b", []string{"r1", "name", `"1"`}, []string{"r1", "url", `"u"`})  // 1, 2: live
	db, err := pgstore.Open(ctx, url, pgstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("migrating a database at version 8: %v", err)
	}
	defer db.Close()
	for acct, want := range map[string]syncserver.Usage{
		"a": {Records: 1, Bytes: 3 + 4, Log: 6},
		"b": {Records: 1, Bytes: 3 + 3, Log: 2},
		"c": {},
	} {
		if u, err := db.SyncUsage(ctx, acct); err != nil || u != want {
			t.Fatalf("usage of %s after the migration: %+v, %v; want %+v", acct, u, err, want)
		}
	}
	var zero int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE sync_cursor = 0`).Scan(&zero); err != nil || zero != 3 {
		t.Fatalf("%d sessions with a cursor of 0 after the migration (%v), want the 3 old ones", zero, err)
	}
	since := now.Add(-time.Hour)
	if c, err := db.Compact(ctx, "a", "", 0, since); err != nil || c.LowWater != 0 || c.Dropped != 0 {
		t.Fatalf("compaction with the old sessions at 0: %+v, %v; want nothing dropped", c, err)
	}
	// A session made since has no cursor: it holds nothing back, and the
	// old ones still do.
	exec(`INSERT INTO sessions (id, account_id, token_hash, device_name, created_at, last_seen_at)
		VALUES ('a3', 'a', '\x0a03', 'new', $1, $1)`, now)
	if c, err := db.Compact(ctx, "a", "a1", 6, since); err != nil || c.LowWater != 0 || c.Dropped != 0 {
		t.Fatalf("compaction with a2 still at 0: %+v, %v; want nothing dropped", c, err)
	}
	c, err := db.Compact(ctx, "a", "a2", 6, since)
	if err != nil || c.LowWater != 6 || c.Dropped != 4 || c.Usage.Log != 2 {
		t.Fatalf("compaction once both old sessions reported 6: %+v, %v; want entries 1, 2, 4 and 6 dropped", c, err)
	}
	ch, err := db.Changes(ctx, "a", 0, 100, 1<<20)
	if err != nil || len(ch) != 2 || ch[0].Seq != 3 || ch[1].Seq != 5 {
		t.Fatalf("changes of a after the compaction: %v, %v; want seqs 3 and 5", ch, err)
	}
	if c, err := db.Compact(ctx, "b", "b1", 2, since); err != nil || c.Dropped != 0 || c.Usage.Log != 2 {
		t.Fatalf("compaction of b: %+v, %v; want its two live entries kept", c, err)
	}
	// The push after the migration counts on from the backfilled count.
	res, err := db.Push(ctx, "b", []model.Op{{OpID: "new", Kind: model.KindRequest, ID: "r1", Fields: fields("name", `"2"`)}}, syncserver.Quota{})
	if err != nil || res.Usage.Log != 3 {
		t.Fatalf("push to b after the migration: %+v, %v; want 3 entries", res, err)
	}
}

// TestCompactFindsEveryDeadEntry pushes random ops along every path of
// courier_push (one op, several, several with deletions or ops on
// deleted records, repeats, ops without fields) and compacts at random
// cursors (going back at times, and some rounds not compacting),
// checking each time against the log itself: Compact drops exactly the
// entries at or below the low water that hold no value, and usage_log
// counts what is left.
func TestCompactFindsEveryDeadEntry(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) { compactRandomly(t, seed) })
	}
}

func compactRandomly(t *testing.T, seed uint64) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := pgstore.Open(ctx, url, pgstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	newAccount(t, db, 1)
	const acct, sess = "acct-1", "sess-acct-1"
	since := time.Now().Add(-time.Hour)
	rng := rand.New(rand.NewPCG(seed, 2))
	var opIDs []model.ID
	randomOp := func() model.Op {
		if len(opIDs) > 0 && rng.IntN(10) == 0 { // a repeat (new again if compacted away)
			return model.Op{OpID: opIDs[rng.IntN(len(opIDs))], Kind: model.KindRequest, ID: "r0", Fields: fields("name", `"again"`)}
		}
		id := model.ID(fmt.Sprintf("op%d", len(opIDs)))
		opIDs = append(opIDs, id)
		f := model.Fields{}
		for _, name := range []string{"name", "url", "body"} {
			if rng.IntN(2) == 0 {
				f[name] = []byte(fmt.Sprintf(`"%d"`, rng.IntN(1000)))
			}
		}
		if rng.IntN(80) == 0 {
			f[model.FieldDeleted] = []byte("true")
		}
		return model.Op{OpID: id, Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("r%d", rng.IntN(40))), Fields: f}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	const deadAtOrBelow = `SELECT count(*) FROM sync_log l WHERE l.account_id = $1 AND l.seq <= $2
		AND NOT EXISTS (SELECT 1 FROM sync_fields f WHERE f.account_id = l.account_id AND f.seq = l.seq)`
	// The session's first record is the head: make it before any push.
	if _, err := db.Compact(ctx, acct, sess, 0, since); err != nil {
		t.Fatal(err)
	}
	var dropped int
	for round := range 60 {
		for range 1 + rng.IntN(8) {
			ops := make([]model.Op, 1+rng.IntN(3)*rng.IntN(4))
			for i := range ops {
				ops[i] = randomOp()
			}
			if _, err := db.Push(ctx, acct, ops, syncserver.Quota{}); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(4) == 0 {
			continue
		}
		head, err := db.Head(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		cursor := uint64(rng.Int64N(int64(head) + 1))
		if round%3 == 0 {
			cursor = head
		}
		want := count(deadAtOrBelow, acct, int64(cursor))
		c, err := db.Compact(ctx, acct, sess, cursor, since)
		if err != nil {
			t.Fatal(err)
		}
		dropped += c.Dropped
		if c.LowWater != cursor || c.Dropped != want {
			t.Fatalf("round %d: compaction at %d of head %d = %+v, want %d dropped", round, cursor, head, c, want)
		}
		left := count(`SELECT count(*) FROM sync_log WHERE account_id = $1`, acct)
		if n := count(deadAtOrBelow, acct, int64(cursor)); n != 0 || c.Usage.Log != int64(left) || left+dropped != int(head) {
			t.Fatalf("round %d: %d dead entries left at or below %d; usage %+v, %d entries left, %d dropped of %d",
				round, n, cursor, c.Usage, left, dropped, head)
		}
		// What waits for the low water holds no value and is above it.
		if n := count(`SELECT count(*) FROM sync_dead d WHERE d.seq <= $1 OR EXISTS (
			SELECT 1 FROM sync_fields f WHERE f.account_id = d.account_id AND f.seq = d.seq)`, int64(cursor)); n != 0 {
			t.Fatalf("round %d: %d entries of sync_dead at or below %d or holding a value", round, n, cursor)
		}
		if u, err := db.SyncUsage(ctx, acct); err != nil || u != c.Usage {
			t.Fatalf("round %d: SyncUsage = %+v, %v; compaction said %+v", round, u, err, c.Usage)
		}
	}
	if n := count(`SELECT count(*) FROM sync_fields f WHERE NOT EXISTS (
		SELECT 1 FROM sync_log l WHERE l.account_id = f.account_id AND l.seq = f.seq)`); n != 0 {
		t.Fatalf("%d values lost their log entry", n)
	}
	t.Logf("%d entries dropped of %d", dropped, len(opIDs))
	// Nothing of the account is left behind it.
	if err := db.DeleteAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT (SELECT count(*) FROM sync_log) + (SELECT count(*) FROM sync_fields) + (SELECT count(*) FROM sync_dead)
		+ (SELECT count(*) FROM sessions)`); n != 0 {
		t.Fatalf("%d rows left after the account was deleted", n)
	}
}
