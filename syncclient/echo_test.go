package syncclient_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver/servertest"
)

// holdEchoes makes a device's engines hold the echoes of its pushes for
// as long as a test runs (up to the count and size bounds).
func holdEchoes(e *syncclient.Engine) { syncclient.SetEchoHold(e, time.Hour, time.Hour) }

// remoteCommits counts the commits of server changes to db.
func remoteCommits(t *testing.T, db *store.DB) *atomic.Int64 {
	var n atomic.Int64
	t.Cleanup(db.Subscribe(func(c app.Changes) {
		if c.Remote {
			n.Add(1)
		}
	}))
	return &n
}

func TestEchoesOfOwnPushesWaitAndAreAppliedWithTheNextServerChange(t *testing.T) {
	ctx := context.Background()
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "echoes")
	b := newDevice(t, acct, "b")
	var want model.ID // the edit A makes now
	onB := func() bool { _, err := b.db.Get(ctx, model.KindRequest, want); return err == nil }
	held := &heldCommits{until: []func() bool{onB}, reached: make(chan []bool, 1)}
	a := startDevice(t, &device{t: t, name: "a", dir: t.TempDir(), acct: acct, relay: startRelay(t, hostOf(acct)), on: true,
		wrap: func(db *store.DB) syncclient.Store { held.DB = db; return held }, tune: holdEchoes})
	for _, d := range []*device{a, b} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both IN SYNC", func() bool { return a.inSync() && b.inSync() })
	cursor, err := a.db.Cursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commits := remoteCommits(t, a.db)

	// Each edit reaches B while A's own commit of it waits: it is pushed
	// early though the edits before it are still in A's outbox, since
	// the server has acknowledged them.
	const edits = 10
	for i := range edits {
		want = model.NewID()
		a.apply(reqOp(want, fmt.Sprintf("edit %d", i)))
		select {
		case got := <-held.reached:
			if !got[0] {
				t.Fatalf("edit %d did not reach B while A's commit waited: not pushed early", i)
			}
		default:
			t.Fatalf("edit %d was not handed over before its commit", i)
		}
	}
	// A applied none of the echoes: its store still has the edits pending
	// and its cursor before them; its status counts them acknowledged,
	// and it is not IN SYNC until its store holds what the server holds.
	waitFor(t, "A's pushes acknowledged, their echoes held", func() bool { return echoHeld(a, edits) })
	if got, _ := a.db.Cursor(ctx); got != cursor || commits.Load() != 0 {
		t.Fatalf("A's cursor moved from %d to %d in %d commits; want no echo applied", cursor, got, commits.Load())
	}

	// A change from B: A applies it and the held echoes in one commit.
	fromB := model.NewID()
	b.apply(reqOp(fromB, "from B"))
	waitFor(t, "A IN SYNC", a.inSync)
	if _, err := a.db.Get(ctx, model.KindRequest, fromB); err != nil {
		t.Fatalf("B's edit on A: %v", err)
	}
	// Subscribers hear of commits on a goroutine of their own.
	waitFor(t, "A's commit announced", func() bool { return commits.Load() > 0 })
	if n := commits.Load(); n != 1 {
		t.Errorf("A applied its echoes and B's change in %d commits; want 1", n)
	}
	if n, err := a.db.PendingCount(ctx); err != nil || n != 0 {
		t.Errorf("A's store has %d pending (%v) once IN SYNC; want 0", n, err)
	}
	waitFor(t, "B IN SYNC", b.inSync)
	bc, _ := b.db.Cursor(ctx)
	if ac, _ := a.db.Cursor(ctx); ac != bc || ac != cursor+edits+1 {
		t.Errorf("cursors: A %d, B %d; want both %d", ac, bc, cursor+edits+1)
	}
	assertSameState(t, a, b)
}

