package pgstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
	"github.com/courierapp/courier/syncserver/servertest"
)

// replica is one in-process server on loopback TLS over its own pgstore
// connection to a shared schema.
type replica struct {
	db   *pgstore.DB
	srv  *syncserver.Server
	addr string
	pool *x509.CertPool
	logs *servertest.Buffer
	stop func()
}

// certs makes a dev CA and server certificate for loopback.
func certs(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, syncserver.DevCAFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return cert, pool
}

// startReplica opens a store on url and runs a server on it until the
// test ends; it returns once the server listens for other replicas'
// heads.
func startReplica(t testing.TB, url string, opt pgstore.Options) *replica {
	t.Helper()
	logs := &servertest.Buffer{}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	db, err := pgstore.Open(context.Background(), url, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := startServer(t, db, logs)
	r.db = db
	waitFor(t, 10*time.Second, "the replica listens", db.Listening)
	return r
}

// startServer runs a server on st until the test ends, then closes st.
func startServer(t testing.TB, st syncserver.Storage, logs *servertest.Buffer) *replica {
	t.Helper()
	cert, pool := certs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{addr: ln.Addr().String(), pool: pool, logs: logs}
	r.srv, err = syncserver.New(context.Background(), syncserver.Config{
		Listener: ln, PublicURL: "https://" + r.addr, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Storage: st, Mailer: syncserver.MailerFunc(func(context.Context, syncserver.Message) error { return nil }),
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Limits: &syncserver.Limits{},
		Sync: syncserver.SyncConfig{PushRate: syncserver.Rate{Burst: -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			st.Close()
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica %s log:\n%s", r.addr, r.logs)
		}
		r.stop()
	})
	return r
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

func randomBytes(n int) []byte { b := make([]byte, n); rand.Read(b); return b }

// newAccount stores a confirmed account with one session and returns its
// bearer token.
func newAccount(t testing.TB, st syncserver.Storage, n int) string {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("acct-%d", n)
	a := syncserver.Account{ID: id, Username: fmt.Sprintf("user%d", n), Email: fmt.Sprintf("user%d@example.com", n), EmailConfirmed: true,
		CreatedAt: time.Now(), Secrets: syncserver.AccountSecrets{KDFSalt: randomBytes(16), KDFParams: syncproto.DefaultKDFParams,
			AuthHash: randomBytes(32), WrappedAccountKey: randomBytes(72), RecoveryWrappedKey: randomBytes(72)}}
	if err := st.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	h := sha256.Sum256([]byte(token))
	s := syncserver.Session{ID: "sess-" + id, AccountID: id, TokenHash: h[:], DeviceName: "test", CreatedAt: time.Now(), LastSeenAt: time.Now()}
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	return token
}

// device is a sync connection that records the highest seq it was sent.
type device struct {
	t   testing.TB
	ws  *websocket.Conn
	mu  sync.Mutex
	seq uint64
	// backlog is the head at the welcome: up to it, superseded changes
	// are left out.
	backlog uint64
	seen    map[uint64]time.Time // when each seq arrived
	more    chan struct{}        // signalled after each changes frame
	err     error
	// errFrame is the error frame the server sent before closing.
	errFrame *syncproto.ErrorFrame
}

// connect opens a sync connection to r as token's account and waits for
// the first caught-up frame.
func connect(t testing.TB, r *replica, token string) *device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, _, err := websocket.Dial(ctx, "wss://"+r.addr+syncproto.PathSync, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.pool}}},
		HTTPHeader: h, Subprotocols: []string{syncproto.SyncSubprotocol},
	})
	if err != nil {
		t.Fatalf("dial %s: %v", r.addr, err)
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	t.Cleanup(func() { ws.CloseNow() })
	d := &device{t: t, ws: ws, seen: map[uint64]time.Time{}, more: make(chan struct{}, 1)}
	d.send(&syncproto.Hello{DeviceID: "dev-" + r.addr, Cursor: 0})
	caught := make(chan struct{})
	go d.read(caught)
	select {
	case <-caught:
	case <-time.After(10 * time.Second):
		t.Fatalf("no caught-up frame from %s within 10 s (err %v)", r.addr, d.lastErr())
	}
	return d
}

