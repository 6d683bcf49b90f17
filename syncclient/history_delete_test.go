package syncclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver/servertest"
)

// TestADeletedHistoryEntryLeavesNoBodyOnTheServer deletes a synced history
// entry with a large response: the server drops the body (the account's
// usage falls back, so pruned history never fills the quota), and a new
// device's first sync downloads a tombstone only.
func TestADeletedHistoryEntryLeavesNoBodyOnTheServer(t *testing.T) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "ann")
	server, err := srv.Storage().AccountByEmail(ctx, acct.Email)
	if err != nil {
		t.Fatal(err)
	}
	usage := func() int64 {
		t.Helper()
		u, err := srv.Storage().SyncUsage(ctx, server.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Bytes
	}
	a := newDevice(t, acct, "a")
	id := model.NewID()
	body := strings.Repeat("x", 100<<10)
	a.apply(model.Op{OpID: model.NewID(), Kind: model.KindHistory, ID: id, Fields: model.Fields{
		"sent_at":  json.RawMessage(`"2026-11-27T00:00:00Z"`),
		"request":  json.RawMessage(`{"method":"GET","url":"https://example.com/big"}`),
		"response": json.RawMessage(fmt.Sprintf(`{"status":200,"body":%q}`, body)),
	}})
	if _, err := a.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n := usage(); n < 100<<10 {
		t.Fatalf("usage with the entry: %d bytes, want its 100 KiB body", n)
	}
	a.apply(model.DeleteOp(model.KindHistory, id))
	if _, err := a.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n := usage(); n > 4<<10 {
		t.Fatalf("usage after the delete: %d bytes, want the body gone", n)
	}
	// The stream a new device reads carries no value of the body.
	changes, err := srv.Storage().Changes(ctx, server.ID, 0, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		for f, v := range c.Fields {
			if len(v) > 1<<10 {
				t.Fatalf("change %d still carries %d bytes of %s", c.Seq, len(v), f)
			}
		}
	}
	b := newDevice(t, acct, "b")
	if _, err := b.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Get(ctx, model.KindHistory, id); err == nil {
		t.Fatal("the new device shows the deleted entry")
	}
}
