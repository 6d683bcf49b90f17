package syncserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// syncConn is one open sync connection. The handler's goroutine reads
// and applies the client's frames; a sender streams the account's
// changes, on a goroutine that runs only while the account's head is past
// what the connection sent (see kick), so an idle connection holds one
// goroutine. Pings run on a timer.
type syncConn struct {
	srv    *Server
	ws     *websocket.Conn
	sess   Session
	token  []byte // hash of the bearer token, to re-check the session
	device string

	ctx    context.Context // ends when the connection is being closed
	cancel context.CancelFunc

	closeOnce sync.Once
	closed    chan struct{} // closed once the close handshake is over
	ping      *time.Timer
	missed    int // pongs missed in a row; touched by the timer only
	pushes    tokenBucket
	// backlog is the account's head when the connection was welcomed:
	// the changes up to it hold no echo of an op pushed here.
	backlog uint64
	// fresh says the device said hello with cursor 0: it holds none of
	// the account's records yet.
	fresh bool
	// reported is the cursor the device said hello with (recorded for
	// the compaction of the account's log; see hub.refresh); recorded is
	// closed once it is.
	reported atomic.Uint64
	recorded chan struct{}

	// The sender (see kick and send).
	sendMu   sync.Mutex
	sendOpen bool // the stream started and the connection is not closing
	sending  bool // a sender runs (or one failed: none starts again)
	again    bool // the head moved while it ran
	senders  sync.WaitGroup
	// sent is the seq streamed up to, and caughtUp whether the client was
	// told it caught up with it; only the running sender touches them.
	sent     uint64
	caughtUp bool
}

// closeErr is an error the connection ends with, and the code it sends.
type closeErr struct {
	code syncproto.CloseCode
	msg  string
	// why is the error frame's code; "" means code.ErrorCode().
	why syncproto.ErrorCode
}

func (e *closeErr) Error() string { return e.msg }

func closeWith(code syncproto.CloseCode, msg string) error { return &closeErr{code: code, msg: msg} }

// logger is the server's logger with the connection's account and
// session, made when the connection logs (rarely) rather than held by
// each of the idle connections.
func (c *syncConn) logger() *slog.Logger {
	return c.srv.log.With("account", c.sess.AccountID, "session", c.sess.ID)
}

// handleSync serves syncproto.PathSync: it authenticates the handshake,
// upgrades to a WebSocket and serves the connection until it closes.
// Refusals are sent as an error frame and a close code, not an HTTP
// status, so that every client sees the same thing.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// Not a WebSocket handshake (a browser, curl, an HTTP/2
		// request, which cannot upgrade): say so in the API's words.
		writeJSON(w, http.StatusUpgradeRequired, syncproto.ErrorBody{Error: syncproto.Error{Code: syncproto.CodeInvalidInput,
			Message: "sync is a WebSocket (" + syncproto.SyncSubprotocol + ") over HTTP/1.1; upgrade this request to one"}})
		return
	}
	sess, authErr := s.syncSession(r)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{syncproto.SyncSubprotocol},
		CompressionMode: websocket.CompressionDisabled, // sealed values do not compress
	})
	if err != nil {
		s.log.Debug("sync handshake failed", "err", err, "ip", clientIP(r))
		return
	}
	ws.SetReadLimit(syncproto.MaxFrameSize + 1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &syncConn{
		srv: s, ws: ws, sess: sess, token: tokenHash(bearer(r)), ctx: ctx, cancel: cancel,
		closed: make(chan struct{}),
		pushes: newTokenBucket(s.syncCfg.PushRate, s.now()),
	}
	switch {
	case ws.Subprotocol() != syncproto.SyncSubprotocol:
		c.fail(closeWith(syncproto.CloseUnsupportedVersion, "this server speaks "+syncproto.SyncSubprotocol+"; upgrade Courier"))
	case authErr != nil:
		c.fail(authErr)
	default:
		c.serve()
	}
	<-c.closed
}

// bearer returns the token of an `Authorization: Bearer` header.
func bearer(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return token
}

