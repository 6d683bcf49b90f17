package syncclient_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver/servertest"
)

// A server put back from a backup copy while its devices had gone on: a
// device whose cursor the copy holds pushes first, and its new seqs
// would fill the numbers another device's cursor counts in the lost
// stream. That device must still start over, push again what the copy
// lacks and get the first one's edits: every device ends with everything.
func TestDevicesConvergeAfterTheServerIsPutBackFromABackup(t *testing.T) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "ann")
	a, b := newDevice(t, acct, "a"), newDevice(t, acct, "b")
	for _, d := range []*device{a, b} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"r1", "r2", "r3"} {
		a.apply(reqOp(model.ID(name), name))
	}
	waitFor(t, "both in sync at 3", func() bool {
		return a.inSync() && b.inSync() && a.sync.Status().Cursor == 3 && b.sync.Status().Cursor == 3
	})
	backup := filepath.Join(t.TempDir(), "server.db")
	if _, err := srv.Storage().BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}

	b.sync.Stop() // b stays at the copy's seq 3; a goes on
	a.apply(reqOp("r4", "r4"))
	a.apply(reqOp("r5", "r5"))
	waitFor(t, "a in sync at 5", func() bool { return a.inSync() && a.sync.Status().Cursor == 5 })
	a.sync.Stop()

	srv.Stop() // the machine is lost: only the copy is left
	if err := os.Remove(filepath.Join(srv.Dir, "server.db.log")); err != nil {
		t.Fatal(err)
	}
	copyBytes, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srv.Dir, "server.db"), copyBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)

	// b, whose cursor the copy holds, pushes two edits first.
	b.apply(reqOp("b1", "b1"))
	b.apply(reqOp("b2", "b2"))
	if err := b.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b in sync after the restore", b.inSync)
	if err := a.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[model.ID]bool{"r1": true, "r2": true, "r3": true, "r4": true, "r5": true, "b1": true, "b2": true}
	holdsAll := func(d *device) bool {
		rs, err := d.db.List(ctx, model.KindRequest)
		if err != nil || len(rs) != len(want) {
			return false
		}
		for _, r := range rs {
			if !want[r.ID] {
				return false
			}
		}
		return true
	}
	waitFor(t, "both devices to hold every request, in sync", func() bool {
		return a.inSync() && b.inSync() && holdsAll(a) && holdsAll(b) && a.sync.Status().Cursor == b.sync.Status().Cursor
	})
	if sa, sb := a.state(), b.state(); !maps.Equal(sa, sb) {
		t.Fatalf("the devices differ after the restore:\na %v\nb %v", sa, sb)
	}
}
