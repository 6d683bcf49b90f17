package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/courierapp/courier/model"
)

// handed is what a WatchOutbox watcher saw: each call's op ids, the ids
// pending before them (sorted), and whether the write was committing
// during the call.
type handed struct {
	ops        [][]model.ID
	before     [][]model.ID
	committing []func() bool
	during     []bool
}

func (h *handed) watch(ops []model.Op, before []model.ID, committing func() bool) {
	var ids []model.ID
	for _, op := range ops {
		ids = append(ids, op.OpID)
	}
	h.ops = append(h.ops, ids)
	h.before = append(h.before, slices.Sorted(slices.Values(before)))
	h.committing = append(h.committing, committing)
	h.during = append(h.during, committing())
}

func TestALocalWriteToAnEmptyOutboxIsHandedOverBeforeItCommits(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	var h handed
	cancel := db.WatchOutbox(h.watch)

	a, b := nameOp(model.NewID(), "a"), nameOp(model.NewID(), "b")
	must(t, db.Apply(ctx, a, b))
	if len(h.ops) != 1 || !equalIDs(h.ops[0], []model.ID{a.OpID, b.OpID}) || len(h.before[0]) != 0 {
		t.Fatalf("handed %v after %v; want one batch of both ops in order, after none", h.ops, h.before)
	}
	if !h.during[0] || h.committing[0]() {
		t.Errorf("committing was %v during the call and %v after Apply; want true, then false", h.during[0], h.committing[0]())
	}

	// With ops pending, a later write is handed over with their ids: the
	// engine pushes it early only if they are all on their way already,
	// so that it cannot overtake them.
	c := nameOp(model.NewID(), "c")
	must(t, db.Apply(ctx, c))
	if len(h.ops) != 2 || !equalIDs(h.ops[1], []model.ID{c.OpID}) || !equalIDs(h.before[1], slices.Sorted(slices.Values([]model.ID{a.OpID, b.OpID}))) {
		t.Fatalf("handed %v after %v; want c after a and b", h.ops, h.before)
	}

	// Once they are acknowledged, the outbox is empty again.
	must(t, db.AckOps(ctx, []model.ID{a.OpID, b.OpID, c.OpID}))
	d := nameOp(model.NewID(), "d")
	must(t, db.Apply(ctx, d))
	if len(h.ops) != 3 || !equalIDs(h.ops[2], []model.ID{d.OpID}) || len(h.before[2]) != 0 {
		t.Fatalf("handed %v after %v; want the last write's op, after none", h.ops, h.before)
	}

	// A write that fails hands nothing over.
	if err := db.Apply(ctx, nameOp(model.NewID(), "e"), model.Op{OpID: d.OpID, Kind: model.KindRequest, ID: model.NewID(), Fields: d.Fields}); err == nil {
		t.Fatal("Apply of a pending op_id succeeded")
	}
	must(t, db.AckOps(ctx, []model.ID{d.OpID}))
	if err := db.Apply(ctx, nameOp(model.NewID(), "f"), model.Op{OpID: d.OpID, Kind: model.KindRequest, ID: model.NewID(), Fields: d.Fields}); err != nil {
		t.Fatal(err)
	}
	if len(h.ops) != 4 {
		t.Fatalf("handed %d batches; want 4 (the failed write handed none)", len(h.ops))
	}

	cancel()
	must(t, db.AckOps(ctx, pendingIDs(t, db)))
	must(t, db.Apply(ctx, nameOp(model.NewID(), "g")))
	if len(h.ops) != 4 {
		t.Fatalf("handed %d batches after cancel; want 4", len(h.ops))
	}
}

func TestWritesWithoutSyncOrTooLargeAreNotHandedOver(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	var h handed
	defer db.WatchOutbox(h.watch)()

	// Sync off: edits go to the confirmed layer, nothing is pending.
	for range 300 {
		must(t, db.Apply(ctx, nameOp(model.NewID(), "local")))
	}
	if len(h.ops) != 0 {
		t.Fatalf("handed %v with sync off; want nothing", h.ops)
	}
	// Queuing 300 local records at sign-in is too large a write to hand
	// over: it is pushed after its commit, in pushes of its own size.
	if n, err := db.QueueAllLocal(ctx); err != nil || n != 300 {
		t.Fatalf("QueueAllLocal = %d, %v", n, err)
	}
	if len(h.ops) != 0 {
		t.Fatalf("handed %d batches for 300 ops; want none", len(h.ops))
	}
	if n, err := db.PendingCount(ctx); err != nil || n != 300 {
		t.Fatalf("PendingCount = %d, %v; want 300", n, err)
	}
	// Nor is a write behind more pending ops than it may follow.
	must(t, db.Apply(ctx, nameOp(model.NewID(), "behind 300")))
	if len(h.ops) != 0 {
		t.Fatalf("handed %v behind 300 pending ops; want nothing", h.ops)
	}
	ids := pendingIDs(t, db)
	must(t, db.AckOps(ctx, ids[:len(ids)-128]))
	e := nameOp(model.NewID(), "behind 128")
	must(t, db.Apply(ctx, e))
	if len(h.ops) != 1 || !equalIDs(h.ops[0], []model.ID{e.OpID}) || len(h.before[0]) != 128 {
		t.Fatalf("handed %v, after %d ops; want e, behind 128 pending", h.ops, len(h.before[0]))
	}
	must(t, db.Apply(ctx, nameOp(model.NewID(), "behind 129")))
	if len(h.ops) != 1 {
		t.Fatalf("handed %d batches; want none more behind 129 pending", len(h.ops))
	}
}
