package syncclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
)

// convergeSeeds are the seeds TestConvergence runs: a few by default, 100
// with COURIER_SOAK=1, one with COURIER_SEED=N.
func convergeSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("COURIER_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COURIER_SEED=%q: %v", s, err)
		}
		return []uint64{n}
	}
	n := 3
	if os.Getenv("COURIER_SOAK") == "1" {
		n = 100
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// TestConvergence runs three devices of one account doing seeded random
// edits, deletes, moves, variable edits and history entries while their
// connections are cut, they go offline and back, restart, and sync is
// turned off and on, and the server restarts now and then. After quiescence every device's visible state equals every
// other's and that of a fresh device pulling the server's whole stream,
// no outbox holds anything, and the server applied every op any device
// made.
func TestConvergence(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	for _, seed := range convergeSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("replay with: COURIER_SEED=%d go test -race -run TestConvergence ./syncclient/", seed)
				}
			}()
			converge(t, srv, seed)
		})
	}
}

func converge(t *testing.T, srv *servertest.Server, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	acct := srv.NewAccount(t, fmt.Sprintf("seed%d", seed))
	devs := []*device{newDevice(t, acct, "a"), newDevice(t, acct, "b"), newDevice(t, acct, "c")}
	for _, d := range devs {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
		d.run = true
	}
	w := &workload{rng: rng}
	for range 120 {
		if rng.IntN(100) == 0 { // the server restarts (1001 to everyone)
			srv.Restart(t)
		}
		w.step(t, devs[rng.IntN(len(devs))])
	}
	quiesce(t, devs)
	// Each device reconnects, reporting the head: the compaction drops
	// every entry that holds no value, and a new device must still read
	// the same state (checkAgainstFresh).
	for _, d := range devs {
		d.sync.Stop()
		d.run = false
	}
	quiesce(t, devs)
	a, err := srv.Storage().AccountByUsername(ctx, acct.Name)
	if err != nil {
		t.Fatal(err)
	}
	head, err := srv.Storage().Head(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The compaction runs beside the connection that reports.
	var u syncserver.Usage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if u, err = srv.Storage().SyncUsage(ctx, a.ID); err != nil || u.Log < int64(head) {
			break
		}
	}
	if err != nil || u.Log >= int64(head) {
		t.Errorf("the log holds %d entries of %d ops (%v): nothing was compacted", u.Log, head, err)
	}
	if want, _ := checkAgainstFresh(t, acct, devs, srv.Applied); len(want) == 0 {
		t.Error("nothing synced at all")
	}
}

// checkAgainstFresh pulls the account's whole stream into a fresh device
// and checks that every device in devs shows its state and that the
// server applied every op each made, as applied tells (Server.Applied, or
// Account.Applied on an account whose log is held whole); it returns the
// fresh device's state and the op ids the server applied.
func checkAgainstFresh(t *testing.T, acct *servertest.Account, devs []*device, applied func([]model.ID) map[model.ID]bool) (map[string]string, map[model.ID]bool) {
	t.Helper()
	fresh := newDevice(t, acct, "fresh")
	if _, err := fresh.sync.Once(context.Background()); err != nil {
		t.Fatalf("fresh device: %v", err)
	}
	want := fresh.state()
	var made []model.ID
	for _, d := range devs {
		if got := d.state(); !maps.Equal(got, want) {
			t.Errorf("device %s differs from the server's state:\n%s", d.name, servertest.StateDiff(got, want))
		}
		made = append(made, d.ops...)
	}
	known := applied(made)
	for _, d := range devs {
		for _, id := range d.ops {
			if !known[id] {
				t.Errorf("device %s: op %s was never applied on the server (lost)", d.name, id)
			}
		}
	}
	return want, known
}

