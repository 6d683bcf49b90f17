package syncclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

var _ syncclient.Store = (*store.DB)(nil)

// fakeClock records the backoff waits. With auto, a wait ends at once;
// otherwise it never ends (SyncNow or ctx end it).
type fakeClock struct {
	mu     sync.Mutex
	auto   bool
	delays []time.Duration
}

func (c *fakeClock) Now() time.Time { return time.Unix(1_800_000_000, 0) }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delays = append(c.delays, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		ch <- c.Now()
	}
	return ch
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.delays...)
}

// openStore opens a real store in a temp dir with sync on.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SetSyncEnabled(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	return db
}

type engineOpt func(*syncclient.EngineConfig)

func newEngine(t *testing.T, f *fakeSync, db syncclient.Store, key vault.AccountKey, opts ...engineOpt) (*syncclient.Engine, *fakeClock) {
	t.Helper()
	clk := &fakeClock{auto: true}
	cfg := syncclient.EngineConfig{
		ServerURL: f.url(), CAFile: f.caFile, Proxy: "direct", Token: "tok", Key: key, DeviceID: "dev-1",
		Store: db, Clock: clk, Rand: func() float64 { return 0.999 }, DialTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := syncclient.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, clk
}

func reqOp(id model.ID, name string) model.Op {
	return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{
		"name": json.RawMessage(fmt.Sprintf("%q", name)), "method": json.RawMessage(`"GET"`),
	}}
}

// sealed seals op's values as another device of the account would.
func sealed(t *testing.T, key vault.AccountKey, op model.Op) model.Op {
	t.Helper()
	out := op
	out.Fields = model.Fields{}
	for name, v := range op.Fields {
		b, err := vault.Seal(key, string(op.Kind), string(op.ID), name, v)
		if err != nil {
			t.Fatal(err)
		}
		out.Fields[name] = syncproto.SealedValue(b)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineOncePullsPagesThenPushesAndWaitsForEchoes(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	f.pageSize = 3
	for i := range 10 {
		f.add(sealed(t, key, reqOp(model.NewID(), fmt.Sprintf("remote %d", i))))
	}
	db := openStore(t)
	local := reqOp(model.NewID(), "local")
	if err := db.Apply(ctx, local, reqOp(model.NewID(), "local 2")); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, f, db, key)
	sum, err := e.Once(ctx)
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if sum.Pulled != 10 || sum.Pushed != 2 || sum.Cursor != 12 {
		t.Errorf("summary = %+v, want pulled 10 (the echoes of its own 2 are not counted), pushed 2, cursor 12", sum)
	}
	hellos, pushes, _, early, _, _ := f.snapshot()
	if len(hellos) != 1 || hellos[0].Cursor != 0 || hellos[0].DeviceID != "dev-1" {
		t.Errorf("hellos = %+v", hellos)
	}
	if early != 0 || len(pushes) != 1 {
		t.Errorf("pushes = %v, %d before caught up; want one push after caught up", pushes, early)
	}
	recs, err := db.List(ctx, model.KindRequest)
	if err != nil || len(recs) != 12 {
		t.Fatalf("List = %d records, %v; want 12", len(recs), err)
	}
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("pending = %d after the echoes", n)
	}
	if st := e.Status(); st.State != app.SyncInSync || st.Cursor != 12 || st.LastSync.IsZero() || !st.StartedOver.IsZero() {
		t.Errorf("status = %+v, want IN SYNC at 12 with a last sync time, never started over", st)
	}
	if sum.StartedOver {
		t.Error("the summary says the device started over")
	}
	// A second run resumes from the cursor and pulls nothing.
	sum, err = e.Once(ctx)
	if err != nil || sum.Pulled != 0 || sum.Pushed != 0 {
		t.Errorf("second Once = %+v, %v", sum, err)
	}
	if hellos, _, _, _, _, _ := f.snapshot(); hellos[1].Cursor != 12 {
		t.Errorf("second hello cursor = %d, want 12", hellos[1].Cursor)
	}
}