// syncSession authenticates the handshake: an invalid or revoked token is
// 4401, an unconfirmed email 4403.
func (s *Server) syncSession(r *http.Request) (Session, error) {
	sess, err := s.session(r.Context(), r.Header.Get("Authorization"))
	if errors.Is(err, model.ErrUnauthorized) {
		return sess, closeWith(syncproto.CloseUnauthorized, "sign in again: the session is missing, invalid, expired or revoked")
	}
	if err != nil {
		return sess, err
	}
	acct, err := s.store.Account(r.Context(), sess.AccountID)
	if errors.Is(err, model.ErrNotFound) {
		return sess, closeWith(syncproto.CloseUnauthorized, "sign in again: the account no longer exists")
	}
	if err != nil {
		return sess, err
	}
	if !acct.EmailConfirmed {
		return sess, closeWith(syncproto.CloseEmailUnconfirmed, "confirm your email address to sync")
	}
	return sess, nil
}

// serve runs the connection: hello, welcome, then the read loop beside
// the sender loop.
func (c *syncConn) serve() {
	hello, err := c.readHello()
	if err != nil {
		c.fail(err)
		return
	}
	c.device = hello.DeviceID
	if err := c.srv.hub.join(c); err != nil {
		c.fail(err)
		return
	}
	defer c.srv.hub.leave(c)
	// A revocation between the handshake and join found no connection
	// to close: the session is gone from storage by then.
	if _, err := c.srv.store.SessionByToken(c.ctx, c.token); err != nil {
		if errors.Is(err, model.ErrNotFound) {
			err = closeWith(syncproto.CloseUnauthorized, "the session was revoked; sign in again")
		}
		c.fail(err)
		return
	}
	m := c.srv.syncMetrics
	m.conns.Inc()
	defer m.conns.Dec()
	head, err := c.srv.store.Head(c.ctx, c.sess.AccountID)
	if err != nil {
		c.fail(err)
		return
	}
	c.srv.hub.poke(c.sess.AccountID, head, time.Time{})
	foreign, err := c.foreignCursor(hello.Cursor, head)
	if err != nil {
		c.fail(err)
		return
	}
	welcome := syncproto.Welcome{AccountID: c.sess.AccountID, Head: head}
	sent := hello.Cursor
	if foreign { // the client's stream is not ours (a restored backup): start over
		sent = 0
		// A head below its cursor tells the client so.
		welcome.Head = min(head, hello.Cursor-1)
	}
	// The cursor is recorded before any push of this connection is
	// applied (see applyPush), so the compaction keeps what this device
	// has yet to hear back about; the sender waits for it too. It runs
	// beside the reader: a first compaction of a large log must not keep
	// the welcome, nor the answers to pings, waiting.
	c.recorded = make(chan struct{})
	c.senders.Add(1)
	go func() {
		defer c.senders.Done()
		defer close(c.recorded)
		if err := c.compact(c.sess.ID, sent); err != nil {
			c.fail(err)
			return
		}
		c.reported.Store(sent)
	}()
	if err := c.write(&welcome); err != nil {
		c.fail(err)
		c.senders.Wait() // the compaction, which fail cancelled
		return
	}
	c.backlog, c.fresh = head, hello.Cursor == 0
	c.sent = sent
	c.sendMu.Lock()
	c.sendOpen = true
	c.sendMu.Unlock()
	c.kick()
	c.ping = time.AfterFunc(time.Hour, c.onPing)
	c.ping.Reset(c.srv.syncCfg.PingInterval) // armed once c.ping is set
	defer c.ping.Stop()
	c.fail(c.readLoop())
	c.sendMu.Lock()
	c.sendOpen = false
	c.sendMu.Unlock()
	c.senders.Wait()
}

// compact records that session sessionID (none when "") has applied the
// account's changes up to cursor, and compacts the account's log (see
// Storage.Compact): the sessions seen within the idle limit count.
func (c *syncConn) compact(sessionID string, cursor uint64) error {
	start := time.Now()
	res, err := c.srv.store.Compact(c.ctx, c.sess.AccountID, sessionID, cursor, c.srv.now().Add(-c.srv.cfg.SessionIdle))
	if err != nil {
		return err
	}
	c.srv.syncMetrics.compacted(res, time.Since(start))
	return nil
}

