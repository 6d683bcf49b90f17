package boltstore

import (
	"context"
	"encoding/json"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// TestUsageIsRecountedFromAnOlderFile rebuilds an account as an older
// server left it (its usage under the old key, deleted records counted)
// and checks that the usage is recounted without the deleted records,
// and kept under the new key from the next push on.
func TestUsageIsRecountedFromAnOlderFile(t *testing.T) {
	d := openTestDB(t)
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
	err := d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)); err != nil {
			return err
		}
		if _, err := push(tx, acct, ops, syncserver.Quota{}); err != nil {
			return err
		}
		b := tx.Bucket(bSync).Bucket([]byte(acct))
		if err := b.Delete(kUsage); err != nil {
			return err
		}
		return b.Put(kOldUsage, append(u64(4), u64(99)...))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := syncserver.Usage{Records: 2, Bytes: 4*int64(len(val)) + 2*4}
	if u, err := d.SyncUsage(ctx, acct); err != nil || u != want {
		t.Fatalf("usage from the older file = %+v, %v; want %+v", u, err, want)
	}
	res, err := d.Push(ctx, acct, []model.Op{{OpID: "o7", Kind: model.KindRequest, ID: "r1", Fields: del}}, syncserver.Quota{})
	if err != nil {
		t.Fatal(err)
	}
	want = syncserver.Usage{Records: 1, Bytes: want.Bytes + 4}
	if res.Usage != want {
		t.Fatalf("usage after a push = %+v, want %+v", res.Usage, want)
	}
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSync).Bucket([]byte(acct))
		if b.Get(kOldUsage) != nil || len(b.Get(kUsage)) != 16 {
			t.Errorf("after a push: old key %q, new key %q; want only the new one", b.Get(kOldUsage), b.Get(kUsage))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