func TestEngineBatchesPushesWithinTheLimits(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	db := openStore(t)
	var ops []model.Op
	for i := range 300 {
		ops = append(ops, reqOp(model.NewID(), fmt.Sprintf("r%d", i)))
	}
	big := strings.Repeat("x", 200<<10)
	for range 5 {
		op := reqOp(model.NewID(), "big")
		op.Fields["body"] = json.RawMessage(fmt.Sprintf(`{"mode":"raw","raw":%q}`, big))
		ops = append(ops, op)
	}
	if err := db.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, f, db, key)
	sum, err := e.Once(ctx)
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if sum.Pushed != 305 {
		t.Errorf("pushed %d, want 305", sum.Pushed)
	}
	_, pushes, frames, _, _, head := f.snapshot()
	if head != 305 {
		t.Errorf("server head %d, want 305", head)
	}
	for i := range pushes {
		if pushes[i] > syncproto.MaxPushOps || frames[i] > syncproto.MaxFrameSize {
			t.Errorf("push %d: %d ops, %d bytes; limits %d ops, %d bytes", i, pushes[i], frames[i], syncproto.MaxPushOps, syncproto.MaxFrameSize)
		}
	}
	if len(pushes) < 3 {
		t.Errorf("pushes = %v; 300 small and 5 of 270 KiB sealed need at least 3", pushes)
	}
}

func TestEngineAckFrameDropsOpsTheServerHadApplied(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	db := openStore(t)
	op := reqOp(model.NewID(), "pushed before, ack lost")
	if err := db.Apply(ctx, op); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.applied[op.OpID] = true // applied earlier; its echo is behind the cursor
	f.mu.Unlock()
	e, _ := newEngine(t, f, db, key)
	sum, err := e.Once(ctx)
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if sum.Pushed != 1 {
		t.Errorf("pushed = %d, want 1 (acknowledged by an ack frame)", sum.Pushed)
	}
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
}

func TestEngineRejectsValuesThatDoNotOpen(t *testing.T) {
	key := vault.NewAccountKey()
	id, other := model.NewID(), model.NewID()
	good := sealed(t, key, reqOp(id, "good"))
	cases := []struct {
		name   string
		tamper func(op model.Op) model.Op
	}{
		{"a flipped byte", func(op model.Op) model.Op {
			b, _ := syncproto.SealedBytes(op.Fields["name"])
			b[len(b)-1] ^= 1
			op.Fields["name"] = syncproto.SealedValue(b)
			return op
		}},
		{"two fields swapped", func(op model.Op) model.Op {
			op.Fields["name"], op.Fields["method"] = op.Fields["method"], op.Fields["name"]
			return op
		}},
		{"a value replayed on another record", func(op model.Op) model.Op {
			op.ID = other
			return op
		}},
		{"a value sealed with another key", func(op model.Op) model.Op {
			return sealed(t, vault.NewAccountKey(), reqOp(op.ID, "other key"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFakeSync(t)
			f.add(sealed(t, key, reqOp(model.NewID(), "before")))
			bad := c.tamper(model.Op{OpID: good.OpID, Kind: good.Kind, ID: good.ID, Fields: model.Fields{"name": good.Fields["name"], "method": good.Fields["method"]}})
			f.add(bad)
			db := openStore(t)
			e, _ := newEngine(t, f, db, key)
			_, err := e.Once(ctx)
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "does not open") {
				t.Fatalf("Once err = %v, want a value that does not open", err)
			}
			assertPageRefused(t, db, e, "does not open")
		})
	}
}

// assertPageRefused checks that nothing of a page with a bad value was
// applied to db and that e's status is the error, saying why.
func assertPageRefused(t *testing.T, db *store.DB, e *syncclient.Engine, why string) {
	t.Helper()
	ctx := context.Background()
	if cur, _ := db.Cursor(ctx); cur != 0 {
		t.Errorf("cursor = %d, want 0: nothing of the page applied", cur)
	}
	if recs, _ := db.List(ctx, model.KindRequest); len(recs) != 0 {
		t.Errorf("%d records applied from a page with a bad value", len(recs))
	}
	if st := e.Status(); st.State != app.SyncFailed || !strings.Contains(st.Why, why) {
		t.Errorf("status = %+v, want the error state saying %q", st, why)
	}
}

// A value that opens but is not JSON (sealed so by a faulty device of the
// account) fails its page in the store: nothing of it is applied, and the
// engine says which field of which change.
func TestEngineRejectsAValueThatOpensToNonJSON(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	f.add(sealed(t, key, reqOp(model.NewID(), "before")))
	bad := reqOp(model.NewID(), "bad")
	bad.Fields["name"] = json.RawMessage(`{"unclosed":`)
	f.add(sealed(t, key, bad))
	db := openStore(t)
	e, _ := newEngine(t, f, db, key)
	_, err := e.Once(ctx)
	if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), `field "name" is not valid JSON`) || !strings.Contains(err.Error(), string(bad.ID)) {
		t.Fatalf("Once err = %v, want the bad field named", err)
	}
	assertPageRefused(t, db, e, "not valid JSON")
}

