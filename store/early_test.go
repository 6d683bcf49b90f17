package store_test

import (
	"context"
	"testing"

	"github.com/courierapp/courier/model"
)

// handed is what a WatchOutbox watcher saw: each call's op ids, and
// whether the write was committing during the call.
type handed struct {
	ops        [][]model.ID
	committing []func() bool
	during     []bool
}

func (h *handed) watch(ops []model.Op, committing func() bool) {
	var ids []model.ID
	for _, op := range ops {
		ids = append(ids, op.OpID)
	}
	h.ops = append(h.ops, ids)
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
	if len(h.ops) != 1 || !equalIDs(h.ops[0], []model.ID{a.OpID, b.OpID}) {
		t.Fatalf("handed %v; want one batch of both ops in order", h.ops)
	}
	if !h.during[0] || h.committing[0]() {
		t.Errorf("committing was %v during the call and %v after Apply; want true, then false", h.during[0], h.committing[0]())
	}

	// With ops pending, a later write is not handed over: pushed early,
	// it could overtake them.
	c := nameOp(model.NewID(), "c")
	must(t, db.Apply(ctx, c))
	if len(h.ops) != 1 {
		t.Fatalf("handed %v with ops pending; want nothing more", h.ops)
	}

	// Once they are acknowledged, the outbox is empty again.
	must(t, db.AckOps(ctx, []model.ID{a.OpID, b.OpID, c.OpID}))
	d := nameOp(model.NewID(), "d")
	must(t, db.Apply(ctx, d))
	if len(h.ops) != 2 || !equalIDs(h.ops[1], []model.ID{d.OpID}) {
		t.Fatalf("handed %v; want the last write's op", h.ops)
	}

	// A write that fails hands nothing over.
	if err := db.Apply(ctx, nameOp(model.NewID(), "e"), model.Op{OpID: d.OpID, Kind: model.KindRequest, ID: model.NewID(), Fields: d.Fields}); err == nil {
		t.Fatal("Apply of a pending op_id succeeded")
	}
	must(t, db.AckOps(ctx, []model.ID{d.OpID}))
	if err := db.Apply(ctx, nameOp(model.NewID(), "f"), model.Op{OpID: d.OpID, Kind: model.KindRequest, ID: model.NewID(), Fields: d.Fields}); err != nil {
		t.Fatal(err)
	}
	if len(h.ops) != 3 {
		t.Fatalf("handed %d batches; want 3 (the failed write handed none)", len(h.ops))
	}

	cancel()
	must(t, db.AckOps(ctx, pendingIDs(t, db)))
	must(t, db.Apply(ctx, nameOp(model.NewID(), "g")))
	if len(h.ops) != 3 {
		t.Fatalf("handed %d batches after cancel; want 3", len(h.ops))
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
}