// foreignCursor reports whether cursor counts in a stream that is not the
// account's: one past its head, or one a restored backup copy does not
// hold (see CursorChecker).
func (c *syncConn) foreignCursor(cursor, head uint64) (bool, error) {
	if cursor > head {
		return true, nil
	}
	cc, ok := c.srv.cursors.(CursorChecker)
	if !ok || cursor == 0 {
		return false, nil
	}
	return cc.ForeignCursor(c.ctx, c.sess.AccountID, cursor)
}

// readHello reads the first frame, which must be a hello, within
// syncproto.HelloTimeout.
func (c *syncConn) readHello() (*syncproto.Hello, error) {
	// A timer, not a read deadline: an expired read context would drop
	// the connection without a close frame.
	t := time.AfterFunc(syncproto.HelloTimeout, func() {
		c.terminate(syncproto.CloseInvalidFrame, "no hello frame within "+syncproto.HelloTimeout.String())
	})
	defer t.Stop()
	f, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	h, ok := f.(*syncproto.Hello)
	if !ok {
		return nil, closeWith(syncproto.CloseInvalidFrame, "the first frame must be hello")
	}
	return h, nil
}

// pushQueue is how many pushes may wait while one is being applied: the
// pushes a client keeps in flight (syncclient sends up to four full
// frames before their acks), so the reader never waits on a well-behaved
// client.
const pushQueue = 4

// errPushFailed ends the read loop after the applier closed the
// connection with the push's error.
var errPushFailed = errors.New("a push failed")

// readLoop reads the client's frames until the connection ends and hands
// the pushes to an applier. The WebSocket answers pings only while it is
// read, and a client drops a link that misses pongs, so a commit that
// takes long (a busy disk or database) must not stop the reading.
func (c *syncConn) readLoop() error {
	a := &applier{c: c, pending: make(chan *syncproto.Push, pushQueue)}
	defer a.wg.Wait()
	for {
		f, err := c.readFrame()
		if err != nil {
			return err
		}
		push, ok := f.(*syncproto.Push)
		if !ok {
			return closeWith(syncproto.CloseInvalidFrame, "only push frames may follow hello")
		}
		if !c.pushes.take(c.srv.now()) {
			return closeWith(syncproto.CloseRateLimited, "too many pushes; reconnect later")
		}
		if !a.add(push) {
			return errPushFailed
		}
	}
}

// applier applies a connection's pushes in order, on a goroutine that
// runs only while pushes wait: an idle connection holds no goroutine but
// its reader and its sender.
type applier struct {
	c       *syncConn
	pending chan *syncproto.Push
	wg      sync.WaitGroup

	mu      sync.Mutex
	running bool
	failed  bool // a push failed and closed the connection
}