func TestEngineCloseCodes(t *testing.T) {
	cases := []struct {
		code      syncproto.CloseCode
		state     app.SyncState
		text      string
		runReturn bool
		wantErr   error
	}{
		{syncproto.CloseUnauthorized, app.SyncActionNeeded, "action needed: sign in again", true, model.ErrUnauthorized},
		{syncproto.CloseEmailUnconfirmed, app.SyncActionNeeded, "action needed: confirm email", true, syncproto.ErrEmailUnconfirmed},
		{syncproto.CloseUnsupportedVersion, app.SyncActionNeeded, "action needed: upgrade", true, syncproto.ErrUnsupportedVersion},
		{syncproto.CloseTooLarge, app.SyncFailed, "error: quota used up (retry in 30s)", false, nil},
		{syncproto.CloseRateLimited, app.SyncOffline, "offline (retry in 1s)", false, nil},
		{syncproto.CloseGoingAway, app.SyncOffline, "offline (retry in 1s)", false, nil},
		{syncproto.CloseInternal, app.SyncOffline, "offline (retry in 1s)", false, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			f := newFakeSync(t)
			f.refuse = func(int) (syncproto.CloseCode, string) { return c.code, "quota used up" }
			e, clk := newEngine(t, f, openStore(t), vault.NewAccountKey())
			clk.auto = false
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx) }()
			waitFor(t, "state "+string(c.state), func() bool { return e.Status().State == c.state })
			if got := e.Status().String(); got != c.text {
				t.Errorf("status = %q, want %q", got, c.text)
			}
			if c.runReturn {
				err := <-done
				if !errors.Is(err, c.wantErr) {
					t.Errorf("Run = %v, want %v", err, c.wantErr)
				}
				return
			}
			cancel()
			<-done
			if c.code == syncproto.CloseGoingAway {
				if w := clk.waits(); len(w) == 0 || w[0] >= syncclient.BackoffMin {
					t.Errorf("waits after going away = %v, want one under %v", w, syncclient.BackoffMin)
				}
			}
		})
	}
}

