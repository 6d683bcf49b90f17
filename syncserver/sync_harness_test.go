package syncserver_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
)

// syncEnv is a server on loopback TLS (port 0) with a bbolt store, whose
// graceful shutdown the test controls.
type syncEnv struct {
	t      testing.TB
	srv    *syncserver.Server
	store  *boltstore.DB
	dbPath string
	pool   *x509.CertPool
	base   string // https://127.0.0.1:port
	wsURL  string
	logs   *servertest.Buffer
	cancel context.CancelFunc
	done   chan error
	http   *http.Client
	n      atomic.Int64
	mu     sync.Mutex
	keys   map[string][]byte // account id -> authKey
}

func newSyncEnv(t testing.TB, mod func(*syncserver.Config)) *syncEnv {
	t.Helper()
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := &syncEnv{t: t, pool: servertest.CAPool(t, filepath.Join(dir, syncserver.DevCAFile)), logs: &servertest.Buffer{}, dbPath: filepath.Join(dir, "server.db")}
	if e.store, err = boltstore.Open(e.dbPath); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "https://" + ln.Addr().String()
	e.wsURL = "wss://" + ln.Addr().String() + syncproto.PathSync
	cfg := syncserver.Config{
		Listener: ln, PublicURL: e.base, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Storage: e.store, Mailer: syncserver.MailerFunc(func(context.Context, syncserver.Message) error { return nil }),
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Limits: &syncserver.Limits{},
	}
	if mod != nil {
		mod(&cfg)
	}
	if e.srv, err = syncserver.New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.srv.Run(ctx) }()
	e.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
		e.http.CloseIdleConnections()
		e.shutdown()
		e.store.Close()
	})
	return e
}

// shutdown stops the server gracefully (once) and checks Run's result.
func (e *syncEnv) shutdown() {
	e.cancel()
	if err, ok := <-e.done; ok {
		close(e.done)
		if err != nil {
			e.t.Errorf("Run after shutdown: %v", err)
		}
	}
}

// account creates an account (confirmed unless told) with one session
// straight in storage and returns its id and bearer token.
func (e *syncEnv) account(confirmed bool) (string, string) {
	e.t.Helper()
	n := e.n.Add(1)
	id := fmt.Sprintf("acct-%d", n)
	authKey := randomBytes(32)
	e.mu.Lock()
	if e.keys == nil {
		e.keys = map[string][]byte{}
	}
	e.keys[id] = authKey
	e.mu.Unlock()
	a := syncserver.Account{
		ID: id, Username: fmt.Sprintf("user%d", n), Email: fmt.Sprintf("user%d@example.com", n), EmailConfirmed: confirmed,
		CreatedAt: time.Now(), Secrets: syncserver.AccountSecrets{
			KDFSalt: randomBytes(16), KDFParams: syncproto.DefaultKDFParams, AuthHash: sha(authKey),
			WrappedAccountKey: randomBytes(72), RecoveryWrappedKey: randomBytes(72)},
	}
	if err := e.store.CreateAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return id, e.session(id)
}

// authKey returns the authKey of an account made by account.
func (e *syncEnv) authKey(id string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keys[id]
}

// session adds a session to account id and returns its token.
func (e *syncEnv) session(id string) string {
	e.t.Helper()
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	n := e.n.Add(1)
	s := syncserver.Session{ID: fmt.Sprintf("sess-%d", n), AccountID: id, TokenHash: sha([]byte(token)), DeviceName: "test", CreatedAt: time.Now(), LastSeenAt: time.Now()}
	if err := e.store.CreateSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return token
}

// dialOpts returns the options of a client that trusts the server's CA.
func (e *syncEnv) dialOpts(token string, subprotocols ...string) *websocket.DialOptions {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if subprotocols == nil {
		subprotocols = []string{syncproto.SyncSubprotocol}
	}
	return &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}}},
		HTTPHeader:   h,
		Subprotocols: subprotocols,
	}
}

// client is a small sync client for tests: a reader goroutine decodes and
// validates every server frame and queues it.
type client struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan syncproto.Frame
	// end is set once the connection ended: its close status (-1 when
	// it ended without one) and the error.
	endOnce sync.Once
	ended   chan struct{}
	status  websocket.StatusCode
	err     error
}

// dial opens a connection; it does not send hello.
func (e *syncEnv) dial(token string, subprotocols ...string) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL, e.dialOpts(token, subprotocols...))
	if err != nil {
		e.t.Fatalf("dial sync: %v", err)
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	c := &client{t: e.t, ws: ws, frames: make(chan syncproto.Frame, 1024), ended: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() { ws.CloseNow() })
	return c
}