// add queues p, waiting while pushQueue pushes wait. It reports false
// once a push failed or the connection is closing.
func (a *applier) add(p *syncproto.Push) bool {
	select {
	case a.pending <- p:
	case <-a.c.ctx.Done():
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed {
		return false
	}
	if !a.running {
		a.running = true
		a.wg.Add(1)
		go a.run()
	}
	return true
}

// run applies the waiting pushes and returns when none is left; a push
// that fails closes the connection with its error.
func (a *applier) run() {
	defer a.wg.Done()
	for {
		select {
		case p := <-a.pending:
			if err := a.c.applyPush(p); err != nil {
				a.mu.Lock()
				a.failed, a.running = true, false
				a.mu.Unlock()
				a.c.fail(err)
				return
			}
		default:
			a.mu.Lock()
			if len(a.pending) == 0 {
				a.running = false
				a.mu.Unlock()
				return
			}
			a.mu.Unlock()
		}
	}
}

// applyPush commits the ops (durably), pokes the account, and acks the
// ops that were applied before. The others are acknowledged by the
// stream, which carries their op ids. It waits for the device's cursor
// to be recorded.
func (c *syncConn) applyPush(p *syncproto.Push) error {
	select {
	case <-c.recorded:
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
	m := c.srv.syncMetrics
	start := time.Now()
	res, err := c.srv.store.Push(c.ctx, c.sess.AccountID, p.Ops, c.srv.syncCfg.Quota)
	m.pushLatency.Observe(time.Since(start).Seconds())
	if qe := (*QuotaError)(nil); errors.As(err, &qe) {
		advice := "delete some records (old history entries, requests) to make room, or ask the server's operator for a larger quota"
		if qe.Log {
			advice = "let the account's other devices connect and catch up, or sign out (revoke) the ones no longer used, so the server can drop the changes they have applied"
		}
		return quotaClose(": " + qe.Error() + "; " + advice)
	}
	if errors.Is(err, ErrQuotaExceeded) {
		return quotaClose("")
	}
	if err != nil {
		return fmt.Errorf("push %d ops: %w", len(p.Ops), err)
	}
	m.pushes.Inc()
	m.ops.WithLabelValues("applied").Add(float64(len(p.Ops) - len(res.Dup)))
	m.ops.WithLabelValues("duplicate").Add(float64(len(res.Dup)))
	if page, after := pushedPage(p.Ops, res); len(page) > 0 && !res.Rewritten {
		// The account's connections here would each read back what was
		// just written: they take it from the push instead.
		c.srv.hub.offerPage(c.sess.AccountID, after, page, 0)
	}
	c.srv.hub.poke(c.sess.AccountID, res.Head, time.Now())
	if len(res.Dup) > 0 {
		if err := c.write(&syncproto.Ack{OpIDs: res.Dup}); err != nil {
			return err
		}
	}
	if q := c.srv.syncCfg.Quota.Log; q > 0 && res.Usage.Log > q/2 {
		c.compactLog(res.Head)
	}
	return nil
}

// compactEvery is how often, at most, a push compacts its account's log
// once the log holds half of its bound; refreshLag is how far past its
// reported cursor the account's head must be for a connection to be
// asked to report again.
const (
	compactEvery = time.Minute
	refreshLag   = 1024
)

// compactLog compacts the account's log, which holds half of its bound.
// Devices report their cursor when they connect, so a device that stays
// connected holds the compaction back at the cursor it connected with:
// the account's connections that lag refreshLag behind head are closed
// with 1001, and report again as they reconnect (at once, with jitter).
// That keeps an account that rewrites its values from reaching the log
// bound while its devices keep up. The push is committed: a compaction
// that fails is logged, and the next one due tries again.
func (c *syncConn) compactLog(head uint64) {
	if !c.srv.hub.compactDue(c.sess.AccountID, c.srv.now(), compactEvery) {
		return
	}
	if err := c.compact("", 0); err != nil {
		if c.ctx.Err() == nil {
			c.logger().Warn("compacting the sync log failed", "err", err)
		}
		return
	}
	c.srv.hub.refresh(c.sess.AccountID, head, refreshLag)
}

// quotaClose is the close of a push the account's quota refused, its
// message "the account's sync quota is used up" then detail.
func quotaClose(detail string) error {
	return &closeErr{code: syncproto.CloseTooLarge, why: syncproto.CodeQuotaExceeded, msg: "the account's sync quota is used up" + detail}
}

// pushedPage returns the changes a push wrote, as storage returns them
// (the ops not applied before, in order, at the seqs up to res.Head), and
// the seq they follow.
func pushedPage(ops []model.Op, res PushResult) ([]model.Change, uint64) {
	n := uint64(len(ops) - len(res.Dup))
	if n == 0 || n > res.Head {
		return nil, 0
	}
	dup := make(map[model.ID]bool, len(res.Dup))
	for _, id := range res.Dup {
		dup[id] = true
	}
	after := res.Head - n
	page := make([]model.Change, 0, n)
	for _, op := range ops {
		if !dup[op.OpID] {
			page = append(page, model.Change{Seq: after + uint64(len(page)) + 1, Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID})
		}
	}
	if uint64(len(page)) != n { // an op id twice in the push
		return nil, 0
	}
	return page, after
}

// readFrame reads and validates one frame. Oversize frames are refused
// without being read whole.
func (c *syncConn) readFrame() (syncproto.Frame, error) {
	typ, rd, err := c.ws.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, closeWith(syncproto.CloseInvalidFrame, "frames must be JSON text")
	}
	bp := framePool.Get().(*[]byte)
	defer framePool.Put(bp)
	buf := bytesBuffer{b: (*bp)[:0]}
	_, err = io.Copy(&buf, io.LimitReader(rd, syncproto.MaxFrameSize+1))
	*bp = buf.b
	if err != nil {
		return nil, err
	}
	if len(buf.b) > syncproto.MaxFrameSize {
		return nil, closeWith(syncproto.CloseTooLarge, fmt.Sprintf("a frame may hold at most %d bytes", syncproto.MaxFrameSize))
	}
	f, err := syncproto.DecodeClientFrame(buf.b)
	if err != nil {
		return nil, closeWith(syncproto.CloseCodeFor(err), err.Error())
	}
	return f, nil
}

// bytesBuffer is an io.Writer on a reusable slice. Its ReadFrom reads
// straight into the slice, so io.Copy needs no buffer of its own (it
// would allocate 32 KiB per frame).
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// ReadFrom appends what r holds until io.EOF; it returns the bytes read
// and r's error otherwise.
func (w *bytesBuffer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if len(w.b) == cap(w.b) {
			w.b = append(w.b, 0)[:len(w.b)]
		}
		n, err := r.Read(w.b[len(w.b):cap(w.b)])
		w.b, total = w.b[:len(w.b)+n], total+int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// kick has the connection stream what the account's head moved past: it
// starts a sender unless one runs, which then looks again before it
// stops. The hub kicks every connection of an account when a push moves
// its head; serve kicks once when the stream starts.
func (c *syncConn) kick() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	switch {
	case !c.sendOpen:
	case c.sending:
		c.again = true
	default:
		c.sending = true
		c.senders.Add(1)
		go c.send()
	}
}

// send streams the account's changes after c.sent: it pulls them from
// storage in pages that end on a seq boundary and writes them, until it
// reaches the head and no kick came meanwhile. A failure closes the
// connection and leaves c.sending set, so no other sender starts.
func (c *syncConn) send() {
	defer c.senders.Done()
	// The first page waits for the hello's compaction, which leaves out
	// what no device needs any more.
	select {
	case <-c.recorded:
	case <-c.ctx.Done():
		return
	}
	for c.ctx.Err() == nil {
		head, at, ok := c.srv.hub.head(c.sess.AccountID)
		if !ok {
			return // the connection left the hub: it is closing
		}
		if c.sent < head {
			n, caughtUp, err := c.sendPage(c.sent, head, at)
			if err != nil {
				c.fail(err)
				return
			}
			c.sent, c.caughtUp = n, caughtUp
			continue
		}
		if !c.caughtUp {
			if err := c.writeRaw([]byte(`{"type":"changes","changes":[],"caught_up":true}`)); err != nil {
				c.fail(err)
				return
			}
			c.caughtUp = true
		}
		c.sendMu.Lock()
		if !c.again {
			c.sending = false
			c.sendMu.Unlock()
			return
		}
		c.again = false
		c.sendMu.Unlock()
	}
}

// sendPage sends one page of changes after sent and returns the seq it
// reached and whether that caught up with head.
func (c *syncConn) sendPage(sent, head uint64, pokedAt time.Time) (uint64, bool, error) {
	page, err := c.readPage(sent, head)
	if err != nil {
		return sent, false, err
	}
	if len(page) == 0 { // erased data: nothing left below head
		return head, false, nil
	}
	if c.fresh && sent < c.backlog {
		page = dropDeletions(page, c.backlog)
	}
	reached := page[len(page)-1].Seq
	m := c.srv.syncMetrics
	m.behind.Observe(float64(head - sent))
	counted := 0 // of page, in the frames written so far
	err = changesFrames(page, reached >= head, func(frame []byte, last model.Change, caughtUp bool) error {
		if err := c.writeRaw(frame); err != nil {
			return err
		}
		n := countUntil(page, last.Seq)
		m.changes.Add(float64(n - counted))
		counted = n
		return nil
	})
	if err != nil {
		return sent, false, err
	}
	if reached >= head && !pokedAt.IsZero() {
		m.fanout.Observe(time.Since(pokedAt).Seconds())
	}
	return reached, reached >= head, nil
}

// readPage returns the changes after sent: the page another connection
// of the account read after the same cursor when there is one, else one
// read from storage, which it shares when it reaches head.
func (c *syncConn) readPage(sent, head uint64) ([]model.Change, error) {
	hub, acct := c.srv.hub, c.sess.AccountID
	// A fresh device reads its backlog from storage: a page another
	// connection read before this one's welcome may still carry the
	// values of a record deleted since, whose deletion dropDeletions leaves
	// out for it.
	if !c.fresh || sent >= c.backlog {
		if page := hub.takePage(acct, sent); page != nil {
			return page, nil
		}
	}
	cfg := c.srv.syncCfg
	page, err := c.srv.store.Changes(c.ctx, acct, sent, cfg.PageChanges, cfg.PageBytes)
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", sent, err)
	}
	if len(page) > 0 && page[len(page)-1].Seq >= head {
		hub.sharePage(acct, sent, page)
	}
	return page, nil
}

