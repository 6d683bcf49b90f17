package syncclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver/servertest"
)

// heldCommits is a store whose local writes handed over early (see
// store.DB.WatchOutbox) wait, before they commit, until each of until
// holds or five seconds pass; reached gets what each said.
type heldCommits struct {
	*store.DB
	until   []func() bool
	reached chan []bool
}

func (h *heldCommits) WatchOutbox(fn func(ops []model.Op, before []model.ID, committing func() bool)) (cancel func()) {
	return h.DB.WatchOutbox(func(ops []model.Op, before []model.ID, committing func() bool) {
		fn(ops, before, committing)
		var got []bool
		for _, until := range h.until {
			deadline := time.Now().Add(5 * time.Second)
			for !until() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			got = append(got, until())
		}
		h.reached <- got
	})
}

func TestAnEditReachesTheOtherDeviceWhileItsOwnCommitRuns(t *testing.T) {
	ctx := context.Background()
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "early")
	b := newDevice(t, acct, "b")
	id := model.NewID()
	onB := func() bool { _, err := b.db.Get(ctx, model.KindRequest, id); return err == nil }
	held := &heldCommits{reached: make(chan []bool, 1)}
	a := newDeviceWith(t, acct, "a", func(db *store.DB) syncclient.Store { held.DB = db; return held })
	// While the write commits, A is not IN SYNC: its store does not hold
	// the edit yet. (The server may have acknowledged the op by then; A
	// then holds its echo, and no longer counts it pending.)
	syncing := func() bool { return a.sync.Status().State == app.SyncSyncing }
	held.until = []func() bool{onB, syncing}
	for _, d := range []*device{a, b} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both IN SYNC", func() bool { return a.inSync() && b.inSync() })

	a.apply(reqOp(id, "sent while committing"))
	select {
	case got := <-held.reached:
		if !got[0] {
			t.Fatal("B did not get A's edit while A's commit waited: the edit was not pushed before its commit")
		}
		if !got[1] {
			t.Errorf("A's status while its write committed: %q; want syncing", a.sync.Status())
		}
	default:
		t.Fatal("A's write was not handed over before its commit")
	}
	// The commit then lands, and the echo empties A's outbox as usual.
	waitFor(t, "A IN SYNC", a.inSync)
	if n, err := a.db.PendingCount(ctx); err != nil || n != 0 {
		t.Fatalf("A's pending = %d, %v", n, err)
	}
}

var _ syncclient.EarlyStore = (*store.DB)(nil)