func TestEngineReconnectsWithBackoffAndThenSyncs(t *testing.T) {
	f := newFakeSync(t)
	f.refuse = func(n int) (syncproto.CloseCode, string) {
		if n <= 4 {
			return syncproto.CloseInternal, "boom"
		}
		return 0, ""
	}
	db := openStore(t)
	e, clk := newEngine(t, f, db, vault.NewAccountKey())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, "IN SYNC", func() bool { return e.Status().State == app.SyncInSync })
	want := []time.Duration{500, 1000, 2000, 4000}
	got := clk.waits()
	if len(got) != len(want) {
		t.Fatalf("waits = %v, want 4", got)
	}
	for i, w := range want {
		ceiling := w * time.Millisecond
		if got[i] >= ceiling || got[i] < ceiling*99/100 {
			t.Errorf("wait %d = %v, want just under %v (rand 0.999)", i, got[i], ceiling)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	if st := e.Status(); st.State != app.SyncOff {
		t.Errorf("status after stop = %v", st)
	}
}

// TestEngineBacksOffFromAServerThatFailsEveryPush has the server welcome
// the device and catch it up, then refuse each of its pushes as a server
// with a full disk or no database does: going away (1001) or failing
// (1011). A welcome is no success: the waits grow as for any failure, and
// only the push that finally lands starts them over.
func TestEngineBacksOffFromAServerThatFailsEveryPush(t *testing.T) {
	for _, code := range []syncproto.CloseCode{syncproto.CloseGoingAway, syncproto.CloseInternal} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFakeSync(t)
			const failures = 8
			f.refusePush = func(n int) (syncproto.CloseCode, string) {
				if n <= failures {
					return code, "the server's storage is unavailable"
				}
				return 0, ""
			}
			db := openStore(t)
			if err := db.Apply(ctx, reqOp(model.NewID(), "pending")); err != nil {
				t.Fatal(err)
			}
			e, clk := newEngine(t, f, db, vault.NewAccountKey())
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx) }()
			waitFor(t, "IN SYNC", func() bool { s := e.Status(); return s.State == app.SyncInSync && s.Pending == 0 })
			// Rand is 0.999: each wait is just under its ceiling, which
			// doubles from BackoffMin up to BackoffMax.
			got := clk.waits()
			if len(got) != failures {
				t.Fatalf("waits = %v, want %d", got, failures)
			}
			ceiling := syncclient.BackoffMin
			for i, w := range got {
				if w >= ceiling || w < ceiling*99/100 {
					t.Errorf("wait %d = %v, want just under %v (waits %v)", i+1, w, ceiling, got)
				}
				ceiling = min(2*ceiling, syncclient.BackoffMax)
			}
			// In sync again, the next failure is met at once.
			f.mu.Lock()
			f.refusePush = func(int) (syncproto.CloseCode, string) { return code, "down again" }
			f.mu.Unlock()
			if err := db.Apply(ctx, reqOp(model.NewID(), "next")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "one more wait", func() bool { return len(clk.waits()) > failures })
			if w := clk.waits()[failures]; w >= syncclient.BackoffMin {
				t.Errorf("first wait after being in sync = %v, want under %v", w, syncclient.BackoffMin)
			}
			cancel()
			<-done
		})
	}
}

func TestEnginePushesLocalEditsWhileConnected(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	db := openStore(t)
	e, _ := newEngine(t, f, db, key)
	var seen sync.Map
	stop := e.Subscribe(func(s app.SyncStatus) { seen.Store(s.String(), true) })
	defer stop()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, "IN SYNC", func() bool { return e.Status().State == app.SyncInSync })
	if err := db.Apply(ctx, reqOp(model.NewID(), "typed while online")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to hold the edit", func() bool { _, _, _, _, _, head := f.snapshot(); return head == 1 })
	waitFor(t, "IN SYNC at 1", func() bool { s := e.Status(); return s.State == app.SyncInSync && s.Cursor == 1 && s.Pending == 0 })
	// A remote edit arrives by poke.
	f.add(sealed(t, key, reqOp(model.NewID(), "from another device")))
	waitFor(t, "the remote edit", func() bool { r, _ := db.List(ctx, model.KindRequest); return len(r) == 2 })
	if _, ok := seen.Load("IN SYNC"); !ok {
		t.Error("subscriber never saw IN SYNC")
	}
	cancel()
	<-done
}

func TestEngineDropsALinkThatMissesTwoPongs(t *testing.T) {
	f := newFakeSync(t)
	f.silent = true
	e, clk := newEngine(t, f, openStore(t), vault.NewAccountKey(), func(c *syncclient.EngineConfig) { c.PingInterval = 20 * time.Millisecond })
	clk.auto = false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, "offline", func() bool { return e.Status().State == app.SyncOffline })
	if st := e.Status(); !strings.Contains(st.LastError, "pings") {
		t.Errorf("last error = %q, want the missed pongs", st.LastError)
	}
	cancel()
	<-done
}