// dropDeletions leaves out of a fresh device's page (cursor 0, so no record of
// the account yet) the deletions up to seq through, but the page's last,
// whose seq moves the device's cursor past them. A deleted record keeps
// only its _deleted value, so its other changes carry no field, and
// nothing written to it later is kept (see SyncStorage.Push): such a
// device never hears of the records deleted before it came. A deletion
// stays in the log with its op id, so one still pending on the device is
// acknowledged as a duplicate when pushed again. page is shared and left
// as it is.
//
// The changes whose values later ops all overwrote are sent, without a
// field: each echoes an op, maybe one still pending on the device (its
// ack lost), and once the device's cursor passes it, compaction may drop
// the op's id (SyncStorage.Compact). Compaction drops most of them first.
func dropDeletions(page []model.Change, through uint64) []model.Change {
	bare := func(i int) bool {
		if page[i].Seq > through || i == len(page)-1 {
			return false
		}
		_, del := page[i].Fields[model.FieldDeleted]
		return del
	}
	n := 0
	for i := range page {
		if bare(i) {
			n++
		}
	}
	if n == 0 {
		return page
	}
	out := make([]model.Change, 0, len(page)-n)
	for i, ch := range page {
		if !bare(i) {
			out = append(out, ch)
		}
	}
	return out
}

