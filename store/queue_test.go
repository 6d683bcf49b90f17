package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// cancelAfter is a context that reports itself cancelled from its
// (calls+1)-th Err on: QueueAllLocal and Rebase check it on entry and
// after each chunk but the last, so cancelAfter(1) lets exactly one chunk
// commit.
type cancelAfter struct {
	context.Context
	left atomic.Int32
}

func newCancelAfter(calls int32) *cancelAfter {
	c := &cancelAfter{Context: context.Background()}
	c.left.Store(calls)
	return c
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// localRequests applies n local requests named r0, r1, ... and returns
// their ids.
func localRequests(t *testing.T, db *store.DB, n int) []model.ID {
	t.Helper()
	ids := make([]model.ID, n)
	for i := range ids {
		ids[i] = model.NewID()
		must(t, db.Apply(context.Background(), nameOp(ids[i], "r"+string(rune('0'+i)))))
	}
	return ids
}

func TestQueueAllLocalQueuesInChunks(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		records, bytes, chunks int
	}{
		{"by records", 3, 1 << 30, 3},
		{"by bytes", 1000, 1, 7},
		{"one chunk exactly", 7, 1 << 30, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer store.SetQueueChunk(tc.records, tc.bytes)()
			ctx := context.Background()
			db := openStore(t, t.TempDir())
			ids := localRequests(t, db, 7)
			gone := model.NewID()
			must(t, db.Apply(ctx, nameOp(gone, "deleted")))
			must(t, db.Apply(ctx, model.DeleteOp(model.KindRequest, gone)))
			var c collector
			defer db.Subscribe(c.add)()

			n, err := db.QueueAllLocal(ctx)
			if err != nil || n != len(ids) {
				t.Fatalf("QueueAllLocal = %d, %v; want %d", n, err, len(ids))
			}
			pending, err := db.PendingOps(ctx, 0)
			must(t, err)
			seen := map[model.ID]int{}
			for _, op := range pending {
				seen[op.ID]++
			}
			for i, id := range ids {
				if seen[id] != 1 {
					t.Errorf("record r%d queued %d times; want once", i, seen[id])
				}
				if got, want := nameOf(t, db, id), "r"+string(rune('0'+i)); got != want {
					t.Errorf("record r%d shows %q", i, got)
				}
			}
			if len(pending) != len(ids) {
				t.Errorf("%d ops pending; want %d", len(pending), len(ids))
			}
			// Each chunk's commit tells the subscribers of its records.
			got := map[model.ID]bool{}
			for _, ch := range c.waitFor(t, tc.chunks) {
				for _, k := range ch.Keys {
					got[k.ID] = true
				}
			}
			for i, id := range ids {
				if !got[id] {
					t.Errorf("no notification named record r%d", i)
				}
			}
			// The local tombstone went with the confirmed layer: the
			// server's record of that id shows.
			must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, gone, "server", "")}, 1))
			if got := nameOf(t, db, gone); got != "server" {
				t.Errorf("a locally deleted record the server holds shows %q; want server", got)
			}
		})
	}
}

// halfQueued returns a profile whose QueueAllLocal stopped after its first
// chunk of 2 records, with 7 local requests.
func halfQueued(t *testing.T, dir string) (*store.DB, []model.ID) {
	t.Helper()
	db := openStore(t, dir)
	ids := localRequests(t, db, 7)
	n, err := db.QueueAllLocal(newCancelAfter(1))
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Fatalf("QueueAllLocal with a context cancelled after one chunk = %d, %v; want 2, context.Canceled", n, err)
	}
	return db, ids
}

func TestAQueueStoppedHalfWayLosesNothing(t *testing.T) {
	defer store.SetQueueChunk(2, 1<<30)()
	ctx := context.Background()
	dir := t.TempDir()
	db, ids := halfQueued(t, dir)

	// Half way, sync is on and what the user sees has not changed.
	if on, _ := db.SyncEnabled(ctx); !on {
		t.Fatal("sync is off after the first chunk")
	}
	if n, _ := db.PendingCount(ctx); n != 2 {
		t.Fatalf("PendingCount = %d; want the first chunk's 2", n)
	}
	for i, id := range ids {
		if got, want := nameOf(t, db, id), "r"+string(rune('0'+i)); got != want {
			t.Errorf("record r%d shows %q half way", i, got)
		}
	}
	// The user keeps working: edits to queued and waiting records, a
	// deletion, a new record. They go on top, as pending ops.
	edited, waiting, deleted := ids[0], ids[5], ids[6]
	must(t, db.Apply(ctx, nameOp(edited, "edited")))
	must(t, db.Apply(ctx, nameOp(waiting, "edited too")))
	must(t, db.Apply(ctx, model.DeleteOp(model.KindRequest, deleted)))
	added := model.NewID()
	must(t, db.Apply(ctx, nameOp(added, "added")))

	// The process is killed; the next one finishes the queue before it
	// applies the server's first change.
	must(t, db.Close())
	db = openStore(t, dir)
	server := model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, server, "from the server", "")}, 1))

	want := map[model.ID]string{server: "from the server", edited: "edited", waiting: "edited too", added: "added"}
	for i, id := range ids[1:5] {
		want[id] = "r" + string(rune('1'+i))
	}
	check := func(when string) {
		t.Helper()
		list, err := db.List(ctx, model.KindRequest)
		must(t, err)
		if len(list) != len(want) {
			t.Errorf("%s: %d requests; want %d", when, len(list), len(want))
		}
		for id, name := range want {
			if got := nameOf(t, db, id); got != name {
				t.Errorf("%s: %s shows %q; want %q", when, id, got, name)
			}
		}
	}
	check("once the queue is finished")

	// The server echoes every pending op: nothing is pending, the
	// confirmed layer is the server's alone, and it shows the same.
	pending, err := db.PendingOps(ctx, 0)
	must(t, err)
	var echo []model.Change
	for i, op := range pending {
		echo = append(echo, model.Change{Seq: uint64(2 + i), Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID})
	}
	must(t, db.ApplyServerChanges(ctx, echo, uint64(1+len(echo))))
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount after the echo = %d", n)
	}
	check("after the echo")
}

