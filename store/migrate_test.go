package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// TestOpenMigratesASchema1File builds, by hand, a file as schema 1 wrote
// it (no history index) and checks that Open brings it to the current
// schema with its history listed.
func TestOpenMigratesASchema1File(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, req := model.NewID(), model.NewID()
	newer := model.NewID()
	b, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		for _, name := range bucketsV1 {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		put := func(kind model.Kind, id model.ID, f model.Fields) {
			for _, name := range [][]byte{bucketConfirmed, bucketVisible} {
				_ = tx.Bucket(name).Put(recKey(kind, id), encodeFields(f))
			}
		}
		put(model.KindHistory, old, model.Fields{"request": json.RawMessage(`{"method":"GET","url":"https://old/"}`)})
		put(model.KindHistory, newer, model.Fields{"request": json.RawMessage(`{"method":"POST","url":"https://new/"}`), "response": json.RawMessage(`{"status":201,"timings":{"total":5}}`)})
		put(model.KindRequest, req, model.Fields{"name": json.RawMessage(`"r"`)})
		return tx.Bucket(bucketMeta).Put(metaSchema, u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second open finds nothing to do
		db, err := Open(ctx, dir, Options{Timeout: time.Second})
		if err != nil {
			t.Fatalf("Open a schema 1 file: %v", err)
		}
		got, err := db.History(ctx, app.HistoryQuery{})
		if err != nil || len(got) != 2 || got[0].ID != newer || got[0].Status != 201 || got[1].URL != "https://old/" {
			t.Errorf("History after migration = %+v, %v", got, err)
		}
		if n, err := db.HistoryCount(ctx); n != 2 || err != nil {
			t.Errorf("HistoryCount = %d, %v; want 2", n, err)
		}
		if _, err := db.Get(ctx, model.KindRequest, req); err != nil {
			t.Errorf("request after migration: %v", err)
		}
		var v uint64
		_ = db.bolt.View(func(tx *bbolt.Tx) error { v, _ = getU64(tx.Bucket(bucketMeta).Get(metaSchema)); return nil })
		if v != schemaVersion {
			t.Errorf("schema after Open = %d; want %d", v, schemaVersion)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEveryOlderSchemaHasAMigration(t *testing.T) {
	for v := uint64(1); v < schemaVersion; v++ {
		if migrations[v] == nil {
			t.Errorf("no migration from schema %d", v)
		}
	}
}