// countUntil counts the changes of page up to seq.
func countUntil(page []model.Change, seq uint64) int {
	n := 0
	for _, c := range page {
		if c.Seq > seq {
			break
		}
		n++
	}
	return n
}

// write sends one frame, time-boxed.
func (c *syncConn) write(f syncproto.Frame) error {
	b, err := syncproto.EncodeFrame(f)
	if err != nil {
		return err
	}
	return c.writeRaw(b)
}

func (c *syncConn) writeRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.syncCfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// onPing runs on the ping timer: it checks that the session still
// stands (a revocation on another replica), pings, and counts missed
// pongs; MaxMissedPongs in a row close the connection.
func (c *syncConn) onPing() {
	interval := c.srv.syncCfg.PingInterval
	sess, err := c.srv.store.SessionByToken(c.ctx, c.token)
	if errors.Is(err, model.ErrNotFound) {
		c.terminate(syncproto.CloseUnauthorized, "the session was revoked; sign in again")
		return
	}
	if now := c.srv.now(); err == nil && now.Sub(sess.LastSeenAt) >= touchEvery {
		// A syncing device is a device in use: keep its "last seen" fresh.
		if err := c.srv.store.TouchSession(c.ctx, sess.ID, now); err != nil && c.ctx.Err() == nil {
			c.logger().Warn("touch session failed", "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, interval)
	err = c.ws.Ping(ctx)
	cancel()
	switch {
	case c.ctx.Err() != nil:
		return
	case err != nil:
		c.missed++
		if c.missed >= syncproto.MaxMissedPongs {
			c.logger().Info("sync connection dead", "missed_pongs", c.missed)
			c.abandon()
			return
		}
		c.ping.Reset(0) // the wait for the pong took the interval
	default:
		c.missed = 0
		c.ping.Reset(interval)
	}
}

// fail ends the connection because of err: a *closeErr gives its code and
// message, a peer that went away (or reset the connection) needs no
// more, anything else is logged and closes with 1011.
func (c *syncConn) fail(err error) {
	var ce *closeErr
	switch {
	case err == nil:
		c.terminate(syncproto.CloseNormal, "")
	case errors.As(err, &ce):
		c.terminateWith(ce.code, ce.why, ce.msg)
	case websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || c.ctx.Err() != nil:
		c.terminate(syncproto.CloseNormal, "")
	case (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) && !errors.Is(err, model.ErrUnavailable):
		// A client killed, or a network that dropped it: normal life.
		// (The storage's connection reset is ErrUnavailable: 1001.)
		c.logger().Debug("sync connection reset by the client", "err", err)
		c.terminate(syncproto.CloseNormal, "")
	case errors.Is(err, model.ErrNotFound): // the account was deleted under us
		c.terminate(syncproto.CloseUnauthorized, "the account no longer exists")
	default:
		code := syncproto.CloseCodeFor(err)
		switch {
		case code == syncproto.CloseInternal:
			c.logger().Error("sync connection failed", "err", err)
			c.terminate(code, "the server failed; try again later")
			return
		case code == syncproto.CloseGoingAway:
			// err may name the database's address and user (storage
			// down): log it, tell the client only to come back.
			c.logger().Warn("sync connection closed: server unavailable", "err", err)
			c.terminate(code, "the server cannot do this now; try again later")
			return
		}
		c.terminate(code, err.Error())
	}
}

// terminate closes the connection once, with code: it sends an error
// frame saying msg (unless the close is normal), then the close frame. It
// does not block: the close handshake runs on its own goroutine.
func (c *syncConn) terminate(code syncproto.CloseCode, msg string) {
	c.terminateWith(code, "", msg)
}

// terminateWith is terminate with the error frame's code why ("" means
// code's own).
func (c *syncConn) terminateWith(code syncproto.CloseCode, why syncproto.ErrorCode, msg string) {
	if why == "" {
		why = code.ErrorCode()
	}
	c.closeOnce.Do(func() {
		c.cancel()
		c.srv.syncMetrics.closes.WithLabelValues(fmt.Sprint(int(code))).Inc()
		go func() {
			defer close(c.closed)
			if code != syncproto.CloseNormal {
				if len(msg) > syncproto.MaxErrorMessageLen {
					msg = msg[:syncproto.MaxErrorMessageLen]
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				b, _ := syncproto.EncodeFrame(&syncproto.ErrorFrame{Code: why, Message: msg})
				_ = c.ws.Write(ctx, websocket.MessageText, b)
				cancel()
			}
			_ = c.ws.Close(websocket.StatusCode(code), closeReason(code))
		}()
	})
}

// abandon drops a dead connection without a close handshake, which
// would wait for a peer that does not answer.
func (c *syncConn) abandon() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.srv.syncMetrics.closes.WithLabelValues("dead").Inc()
		_ = c.ws.CloseNow()
		close(c.closed)
	})
}

// closeReason is the short, static reason of the close frame (the error
// frame before it says more).
func closeReason(code syncproto.CloseCode) string {
	if code == syncproto.CloseNormal {
		return ""
	}
	return string(code.ErrorCode())
}
