package store_test

import (
	"context"
	"encoding/json"
	"errors"
	stdmaps "maps"
	"slices"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// change is a server change of request id writing fields (field -> a
// string, as JSON) at seq.
func change(seq uint64, id model.ID, fields map[string]string) model.Change {
	f := model.Fields{}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	return model.Change{Seq: seq, Kind: model.KindRequest, ID: id, Fields: f}
}

// pendingByRecord returns the fields each pending op writes, by record,
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

// visibleState maps each visible request to its fields, as JSON.
func visibleState(t *testing.T, db *store.DB) map[model.ID]string {
	t.Helper()
	return visibleOf(t, db, model.KindRequest)
}

// visibleOf maps each visible record of kind to its fields, as JSON.
func visibleOf(t *testing.T, db *store.DB, kind model.Kind) map[model.ID]string {
	t.Helper()
	rs, err := db.List(context.Background(), kind)
	must(t, err)
	out := map[model.ID]string{}
	for _, r := range rs {
		b, _ := json.Marshal(r.Fields)
		out[r.ID] = string(b)
	}
	return out
}

func deletion(seq uint64, id model.ID) model.Change {
	return model.Change{Seq: seq, Kind: model.KindRequest, ID: id, Fields: model.Fields{model.FieldDeleted: json.RawMessage(`true`)}}
}

// A device whose cursor (12) the restored server lost starts over: of
// what it had confirmed, only what the server lacks is pushed again. A
// field the server holds alike, or wrote after the restore (past the
// cursor), is left to the server; a deletion the server lost is pushed
// again unless the record was written since; the ops that were pending
// stay whole, after the rebase ops; what the user sees never changes.
//
// It runs with the rebase ops queued in one transaction, a record per
// transaction, and stopped after its first chunk, with an edit made half
// way and the process killed: the restart finishes the start-over before
// it applies the stream, and nothing differs but the edit on top.
func TestRebasePushesOnlyWhatTheRestoredServerLost(t *testing.T) {
	for _, mode := range []string{"one transaction", "a record per transaction", "stopped half way"} {
		t.Run(mode, func(t *testing.T) { testRebase(t, mode) })
	}
}

func testRebase(t *testing.T, mode string) {
	switch mode {
	case "a record per transaction":
		defer store.SetQueueChunk(1, 1<<30)()
	case "stopped half way":
		defer store.SetQueueChunk(2, 1<<30)()
	}
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.SetSyncEnabled(ctx, true))
	var (
		same, lostEdit, edited, lost, gone = model.NewID(), model.NewID(), model.NewID(), model.NewID(), model.NewID()
		delLost, delSince, delBoth         = model.NewID(), model.NewID(), model.NewID()
	)
	backup := []model.Change{ // seqs 1 to 8: what the backup holds
		change(1, same, map[string]string{"name": "same", "url": "https://a"}),
		change(2, lostEdit, map[string]string{"name": "old", "url": "https://b"}),
		change(3, edited, map[string]string{"name": "before", "url": "https://c"}),
		change(4, gone, map[string]string{"name": "gone"}),
		change(5, delLost, map[string]string{"name": "deleted, lost"}),
		change(6, delSince, map[string]string{"name": "deleted, edited since"}),
		change(7, delBoth, map[string]string{"name": "deleted on both"}),
		deletion(8, delBoth),
	}
	must(t, db.ApplyServerChanges(ctx, append(backup,
		change(9, lostEdit, map[string]string{"name": "lost edit"}), // the restore lost 9 to 12
		change(10, lost, map[string]string{"name": "lost"}),
		deletion(11, delLost),
		deletion(12, delSince),
	), 12))
	mine := nameOp(edited, "mine, pending")
	must(t, db.Apply(ctx, mine))
	before := visibleState(t, db)

	halfWay := mode == "stopped half way"
	var n int
	var err error
	if halfWay {
		n, err = db.Rebase(newCancelAfter(1), 12)
		if !errors.Is(err, context.Canceled) || n != 2 {
			t.Fatalf("Rebase with a context cancelled after one chunk = %d, %v; want 2, context.Canceled", n, err)
		}
	} else {
		n, err = db.Rebase(ctx, 12)
		must(t, err)
		if n != 5 {
			t.Errorf("Rebase queued %d ops; want one per live confirmed record, 5", n)
		}
	}
	if c, err := db.Cursor(ctx); err != nil || c != 0 {
		t.Fatalf("cursor after Rebase = %d, %v; want 0", c, err)
	}
	if got := visibleState(t, db); !stdmaps.Equal(got, before) {
		t.Fatalf("Rebase changed what the user sees:\n got %v\nwant %v", got, before)
	}
	if ids := pendingIDs(t, db); len(ids) != n+1 || ids[n] != mine.OpID {
		t.Fatalf("pending after Rebase = %v; want the %d rebase ops, then the pending op", ids, n)
	}
	var halfWayEdit model.Op
	if halfWay {
		// An edit made half way goes on top of the rebase ops to come.
		halfWayEdit = nameOp(same, "half way")
		must(t, db.Apply(ctx, halfWayEdit))
		must(t, db.Close())
		db = openStore(t, dir)
		if got := nameOf(t, db, same); got != "half way" {
			t.Fatalf("after the restart, the half-way edit shows %q", got)
		}
	}

	// The restored server streams its state (to a device at cursor 0 it
	// leaves deletions out): the backup's seqs; then, past the gap the
	// restore left, another device's url of edited, deletion of gone and
	// edit of delSince.
	const gap = 1 << 40
	stream := []model.Change{
		change(1, same, map[string]string{"name": "same", "url": "https://a"}),
		change(2, lostEdit, map[string]string{"name": "old", "url": "https://b"}),
		change(3, edited, map[string]string{"name": "before"}),
		change(4, gone, map[string]string{"name": "gone"}),
		change(5, delLost, map[string]string{"name": "deleted, lost"}),
		change(6, delSince, map[string]string{"name": "deleted, edited since"}),
		change(gap+5, edited, map[string]string{"url": "https://c2"}),
		deletion(gap+6, gone),
		change(gap+7, delSince, map[string]string{"name": "edited since"}),
	}
	must(t, db.ApplyServerChanges(ctx, stream[:6], 6))
	for _, id := range []model.ID{delLost, delSince} {
		got := pendingByRecord(t, db)[id]
		if len(got) != 1 {
			t.Errorf("pending of a record whose deletion the restore lost = %v; want its deletion", got)
			continue
		}
		if _, del := got[0][model.FieldDeleted]; len(got[0]) != 1 || !del {
			t.Errorf("pending of a record whose deletion the restore lost = %v; want its deletion", got)
		}
		if _, err := db.Get(ctx, model.KindRequest, id); err == nil {
			t.Errorf("record %s, deleted on this device, is visible", id)
		}
	}
	must(t, db.ApplyServerChanges(ctx, stream[6:], gap+7))

	got := pendingByRecord(t, db)
	want := map[model.ID][]map[string]string{
		lostEdit: {{"name": "lost edit"}},     // the restore lost it
		lost:     {{"name": "lost"}},          // the whole record
		edited:   {{"name": "mine, pending"}}, // the pending op alone
		delLost:  {{model.FieldDeleted: ""}},  // its deletion again
	}
	if halfWay {
		want[same] = []map[string]string{{"name": "half way"}}
		// It comes after the rebase ops, queued before and after it.
		ops, err := db.PendingOps(ctx, 0)
		must(t, err)
		at := slices.IndexFunc(ops, func(op model.Op) bool { return op.OpID == halfWayEdit.OpID })
		for i, op := range ops {
			if (op.ID == lostEdit || op.ID == lost) && i > at {
				t.Errorf("pending op %d, %s's rebase op, comes after the half-way edit (%d)", i, op.ID, at)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("pending records = %v; want %v", got, want)
	}
	for id, ops := range want {
		if !slices.EqualFunc(got[id], ops, stdmaps.Equal) {
			t.Errorf("pending ops of %s = %v; want %v", id, got[id], ops)
		}
	}
	for id, name := range map[model.ID]string{lostEdit: "lost edit", edited: "mine, pending", delSince: "edited since"} {
		if got := nameOf(t, db, id); got != name {
			t.Errorf("name of %s = %q; want %q", id, got, name)
		}
	}
	r, err := db.Get(ctx, model.KindRequest, edited)
	must(t, err)
	if string(r.Fields["url"]) != `"https://c2"` {
		t.Errorf("edited's url = %s; want the server's edit since the restore", r.Fields["url"])
	}
	for _, id := range []model.ID{gone, delLost, delBoth} {
		if _, err := db.Get(ctx, model.KindRequest, id); err == nil {
			t.Errorf("deleted record %s is visible", id)
		}
	}
	if n := db.RebaseEntries(); n != 3 {
		t.Errorf("%d records still starting over; want the 3 pending rebase ops (delBoth settled once past the bound)", n)
	}

	// The pushes are echoed: nothing pending, nothing left of the rebase.
	var echo []model.Change
	ops, err := db.PendingOps(ctx, 0)
	must(t, err)
	for i, op := range ops {
		echo = append(echo, model.Change{Seq: gap + 8 + uint64(i), Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID})
	}
	must(t, db.ApplyServerChanges(ctx, echo, gap+7+uint64(len(echo))))
	if ids := pendingIDs(t, db); len(ids) != 0 {
		t.Errorf("pending after the echoes = %v", ids)
	}
	if n := db.RebaseEntries(); n != 0 {
		t.Errorf("%d records still starting over after the echoes", n)
	}
	if _, err := db.Get(ctx, model.KindRequest, delLost); err == nil {
		t.Error("delLost is visible after its deletion's echo")
	}
	// A later change to a record that had a rebase op is an ordinary one.
	must(t, db.Apply(ctx, nameOp(same, "local")))
	must(t, db.ApplyServerChanges(ctx, []model.Change{change(gap+30, same, map[string]string{"url": "https://z"})}, gap+30))
	if got := pendingByRecord(t, db)[same]; len(got) != 1 || got[0]["name"] != "local" {
		t.Errorf("pending of same = %v; want the local edit, untouched", got)
	}
}

// Detaching the profile (sync off) or discarding its local data during a
// start-over leaves nothing of it behind: the outbox then counts from 1
// again, and an entry naming a new op of the same record would narrow it;
// a deleted record's entry would queue its deletion.
func TestARebaseEndsWithTheProfilesAccount(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(ctx context.Context, db *store.DB) error
	}{
		{"discard local", func(ctx context.Context, db *store.DB) error {
			if err := db.DiscardLocal(ctx); err != nil {
				return err
			}
			return db.SetSyncEnabled(ctx, true)
		}},
		{"sync off, then merged again", func(ctx context.Context, db *store.DB) error {
			if err := db.SetSyncEnabled(ctx, false); err != nil {
				return err
			}
			_, err := db.QueueAllLocal(ctx)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := openStore(t, t.TempDir())
			must(t, db.SetSyncEnabled(ctx, true))
			id, del := model.NewID(), model.NewID()
			must(t, db.ApplyServerChanges(ctx, []model.Change{
				change(3, id, map[string]string{"name": "a"}),
				change(4, del, map[string]string{"name": "deleted"}),
				deletion(5, del),
			}, 5))
			_, err := db.Rebase(ctx, 5)
			must(t, err)
			must(t, tc.end(ctx, db))
			if n := db.RebaseEntries(); n != 0 {
				t.Errorf("%d rebase entries left", n)
			}
			must(t, db.ApplyServerChanges(ctx, []model.Change{
				change(1, id, map[string]string{"name": "a"}),
				change(2, del, map[string]string{"name": "live on the server"}),
			}, 2))
			must(t, db.Apply(ctx, nameOp(id, "b")))
			// Past the old cursor: a rebase op would lose its name here.
			must(t, db.ApplyServerChanges(ctx, []model.Change{change(100, id, map[string]string{"name": "c"})}, 100))
			if got := nameOf(t, db, id); got != "b" {
				t.Errorf("name = %q; want the pending edit, b", got)
			}
			if got := nameOf(t, db, del); got != "live on the server" {
				t.Errorf("name of the record deleted before = %q; want the server's", got)
			}
			if got := pendingByRecord(t, db)[del]; len(got) != 0 {
				t.Errorf("pending ops of the record deleted before = %v; want none", got)
			}
		})
	}
}