// dialMute opens a connection that nothing reads from (so it answers no
// ping).
func (e *syncEnv) dialMute(token string) *websocket.Conn {
	e.t.Helper()
	ws, _, err := websocket.Dial(e.t.Context(), e.wsURL, e.dialOpts(token))
	if err != nil {
		e.t.Fatalf("dial sync: %v", err)
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// connect dials, says hello and checks the welcome.
func (e *syncEnv) connect(token string, cursor uint64) (*client, *syncproto.Welcome) {
	e.t.Helper()
	c := e.dial(token)
	c.send(&syncproto.Hello{DeviceID: "dev-" + fmt.Sprint(e.n.Add(1)), Cursor: cursor})
	w, ok := c.next().(*syncproto.Welcome)
	if !ok {
		e.t.Fatalf("first server frame is not welcome")
	}
	return c, w
}

func (c *client) readLoop() {
	defer close(c.frames)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.end(err)
			return
		}
		f, err := syncproto.DecodeServerFrame(b)
		if err != nil {
			c.end(fmt.Errorf("server sent a bad frame %.200s: %w", b, err))
			return
		}
		c.frames <- f
	}
}

func (c *client) end(err error) {
	c.endOnce.Do(func() {
		c.status, c.err = websocket.CloseStatus(err), err
		close(c.ended)
	})
}

func (c *client) send(f syncproto.Frame) {
	c.t.Helper()
	b, err := syncproto.EncodeFrame(f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// next returns the next frame within 10 s.
func (c *client) next() syncproto.Frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			<-c.ended
			c.t.Fatalf("connection ended (status %d): %v", c.status, c.err)
		}
		return f
	case <-time.After(10 * time.Second):
		c.t.Fatal("no frame within 10 s")
	}
	return nil
}

// changesUntil collects changes frames until one is caught up and holds
// seq >= upTo (upTo 0: the first caught-up frame). Other frames fail.
func (c *client) changesUntil(upTo uint64) []model.Change {
	c.t.Helper()
	var out []model.Change
	for {
		ch, ok := c.next().(*syncproto.Changes)
		if !ok {
			c.t.Fatalf("want a changes frame")
		}
		out = append(out, ch.Changes...)
		reached := uint64(0)
		if len(out) > 0 {
			reached = out[len(out)-1].Seq
		}
		if ch.CaughtUp && reached >= upTo {
			return out
		}
	}
}

// waitClose waits for the end of the connection and returns its close
// status and the error frame sent before it (nil if none).
func (c *client) waitClose(within time.Duration) (websocket.StatusCode, *syncproto.ErrorFrame) {
	c.t.Helper()
	var ef *syncproto.ErrorFrame
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				<-c.ended
				return c.status, ef
			}
			if e, isErr := f.(*syncproto.ErrorFrame); isErr {
				ef = e
			}
		case <-deadline:
			c.t.Fatalf("connection still open after %v", within)
		}
	}
}

// wantClose fails unless the connection closes with code within 5 s,
// after an error frame of the matching code.
func (c *client) wantClose(code syncproto.CloseCode) *syncproto.ErrorFrame {
	c.t.Helper()
	return c.wantCloseWith(code, code.ErrorCode())
}

// wantCloseWith is wantClose with the error frame's code why.
func (c *client) wantCloseWith(code syncproto.CloseCode, why syncproto.ErrorCode) *syncproto.ErrorFrame {
	c.t.Helper()
	status, ef := c.waitClose(5 * time.Second)
	if int(status) != int(code) {
		c.t.Fatalf("close status = %d (%v), want %d", status, c.err, code)
	}
	if ef == nil || ef.Code != why || ef.Message == "" {
		c.t.Fatalf("error frame before close %d = %+v, want code %s with a message", code, ef, why)
	}
	return ef
}

// sealedBlob stands for a sealed value: 0x01, a random nonce and
// ciphertext (random bytes), as the server would see one.
func sealedBlob(n int) json.RawMessage {
	b := make([]byte, n)
	rand.Read(b)
	b[0] = 0x01
	return syncproto.SealedValue(b)
}

// newOp is an op writing sealed values of size bytes to fields of
// request id.
func newOp(id string, size int, fields ...string) model.Op {
	if len(fields) == 0 {
		fields = []string{"name"}
	}
	f := model.Fields{}
	for _, name := range fields {
		f[name] = sealedBlob(size)
	}
	return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(id), Fields: f}
}

// poll waits for cond within d.
func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countUntil reads changes frames until one is caught up at seq >= upTo,
// checking that seqs follow each other from 1, and returns how many
// changes it saw without keeping them.
func (c *client) countUntil(upTo uint64) int {
	c.t.Helper()
	n, last := 0, uint64(0)
	for {
		ch, ok := c.next().(*syncproto.Changes)
		if !ok {
			c.t.Fatalf("want a changes frame")
		}
		for _, x := range ch.Changes {
			if x.Seq != last+1 {
				c.t.Fatalf("seq %d follows %d", x.Seq, last)
			}
			last = x.Seq
			n++
		}
		if ch.CaughtUp && last >= upTo {
			return n
		}
	}
}