func (d *device) read(caught chan struct{}) {
	var once sync.Once
	for {
		_, b, err := d.ws.Read(context.Background())
		if err == nil {
			var f syncproto.Frame
			if f, err = syncproto.DecodeServerFrame(b); err == nil {
				if w, ok := f.(*syncproto.Welcome); ok {
					d.mu.Lock()
					d.backlog = w.Head
					d.mu.Unlock()
				}
				if ef, ok := f.(*syncproto.ErrorFrame); ok {
					d.mu.Lock()
					d.errFrame = ef
					d.mu.Unlock()
				}
				if ch, ok := f.(*syncproto.Changes); ok {
					d.got(ch)
					if ch.CaughtUp {
						once.Do(func() { close(caught) })
					}
				}
				continue
			}
		}
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		return
	}
}

func (d *device) got(ch *syncproto.Changes) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	for _, c := range ch.Changes {
		// The backlog leaves out superseded changes; past it, every seq
		// comes.
		if c.Seq <= d.seq || (c.Seq != d.seq+1 && c.Seq-1 > d.backlog) {
			d.err = fmt.Errorf("seq %d follows %d (backlog up to %d)", c.Seq, d.seq, d.backlog)
		}
		d.seq = c.Seq
		d.seen[c.Seq] = now
	}
	select {
	case d.more <- struct{}{}:
	default:
	}
}

func (d *device) lastErr() error { d.mu.Lock(); defer d.mu.Unlock(); return d.err }

func (d *device) reached(seq uint64) bool { d.mu.Lock(); defer d.mu.Unlock(); return d.seq >= seq }

func (d *device) send(f syncproto.Frame) {
	d.t.Helper()
	b, err := syncproto.EncodeFrame(f)
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.ws.Write(ctx, websocket.MessageText, b); err != nil {
		d.t.Fatalf("write: %v", err)
	}
}

// push sends one op writing a sealed name to request id.
func (d *device) push(id string) {
	d.t.Helper()
	v := randomBytes(64)
	v[0] = 0x01
	d.send(&syncproto.Push{Ops: []model.Op{{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(id),
		Fields: model.Fields{"name": syncproto.SealedValue(v)}}}})
}

// waitSeq waits until d was sent seq.
func (d *device) waitSeq(seq uint64, what string) {
	d.t.Helper()
	waitFor(d.t, 10*time.Second, what, func() bool { return d.reached(seq) || d.lastErr() != nil })
	if err := d.lastErr(); err != nil {
		d.t.Fatalf("%s: %v (%+v)", what, err, d.errFrame)
	}
}

func TestReplicasDeliverEachOthersPushes(t *testing.T) {
	url := pgtest.URL(t)
	r1, r2 := startReplica(t, url, pgstore.Options{}), startReplica(t, url, pgstore.Options{})
	token := newAccount(t, r1.db, 1)
	d1, d2 := connect(t, r1, token), connect(t, r2, token)
	d1.push("req-1")
	d2.waitSeq(1, "a push on replica 1 reaches a device on replica 2")
	d2.push("req-2")
	d1.waitSeq(2, "a push on replica 2 reaches a device on replica 1")
	d2.waitSeq(2, "the pusher gets its own op back")
}

