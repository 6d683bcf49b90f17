package syncclient_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
)

// TestAtTheQuotaDeletionsMakeRoomThatPushesFill: an account at its
// records quota, and a device that made 300 requests offline, then
// deleted 5 of the account's as the quota error tells. The deletions
// reach the server although they are queued behind the new requests, and
// the new requests fill the room they made, in outbox order, and no
// more: the rest stay pending, and the error stays. Both as `courier
// sync` does it (Once) and as the app does (Run, retrying).
func TestAtTheQuotaDeletionsMakeRoomThatPushesFill(t *testing.T) {
	t.Run("once", func(t *testing.T) { testQuotaFill(t, false) })
	t.Run("run", func(t *testing.T) { testQuotaFill(t, true) })
}

func testQuotaFill(t *testing.T, run bool) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{Sync: syncserver.SyncConfig{Quota: syncserver.Quota{Records: 10}}})
	acct := srv.NewAccount(t, "dee")
	d := newDevice(t, acct, "a")
	old := make([]model.ID, 10)
	for i := range old {
		old[i] = model.NewID()
		d.apply(reqOp(old[i], fmt.Sprintf("old %d", i)))
	}
	if _, err := d.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	made := make([]model.ID, 300)
	for i := range made {
		made[i] = model.NewID()
		d.apply(reqOp(made[i], fmt.Sprintf("new %d", i)))
	}
	for _, id := range old[:5] {
		d.apply(model.DeleteOp(model.KindRequest, id))
	}

	if run {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// It retries; between tries the status gives the quota's advice.
		waitFor(t, "the room filled and the quota's advice", func() bool {
			n, _ := d.db.PendingCount(ctx)
			st := d.sync.Status()
			return n <= 295 && st.State == app.SyncFailed && strings.Contains(st.Why, "delete some records")
		})
		d.sync.Stop()
	}
	for try := range 2 { // nothing more fits
		_, err := d.sync.Once(ctx)
		if !errors.Is(err, model.ErrTooLarge) || !strings.Contains(err.Error(), "quota") {
			t.Fatalf("sync %d: %v; want the quota error", try, err)
		}
		if strings.Contains(err.Error(), "4413") { // the close code is for programs
			t.Fatalf("sync %d: %q tells the close code", try, err)
		}
		if st := d.sync.Status(); st.State != app.SyncFailed || !strings.Contains(st.Why, "delete some records") {
			t.Fatalf("sync %d: status %+v; want the quota's advice", try, st)
		}
		if n, err := d.db.PendingCount(ctx); err != nil || n != 295 {
			t.Fatalf("sync %d: %d pending (%v); want the 295 new requests past the quota", try, n, err)
		}
	}

	live, deleted := serverRecords(t, srv, acct, 10)
	for i, id := range old {
		if deleted[id] != (i < 5) {
			t.Errorf("old request %d: deleted on the server = %v", i, deleted[id])
		}
	}
	for i, id := range made {
		if live[id] != (i < 5) {
			t.Errorf("new request %d: on the server = %v; want the first 5 only", i, live[id])
		}
	}
	// The device still shows everything it made.
	if _, err := d.db.Get(ctx, model.KindRequest, made[299]); err != nil {
		t.Errorf("the last new request, pending: %v", err)
	}

	// Deleting the 10 records the server holds makes room for 10 more.
	for _, id := range slices.Concat(old[5:], made[:5]) {
		d.apply(model.DeleteOp(model.KindRequest, id))
	}
	if _, err := d.sync.Once(ctx); !errors.Is(err, model.ErrTooLarge) {
		t.Fatalf("sync after making room: %v; want the quota error again", err)
	}
	if n, err := d.db.PendingCount(ctx); err != nil || n != 285 {
		t.Fatalf("after making room: %d pending (%v); want 285", n, err)
	}
	live, deleted = serverRecords(t, srv, acct, 10)
	for i, id := range made {
		if want := i >= 5 && i < 15; live[id] != want || deleted[id] != (i < 5) {
			t.Errorf("new request %d: on the server = %v, deleted = %v", i, live[id], deleted[id])
		}
	}
}

// serverRecords returns the records of acct's stream that hold a value
// and those deleted, after checking that the server counts want live
// records.
func serverRecords(t *testing.T, srv *servertest.Server, acct *servertest.Account, want int64) (live, deleted map[model.ID]bool) {
	t.Helper()
	ctx := context.Background()
	server, err := srv.Storage().AccountByEmail(ctx, acct.Email)
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.Storage().SyncUsage(ctx, server.ID)
	if err != nil || u.Records != want {
		t.Fatalf("the server counts %d records (%v); want %d", u.Records, err, want)
	}
	changes, err := srv.Storage().Changes(ctx, server.ID, 0, 100_000, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	live, deleted = map[model.ID]bool{}, map[model.ID]bool{}
	for _, c := range changes {
		if _, del := c.Fields[model.FieldDeleted]; del {
			deleted[c.ID], live[c.ID] = true, false
		} else if len(c.Fields) > 0 && !deleted[c.ID] {
			live[c.ID] = true
		}
	}
	return live, deleted
}
