package syncclient_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/vault"
)

// syncServer is a real syncserver on loopback TLS with its dev CA, over
// a bbolt file that outlives restarts.
type syncServer struct {
	url, caFile string
	addr        string // host:port
	mail        chan syncserver.Message
	t           testing.TB
	dir         string
	cert        tls.Certificate
	mu          sync.Mutex
	stop        func() // shuts the running server down gracefully (1001)
}

func startSyncServer(t testing.TB) *syncServer {
	t.Helper()
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &syncServer{
		url: "https://" + ln.Addr().String(), caFile: filepath.Join(dir, syncserver.DevCAFile),
		mail: make(chan syncserver.Message, 64), addr: ln.Addr().String(), t: t, dir: dir, cert: cert,
	}
	s.run(ln)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stop()
	})
	return s
}

// run serves on ln until stop.
func (s *syncServer) run(ln net.Listener) {
	s.t.Helper()
	st, err := boltstore.Open(filepath.Join(s.dir, "server.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	limits := syncserver.NoLimits()
	srv, err := syncserver.New(context.Background(), syncserver.Config{
		Listener: ln, PublicURL: s.url, TLS: &tls.Config{Certificates: []tls.Certificate{s.cert}},
		Storage: st, Limits: &limits, Logger: slog.New(slog.DiscardHandler),
		Mailer: syncserver.MailerFunc(func(ctx context.Context, m syncserver.Message) error { s.mail <- m; return nil }),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("server Run: %v", err)
		}
		st.Close()
	}
}

// restart shuts the server down gracefully (every connection gets 1001)
// and starts it again on the same address and data.
func (s *syncServer) restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.run(ln)
}

// account is a confirmed account: its key and a way to open sessions.
type account struct {
	srv   *syncServer
	key   vault.AccountKey
	login func() string // a new session's token
}

func newAccount(t testing.TB, srv *syncServer, name string) *account {
	t.Helper()
	ctx := context.Background()
	c, err := syncclient.New(srv.url, syncclient.Options{CAFile: srv.caFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	key := vault.NewAccountKey()
	salt, p := vault.NewSalt(), vault.MinKDFParams
	mk, err := vault.DeriveMaster(ctx, "password of "+name, salt, p)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := vault.Wrap(mk.WrapKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	cr := syncproto.Credentials{KDFSalt: salt, KDFParams: syncproto.KDFParams{T: p.Time, M: p.MemoryKiB, P: p.Threads}, AuthKey: mk.AuthKey(), WrappedAccountKey: wrapped}
	rw, err := vault.Wrap(vault.NewRecoveryKey().WrapKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	email := name + "@example.com"
	if err := c.SignUp(ctx, syncproto.SignUpRequest{Username: name, Email: email, Credentials: cr, RecoveryWrappedKey: rw}); err != nil {
		t.Fatal(err)
	}
	var link string
	select {
	case m := <-srv.mail:
		link = m.Links[0]
	case <-time.After(10 * time.Second):
		t.Fatal("no confirmation email within 10 s")
	}
	if err := c.ConfirmEmail(ctx, syncclient.ConfirmTokenFromLink(link)); err != nil {
		t.Fatal(err)
	}
	return &account{srv: srv, key: key, login: func() string {
		t.Helper()
		resp, err := c.SignIn(ctx, syncproto.SignInRequest{Identifier: name, AuthKey: mk.AuthKey(), DeviceName: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Token
	}}
}

// relay forwards TCP connections to the server and can cut them all, as
// a network drop would (mid-push, mid-ack: wherever they are).
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

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
	acct  *account
	sess  app.Session
	wrap  func(*store.DB) syncclient.Store
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

func newDevice(t testing.TB, acct *account, name string) *device {
	t.Helper()
	return newDeviceWith(t, acct, name, nil)
}

// newDeviceWith is newDevice whose engine sees the store through wrap.
func newDeviceWith(t testing.TB, acct *account, name string, wrap func(*store.DB) syncclient.Store) *device {
	t.Helper()
	return startDevice(t, &device{t: t, name: name, dir: t.TempDir(), acct: acct, wrap: wrap, relay: startRelay(t, acct.srv.addr), on: true})
}

// newDurableDevice is newDevice whose store fsyncs every commit.
func newDurableDevice(t testing.TB, acct *account, name string) *device {
	t.Helper()
	return startDevice(t, &device{t: t, name: name, dir: t.TempDir(), acct: acct, relay: startRelay(t, acct.srv.addr), on: true, durable: true})
}

func startDevice(t testing.TB, d *device) *device {
	t.Helper()
	d.sess = app.Session{Account: app.Account{AccountID: "acct", SignedIn: true, ServerURL: d.relay.url()}, Token: d.acct.login(), Key: d.acct.key}
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
		return syncclient.NewEngine(syncclient.EngineConfig{
			ServerURL: s.Account.ServerURL, CAFile: d.acct.srv.caFile, Proxy: "direct", Token: s.Token, Key: s.Key,
			DeviceID: d.name, Store: es, Clock: quickClock{}, PingInterval: time.Second,
		})
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
	out := map[string]string{}
	for _, k := range []model.Kind{model.KindCollection, model.KindFolder, model.KindRequest, model.KindEnvironment, model.KindVariable, model.KindHeaderPreset, model.KindHistory} {
		recs, err := d.db.List(context.Background(), k)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, r := range recs {
			b, _ := json.Marshal(r.Fields) // map keys sorted
			out[string(k)+"/"+string(r.ID)] = string(b)
		}
	}
	return out
}

func (d *device) inSync() bool {
	st := d.sync.Status()
	return st.State == app.SyncInSync && st.Pending == 0
}

func TestTwoDevicesSyncThroughTheRealServer(t *testing.T) {
	srv := startSyncServer(t)
	acct := newAccount(t, srv, "ann")
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
	srv := startSyncServer(t)
	acct := newAccount(t, srv, "cat")
	d := newDevice(t, acct, "a")
	ctx := context.Background()
	if err := d.sync.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "IN SYNC", d.inSync)
	c, err := syncclient.New(srv.url, syncclient.Options{CAFile: srv.caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if err := c.WithToken(d.sess.Token).SignOut(ctx); err != nil {
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
