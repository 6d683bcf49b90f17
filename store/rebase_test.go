package store_test

import (
	"context"
	"encoding/json"
	stdmaps "maps"
	"slices"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// change is a server change of request id writing fields (name -> JSON
// string) at seq.
func change(seq uint64, id model.ID, fields map[string]string) model.Change {
	f := model.Fields{}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	return model.Change{Seq: seq, Kind: model.KindRequest, ID: id, Fields: f}
}

// pendingFields returns the fields each pending op writes, by record,
// values decoded, in outbox order.
func pendingByRecord(t *testing.T, db *store.DB) map[model.ID][]map[string]string {
	t.Helper()
	ops, err := db.PendingOps(context.Background(), 0)
	must(t, err)
	out := map[model.ID][]map[string]string{}
	for _, op := range ops {
		m := map[string]string{}
		for k, v := range op.Fields {
			var s string
			_ = json.Unmarshal(v, &s)
			m[k] = s
		}
		out[op.ID] = append(out[op.ID], m)
	}
	return out
}

func visibleState(t *testing.T, db *store.DB) map[model.ID]string {
	t.Helper()
	rs, err := db.List(context.Background(), model.KindRequest)
	must(t, err)
	out := map[model.ID]string{}
	for _, r := range rs {
		b, _ := json.Marshal(r.Fields)
		out[r.ID] = string(b)
	}
	return out
}

// A device whose cursor (10) the restored server lost starts over: of
// what it had confirmed, only what the server lacks is pushed again. A
// field the server holds alike, or wrote after the restore (past the
// cursor), is left to the server; the ops that were pending stay whole,
// after the rebase ops, and what the user sees never changes.
func TestRebasePushesOnlyWhatTheRestoredServerLost(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	same, lostEdit, edited, lost, gone := model.NewID(), model.NewID(), model.NewID(), model.NewID(), model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{
		change(1, same, map[string]string{"name": "same", "url": "https://a"}),
		change(2, lostEdit, map[string]string{"name": "old", "url": "https://b"}),
		change(3, edited, map[string]string{"name": "before", "url": "https://c"}),
		change(4, gone, map[string]string{"name": "gone"}),
		change(8, lostEdit, map[string]string{"name": "lost edit"}), // after the backup
		change(9, lost, map[string]string{"name": "lost"}),          // after the backup
	}, 10))
	mine := nameOp(edited, "mine, pending")
	must(t, db.Apply(ctx, mine))
	before := visibleState(t, db)

	n, err := db.Rebase(ctx, 10)
	must(t, err)
	if n != 5 {
		t.Errorf("Rebase queued %d ops; want one per confirmed record, 5", n)
	}
	if c, err := db.Cursor(ctx); err != nil || c != 0 {
		t.Fatalf("cursor after Rebase = %d, %v; want 0", c, err)
	}
	if got := visibleState(t, db); !stdmaps.Equal(got, before) {
		t.Fatalf("Rebase changed what the user sees:\n got %v\nwant %v", got, before)
	}
	if ids := pendingIDs(t, db); len(ids) != 6 || ids[5] != mine.OpID {
		t.Fatalf("pending after Rebase = %v; want the 5 rebase ops, then the pending op", ids)
	}

	// The restored server streams its state: the backup held seqs up to
	// 4; another device then wrote edited's url and deleted gone, at
	// seqs past the gap the restore left.
	const gap = 1 << 40
	must(t, db.ApplyServerChanges(ctx, []model.Change{
		change(1, same, map[string]string{"name": "same", "url": "https://a"}),
		change(2, lostEdit, map[string]string{"name": "old", "url": "https://b"}),
		change(3, edited, map[string]string{"name": "before"}),
		change(4, gone, map[string]string{"name": "gone"}),
		change(gap+5, edited, map[string]string{"url": "https://c2"}),
		{Seq: gap + 6, Kind: model.KindRequest, ID: gone, Fields: model.Fields{model.FieldDeleted: json.RawMessage(`true`)}},
	}, gap+6))

	got := pendingByRecord(t, db)
	want := map[model.ID][]map[string]string{
		lostEdit: {{"name": "lost edit"}},     // the restore lost it
		lost:     {{"name": "lost"}},          // the whole record
		edited:   {{"name": "mine, pending"}}, // the pending op alone
	}
	if len(got) != len(want) {
		t.Errorf("pending records = %v; want %v", got, want)
	}
	for id, ops := range want {
		if !slices.EqualFunc(got[id], ops, stdmaps.Equal) {
			t.Errorf("pending ops of %s = %v; want %v", id, got[id], ops)
		}
	}
	if got := nameOf(t, db, lostEdit); got != "lost edit" {
		t.Errorf("lostEdit's name = %q; want the device's, lost edit", got)
	}
	if got := nameOf(t, db, edited); got != "mine, pending" {
		t.Errorf("edited's name = %q; want the pending edit", got)
	}
	r, err := db.Get(ctx, model.KindRequest, edited)
	must(t, err)
	if string(r.Fields["url"]) != `"https://c2"` {
		t.Errorf("edited's url = %s; want the server's edit since the restore", r.Fields["url"])
	}
	if _, err := db.Get(ctx, model.KindRequest, gone); err == nil {
		t.Error("a record deleted since the restore is still visible")
	}

	// The pushes are echoed: nothing pending, nothing left of the rebase.
	var echo []model.Change
	ops, err := db.PendingOps(ctx, 0)
	must(t, err)
	for i, op := range ops {
		echo = append(echo, model.Change{Seq: gap + 7 + uint64(i), Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID})
	}
	must(t, db.ApplyServerChanges(ctx, echo, gap+6+uint64(len(echo))))
	if ids := pendingIDs(t, db); len(ids) != 0 {
		t.Errorf("pending after the echoes = %v", ids)
	}
	// A later change to a record that had a rebase op is an ordinary one.
	must(t, db.Apply(ctx, nameOp(same, "local")))
	must(t, db.ApplyServerChanges(ctx, []model.Change{change(gap+20, same, map[string]string{"url": "https://z"})}, gap+20))
	if got := pendingByRecord(t, db)[same]; len(got) != 1 || got[0]["name"] != "local" {
		t.Errorf("pending of same = %v; want the local edit, untouched", got)
	}
}

// Discarding local data mid-rebase leaves no rebase entry behind: the
// outbox then counts from 1 again, and an entry naming a new op of the
// same record would narrow it.
func TestDiscardLocalForgetsTheRebase(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	id := model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{change(5, id, map[string]string{"name": "a"})}, 5))
	_, err := db.Rebase(ctx, 5)
	must(t, err)
	must(t, db.DiscardLocal(ctx))
	must(t, db.ApplyServerChanges(ctx, []model.Change{change(1, id, map[string]string{"name": "a"})}, 1))
	must(t, db.Apply(ctx, nameOp(id, "b")))
	// Past the old cursor: a rebase op would lose its name here.
	must(t, db.ApplyServerChanges(ctx, []model.Change{change(100, id, map[string]string{"name": "c"})}, 100))
	if got := nameOf(t, db, id); got != "b" {
		t.Errorf("name = %q; want the pending edit, b", got)
	}
	if got := pendingIDs(t, db); len(got) != 1 {
		t.Errorf("pending = %v; want the one edit", got)
	}
}
