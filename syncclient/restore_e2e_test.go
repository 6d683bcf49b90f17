package syncclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"strconv"
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

	srv.PutBack(t, backup)

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

// A device that was away while the server was put back from a backup,
// and while another device edited since, starts over without undoing
// those edits: it pushes again only what the backup lacks (an edit, a
// record and a deletion made after it), not the records and fields the
// server holds.
func TestStartingOverAfterARestoreKeepsTheEditsMadeSince(t *testing.T) {
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
	field := func(id model.ID, name, value string) model.Op {
		return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{name: json.RawMessage(strconv.Quote(value))}}
	}

	// After the backup, a edits r1's url, makes r4 and deletes r3; the
	// server loses all three.
	b.sync.Stop()
	a.apply(field("r1", "url", "https://lost.example"))
	a.apply(reqOp("r4", "r4"))
	a.apply(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: "r3", Fields: model.Fields{model.FieldDeleted: json.RawMessage(`true`)}})
	waitFor(t, "a in sync at 6", func() bool { return a.inSync() && a.sync.Status().Cursor == 6 })
	a.sync.Stop()
	srv.PutBack(t, backup)

	// b comes back first and renames r1 and r2.
	if err := b.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b.apply(field("r1", "name", "b's r1"))
	b.apply(field("r2", "name", "b's r2"))
	waitFor(t, "b in sync after the restore", b.inSync)
	before := b.sync.Status().Cursor // the head: b is in sync

	if err := a.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to start over and both to agree", func() bool {
		return a.inSync() && b.inSync() && a.sync.Status().Cursor == b.sync.Status().Cursor && a.sync.Status().Cursor > before
	})
	sa, sb := a.state(), b.state()
	if !maps.Equal(sa, sb) {
		t.Fatalf("the devices differ after a started over:\na %v\nb %v", sa, sb)
	}
	get := func(id model.ID, name string) string {
		r, err := a.db.Get(ctx, model.KindRequest, id)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		var v string
		_ = json.Unmarshal(r.Fields[name], &v)
		return v
	}
	for _, c := range []struct{ id, field, want string }{
		{"r1", "name", "b's r1"},              // b's edit since the restore
		{"r1", "url", "https://lost.example"}, // a's edit the restore lost
		{"r2", "name", "b's r2"},              // b's edit since the restore
		{"r4", "name", "r4"},                  // a's record the restore lost
	} {
		if got := get(model.ID(c.id), c.field); got != c.want {
			t.Errorf("%s.%s = %q; want %q", c.id, c.field, got, c.want)
		}
	}
	if _, err := a.db.Get(ctx, model.KindRequest, "r3"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("r3, deleted after the backup: Get = %v; want it deleted again", err)
	}
	if after := a.sync.Status().Cursor; after-before != 3 {
		t.Errorf("a pushed %d ops when it started over; want 3 (r1's url, r4 and r3's deletion)", after-before)
	}
}