// quiesce turns everything on and waits until every device is IN SYNC
// with nothing pending at one cursor.
func quiesce(t *testing.T, devs []*device) {
	t.Helper()
	ctx := context.Background()
	for _, d := range devs {
		if !d.on {
			if err := d.sync.SetEnabled(ctx, true); err != nil {
				t.Fatal(err)
			}
			d.on = true
		}
		if !d.run {
			if err := d.sync.Start(ctx); err != nil {
				t.Fatal(err)
			}
			d.run = true
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		same := true
		for _, d := range devs {
			same = same && d.inSync() && d.sync.Status().Cursor == devs[0].sync.Status().Cursor
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for _, d := range devs {
				t.Logf("%s: %+v", d.name, d.sync.Status())
			}
			t.Fatal("devices did not reach one cursor IN SYNC within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// workload makes seeded random edits on a small pool of records, so
// devices collide often.
type workload struct {
	rng *rand.Rand
	n   int
}

func (w *workload) id(prefix string) model.ID {
	return model.ID(fmt.Sprintf("%s-%d", prefix, w.rng.IntN(6)))
}

func (w *workload) value() json.RawMessage {
	w.n++
	return json.RawMessage(fmt.Sprintf(`"v%d-%d"`, w.n, w.rng.IntN(1000)))
}

func (w *workload) op(kind model.Kind, id model.ID, fields model.Fields) model.Op {
	return model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: fields}
}

func (w *workload) step(t *testing.T, d *device) {
	t.Helper()
	ctx := context.Background()
	switch p := w.rng.IntN(100); {
	case p < 30: // edit some fields of a request
		f := model.Fields{"name": w.value()}
		if w.rng.IntN(2) == 0 {
			f["url"] = w.value()
		}
		if w.rng.IntN(3) == 0 {
			f["method"] = json.RawMessage(`"POST"`)
		}
		d.apply(w.op(model.KindRequest, w.id("req"), f))
	case p < 40: // delete
		kinds := []model.Kind{model.KindRequest, model.KindFolder, model.KindVariable}
		prefix := map[model.Kind]string{model.KindRequest: "req", model.KindFolder: "fld", model.KindVariable: "var"}
		k := kinds[w.rng.IntN(len(kinds))]
		d.apply(w.op(k, w.id(prefix[k]), model.Fields{model.FieldDeleted: json.RawMessage("true")}))
	case p < 50: // move a request or folder
		kind, prefix := model.KindRequest, "req"
		if w.rng.IntN(2) == 0 {
			kind, prefix = model.KindFolder, "fld"
		}
		d.apply(w.op(kind, w.id(prefix), model.Fields{"parent": json.RawMessage(fmt.Sprintf("%q", w.id("fld"))), "order": w.value()}))
	case p < 65: // edit a variable
		d.apply(w.op(model.KindVariable, w.id("var"), model.Fields{
			"owner": json.RawMessage(`"env-1"`), "name": w.value(), "value": w.value(),
			"enabled": json.RawMessage(strconv.FormatBool(w.rng.IntN(2) == 0)),
		}))
	case p < 73: // a history entry
		sent := time.Unix(1_800_000_000+int64(w.rng.IntN(1e6)), 0).UTC().Format(time.RFC3339)
		d.apply(w.op(model.KindHistory, model.NewID(), model.Fields{
			"sent_at": json.RawMessage(fmt.Sprintf("%q", sent)),
			"request": json.RawMessage(fmt.Sprintf(`{"method":"GET","url":%s}`, w.value())),
		}))
	case p < 80: // the network drops the connection, wherever it is
		d.relay.cut()
	case p < 88: // offline and back
		if d.run {
			d.sync.Stop()
		} else if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
		d.run = !d.run
	case p < 91: // the app quits and starts again
		d.restart()
	case p < 95: // sync off and on
		if err := d.sync.SetEnabled(ctx, !d.on); err != nil {
			t.Fatal(err)
		}
		d.on = !d.on
	default: // let the engines work a moment
		time.Sleep(time.Duration(w.rng.IntN(5)) * time.Millisecond)
	}
}