// TestEngineTakesBytesArrivingForAnsweredPings has the server stream its
// welcome frame over fifteen ping intervals without answering a ping (its
// pong would wait behind the frame): the link stays up until the frame is
// in, and is dropped once nothing arrives any more.
func TestEngineTakesBytesArrivingForAnsweredPings(t *testing.T) {
	f := newFakeSync(t)
	// Bytes come every 10 ms for 7 ping intervals: only a stall of two
	// whole intervals (300 ms) would look like a dead link.
	f.silent, f.slowWelcome = true, time.Second
	e, clk := newEngine(t, f, openStore(t), vault.NewAccountKey(), func(c *syncclient.EngineConfig) { c.PingInterval = 150 * time.Millisecond })
	clk.auto = false
	var welcomed atomic.Bool
	stop := e.Subscribe(func(s app.SyncStatus) {
		if s.State == app.SyncSyncing {
			welcomed.Store(true)
		}
	})
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, "offline", func() bool { return e.Status().State == app.SyncOffline })
	if !welcomed.Load() {
		t.Errorf("the link was dropped while the welcome frame was arriving (%q)", e.Status().LastError)
	}
	if st := e.Status(); !strings.Contains(st.LastError, "pings") {
		t.Errorf("last error = %q, want the missed pongs once nothing arrived", st.LastError)
	}
	cancel()
	<-done
}

func TestEngineRefusesAPlainServerURL(t *testing.T) {
	_, err := syncclient.NewEngine(syncclient.EngineConfig{ServerURL: "http://example.com", Token: "t", Store: openStore(t)})
	if !errors.Is(err, model.ErrInvalid) {
		t.Errorf("NewEngine(http://) = %v, want ErrInvalid", err)
	}
}

// connectProxy is an HTTP CONNECT proxy on loopback that counts tunnels.
func connectProxy(t *testing.T) (url string, tunnels func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		mu.Lock()
		seen = append(seen, r.Host)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

func TestEngineGoesThroughTheProxyWithConnect(t *testing.T) {
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	f.add(sealed(t, key, reqOp(model.NewID(), "through the proxy")))
	proxy, tunnels := connectProxy(t)
	db := openStore(t)
	e, _ := newEngine(t, f, db, key, func(c *syncclient.EngineConfig) { c.Proxy = proxy })
	sum, err := e.Once(context.Background())
	if err != nil || sum.Pulled != 1 {
		t.Fatalf("Once through the proxy = %+v, %v", sum, err)
	}
	host := strings.TrimPrefix(f.url(), "https://")
	if got := tunnels(); len(got) != 1 || got[0] != host {
		t.Errorf("tunnels = %q, want one to %s", got, host)
	}
}

func TestEngineRecoversFromADroppedPushAndALostAck(t *testing.T) {
	cases := []struct {
		name       string
		applied    bool
		wantPushes int
	}{
		{"dropped mid-push: pushed again", false, 1},
		{"applied but the ack lost: the echo in the catch-up acknowledges it", true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFakeSync(t)
			f.dropPush, f.applyDropped = 1, c.applied
			db := openStore(t)
			op := reqOp(model.NewID(), "pushed once")
			if err := db.Apply(ctx, op); err != nil {
				t.Fatal(err)
			}
			e, _ := newEngine(t, f, db, vault.NewAccountKey())
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx) }()
			waitFor(t, "IN SYNC with nothing pending", func() bool { s := e.Status(); return s.State == app.SyncInSync && s.Pending == 0 })
			_, pushes, _, _, conns, head := f.snapshot()
			if head != 1 || len(pushes) != c.wantPushes || conns != 2 {
				t.Errorf("server head %d, later pushes %v, connections %d; want 1, %d push(es), 2", head, pushes, conns, c.wantPushes)
			}
			if r, _ := db.List(ctx, model.KindRequest); len(r) != 1 {
				t.Errorf("%d requests visible, want 1", len(r))
			}
			cancel()
			<-done
		})
	}
}

