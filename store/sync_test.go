package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

func nameOf(t *testing.T, db *store.DB, id model.ID) string {
	t.Helper()
	r, err := db.Get(context.Background(), model.KindRequest, id)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	var s string
	_ = json.Unmarshal(r.Fields["name"], &s)
	return s
}

func nameChange(seq uint64, id model.ID, name string, opID model.ID) model.Change {
	b, _ := json.Marshal(name)
	return model.Change{Seq: seq, Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": b}, OpID: opID}
}

func pendingIDs(t *testing.T, db *store.DB) []model.ID {
	t.Helper()
	ops, err := db.PendingOps(context.Background(), 0)
	must(t, err)
	var out []model.ID
	for _, op := range ops {
		out = append(out, op.OpID)
	}
	return out
}

func TestLocalOpsWaitInTheOutboxUntilEchoed(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	if on, err := db.SyncEnabled(ctx); !on || err != nil {
		t.Fatalf("SyncEnabled = %v, %v", on, err)
	}
	id := model.NewID()
	mine := nameOp(id, "mine")
	must(t, db.Apply(ctx, mine))
	if got := pendingIDs(t, db); !equalIDs(got, []model.ID{mine.OpID}) {
		t.Fatalf("pending = %v; want the op", got)
	}

	// Another device's edit arrives first: it goes under the pending op.
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(4, id, "theirs", "")}, 4))
	if got := nameOf(t, db, id); got != "mine" {
		t.Errorf("with our op pending, name = %q; want mine", got)
	}
	// Our op's echo (seq 5) is the ack and wins in server order.
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(5, id, "mine", mine.OpID)}, 5))
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount after the echo = %d; want 0", n)
	}
	if c, _ := db.Cursor(ctx); c != 5 {
		t.Errorf("Cursor = %d; want 5", c)
	}
	if got := nameOf(t, db, id); got != "mine" {
		t.Errorf("after the echo, name = %q; want mine", got)
	}
}

func TestALostAckNeverLosesALaterServerValue(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	id := model.NewID()
	mine := nameOp(id, "mine")
	must(t, db.Apply(ctx, mine))
	// The server applied our op as seq 7, another device overwrote the
	// name at seq 8, and our connection dropped before any echo or ack.
	// On reconnect the stream sends only the surviving value (seq 8):
	// our op stays pending and still shows...
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(8, id, "theirs", "")}, 8))
	if got := nameOf(t, db, id); got != "mine" {
		t.Errorf("before the ack, name = %q; want mine", got)
	}
	// ...until the retried push is acked as a duplicate: then the server's
	// later value shows.
	must(t, db.AckOps(ctx, []model.ID{mine.OpID, "unknown-op"}))
	if got := nameOf(t, db, id); got != "theirs" {
		t.Errorf("after the ack, name = %q; want theirs", got)
	}
}

func TestServerChangesAreIdempotentAndTheCursorNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	id := model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, id, "a", ""), nameChange(2, id, "b", "")}, 2))
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, id, "a", "")}, 1)) // the same page again
	if got := nameOf(t, db, id); got != "b" {
		t.Errorf("after a repeated old page, name = %q; want b", got)
	}
	if c, _ := db.Cursor(ctx); c != 2 {
		t.Errorf("Cursor = %d; want 2", c)
	}
	bad := nameChange(3, id, "c", "")
	bad.Fields["colour"] = json.RawMessage(`1`)
	if err := db.ApplyServerChanges(ctx, []model.Change{nameChange(3, id, "c", ""), bad}, 3); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("a page with a bad change = %v; want ErrInvalid", err)
	}
	if got, c := nameOf(t, db, id), must2(db.Cursor(ctx)); got != "b" || c != 2 {
		t.Errorf("after a refused page: name %q, cursor %d; want b, 2", got, c)
	}
}

func must2[T any](v T, _ error) T { return v }

