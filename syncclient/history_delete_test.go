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

// TestANewDeviceHearsNothingOfDeletedRecords deletes most of an account's
// history: a new device pulls the live entries only, shows the same state
// as the device that deleted them, and a copy of a deleted request that a
// profile merges into the account (it kept the request while signed out)
// disappears once synced, as it did everywhere else.
func TestANewDeviceHearsNothingOfDeletedRecords(t *testing.T) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "dee")
	a := newDevice(t, acct, "a")
	const entries, kept = 200, 10
	var ids []model.ID
	for i := range entries {
		id := model.NewID()
		ids = append(ids, id)
		a.apply(model.Op{OpID: model.NewID(), Kind: model.KindHistory, ID: id, Fields: model.Fields{
			"sent_at": json.RawMessage(`"2026-11-27T00:00:00Z"`),
			"request": json.RawMessage(fmt.Sprintf(`{"method":"GET","url":"https://example.com/%d"}`, i)),
		}})
	}
	req := model.NewID()
	a.apply(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: req, Fields: model.Fields{"name": json.RawMessage(`"gone"`)}})
	if _, err := a.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// A profile that synced the request, then signed out keeping its data.
	c := newDevice(t, acct, "c")
	if _, err := c.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.sync.SetEnabled(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[kept:] {
		a.apply(model.DeleteOp(model.KindHistory, id))
	}
	a.apply(model.DeleteOp(model.KindRequest, req))
	if _, err := a.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	b := newDevice(t, acct, "b")
	sum, err := b.sync.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pulled > kept+1 {
		t.Errorf("the new device pulled %d changes for %d live records", sum.Pulled, kept)
	}
	if got, want := b.state(), a.state(); servertest.StateDiff(got, want) != "" {
		t.Errorf("the new device differs from the one that deleted:\n%s", servertest.StateDiff(got, want))
	}
	// The signed-out profile merges its copy (the request included) back.
	if err := c.sync.SetEnabled(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Get(ctx, model.KindRequest, req); err == nil {
		t.Error("the merged copy of the deleted request is still shown")
	}
	if got, want := c.state(), a.state(); servertest.StateDiff(got, want) != "" {
		t.Errorf("the merged profile differs:\n%s", servertest.StateDiff(got, want))
	}
}