// TestALostConnectionSaysSo: a link that breaks under a push (no close
// frame) is told as such, with its cause, not in the WebSocket library's
// words, and still counts as the server being out of reach.
func TestALostConnectionSaysSo(t *testing.T) {
	ctx := context.Background()
	f := newFakeSync(t)
	f.dropPush = 1
	db := openStore(t)
	if err := db.Apply(ctx, reqOp(model.NewID(), "pending")); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, f, db, vault.NewAccountKey())
	_, err := e.Once(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "sync: the connection to the server was lost (") ||
		strings.Contains(err.Error(), "failed to") || !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("Once = %v; want the lost connection told plainly, wrapping ErrUnavailable", err)
	}
}

func TestEngineStartsOverFromAServerRestoredFromABackup(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	db := openStore(t)
	// This device synced up to seq 5 with the server before its restore.
	var old []model.Change
	for i := range 5 {
		old = append(old, model.Change{Seq: uint64(i + 1), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("old-%d", i)), Fields: model.Fields{"name": json.RawMessage(`"old"`)}})
	}
	if err := db.ApplyServerChanges(ctx, old, 5); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(ctx, reqOp("pending", "pending")); err != nil {
		t.Fatal(err)
	}
	f := newFakeSync(t) // the restored server holds the first two only
	for _, c := range old[:2] {
		f.add(sealed(t, key, model.Op{OpID: model.NewID(), Kind: c.Kind, ID: c.ID, Fields: c.Fields}))
	}
	e, _ := newEngine(t, f, db, key)
	sum, err := e.Once(ctx)
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if !sum.StartedOver || e.Status().StartedOver.IsZero() {
		t.Errorf("summary %+v, status %+v: want both to say the device started over", sum, e.Status())
	}
	if sum.Pushed != 4 {
		t.Errorf("pushed %d, want 4: the 3 records the server lost and the pending op, not the 2 it holds", sum.Pushed)
	}
	if r, _ := db.List(ctx, model.KindRequest); len(r) != 6 {
		t.Errorf("%d requests visible, want 6: nothing dropped", len(r))
	}
	_, _, _, _, _, head := f.snapshot()
	if cur, _ := db.Cursor(ctx); cur != uint64(head) || head != 6 {
		t.Errorf("cursor %d, server head %d; want both 6", cur, head)
	}
}

func TestEngineSetsAsideAnOpTooLargeToSyncAndPushesTheRest(t *testing.T) {
	ctx := context.Background()
	f := newFakeSync(t)
	db := openStore(t)
	big := reqOp(model.NewID(), "big")
	big.Fields["body"] = json.RawMessage(fmt.Sprintf(`{"mode":"raw","raw":%q}`, strings.Repeat("x", syncproto.MaxFieldValue+10<<10)))
	small := reqOp(model.NewID(), "small")
	if err := db.Apply(ctx, big, small); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, f, db, vault.NewAccountKey())
	sum, err := e.Once(ctx)
	if !errors.Is(err, model.ErrTooLarge) || !strings.Contains(err.Error(), `1 local change is too large to sync (kept on this device): request "big": its body is 522.`) ||
		!strings.Contains(err.Error(), "more than the 512.0 KiB one synced value holds") {
		t.Fatalf("Once = %v, want the op too large named, with its field", err)
	}
	if _, _, _, _, _, head := f.snapshot(); head != 1 || sum.Pushed != 1 {
		t.Errorf("server head %d, pushed %d; want the small op through", head, sum.Pushed)
	}
	if n, _ := db.PendingCount(ctx); n != 1 {
		t.Errorf("pending = %d, want the big op kept", n)
	}
	if r, err := db.Get(ctx, model.KindRequest, big.ID); err != nil || len(r.Fields["body"]) < syncproto.MaxFieldValue {
		t.Errorf("the big request is no longer visible whole: %v", err)
	}
	if st := e.Status(); st.State != app.SyncFailed || !strings.Contains(st.String(), "too large") {
		t.Errorf("status = %q", st)
	}
}