func TestALargePageWithBadChangesNamesTheFirstAndAppliesNothing(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	page := make([]model.Change, 3000)
	for i := range page {
		page[i] = nameChange(uint64(i+1), model.NewID(), fmt.Sprintf("r%d", i), "")
	}
	for _, i := range []int{2900, 1600, 700} {
		page[i].Fields = model.Fields{"name": json.RawMessage(`{"unclosed":`)}
	}
	err := db.ApplyServerChanges(ctx, page, 3000)
	if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "server change 700 ") {
		t.Fatalf("a page bad at 700, 1600 and 2900 = %v; want ErrInvalid naming change 700", err)
	}
	if c := must2(db.Cursor(ctx)); c != 0 {
		t.Errorf("cursor %d after a refused page; want 0", c)
	}
	if recs, err := db.List(ctx, model.KindRequest); err != nil || len(recs) != 0 {
		t.Errorf("after a refused page: %d requests, %v; want none", len(recs), err)
	}
}

func TestQueueAllLocalQueuesEveryVisibleRecordOnceAndTurnsSyncOn(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	ops := sampleOps(t)
	must(t, db.Apply(ctx, ops...))
	must(t, db.Apply(ctx, model.DeleteOp(ops[0].Kind, ops[0].ID)))
	n, err := db.QueueAllLocal(ctx)
	if err != nil || n != len(ops)-1 {
		t.Fatalf("QueueAllLocal = %d, %v; want %d", n, err, len(ops)-1)
	}
	if on, _ := db.SyncEnabled(ctx); !on {
		t.Error("QueueAllLocal left sync off")
	}
	pending, _ := db.PendingOps(ctx, 0)
	seen := map[model.ID]bool{}
	for _, op := range pending {
		seen[op.ID] = true
		r, err := db.Get(ctx, op.Kind, op.ID)
		if err != nil || !sameFields(r.Fields, op.Fields) {
			t.Errorf("queued %s %s carries %v; visible is %v (%v)", op.Kind, op.ID, op.Fields, r.Fields, err)
		}
	}
	if seen[ops[0].ID] || len(seen) != len(ops)-1 {
		t.Errorf("queued records %v; want every record but the deleted one", seen)
	}
	if first, _ := db.PendingOps(ctx, 2); len(first) != 2 || first[0].OpID != pending[0].OpID {
		t.Errorf("PendingOps(2) = %v; want the first two", first)
	}
}

func TestTurningSyncOffFoldsTheOutboxIntoConfirmed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.SetSyncEnabled(ctx, true))
	id := model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(3, id, "server", "")}, 3))
	must(t, db.Apply(ctx, nameOp(id, "local")))
	must(t, db.SetSyncEnabled(ctx, false))
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount = %d; want 0", n)
	}
	if c, _ := db.Cursor(ctx); c != 0 {
		t.Errorf("Cursor = %d; want 0", c)
	}
	must(t, db.Close())
	db = openStore(t, dir)
	if got := nameOf(t, db, id); got != "local" {
		t.Errorf("name = %q; want the folded local value", got)
	}
	must(t, db.Apply(ctx, nameOp(id, "offline")))
	if n, _ := db.PendingCount(ctx); n != 0 || nameOf(t, db, id) != "offline" {
		t.Errorf("without sync, a write queued %d ops / shows %q", n, nameOf(t, db, id))
	}
}

func TestApplyRefusesAnOpIDAlreadyPending(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	op := nameOp(model.NewID(), "x")
	must(t, db.Apply(ctx, op))
	if err := db.Apply(ctx, op); !errors.Is(err, model.ErrConflict) {
		t.Errorf("the same op twice = %v; want ErrConflict", err)
	}
}