func TestLostListenConnectionRereadsHeads(t *testing.T) {
	url := pgtest.URL(t)
	// Replica 1 sends no NOTIFY: replica 2 can learn of its pushes only
	// by re-reading the heads after its LISTEN connection is lost.
	r1 := startReplica(t, url, pgstore.Options{NotifyEvery: -1})
	r2 := startReplica(t, url, pgstore.Options{})
	token := newAccount(t, r1.db, 1)
	d1, d2 := connect(t, r1, token), connect(t, r2, token)
	d1.push("req-1")
	d1.waitSeq(1, "the pusher's own replica delivers")
	lost := r2.db.LostListens()
	pgtest.Exec(t, url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'courier-listen' AND pid <> pg_backend_pid()`)
	waitFor(t, 10*time.Second, "replica 2 notices the lost LISTEN connection", func() bool { return r2.db.LostListens() > lost })
	d2.waitSeq(1, "replica 2 re-reads the head once it listens again")
	waitFor(t, 10*time.Second, "replica 2 listens again", r2.db.Listening)
	// And NOTIFY flows again from a replica that sends it.
	d2.push("req-2")
	d1.waitSeq(2, "replica 1 hears replica 2 after both reconnected")
}

func TestNotificationsAreCoalescedPerAccount(t *testing.T) {
	url := pgtest.URL(t)
	db := openTest(t, pgstore.Options{NotifyEvery: 100 * time.Millisecond})
	defer db.Close()
	newAccount(t, db, 1)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{db.Channel()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	const pushes = 40
	start := time.Now()
	for i := range pushes {
		v := randomBytes(64)
		op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprint("req-", i)), Fields: model.Fields{"name": syncproto.SealedValue(v)}}
		if _, err := db.Push(ctx, "acct-1", []model.Op{op}, syncserver.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	var got []string
	for {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break // quiet for 2 s: every notification is in
		}
		got = append(got, n.Payload)
		if n.Payload == fmt.Sprint("acct-1:", pushes) {
			break
		}
	}
	if len(got) == 0 || got[len(got)-1] != fmt.Sprint("acct-1:", pushes) {
		t.Fatalf("notifications %v do not end at the last head %d", got, pushes)
	}
	t.Logf("%d pushes over %v: %d notifications", pushes, elapsed, len(got))
	// One flush per 100 ms at most, plus the first one at once.
	if most := int(elapsed/(100*time.Millisecond)) + 2; len(got) > most {
		t.Fatalf("%d pushes over %v gave %d notifications, want at most %d: %v", pushes, elapsed, len(got), most, got)
	}
}

// TestStoresInTwoSchemasHearOnlyTheirOwnHeads: NOTIFY reaches every
// session of a database, so two servers given one database with two
// schemas would poke each other's connections (and a foreign head of an
// account id both hold could move a connection past changes it has not
// sent). Each schema's store has a channel of its own.
func TestStoresInTwoSchemasHearOnlyTheirOwnHeads(t *testing.T) {
	a := openTest(t, pgstore.Options{NotifyEvery: time.Millisecond})
	defer a.Close()
	b := openTest(t, pgstore.Options{NotifyEvery: time.Millisecond})
	defer b.Close()
	if a.Channel() == b.Channel() || !strings.HasPrefix(a.Channel(), pgstore.Channel+"_") {
		t.Fatalf("channels %q and %q", a.Channel(), b.Channel())
	}
	newAccount(t, a, 1)
	newAccount(t, b, 1) // the same account id in both
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads := make(chan string, 16)
	go func() {
		_ = a.WatchHeads(ctx, headFunc(func(acct string, head uint64) { heads <- fmt.Sprint(acct, ":", head) }))
	}()
	waitFor(t, 10*time.Second, "store a listens", a.Listening)
	drain := func() {
		for {
			select {
			case <-heads:
			case <-time.After(300 * time.Millisecond):
				return
			}
		}
	}
	drain() // the heads read when it started listening
	push := func(st *pgstore.DB, n int) {
		for i := range n {
			op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprint("req-", i)), Fields: model.Fields{"name": syncproto.SealedValue(randomBytes(16))}}
			if _, err := st.Push(context.Background(), "acct-1", []model.Op{op}, syncserver.Quota{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	push(b, 5)
	select {
	case h := <-heads:
		t.Fatalf("store a heard store b's head %s", h)
	case <-time.After(500 * time.Millisecond):
	}
	push(a, 1)
	select {
	case h := <-heads:
		if h != "acct-1:1" {
			t.Errorf("store a heard %s, want acct-1:1", h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("store a did not hear its own push")
	}
}

// headFunc is a HeadSink of acct-1 that hands each head to the function.
type headFunc func(acct string, head uint64)

func (f headFunc) HeadChanged(acct string, head uint64) { f(acct, head) }
func (f headFunc) Accounts() []string                   { return []string{"acct-1"} }
