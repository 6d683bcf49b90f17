package syncclient_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver/servertest"
)

// relay forwards TCP connections to the server and can cut them all, as
// a network drop would (mid-push, mid-ack: wherever they are).
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// hostOf is the host:port of the server acct was made on.
func hostOf(acct *servertest.Account) string { return strings.TrimPrefix(acct.URL, "https://") }

func startRelay(t testing.TB, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	t.Cleanup(func() { ln.Close(); r.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return r
}

func (r *relay) url() string { return "https://" + r.ln.Addr().String() }

func (r *relay) cut() {
	r.mu.Lock()
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// quickClock waits a hundredth of each backoff wait.
type quickClock struct{}

func (quickClock) Now() time.Time                         { return time.Now() }
func (quickClock) After(d time.Duration) <-chan time.Time { return time.After(d / 100) }

// device is one profile of the account: a real store file, an engine
// (through its own relay) and the app's sync switch.
type device struct {
	t     testing.TB
	name  string
	dir   string
	acct  *servertest.Account
	sess  app.Session
	wrap  func(*store.DB) syncclient.Store
	tune  func(*syncclient.Engine) // called on each engine made
	db    *store.DB
	sync  *app.Sync
	relay *relay
	ops   []model.ID // every op made locally
	on    bool       // the sync switch
	run   bool       // Start called, Stop not
	// durable makes the store fsync its commits, as the app's does; the
	// tests leave it off for speed, the latency benchmark turns it on.
	durable bool
}

type sessionOf struct{ s app.Session }

func (f sessionOf) Session(context.Context) (app.Session, error) { return f.s, nil }

func newDevice(t testing.TB, acct *servertest.Account, name string) *device {
	t.Helper()
	return newDeviceWith(t, acct, name, nil)
}

// newDeviceWith is newDevice whose engine sees the store through wrap.
func newDeviceWith(t testing.TB, acct *servertest.Account, name string, wrap func(*store.DB) syncclient.Store) *device {
	t.Helper()
	return startDevice(t, &device{t: t, name: name, dir: t.TempDir(), acct: acct, wrap: wrap, relay: startRelay(t, hostOf(acct)), on: true})
}

// newDurableDevice is newDevice whose store fsyncs every commit.
func newDurableDevice(t testing.TB, acct *servertest.Account, name string) *device {
	t.Helper()
	return startDevice(t, &device{t: t, name: name, dir: t.TempDir(), acct: acct, relay: startRelay(t, hostOf(acct)), on: true, durable: true})
}

func startDevice(t testing.TB, d *device) *device {
	t.Helper()
	d.sess = app.Session{Account: app.Account{AccountID: "acct", SignedIn: true, ServerURL: d.relay.url()}, Token: d.acct.Login(t), Key: d.acct.Key}
	d.open()
	if _, err := app.JoinAccount(context.Background(), d.db, "acct", false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.sync.Stop(); d.db.Close() })
	return d
}

// open opens the device's store and wires its sync, as the app does at
// start.
func (d *device) open() {
	d.t.Helper()
	db, err := store.Open(context.Background(), d.dir, store.Options{NoSync: !d.durable})
	if err != nil {
		d.t.Fatal(err)
	}
	var es syncclient.Store = db
	if d.wrap != nil {
		es = d.wrap(db)
	}
	newEngine := func(s app.Session) (app.SyncEngine, error) {
		e, err := syncclient.NewEngine(syncclient.EngineConfig{
			ServerURL: s.Account.ServerURL, CAFile: d.acct.CAFile, Proxy: "direct", Token: s.Token, Key: s.Key,
			DeviceID: d.name, Store: es, Clock: quickClock{}, PingInterval: time.Second,
		})
		if err != nil {
			return nil, err
		}
		if d.tune != nil {
			d.tune(e)
		}
		return e, nil
	}
	d.db = db
	if d.sync, err = app.NewSync(db, sessionOf{d.sess}, newEngine, nil); err != nil {
		d.t.Fatal(err)
	}
}

// restart closes the device's store and opens it again, as quitting and
// starting the app does, keeping the switch and running state.
func (d *device) restart() {
	d.t.Helper()
	d.sync.Stop()
	if err := d.db.Close(); err != nil {
		d.t.Fatal(err)
	}
	d.open()
	if d.run {
		if err := d.sync.Start(context.Background()); err != nil {
			d.t.Fatal(err)
		}
	}
}

func (d *device) apply(op model.Op) {
	d.t.Helper()
	if err := d.db.Apply(context.Background(), op); err != nil {
		d.t.Fatalf("%s: apply %s %s: %v", d.name, op.Kind, op.ID, err)
	}
	d.ops = append(d.ops, op.OpID)
}

// state is the visible state of every kind, values compacted.
func (d *device) state() map[string]string {
	d.t.Helper()
	return servertest.State(d.t, d.db)
}

func (d *device) inSync() bool {
	st := d.sync.Status()
	return st.State == app.SyncInSync && st.Pending == 0
}

// settled is inSync with the store's outbox empty too: the status alone
// may not yet count an op applied just now.
func (d *device) settled() bool {
	n, err := d.db.PendingCount(context.Background())
	return err == nil && n == 0 && d.inSync()
}

func TestTwoDevicesSyncThroughTheRealServer(t *testing.T) {
	acct := servertest.Start(t, servertest.Options{}).NewAccount(t, "ann")
	a, b := newDevice(t, acct, "a"), newDevice(t, acct, "b")
	ctx := context.Background()
	for _, d := range []*device{a, b} {
		if err := d.sync.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	id := model.NewID()
	a.apply(reqOp(id, "made on A"))
	waitFor(t, "B to see A's edit", func() bool { _, err := b.db.Get(ctx, model.KindRequest, id); return err == nil })
	got, _ := b.db.Get(ctx, model.KindRequest, id)
	if string(got.Fields["name"]) != `"made on A"` {
		t.Errorf("B sees name %s", got.Fields["name"])
	}
	b.apply(model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{model.FieldDeleted: json.RawMessage("true")}})
	waitFor(t, "A to see B's delete", func() bool { _, err := a.db.Get(ctx, model.KindRequest, id); return err != nil })
	// The status follows the store a moment after each apply: wait for
	// both to settle at the same cursor.
	waitFor(t, "both IN SYNC at the same cursor", func() bool {
		return a.inSync() && b.inSync() && a.sync.Status().Cursor == b.sync.Status().Cursor
	})
}

func TestARevokedSessionNeedsASignInAgain(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "cat")
	d := newDevice(t, acct, "a")
	ctx := context.Background()
	if err := d.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "IN SYNC", d.inSync)
	if err := srv.Client(t).WithToken(d.sess.Token).SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "action needed", func() bool { return d.sync.Status().State == app.SyncActionNeeded })
	if got := d.sync.Status().String(); got != "action needed: sign in again" {
		t.Errorf("status = %q", got)
	}
	d.apply(reqOp(model.NewID(), "typed after the revocation"))
	if n, _ := d.db.PendingCount(ctx); n != 1 {
		t.Errorf("pending = %d, want the edit kept for later", n)
	}
}