func TestEnablingSyncWithLocalRecordsAsksForAChoice(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	ops := sampleOps(t)
	must(t, db.Apply(ctx, ops...))
	if err := db.SetSyncEnabled(ctx, true); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("SetSyncEnabled(true) with local records = %v; want ErrConflict", err)
	}
	if on, _ := db.SyncEnabled(ctx); on {
		t.Fatal("sync turned on despite the conflict")
	}

	// Keep aside: copy, then discard.
	aside := t.TempDir()
	must(t, db.CopyTo(ctx, filepath.Join(aside, store.FileName)))
	var c collector
	defer db.Subscribe(c.add)()
	must(t, db.DiscardLocal(ctx))
	if got := c.waitFor(t, 1); len(got[0].Keys) != len(ops) {
		t.Errorf("DiscardLocal notified %v; want the %d records", got[0].Keys, len(ops))
	}
	for _, op := range ops {
		if _, err := db.Get(ctx, op.Kind, op.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("%s after DiscardLocal: %v; want ErrNotFound", op.Kind, err)
		}
	}
	if n, _ := db.HistoryCount(ctx); n != 0 {
		t.Errorf("HistoryCount after DiscardLocal = %d", n)
	}
	must(t, db.SetSyncEnabled(ctx, true))
	kept := openStore(t, aside)
	if list, _ := kept.List(ctx, model.KindRequest); len(list) != 1 {
		t.Errorf("the copy kept aside holds %d requests; want 1", len(list))
	}
}

func TestMergedLocalTombstonesDoNotHideServerRecords(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	id := model.NewID()
	must(t, db.Apply(ctx, nameOp(id, "local")))
	must(t, db.Apply(ctx, model.DeleteOp(model.KindRequest, id)))
	must(t, db.Apply(ctx, nameOp(model.NewID(), "kept")))
	if n, err := db.QueueAllLocal(ctx); n != 1 || err != nil {
		t.Fatalf("QueueAllLocal = %d, %v; want 1", n, err)
	}
	// The server knows the record from elsewhere; our local delete never
	// reached it, so the server's record must show.
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, id, "server", "")}, 1))
	if got := nameOf(t, db, id); got != "server" {
		t.Errorf("name = %q; want the server's record", got)
	}
}

// TestPendingDeletionsAreThoseOfRecordsTheServerHolds checks the ops the
// sync engine pushes ahead of the outbox to make room in the quota: the
// deletions of records confirmed live, oldest first, and no others.
func TestPendingDeletionsAreThoseOfRecordsTheServerHolds(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	held, held2, gone, local := model.NewID(), model.NewID(), model.NewID(), model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{
		nameChange(1, held, "on the server", ""),
		nameChange(2, held2, "on the server too", ""),
		nameChange(3, gone, "deleted on the server", ""),
		{Seq: 4, Kind: model.KindRequest, ID: gone, Fields: model.Fields{model.FieldDeleted: json.RawMessage("true")}},
	}, 4))
	if dels, err := db.PendingDeletions(ctx); err != nil || len(dels) != 0 {
		t.Fatalf("with nothing pending: %v, %v", dels, err)
	}
	ops := []model.Op{
		nameOp(local, "made here"),                       // a new record...
		model.DeleteOp(model.KindRequest, local),         // ...deleted before it was pushed
		nameOp(held2, "edited"),                          // an edit
		model.DeleteOp(model.KindRequest, held2),         // a deletion of a record the server holds
		model.DeleteOp(model.KindRequest, gone),          // of a record deleted there already
		model.DeleteOp(model.KindRequest, held),          // another
		model.DeleteOp(model.KindHistory, model.NewID()), // of a record the server never had
	}
	must(t, db.Apply(ctx, ops...))
	dels, err := db.PendingDeletions(ctx)
	must(t, err)
	var got []model.ID
	for _, op := range dels {
		got = append(got, op.OpID)
	}
	if want := []model.ID{ops[3].OpID, ops[5].OpID}; !equalIDs(got, want) {
		t.Fatalf("pending deletions = %v; want %v (of held2, then held)", got, want)
	}
	// The outbox itself is left in order.
	if got := pendingIDs(t, db); len(got) != len(ops) || got[0] != ops[0].OpID || got[6] != ops[6].OpID {
		t.Fatalf("outbox = %v", got)
	}
}
