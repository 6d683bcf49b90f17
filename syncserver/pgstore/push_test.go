package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

// pushStep is one op pushed to both accounts of
// TestShortPushMatchesGeneralPush, with the quota it is pushed under.
type pushStep struct {
	name   string
	op     model.Op
	quota  syncserver.Quota
	refuse bool // the quota refuses it
}

func fields(kv ...string) model.Fields {
	f := model.Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = []byte(kv[i+1])
	}
	return f
}

// TestShortPushMatchesGeneralPush pushes each op alone to one account
// (courier_push's short path for one op) and, to another account, that
// op followed by a repeat of it (the general path, which skips the
// repeat), and checks that both give the same heads, usage, refusals and
// changes.
func TestShortPushMatchesGeneralPush(t *testing.T) {
	db := openTest(t, pgstore.Options{})
	defer db.Close()
	ctx := context.Background()
	short, general := "acct-900", "acct-901"
	newAccount(t, db, 900)
	newAccount(t, db, 901)
	op := func(opID, rec string, f model.Fields) model.Op {
		return model.Op{OpID: model.ID(opID), Kind: model.KindRequest, ID: model.ID(rec), Fields: f}
	}
	steps := []pushStep{
		{name: "a new record with two fields", op: op("o1", "r1", fields("name", `"aaaa"`, "url", `"bb"`))},
		{name: "a field replaced by a shorter value", op: op("o2", "r1", fields("name", `"c"`))},
		{name: "a field added to a record", op: op("o3", "r1", fields("body", `"body"`))},
		{name: "an op without fields", op: op("o4", "r2", fields())},
		{name: "a second record", op: op("o5", "r2", fields("name", `"x"`))},
		{name: "an op applied before", op: op("o2", "r1", fields("name", `"changed"`))},
		{name: "a new record past the records quota", op: op("o6", "r3", fields("name", `"y"`)),
			quota: syncserver.Quota{Records: 2}, refuse: true},
		{name: "growth past the bytes quota", op: op("o7", "r1", fields("name", `"longer value"`)),
			quota: syncserver.Quota{Bytes: 20}, refuse: true},
		{name: "a shrink under an exceeded quota", op: op("o8", "r1", fields("url", `""`)),
			quota: syncserver.Quota{Bytes: 1}},
		{name: "a record over the records quota that exists", op: op("o9", "r2", fields("url", `"u"`)),
			quota: syncserver.Quota{Records: 1}},
		{name: "a deletion", op: op("o10", "r2", fields(model.FieldDeleted, "true"))},
		{name: "a deleted record edited", op: op("o11", "r2", fields("name", `"z"`))},
		{name: "a record made and deleted in one op", op: op("o12", "r4", fields("name", `"w"`, model.FieldDeleted, "true"))},
		{name: "a new record at the records quota after a deletion", op: op("o13", "r5", fields("name", `"v"`)),
			quota: syncserver.Quota{Records: 2}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			a, errA := db.Push(ctx, short, []model.Op{s.op}, s.quota)
			b, errB := db.Push(ctx, general, []model.Op{s.op, s.op}, s.quota)
			if refused := errors.Is(errA, syncserver.ErrQuotaExceeded); refused != s.refuse || (errA == nil) != (errB == nil) ||
				refused != errors.Is(errB, syncserver.ErrQuotaExceeded) {
				t.Fatalf("short push: %v; general push: %v; want refused %v by both", errA, errB, s.refuse)
			}
			if errA != nil {
				return
			}
			if a.Head != b.Head || a.Usage != b.Usage {
				t.Fatalf("short push gives head %d usage %+v; general push head %d usage %+v", a.Head, a.Usage, b.Head, b.Usage)
			}
			wantDup := []model.ID{s.op.OpID} // the general push repeats its op
			if len(a.Dup) > 0 {
				wantDup = append(wantDup, s.op.OpID)
			}
			if !reflect.DeepEqual(b.Dup, wantDup) {
				t.Fatalf("general push Dup = %v, want %v (short push Dup %v)", b.Dup, wantDup, a.Dup)
			}
		})
	}
	ca, err := db.Changes(ctx, short, 0, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := db.Changes(ctx, general, 0, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ca, cb) || len(ca) == 0 {
		t.Fatalf("changes differ:\nshort   %v\ngeneral %v", ca, cb)
	}
}

// TestMigrationCountsLiveRecords rebuilds a database as it was before
// migrations 6 and 7 (usage counting deleted records, which kept their
// values) and checks that they drop the values of deleted records and
// recount every account's usage without the deleted records.
func TestMigrationCountsLiveRecords(t *testing.T) {
	url := pgtest.URL(t)
	db, err := pgstore.Open(context.Background(), url, pgstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newAccount(t, db, 910)
	newAccount(t, db, 911)
	del := fields(model.FieldDeleted, "true")
	ops := []model.Op{
		{OpID: "o1", Kind: model.KindRequest, ID: "r1", Fields: fields("name", `"a"`)},
		{OpID: "o2", Kind: model.KindRequest, ID: "r2", Fields: fields("name", `"b"`)},
		{OpID: "o3", Kind: model.KindHistory, ID: "h1", Fields: fields("sent_at", `"x"`)},
		{OpID: "o4", Kind: model.KindRequest, ID: "r2", Fields: del},
		{OpID: "o5", Kind: model.KindHistory, ID: "h1", Fields: del},
	}
	if _, err := db.Push(ctx, "acct-910", ops, syncserver.Quota{}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// As an older server left it: every record counted, a deleted record
	// with its values, migrations 6 and later not applied.
	pgtest.Exec(t, url, `UPDATE accounts SET usage_records = CASE id WHEN 'acct-910' THEN 3 ELSE 7 END, usage_bytes = 1000`)
	pgtest.Exec(t, url, `INSERT INTO sync_fields (account_id, kind, record_id, field, seq, value)
		VALUES ('acct-910', 'request', 'r2', 'body', 2, '"a body kept by an older server"')`)
	pgtest.Exec(t, url, `DELETE FROM schema_migrations WHERE version >= 6`)
	pgtest.Exec(t, url, `DROP TABLE sync_gaps`) // 0008, newer still
	// And 0009's.
	pgtest.Exec(t, url, `DROP TABLE sync_dead`)
	pgtest.Exec(t, url, `ALTER TABLE sync_log DROP COLUMN kills`)
	pgtest.Exec(t, url, `ALTER TABLE accounts DROP COLUMN usage_log, DROP COLUMN sync_compacted`)
	pgtest.Exec(t, url, `ALTER TABLE sessions DROP COLUMN sync_cursor`)
	// 0007 and 0009 changed courier_push's results; 0006 replaces 0004's.
	pgtest.Exec(t, url, `DROP FUNCTION courier_push(text, text[], text[], text[], integer[], text[], bytea[], bigint, bigint, bigint)`)
	db, err = pgstore.Open(ctx, url, pgstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	defer db.Close()
	// Left: r1's name and the two _deleted values, and the 5 entries.
	for acct, want := range map[string]syncserver.Usage{"acct-910": {Records: 1, Bytes: 3 + 4 + 4, Log: 5}, "acct-911": {}} {
		if u, err := db.SyncUsage(ctx, acct); err != nil || u != want {
			t.Fatalf("%s after the migrations: %+v, %v; want %+v", acct, u, err, want)
		}
	}
	ch, err := db.Changes(ctx, "acct-910", 0, 100, 1<<20)
	if err != nil || len(ch) != 5 || len(ch[1].Fields) != 0 {
		t.Fatalf("changes after the migrations: %v, %v; want r2's first change to carry no field", ch, err)
	}
}