func TestTurningSyncOffAbandonsAQueueUnderWay(t *testing.T) {
	defer store.SetQueueChunk(2, 1<<30)()
	ctx := context.Background()
	db, ids := halfQueued(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, false))
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount with sync off = %d", n)
	}
	for i, id := range ids {
		if got, want := nameOf(t, db, id), "r"+string(rune('0'+i)); got != want {
			t.Errorf("record r%d shows %q with sync off", i, got)
		}
	}
	if n, err := db.QueueAllLocal(ctx); err != nil || n != len(ids) {
		t.Errorf("QueueAllLocal again = %d, %v; want every record, %d", n, err, len(ids))
	}
}

func TestDiscardLocalAbandonsAQueueUnderWay(t *testing.T) {
	defer store.SetQueueChunk(2, 1<<30)()
	ctx := context.Background()
	db, _ := halfQueued(t, t.TempDir())
	must(t, db.DiscardLocal(ctx))
	server := model.NewID()
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, server, "from the server", "")}, 1))
	list, err := db.List(ctx, model.KindRequest)
	if err != nil || len(list) != 1 {
		t.Errorf("after DiscardLocal and a server change: %d requests, %v; want the server's one", len(list), err)
	}
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount = %d; want 0", n)
	}
}

// Turning sync off folds the outbox a chunk at a time. Stopped half way,
// sync is still on, what the user sees has not changed and local writes
// go on top; turning it off again finishes, and so does the first server
// change, which then fails: sync is off.
func TestAFoldStoppedHalfWayLosesNothing(t *testing.T) {
	defer store.SetQueueChunk(2, 1<<30)()
	for _, finish := range []string{"sync off again", "a server change"} {
		t.Run(finish, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db := openStore(t, dir)
			must(t, db.SetSyncEnabled(ctx, true))
			server := model.NewID()
			must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, server, "server", "")}, 1))
			ids := localRequests(t, db, 5)
			must(t, db.Apply(ctx, nameOp(server, "edited")))

			err := db.SetSyncEnabled(newCancelAfter(1), false)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("SetSyncEnabled(false) with a context cancelled after one chunk = %v; want context.Canceled", err)
			}
			if on, _ := db.SyncEnabled(ctx); !on {
				t.Fatal("sync is off after the first chunk")
			}
			if n, _ := db.PendingCount(ctx); n != 4 {
				t.Fatalf("PendingCount half way = %d; want 6 - 2 folded", n)
			}
			late := model.NewID()
			must(t, db.Apply(ctx, nameOp(ids[4], "edited half way")))
			must(t, db.Apply(ctx, nameOp(late, "late")))
			must(t, db.Close())
			db = openStore(t, dir)

			switch finish {
			case "sync off again":
				must(t, db.SetSyncEnabled(ctx, false))
			case "a server change":
				// Once finished, and when the engine tries again.
				for range 2 {
					err := db.ApplyServerChanges(ctx, []model.Change{nameChange(2, model.NewID(), "too late", "")}, 2)
					if !errors.Is(err, model.ErrConflict) {
						t.Fatalf("a server change after sync was turned off half way = %v; want ErrConflict", err)
					}
				}
				if _, err := db.Rebase(ctx, 1); !errors.Is(err, model.ErrConflict) {
					t.Errorf("Rebase with sync off = %v; want ErrConflict", err)
				}
			}
			if on, _ := db.SyncEnabled(ctx); on {
				t.Error("sync is still on")
			}
			if n, _ := db.PendingCount(ctx); n != 0 {
				t.Errorf("PendingCount = %d; want 0", n)
			}
			if c, _ := db.Cursor(ctx); c != 0 {
				t.Errorf("Cursor = %d; want 0", c)
			}
			want := map[model.ID]string{server: "edited", ids[4]: "edited half way", late: "late"}
			for i, id := range ids[:4] {
				want[id] = "r" + string(rune('0'+i))
			}
			list, err := db.List(ctx, model.KindRequest)
			must(t, err)
			if len(list) != len(want) {
				t.Errorf("%d requests; want %d", len(list), len(want))
			}
			for id, name := range want {
				if got := nameOf(t, db, id); got != name {
					t.Errorf("%s shows %q; want %q", id, got, name)
				}
			}
			// With sync off, a write lands in confirmed, on no stale op.
			must(t, db.Apply(ctx, nameOp(ids[0], "offline")))
			if got := nameOf(t, db, ids[0]); got != "offline" {
				t.Errorf("an offline edit shows %q", got)
			}
		})
	}
}
