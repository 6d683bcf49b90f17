package boltstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// TestUsageIsRecountedFromAnOlderFile rebuilds an account as an older
// server left it (its usage under the old key, deleted records counted)
// and checks that opening the file recounts the usage without the
// deleted records, kept under the new key from then on.
func TestUsageIsRecountedFromAnOlderFile(t *testing.T) {
	ctx := context.Background()
	const acct = "acct1"
	val := json.RawMessage(`"v"`)
	del := model.Fields{model.FieldDeleted: json.RawMessage("true")}
	ops := []model.Op{
		{OpID: "o1", Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": val}},
		{OpID: "o2", Kind: model.KindRequest, ID: "r2", Fields: model.Fields{"name": val}},
		{OpID: "o3", Kind: model.KindHistory, ID: "h1", Fields: model.Fields{"sent_at": val}},
		{OpID: "o4", Kind: model.KindRequest, ID: "r2", Fields: del},
		{OpID: "o5", Kind: model.KindHistory, ID: "h1", Fields: del},
		{OpID: "o6", Kind: model.KindVariable, ID: "v1", Fields: model.Fields{"name": val}},
	}
	d := openOlderFile(t, acct, 4, func(tx *bbolt.Tx) error {
		if _, err := push(tx, acct, ops, syncserver.Quota{}); err != nil {
			return err
		}
		return tx.Bucket(bSync).Bucket([]byte(acct)).Delete(kUsage)
	})
	// Left: r1 and v1 with a value each, r2 and h1 with _deleted only.
	want := syncserver.Usage{Records: 2, Bytes: 2*int64(len(val)) + 2*4, Log: int64(len(ops))}
	if u, err := d.SyncUsage(ctx, acct); err != nil || u != want {
		t.Fatalf("usage from the older file = %+v, %v; want %+v", u, err, want)
	}
	res, err := d.Push(ctx, acct, []model.Op{{OpID: "o7", Kind: model.KindRequest, ID: "r1", Fields: del}}, syncserver.Quota{})
	if err != nil {
		t.Fatal(err)
	}
	want = syncserver.Usage{Records: 1, Bytes: want.Bytes - int64(len(val)) + 4, Log: want.Log + 1}
	if res.Usage != want {
		t.Fatalf("usage after a push = %+v, want %+v", res.Usage, want)
	}
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSync).Bucket([]byte(acct))
		if b.Get(kOldUsage) != nil || len(b.Get(kUsage)) != 24 {
			t.Errorf("old key %q, new key %q; want only the new one", b.Get(kOldUsage), b.Get(kUsage))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenMigratesDeletedRecords rebuilds a file as an older server left
// it, where a deleted record kept its values, and checks that opening it
// drops them (once), keeps the _deleted value and recounts the usage;
// the values of a live record stay.
func TestOpenMigratesDeletedRecords(t *testing.T) {
	const acct = "acct1"
	put := func(b *bbolt.Bucket, id model.ID, field, v string, seq uint64) error {
		return b.Put(fieldKey(model.KindRequest, id, field), append(u64(seq), v...))
	}
	d := openOlderFile(t, acct, 2, func(tx *bbolt.Tx) error {
		f := tx.Bucket(bSync).Bucket([]byte(acct)).Bucket(sbFields)
		for _, e := range []struct {
			id         model.ID
			field, val string
			seq        uint64
		}{
			{"gone", "body", `"a large body"`, 1}, {"gone", "name", `"n"`, 2}, {"gone", model.FieldDeleted, "true", 3},
			{"kept", "name", `"k"`, 4},
		} {
			if err := put(f, e.id, e.field, e.val, e.seq); err != nil {
				return err
			}
		}
		return nil
	})
	err := d.db.View(func(tx *bbolt.Tx) error {
		f := tx.Bucket(bSync).Bucket([]byte(acct)).Bucket(sbFields)
		var got []string
		_ = f.ForEach(func(k, v []byte) error { got = append(got, string(k)+"="+string(v[8:])); return nil })
		want := []string{"request\x00gone\x00_deleted=true", "request\x00kept\x00name=\"k\""}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("fields after the migration = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := d.SyncUsage(context.Background(), acct); err != nil || u != (syncserver.Usage{Records: 1, Bytes: 4 + 3}) {
		t.Fatalf("usage after the migration = %+v, %v; want 1 record, 7 bytes", u, err)
	}
}

// openOlderFile makes a server file as an older server left it and opens
// it again: account acct, written by build, its usage under the old key
// (records counted as oldRecords, bytes wrong on purpose) and the
// deleted-records migration not done. It closes the file at the end.
func openOlderFile(t *testing.T, acct string, oldRecords uint64, build func(tx *bbolt.Tx) error) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)); err != nil {
			return err
		}
		a, err := syncBucket(tx, acct)
		if err != nil {
			return err
		}
		if err := build(tx); err != nil {
			return err
		}
		if err := a.Put(kOldUsage, append(u64(oldRecords), u64(99)...)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Delete(kDeletedFinal)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(path); err != nil {
		t.Fatalf("opening the older file: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