func TestHeldEchoesAreAppliedSoonWhenNothingElseComes(t *testing.T) {
	ctx := context.Background()
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "quiet")
	a := newDevice(t, acct, "a") // the engine's own hold: 25 ms quiet
	if err := a.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A IN SYNC", a.inSync)
	commits := remoteCommits(t, a.db)
	for i := range 5 {
		a.apply(reqOp(model.NewID(), fmt.Sprintf("edit %d", i)))
	}
	// Right after the edits the status may still be the IN SYNC of
	// before: the store's outbox says when the echoes are applied.
	waitFor(t, "A's echoes applied, and A IN SYNC", func() bool {
		n, err := a.db.PendingCount(ctx)
		return err == nil && n == 0 && a.inSync()
	})
	if c, _ := a.db.Cursor(ctx); c < 5 {
		t.Fatalf("A's cursor %d after 5 edits echoed", c)
	}
	waitFor(t, "A's commits announced", func() bool { return commits.Load() > 0 })
	if n := commits.Load(); n > 5 {
		t.Fatalf("A applied its 5 echoes in %d commits", n)
	}
}

func TestHeldEchoesAreAppliedWhenSyncStops(t *testing.T) {
	ctx := context.Background()
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "stop")
	a := startDevice(t, &device{t: t, name: "a", dir: t.TempDir(), acct: acct, relay: startRelay(t, hostOf(acct)), on: true, tune: holdEchoes})
	if err := a.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A IN SYNC", a.inSync)
	a.apply(reqOp(model.NewID(), "edit"))
	waitFor(t, "A's push acknowledged, its echo held", func() bool { return echoHeld(a, 1) })
	a.sync.Stop()
	if n, err := a.db.PendingCount(ctx); err != nil || n != 0 {
		t.Fatalf("A's store has %d pending (%v) after Stop; want the echo applied", n, err)
	}
}

// echoHeld says d's last n edits are acknowledged, their echoes not
// applied: its store has them pending, its status has none pending, and
// it is not IN SYNC (which, before the push, a stale status could be).
func echoHeld(d *device, n int) bool {
	st := d.sync.Status()
	pending, err := d.db.PendingCount(context.Background())
	return err == nil && pending == n && st.Pending == 0 && st.State == app.SyncSyncing
}

// failingApply fails ApplyServerPage while fail is set, counting the
// failures.
type failingApply struct {
	*store.DB
	fail   atomic.Bool
	failed atomic.Int64
}

func (f *failingApply) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	if f.fail.Load() {
		f.failed.Add(1)
		return errors.New("the disk is gone")
	}
	return f.DB.ApplyServerPage(ctx, page, cursor)
}

func TestHeldEchoesThatCannotBeAppliedArePulledAgain(t *testing.T) {
	ctx := context.Background()
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "lost")
	failing := &failingApply{}
	a := startDevice(t, &device{t: t, name: "a", dir: t.TempDir(), acct: acct, relay: startRelay(t, hostOf(acct)), on: true,
		wrap: func(db *store.DB) syncclient.Store { failing.DB = db; return failing }, tune: holdEchoes})
	b := newDevice(t, acct, "b")
	for _, d := range []*device{a, b} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both IN SYNC", func() bool { return a.inSync() && b.inSync() })
	id := model.NewID()
	a.apply(reqOp(id, "edit"))
	waitFor(t, "B to see A's edit", func() bool { _, err := b.db.Get(ctx, model.KindRequest, id); return err == nil })
	waitFor(t, "A's push acknowledged, its echo held", func() bool { return echoHeld(a, 1) })
	// The connection drops, and applying the held echo then fails: it is
	// dropped, the cursor stays before it, and the next connection pulls
	// it again.
	failing.fail.Store(true)
	a.relay.cut()
	waitFor(t, "A's apply of its held echo to fail", func() bool { return failing.failed.Load() > 0 })
	failing.fail.Store(false)
	waitFor(t, "A IN SYNC again", a.inSync)
	if n, err := a.db.PendingCount(ctx); err != nil || n != 0 {
		t.Fatalf("A's store has %d pending (%v); want the echo applied", n, err)
	}
	assertSameState(t, a, b)
}

// assertSameState fails unless a and b show the same records.
func assertSameState(t *testing.T, a, b *device) {
	t.Helper()
	sa, sb := a.state(), b.state()
	if len(sa) != len(sb) {
		t.Fatalf("A shows %d records, B %d", len(sa), len(sb))
	}
	for k, v := range sa {
		if sb[k] != v {
			t.Fatalf("%s: A shows %s, B %s", k, v, sb[k])
		}
	}
}