// An op whose values each fit but not all together is named too.
func TestEngineNamesAnOpTooLargeForOneChange(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	op := reqOp(model.NewID(), "wide")
	half := strings.Repeat("y", syncproto.MaxFieldValue-1<<10)
	op.Fields["body"] = json.RawMessage(fmt.Sprintf(`{"mode":"raw","raw":%q}`, half[:len(half)-64]))
	op.Fields["description"] = json.RawMessage(fmt.Sprintf("%q", half[:len(half)-64]))
	if err := db.Apply(ctx, op); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, newFakeSync(t), db, vault.NewAccountKey())
	_, err := e.Once(ctx)
	if !errors.Is(err, model.ErrTooLarge) || !strings.Contains(err.Error(), `request "wide": its values are 1021.`) ||
		!strings.Contains(err.Error(), "more than one synced change holds") {
		t.Fatalf("Once = %v, want the op named, with its size in all", err)
	}
}

func TestDeviceIDFitsHello(t *testing.T) {
	for in, want := range map[string]string{"": "courier", "01ABC": "01ABC", "é\x00x": "x", strings.Repeat("a", 80): strings.Repeat("a", 64)} {
		got := syncclient.DeviceID(in)
		if got != want {
			t.Errorf("DeviceID(%q) = %q, want %q", in, got, want)
		}
		if err := (&syncproto.Hello{DeviceID: got}).Validate(); err != nil {
			t.Errorf("hello with %q: %v", got, err)
		}
	}
}

// A refusal whose words already ask to sign in again is not told twice.
func TestEngineSaysSignInAgainOnce(t *testing.T) {
	for _, msg := range []string{"the session was revoked; sign in again", "no such session"} {
		f := newFakeSync(t)
		f.refuse = func(int) (syncproto.CloseCode, string) { return syncproto.CloseUnauthorized, msg }
		e, _ := newEngine(t, f, openStore(t), vault.NewAccountKey())
		err := e.Run(context.Background())
		if !errors.Is(err, model.ErrUnauthorized) || strings.Count(err.Error(), "sign in again") != 1 || !strings.Contains(err.Error(), msg) {
			t.Errorf("server said %q; Run = %v, want it to ask once to sign in again", msg, err)
		}
	}
}

// A history entry whose request is too large to sync (written before
// entries were cut to fit the history) is cut when pushed; the echo
// brings the device to what the server holds.
func TestEnginePushesAHistoryEntryTooLargeCutToFit(t *testing.T) {
	ctx := context.Background()
	f := newFakeSync(t)
	db := openStore(t)
	id := model.NewID()
	body := strings.Repeat("0123456789", 60<<10)
	op, err := model.UpsertOp(model.KindHistory, id, &model.HistoryEntry{
		SentAt:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Request: model.HistoryRequest{Request: model.Request{Method: "POST", URL: "https://a.example/", Body: model.Body{Mode: model.BodyRaw, Raw: body}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(ctx, op); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, f, db, vault.NewAccountKey())
	sum, err := e.Once(ctx)
	if err != nil || sum.Pushed != 1 {
		t.Fatalf("Once = %+v, %v; want the entry pushed", sum, err)
	}
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("pending = %d; want 0", n)
	}
	got, err := db.Get(ctx, model.KindHistory, id)
	if err != nil {
		t.Fatal(err)
	}
	var r model.HistoryRequest
	if err := json.Unmarshal(got.Fields[model.FieldHistoryRequest], &r); err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Body.Raw) != model.HistoryBodyLimit || !strings.HasPrefix(body, r.Body.Raw) {
		t.Errorf("the entry's request: truncated %v, %d bytes of body; want the first %d", r.Truncated, len(r.Body.Raw), model.HistoryBodyLimit)
	}
}
