package syncclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
	srv, a, b, backup := backedUpPair(t)

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
	waitFor(t, "b in sync after the restore", b.settled)
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

// backedUpPair starts a server and two devices of one account, a and b;
// a makes the requests r1 to r3, and once both hold them the server's
// data is copied to backup.
func backedUpPair(t *testing.T) (srv *servertest.Server, a, b *device, backup string) {
	t.Helper()
	ctx := context.Background()
	srv = servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "ann")
	a, b = newDevice(t, acct, "a"), newDevice(t, acct, "b")
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
	backup = filepath.Join(t.TempDir(), "server.db")
	if _, err := srv.Storage().BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	return srv, a, b, backup
}

// A device that was away while the server was put back from a backup,
// and while another device edited since, starts over without undoing
// those edits: it pushes again only what the backup lacks (an edit, a
// record and a deletion made after it), not the records and fields the
// server holds.
func TestStartingOverAfterARestoreKeepsTheEditsMadeSince(t *testing.T) {
	ctx := context.Background()
	srv, a, b, backup := backedUpPair(t)
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
	waitFor(t, "b in sync after the restore", b.settled)
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

// restoreSeeds are the seeds TestStartingOverFollowsItsRule runs: a few,
// or 30 with COURIER_SOAK=1.
func restoreSeeds() int {
	if os.Getenv("COURIER_SOAK") == "1" {
		return 30
	}
	return 3
}

// Seeded random edits before a backup (three devices), after it (a,
// which the restore leaves ahead of the server) and after the restore (b
// and c); then a starts over. Every device ends with the state the rule
// gives: a field written since the restore keeps that value; of the rest,
// a's value where it differs from the copy's (the restore lost it); a
// record a deleted after the backup stays deleted unless written since;
// a record deleted since stays deleted.
func TestStartingOverFollowsItsRule(t *testing.T) {
	for seed := range uint64(restoreSeeds()) {
		t.Run(fmt.Sprintf("seed=%d", seed+1), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("replay with: go test -run 'TestStartingOverFollowsItsRule/seed=%d$' ./syncclient/", seed+1)
				}
			}()
			startOverWithSeed(t, seed+1)
		})
	}
}

// recordState is the visible requests of a device: id -> field -> JSON.
type recordState map[model.ID]map[string]string

func requestsOf(t *testing.T, d *device) recordState {
	t.Helper()
	rs, err := d.db.List(context.Background(), model.KindRequest)
	if err != nil {
		t.Fatal(err)
	}
	out := recordState{}
	for _, r := range rs {
		f := map[string]string{}
		for k, v := range r.Fields {
			f[k] = string(v)
		}
		out[r.ID] = f
	}
	return out
}

// randomEditor makes seeded random ops on requests: creations, edits of
// one or two fields, deletions; it records what each wrote.
type randomEditor struct {
	rng     *rand.Rand
	tag     string // starts every value it writes
	n       int
	written map[model.ID]map[string]bool // fields written, by record
	deleted map[model.ID]bool
}

var editFields = []string{"name", "url", "method"}

func (r *randomEditor) op(live recordState) model.Op {
	r.n++
	val := func() json.RawMessage { return json.RawMessage(strconv.Quote(fmt.Sprintf("%s%d", r.tag, r.n))) }
	ids := slices.Sorted(maps.Keys(live))
	note := func(op model.Op) model.Op {
		if r.written[op.ID] == nil {
			r.written[op.ID] = map[string]bool{}
		}
		for f := range op.Fields {
			r.written[op.ID][f] = true
		}
		if _, del := op.Fields[model.FieldDeleted]; del {
			r.deleted[op.ID] = true
		}
		return op
	}
	switch k := r.rng.IntN(10); {
	case len(ids) == 0 || k < 3:
		f := model.Fields{}
		for _, name := range editFields {
			f[name] = val()
		}
		return note(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: f})
	case k < 9:
		f := model.Fields{}
		for range 1 + r.rng.IntN(2) {
			f[editFields[r.rng.IntN(len(editFields))]] = val()
		}
		return note(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: ids[r.rng.IntN(len(ids))], Fields: f})
	default:
		return note(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: ids[r.rng.IntN(len(ids))], Fields: model.Fields{model.FieldDeleted: json.RawMessage(`true`)}})
	}
}

func newRandomEditor(seed uint64, tag string) *randomEditor {
	return &randomEditor{rng: rand.New(rand.NewPCG(seed, 0x5eed)), tag: tag, written: map[model.ID]map[string]bool{}, deleted: map[model.ID]bool{}}
}

func startOverWithSeed(t *testing.T, seed uint64) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "ann")
	devs := []*device{newDevice(t, acct, "a"), newDevice(t, acct, "b"), newDevice(t, acct, "c")}
	a, b, c := devs[0], devs[1], devs[2]
	for _, d := range devs {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// allInSync says the devices are settled at one cursor.
	allInSync := func(ds ...*device) func() bool {
		return func() bool {
			for _, d := range ds {
				if !d.settled() || d.sync.Status().Cursor != ds[0].sync.Status().Cursor {
					return false
				}
			}
			return true
		}
	}
	before := newRandomEditor(seed, "before-")
	for range 30 {
		d := devs[before.rng.IntN(3)]
		d.apply(before.op(requestsOf(t, d)))
	}
	waitFor(t, "every device in sync before the backup", allInSync(devs...))
	backup := filepath.Join(t.TempDir(), "server.db")
	if _, err := srv.Storage().BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	inCopy := requestsOf(t, b)

	// After the backup: a alone; the restore loses all of it.
	b.sync.Stop()
	c.sync.Stop()
	lost := newRandomEditor(seed+1000, "lost-")
	for range 20 {
		a.apply(lost.op(requestsOf(t, a)))
	}
	waitFor(t, "a in sync after the backup", allInSync(a))
	seenByA := requestsOf(t, a)
	a.sync.Stop()
	srv.PutBack(t, backup)

	// Since the restore: b and c.
	for _, d := range []*device{b, c} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	since := newRandomEditor(seed+2000, "since-")
	for range 20 {
		d := []*device{b, c}[since.rng.IntN(2)]
		d.apply(since.op(requestsOf(t, d)))
	}
	waitFor(t, "b and c in sync since the restore", allInSync(b, c))
	server := requestsOf(t, b)

	if err := a.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every device in sync after a started over", allInSync(devs...))

	want := recordState{}
	for id, f := range server {
		want[id] = maps.Clone(f)
	}
	for id, mine := range seenByA {
		switch {
		case since.deleted[id]: // deleted since: stays deleted
		case server[id] == nil && inCopy[id] != nil: // in the copy, gone now, yet not deleted since
			t.Fatalf("%s is in the copy and not deleted since, but b lacks it", id)
		case server[id] == nil: // made after the backup: back whole
			want[id] = maps.Clone(mine)
		default:
			for f, v := range mine {
				if !since.written[id][f] && inCopy[id][f] != v {
					want[id][f] = v // the restore lost it
				}
			}
		}
	}
	for id := range lost.deleted {
		if seenByA[id] == nil && inCopy[id] != nil && len(since.written[id]) == 0 {
			delete(want, id) // a's deletion, lost, pushed again
		}
	}
	for _, d := range devs {
		if got := requestsOf(t, d); !maps.EqualFunc(got, want, maps.Equal) {
			t.Errorf("%s ends with\n%v\nwant\n%v", d.name, got, want)
		}
	}
}
