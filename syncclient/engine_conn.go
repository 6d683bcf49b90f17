package syncclient

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// conn is one connection's state.
type conn struct {
	e        *Engine
	ws       *websocket.Conn
	once     bool
	sum      *app.SyncSummary
	welcomed bool
	caughtUp bool
	inflight map[model.ID]bool // pushed on this connection, not yet acked
	// echoes holds echoes of this device's own ops not yet applied (see
	// hold).
	echoes heldEchoes
	// stuck holds pending ops that can never be pushed (a value over the
	// protocol's limits): they stay in the outbox, visible on this device,
	// and the others go on without them.
	stuck map[model.ID]error
	// deletions are the pending deletions of records the server holds,
	// read once caught up and pushed before the rest of the outbox (see
	// pushDeletions); delsRead says they were read.
	deletions []model.Op
	delsRead  bool
	// limited says a push of at most e.pushLimit ops is in flight.
	limited  bool
	errFrame *syncproto.ErrorFrame
	// lastRead is when the reader last got bytes from the server (Unix
	// nanoseconds): a pong can wait behind a large frame, which shows the
	// link alive all the same.
	lastRead atomic.Int64
}

// inbound is one frame read, or why reading stopped.
type inbound struct {
	frame syncproto.Frame
	err   error
	pre   *openedPage // a changes frame's values, opened ahead; nil: not yet
}

// openedPage is a changes frame opened and prepared for the store by the
// reader while the main loop applied the frames before it.
type openedPage struct {
	page app.ServerPage
	err  error
}

// errDead is a link that missed syncproto.MaxMissedPongs pongs.
var errDead = errors.New("the server stopped answering pings")

// session runs one connection until it fails, ctx ends or (once) all is
// pushed and acknowledged.
func (e *Engine) session(ctx context.Context, once bool, sum *app.SyncSummary) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	c := &conn{e: e, ws: ws, once: once, sum: sum, inflight: map[model.ID]bool{}, stuck: map[model.ID]error{}, echoes: heldEchoes{ids: map[model.ID]bool{}}}
	cursor, err := e.cfg.Store.Cursor(ctx)
	if err != nil {
		return fmt.Errorf("read the cursor: %w", err)
	}
	if err := c.write(ctx, &syncproto.Hello{DeviceID: e.cfg.DeviceID, Cursor: cursor}); err != nil {
		return err
	}
	q, dead, readDone := newFrameQueue(e.queueBound), make(chan struct{}), make(chan struct{})
	q.prepare = c.preopen
	go func() { defer close(readDone); c.read(ctx, q) }()
	defer func() { cancel(); ws.CloseNow(); <-readDone; q.close() }()
	go c.ping(ctx, dead)
	err = c.loop(ctx, q, dead)
	e.live.Store(false)
	c.echoes.stop()
	if ferr := c.flushEchoes(context.WithoutCancel(ctx)); ferr != nil {
		// The cursor stays before them: the next connection pulls
		// them again.
		e.log.Warn("could not apply the echoes of this device's pushes", "err", ferr)
	}
	e.refresh(context.WithoutCancel(ctx)) // for commits its loop was told of too late
	e.unacked = len(c.inflight)
	if we := (*writeError)(nil); errors.As(err, &we) {
		if why := c.serverReason(q, readDone); why != nil {
			err = why
		} else {
			err = lost(err)
		}
	}
	if err == nil {
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
	return err
}

func (c *conn) loop(ctx context.Context, q *frameQueue, dead <-chan struct{}) error {
	var err error
	for {
		select {
		case <-ctx.Done():
			_ = c.ws.Close(websocket.StatusNormalClosure, "")
			return ctx.Err()
		case <-dead:
			return errDead
		case <-c.e.local:
			if err := c.push(ctx); err != nil {
				return err
			}
		case b := <-c.e.early:
			if err := c.pushEarly(ctx, b); err != nil {
				return err
			}
		case <-c.echoes.due:
			if err := c.flushEchoes(ctx); err != nil {
				return err
			}
		case <-q.ready:
			in, ok := q.take()
			if !ok {
				continue
			}
			if in.err != nil {
				return c.readError(in.err)
			}
			if in, err = c.joinWaiting(q, in); err != nil {
				return err
			}
			if err := c.handle(ctx, in); err != nil {
				return err
			}
		}
		done, err := c.settle(ctx)
		if err != nil || done {
			return err
		}
	}
}

// dial opens the WebSocket. A handshake refused with an HTTP status comes
// back as the matching *closedError.
func (e *Engine) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, e.cfg.DialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, e.wsURL, &websocket.DialOptions{
		HTTPClient:   e.hc,
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + e.cfg.Token}},
		Subprotocols: []string{syncproto.SyncSubprotocol},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, handshakeError(resp.StatusCode)
		}
		return nil, dialError(ctx, dctx, e.wsHost, err)
	}
	if ws.Subprotocol() != syncproto.SyncSubprotocol {
		ws.CloseNow()
		return nil, &closedError{code: syncproto.CloseUnsupportedVersion, msg: "the server did not accept " + syncproto.SyncSubprotocol}
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	return ws, nil
}

// dialError says in one line why the WebSocket could not be opened (the
// sentence courier send gives for the same failure, and the account
// client's for a certificate or a server that does not answer in time),
// keeping err as the cause. dctx is the dial's context, under ctx.
func dialError(ctx, dctx context.Context, host string, err error) error {
	switch {
	case ctx.Err() != nil:
		return &quietError{msg: "sync was canceled", err: errors.Join(ctx.Err(), err)}
	case dctx.Err() != nil:
		return timeoutError(host, errors.Join(dctx.Err(), err))
	}
	if ce := certError(host, err); ce != nil {
		return ce
	}
	he := httprun.ConnectError(err)
	if he == nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	if he.Kind == httprun.KindTimeout {
		return timeoutError(host, err)
	}
	return he
}

func handshakeError(status int) error {
	code := syncproto.CloseInternal
	switch status {
	case http.StatusUnauthorized:
		code = syncproto.CloseUnauthorized
	case http.StatusForbidden:
		code = syncproto.CloseEmailUnconfirmed
	case http.StatusTooManyRequests:
		code = syncproto.CloseRateLimited
	case http.StatusRequestEntityTooLarge:
		code = syncproto.CloseTooLarge
	case http.StatusUpgradeRequired, http.StatusNotFound:
		code = syncproto.CloseUnsupportedVersion
	}
	return &closedError{code: code, msg: fmt.Sprintf("the handshake was answered %d %s", status, http.StatusText(status))}
}

// read queues frames until the connection fails. It never waits for the
// main loop: coder/websocket answers pings only inside Read, so a reader
// blocked behind a long apply would let the link be declared dead.
func (c *conn) read(ctx context.Context, q *frameQueue) {
	var buf []byte
	for {
		typ, b, err := readFrame(ctx, c.ws, buf, &c.lastRead)
		// Nothing keeps b past this turn (the values are opened, into
		// buffers of their own, before the next read; a spilled frame is
		// written out), so the next frame reuses it while frames stay
		// about this size: a catch-up reads its pages without allocating
		// (and zeroing) a buffer for each. After a small frame, a page's
		// buffer is given back.
		if cap(b) <= max(minFrameBuf, 4*len(b)) {
			buf = b[:0]
		} else {
			buf = make([]byte, 0, min(max(minFrameBuf, len(b)+len(b)/8), maxFrameBuf))
		}
		var f syncproto.Frame
		switch {
		case err != nil:
		case typ != websocket.MessageText:
			err = fmt.Errorf("the server sent a binary frame: %w", model.ErrInvalid)
		case !q.fits(len(b)):
			// Decoded and opened when it comes back from the spill file
			// (see frameQueue): opened values never go to disk.
			err = q.spillRaw(b)
		default:
			// It waits in memory (only this reader adds, so it still
			// fits): its values are opened now, while the store commits
			// the pages before it, and the sealed ones, read in place in
			// b, are dropped.
			if f, err = syncproto.DecodeServerFrameInPlace(b); err != nil {
				err = fmt.Errorf("the server sent a bad frame: %w", err)
			} else {
				err = q.put(c.preopen(inbound{frame: f}), len(b), b)
			}
		}
		if err != nil {
			q.finish(err)
			return
		}
	}
}

// A frame is read into the buffer of the one before when it was about as
// large, else into one of its size within these bounds: a small frame
// after a page of changes does not keep a page's room, and a larger one
// grows the buffer by doubling.
const (
	minFrameBuf = 4 << 10
	maxFrameBuf = 2 << 20
)

// readFrame reads the next message of ws like websocket.Conn.Read, into
// buf (from its start; nil: a buffer of minFrameBuf), grown as needed,
// where Read starts at 512 bytes and doubles. The connection's read limit
// still applies. It sets seen to the time whenever bytes arrive.
func readFrame(ctx context.Context, ws *websocket.Conn, buf []byte, seen *atomic.Int64) (websocket.MessageType, []byte, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	b := buf[:0]
	if b == nil {
		b = make([]byte, 0, minFrameBuf)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		if n > 0 {
			seen.Store(time.Now().UnixNano())
		}
		b = b[:len(b)+n]
		if err == io.EOF {
			return typ, b, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// preopen opens the values of a changes frame ahead of the main loop and
// drops the sealed copy; other frames pass as they are.
func (c *conn) preopen(in inbound) inbound {
	ch, ok := in.frame.(*syncproto.Changes)
	if !ok || len(ch.Changes) == 0 {
		return in
	}
	in.pre = c.e.openPage(ch.Changes)
	ch.Changes = nil
	return in
}

// openPage opens the values of a page of changes and prepares it for the
// store.
func (e *Engine) openPage(sealed []model.Change) *openedPage {
	opened, err := e.openChanges(sealed)
	if err != nil {
		return &openedPage{err: err}
	}
	page, err := e.cfg.Store.PrepareServerChanges(opened)
	if err != nil {
		return &openedPage{err: fmt.Errorf("apply changes up to seq %d: %w", opened[len(opened)-1].Seq, err)}
	}
	return &openedPage{page: page}
}

// openChanges opens every change of a page (see openChange). A large
// page is opened in two halves at once: on a first sync the reader would
// otherwise be the slowest stage, while the store's commit waits on the
// disk. Of two failing halves, the first half's error is returned.
func (e *Engine) openChanges(sealed []model.Change) ([]model.Change, error) {
	opened := make([]model.Change, len(sealed))
	if len(sealed) < parallelOpen {
		return opened, e.openInto(opened, sealed)
	}
	half := len(sealed) / 2
	var wg sync.WaitGroup
	var err2 error
	wg.Go(func() { err2 = e.openInto(opened[half:], sealed[half:]) })
	err := e.openInto(opened[:half], sealed[:half])
	wg.Wait()
	if err == nil {
		err = err2
	}
	if err != nil {
		return nil, err
	}
	return opened, nil
}

// parallelOpen is the page size from which openChanges uses two
// goroutines.
const parallelOpen = 128

// openInto opens sealed[i] into opened[i], stopping at the first error.
func (e *Engine) openInto(opened, sealed []model.Change) error {
	for i, ch := range sealed {
		o, err := e.openChange(ch)
		if err != nil {
			return err
		}
		opened[i] = o
	}
	return nil
}

// ping pings every interval and closes dead after MaxMissedPongs misses
// in a row. A ping whose pong does not come in time still counts as
// answered when bytes arrived meanwhile: the server's pong waits behind
// the frame it is sending, which a slow link takes long to carry.
func (c *conn) ping(ctx context.Context, dead chan<- struct{}) {
	iv := c.e.cfg.PingInterval
	t := time.NewTicker(iv)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := time.Now().UnixNano()
		pctx, cancel := context.WithTimeout(ctx, iv)
		err := c.ws.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil || c.lastRead.Load() > sent {
			missed = 0
			continue
		}
		if missed++; missed >= syncproto.MaxMissedPongs {
			close(dead)
			return
		}
	}
}

// readError turns a read failure into the connection's end.
func (c *conn) readError(err error) error {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return lost(err)
	}
	ce := &closedError{code: syncproto.CloseCode(code)}
	var cl websocket.CloseError
	if errors.As(err, &cl) {
		ce.msg = cl.Reason
	}
	if c.errFrame != nil {
		ce.msg, ce.why = c.errFrame.Message, c.errFrame.Code
	}
	if ce.code == syncproto.CloseNormal && c.once {
		return fmt.Errorf("the server ended the connection before sync finished: %w", model.ErrUnavailable)
	}
	return ce
}

func (c *conn) write(ctx context.Context, f syncproto.Frame) error {
	b, err := syncproto.EncodeFrame(f)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, syncproto.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(wctx, websocket.MessageText, b); err != nil {
		return &writeError{fmt.Errorf("send %s frame: %w", f.FrameType(), err)}
	}
	return nil
}

// lostError is a connection that broke under its frames, without a
// close: the network, or a server gone without a word. Its message is
// the cause, not the WebSocket library's account of it.
type lostError struct{ err error }

func (e *lostError) Error() string {
	cause := e.err
	for {
		var op *net.OpError
		if errors.As(cause, &op) && op.Err != nil {
			cause = op.Err // "write: broken pipe", not the addresses
		}
		next := errors.Unwrap(cause)
		if next == nil {
			break
		}
		cause = next
	}
	if errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF) {
		return "the connection to the server was lost (closed without a word)"
	}
	return fmt.Sprintf("the connection to the server was lost (%v)", cause)
}

func (e *lostError) Unwrap() error { return e.err }

// lost returns err as a lostError when the link itself failed, and err
// otherwise.
func lost(err error) error {
	var op *net.OpError
	switch {
	case errors.As(err, &op), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return &lostError{err}
	}
	return err
}

// writeError is a frame the connection failed to send. When the server
// closed the connection, its reason says more (see serverReason).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// serverReason returns, after a write failed, the server's reason for
// closing the connection: the close the reader got (with the error frame
// before it), when it is not a normal close. It waits up to a second for
// the reader to get there, and returns nil when it does not.
func (c *conn) serverReason(q *frameQueue, readDone <-chan struct{}) error {
	select {
	case <-readDone:
	case <-time.After(time.Second):
		return nil
	}
	for {
		in, ok := q.take()
		switch {
		case !ok:
			return nil
		case in.err != nil:
			var ce *closedError
			if err := c.readError(in.err); errors.As(err, &ce) && ce.code != syncproto.CloseNormal {
				return err
			}
			return nil
		}
		if f, isErr := in.frame.(*syncproto.ErrorFrame); isErr {
			c.errFrame = f
		}
	}
}

// handle acts on one validated frame.
func (c *conn) handle(ctx context.Context, in inbound) error {
	switch f := in.frame.(type) {
	case *syncproto.Welcome:
		return c.welcome(ctx, f)
	case *syncproto.Changes:
		if !c.welcomed {
			return fmt.Errorf("the server sent changes before welcome: %w", model.ErrInvalid)
		}
		pre := in.pre
		if pre == nil && len(f.Changes) > 0 {
			pre = c.e.openPage(f.Changes)
		}
		if pre == nil {
			return c.changes(ctx, f, nil)
		}
		if pre.err != nil {
			return pre.err
		}
		return c.changes(ctx, f, pre.page)
	case *syncproto.Ack:
		return c.ack(ctx, f.OpIDs)
	case *syncproto.ErrorFrame:
		c.errFrame = f // the close follows
		return nil
	}
	return fmt.Errorf("the server sent a %s frame: %w", in.frame.FrameType(), model.ErrInvalid)
}

// maxJoinChanges bounds the changes of the pages joinWaiting joins: a
// store takes a first sync 10 to 15% faster in commits of 4,000 changes
// than of 1,000 (BenchmarkFirstSync/store), and the frames are in memory
// already (frameQueue keeps at most maxQueuedBytes of them).
const maxJoinChanges = 4000

// joinWaiting joins in, a page of changes opened ahead, with the pages
// opened ahead that wait behind it in q, up to maxJoinChanges changes and
// the first that catches up, when the store can apply them in one
// transaction (PageJoiner). Other frames, pages not opened yet (read
// back from the spill file) and pages that failed to open stay for their
// turn.
func (c *conn) joinWaiting(q *frameQueue, in inbound) (inbound, error) {
	_, joins := c.e.cfg.Store.(PageJoiner)
	f, isPage := in.frame.(*syncproto.Changes)
	if !joins || !isPage || !c.welcomed || f.CaughtUp || in.pre == nil || in.pre.err != nil {
		return in, nil
	}
	pages := []app.ServerPage{in.pre.page}
	n, caughtUp := len(in.pre.page.Changes()), false
	for n < maxJoinChanges && !caughtUp {
		// A page opened ahead has changes; the empty page that says
		// the stream caught up is not opened, so it stays.
		next, ok := q.takeIf(func(next inbound) bool {
			_, isPage := next.frame.(*syncproto.Changes)
			return isPage && next.pre != nil && next.pre.err == nil && n+len(next.pre.page.Changes()) <= maxJoinChanges
		})
		if !ok {
			break
		}
		caughtUp = next.frame.(*syncproto.Changes).CaughtUp
		pages = append(pages, next.pre.page)
		n += len(next.pre.page.Changes())
	}
	if len(pages) == 1 {
		return in, nil
	}
	page, err := c.join(pages)
	if err != nil {
		return in, err
	}
	return inbound{frame: &syncproto.Changes{CaughtUp: caughtUp}, pre: &openedPage{page: page}}, nil
}

func (c *conn) welcome(ctx context.Context, w *syncproto.Welcome) error {
	if c.welcomed {
		return fmt.Errorf("the server sent welcome twice: %w", model.ErrInvalid)
	}
	cursor, err := c.e.cfg.Store.Cursor(ctx)
	if err != nil {
		return fmt.Errorf("read the cursor: %w", err)
	}
	if w.Head < cursor {
		if err := c.e.rebase(ctx, w.Head, cursor); err != nil {
			return err
		}
		c.sum.StartedOver = true
		now := c.e.clock.Now()
		c.e.status.update(func(s *app.SyncStatus) { s.StartedOver = now })
	}
	c.welcomed = true
	c.e.live.Store(true)
	c.e.status.update(func(s *app.SyncStatus) { s.State, s.Why, s.RetryIn = app.SyncSyncing, "", 0 })
	return nil
}

// changes applies one page, opened and prepared (nil when it has no
// changes), or holds it when it only echoes this device's pushes (see
// heldEchoes); the page's last seq becomes the cursor.
func (c *conn) changes(ctx context.Context, f *syncproto.Changes, page app.ServerPage) error {
	var opened []model.Change
	if page != nil {
		opened = page.Changes()
	}
	full, held := len(c.inflight) >= maxInflight, false
	switch {
	case len(opened) == 0:
	case c.holdable(opened):
		c.hold(page)
		held = true
	default:
		if err := c.apply(ctx, page); err != nil {
			return err
		}
		for _, ch := range opened {
			if ch.OpID != "" && c.inflight[ch.OpID] {
				delete(c.inflight, ch.OpID)
				c.sum.Pushed++
				continue
			}
			c.sum.Pulled++
		}
	}
	if len(opened) > 0 {
		// The connection got somewhere: a failure from here on starts
		// the backoff over. A welcome alone does not, or a server that
		// welcomes and then fails every push (a full disk, a database
		// down) would be reconnected to twice a second.
		c.e.back.reset()
	}
	if f.CaughtUp && !c.caughtUp {
		c.caughtUp = true
		return c.push(ctx)
	}
	if held && !full && c.e.pushLimit == 0 {
		// Echoes only make room in flight, and there was room: every
		// op not yet pushed came with a local commit, which pushes it
		// (e.local). Reading the outbox again would only find the held
		// ops and those in flight.
		return nil
	}
	if len(c.inflight) < maxInflight {
		return c.push(ctx)
	}
	return nil
}

func (c *conn) ack(ctx context.Context, ids []model.ID) error {
	if err := c.e.cfg.Store.AckOps(ctx, ids); err != nil {
		return fmt.Errorf("acknowledge %d ops: %w", len(ids), err)
	}
	for _, id := range ids {
		if c.inflight[id] {
			delete(c.inflight, id)
			c.sum.Pushed++
			c.e.back.reset()
		}
	}
	return c.push(ctx)
}

// push sends pending ops not yet sent on this connection, in frames
// within the protocol's limits, until maxInflight ops await their acks or
// the outbox is all sent: first the deletions of records the server holds
// (pushDeletions), then the rest in outbox order. It sends nothing before
// the stream is caught up.
func (c *conn) push(ctx context.Context) error {
	if !c.caughtUp {
		return nil
	}
	if done, err := c.pushDeletions(ctx); err != nil || !done {
		return err
	}
	if c.e.pushLimit > 0 {
		return c.pushUnderQuota(ctx)
	}
	for len(c.inflight) < maxInflight {
		sent, err := c.pushNext(ctx, syncproto.MaxPushOps)
		if err != nil || sent == 0 {
			return err
		}
	}
	return nil
}

// pushEarly sends the ops of a local write while it commits (see
// EarlyStore), when the connection is ready to push, the write is still
// committing, and every op pending before them is already on its way:
// pushed on this connection (the server takes a connection's pushes in
// order), acknowledged with its echo held, or one that can never be
// pushed. They are then next in the outbox's order. Once the write is
// done, the outbox holds them (or not: the commit failed), and push goes
// by that.
func (c *conn) pushEarly(ctx context.Context, b earlyOps) error {
	if !c.caughtUp || c.e.pushLimit > 0 || len(c.deletions) > 0 || len(c.inflight)+len(b.ops) > maxInflight || !b.committing() {
		return nil
	}
	for _, id := range b.before {
		if !c.inflight[id] && !c.echoes.ids[id] && c.stuck[id] == nil {
			return nil
		}
	}
	batch, _ := c.batch(b.ops, syncproto.MaxPushOps)
	return c.send(ctx, batch)
}

// pushNext pushes up to limit of the oldest pending ops not in flight and
// returns how many it sent.
func (c *conn) pushNext(ctx context.Context, limit int) (int, error) {
	ops, err := c.e.cfg.Store.PendingOps(ctx, len(c.inflight)+len(c.echoes.ids)+len(c.stuck)+limit)
	if err != nil {
		return 0, fmt.Errorf("read the outbox: %w", err)
	}
	batch, _ := c.batch(ops, limit)
	return len(batch), c.send(ctx, batch)
}

// send pushes batch (nothing when it is empty) and marks it in flight.
func (c *conn) send(ctx context.Context, batch []model.Op) error {
	if len(batch) == 0 {
		return nil
	}
	if err := c.write(ctx, &syncproto.Push{Ops: batch}); err != nil {
		return err
	}
	for _, op := range batch {
		c.inflight[op.OpID] = true
	}
	return nil
}

// pushDeletions pushes, ahead of the rest of the outbox, the pending
// deletions of records the server holds, read once per connection, and
// reports whether all are sent. A deletion never counts against the
// account's quota, so a user told to make room sees the room made even
// when the deletions are queued behind records the quota refuses. The
// order does not change the outcome: a deleted record is final, and its
// earlier ops, pushed after, leave it deleted (docs/architecture.md,
// Records).
func (c *conn) pushDeletions(ctx context.Context) (bool, error) {
	if !c.delsRead {
		dels, err := c.e.cfg.Store.PendingDeletions(ctx)
		if err != nil {
			return false, fmt.Errorf("read the outbox's deletions: %w", err)
		}
		c.deletions, c.delsRead = dels, true
	}
	for len(c.deletions) > 0 {
		if len(c.inflight) >= maxInflight {
			return false, nil
		}
		batch, n := c.batch(c.deletions, syncproto.MaxPushOps)
		c.deletions = c.deletions[n:]
		if err := c.send(ctx, batch); err != nil {
			return false, err
		}
	}
	return true, nil
}

// pushUnderQuota pushes while the account is at its quota (e.pushLimit
// set after a refusal, see judgeClose): one push at a time of at most
// e.pushLimit ops, so the one the quota refuses is the last sent, and
// what fits before it is kept. The limit halves at each refusal and
// doubles after each push accepted, until pushes are full and
// pipelined again: the outbox so fills the account up to its quota in a
// few pushes, without a push per op.
func (c *conn) pushUnderQuota(ctx context.Context) error {
	if len(c.inflight) > 0 {
		return nil
	}
	if c.limited {
		c.limited = false
		c.e.pushLimit *= 2
		if c.e.pushLimit >= syncproto.MaxPushOps {
			c.e.pushLimit = 0
			return c.push(ctx)
		}
	}
	sent, err := c.pushNext(ctx, c.e.pushLimit)
	c.limited = sent > 0
	return err
}

// pushBudget is the room for ops in one push frame
// ({"type":"push","ops":[...]} and commas).
const pushBudget = syncproto.MaxFrameSize - 1024

// batch seals the ops not in flight, up to limit and pushBudget bytes,
// and returns them with how many of ops it went through. Ops that can
// never be pushed are set aside in c.stuck.
func (c *conn) batch(ops []model.Op, limit int) ([]model.Op, int) {
	var out []model.Op
	size := 0
	for i, op := range ops {
		if c.inflight[op.OpID] || c.echoes.ids[op.OpID] || c.stuck[op.OpID] != nil {
			continue
		}
		sealed, err := c.e.sealOp(fitHistory(op))
		var b []byte
		if err == nil {
			b, err = json.Marshal(sealed)
		}
		if err == nil && len(b)+1 > pushBudget {
			err = fmt.Errorf("op %s on %s %s is %d bytes sealed, more than a push frame holds: %w", op.OpID, op.Kind, op.ID, len(b), model.ErrTooLarge)
		}
		if err != nil {
			c.e.log.Warn("pending op cannot be pushed", "op", op.OpID, "kind", op.Kind, "id", op.ID, "err", err)
			if errors.Is(err, model.ErrTooLarge) {
				err = tooLargeError(op, err)
			}
			c.stuck[op.OpID] = err
			continue
		}
		if size+len(b)+1 > pushBudget {
			return out, i
		}
		size += len(b) + 1
		out = append(out, sealed)
		if len(out) == limit {
			return out, i + 1
		}
	}
	return out, len(ops)
}

// fitHistory returns op with the request of its history entry cut to fit
// the history (model.HistoryRequest.Cap), when it is too large to sync:
// an entry written before history entries were cut so. The server then
// holds the cut request, and its echo brings this device to it.
func fitHistory(op model.Op) model.Op {
	v, ok := op.Fields[model.FieldHistoryRequest]
	if op.Kind != model.KindHistory || !ok || len(v) <= model.HistoryRequestLimit {
		return op
	}
	var r model.HistoryRequest
	if json.Unmarshal(v, &r) != nil || !r.Cap() {
		return op
	}
	b, err := json.Marshal(r)
	if err != nil {
		return op
	}
	fields := maps.Clone(op.Fields)
	fields[model.FieldHistoryRequest] = b
	op.Fields = fields
	return op
}

// settle updates the status after a step and reports whether a one-shot
// sync is done: caught up, nothing pending or in flight.
func (c *conn) settle(ctx context.Context) (bool, error) {
	if !c.welcomed {
		return false, nil
	}
	n, err := c.e.cfg.Store.PendingCount(ctx)
	if err != nil {
		return false, fmt.Errorf("count pending ops: %w", err)
	}
	cur, err := c.e.cfg.Store.Cursor(ctx)
	if err != nil {
		return false, fmt.Errorf("read the cursor: %w", err)
	}
	// Ops whose echo is held are acknowledged, though still in the
	// outbox until it is applied.
	n = max(0, n-len(c.echoes.ids))
	settled := c.caughtUp && len(c.inflight) == 0 && n <= len(c.stuck)
	if settled && n > 0 {
		return c.stuckStatus(n)
	}
	// Ops pushed early are in flight before their write commits to the
	// outbox: they are pending all the same.
	n = max(n, len(c.inflight))
	inSync := settled && n == 0 && len(c.echoes.ids) == 0
	now := c.e.clock.Now()
	c.e.status.update(func(s *app.SyncStatus) {
		moved := s.Cursor != cur
		s.Pending, s.Cursor, s.Why, s.RetryIn = n, cur, "", 0
		if !inSync {
			s.State = app.SyncSyncing
			return
		}
		if s.State != app.SyncInSync || moved {
			s.LastSync = now
		}
		s.State, s.LastError = app.SyncInSync, ""
	})
	if inSync {
		c.e.back.reset()
	}
	return inSync && c.once, nil
}

// tooLargeError says which record op is too large to sync, for a person:
// its kind and name (else its id), and its largest field's size against
// what one synced value holds. err, the detail, stays wrapped.
func tooLargeError(op model.Op, err error) error {
	what := string(op.Kind) + " " + string(op.ID)
	var name string
	if json.Unmarshal(op.Fields["name"], &name) == nil && name != "" {
		what = fmt.Sprintf("%s %q", op.Kind, name)
	}
	field, size, total := "", 0, 0
	for f, v := range op.Fields {
		total += len(v)
		if len(v) > size || len(v) == size && f < field {
			field, size = f, len(v)
		}
	}
	if size+vault.Overhead > syncproto.MaxFieldValue {
		return &quietError{msg: fmt.Sprintf("%s: its %s is %s, more than the %s one synced value holds", what, field,
			model.FormatSize(int64(size)), model.FormatSize(syncproto.MaxFieldValue)), err: err}
	}
	return &quietError{msg: fmt.Sprintf("%s: its values are %s in all, more than one synced change holds", what,
		model.FormatSize(int64(total))), err: err}
}

// stuckStatus reports the ops left that cannot be pushed: an error state
// (the connection stays up for the rest), and the end of a one-shot sync.
func (c *conn) stuckStatus(n int) (bool, error) {
	var first error
	for _, err := range c.stuck {
		first = err
		break
	}
	why := fmt.Sprintf("%d local %s too large to sync (kept on this device): %v", n, plural(n, "change is", "changes are"), first)
	c.e.status.update(func(s *app.SyncStatus) {
		s.State, s.Why, s.Pending, s.RetryIn, s.LastError = app.SyncFailed, why, n, 0, why
	})
	if c.once {
		return true, fmt.Errorf("%s: %w", why, model.ErrTooLarge)
	}
	return false, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// maxQueuedBytes bounds the frames (their wire size) a connection keeps in
// memory ahead of the store. Nothing in the protocol bounds the frames in
// flight: the server's sender loop writes page after page as fast as the
// socket takes them, and fails a client that stops reading for
// syncproto.WriteTimeout. So the reader must keep reading; frames beyond
// this bound wait in a spill file instead of memory.
const maxQueuedBytes = 8 * syncproto.MaxFrameSize

// frameQueue hands the reader's frames to the main loop in order. put
// never waits for the loop. Frames fill memory up to bound bytes (at
// least one frame); once one has been spilled, every later frame is
// spilled too until the spilled ones are back in memory, which keeps the
// order. With prepare set, a promoter goroutine brings the oldest spilled
// frame back (decoded and prepared: its values opened) as soon as memory
// has room for it, so the loop never waits for the disk or the opening;
// opened values never go to disk. ready holds a token while take may have
// something to return.
type frameQueue struct {
	ready chan struct{}
	bound int
	// prepare readies a frame read back from the spill file (see
	// conn.preopen); nil: the loop takes spilled frames as they are.
	prepare func(inbound) inbound

	mu        sync.Mutex
	mem       []queued
	memSize   int
	spill     *os.File
	wOff      int64 // where the next spilled frame is written
	rOff      int64 // where the oldest spilled frame starts
	spilled   []int // the wire sizes of the spilled frames, oldest first
	promoting bool  // the oldest spilled frame is on its way to memory
	promoter  sync.WaitGroup
	end       error // why reading stopped: returned after every frame
	closed    bool
}

type queued struct {
	in   inbound
	size int
}

func newFrameQueue(bound int) *frameQueue {
	return &frameQueue{ready: make(chan struct{}, 1), bound: bound}
}

// fits reports whether a frame of size bytes put now would wait in
// memory. Only put adds, so a true answer holds until the reader's next
// put.
func (q *frameQueue) fits(size int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fitsLocked(size)
}

func (q *frameQueue) fitsLocked(size int) bool {
	return len(q.spilled) == 0 && !q.promoting && q.roomLocked(size)
}

func (q *frameQueue) roomLocked(size int) bool {
	return len(q.mem) == 0 || q.memSize+size <= q.bound
}

// put queues in, a frame of size bytes read as raw; a frame opened ahead
// (in.pre set, after fits said yes) always waits in memory. Errors (a
// spill file that cannot be written) end the reading.
func (q *frameQueue) put(in inbound, size int, raw []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("queue a frame: the connection is closed: %w", model.ErrUnavailable)
	}
	if in.pre != nil || q.fitsLocked(size) {
		q.mem = append(q.mem, queued{in: in, size: size})
		q.memSize += size
	} else if err := q.spillLocked(raw); err != nil {
		return err
	}
	q.promoteLocked()
	q.signal()
	return nil
}

// spillRaw spills raw, a frame not decoded yet, behind every frame
// queued; spilling keeps the order whatever memory holds.
func (q *frameQueue) spillRaw(raw []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("queue a frame: the connection is closed: %w", model.ErrUnavailable)
	}
	if err := q.spillLocked(raw); err != nil {
		return err
	}
	q.promoteLocked()
	q.signal()
	return nil
}

// spillLocked appends raw, length first, to the spill file.
func (q *frameQueue) spillLocked(raw []byte) error {
	if q.spill == nil {
		f, err := os.CreateTemp("", "courier-sync-*.frames")
		if err != nil {
			return fmt.Errorf("spill received frames to disk: %w", err)
		}
		q.spill = f
	}
	rec := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(raw)), uint32(len(raw)))
	rec = append(rec, raw...)
	if _, err := q.spill.WriteAt(rec, q.wOff); err != nil {
		return fmt.Errorf("spill a received frame to %s: %w", q.spill.Name(), err)
	}
	q.wOff += int64(len(rec))
	q.spilled = append(q.spilled, len(raw))
	return nil
}

// promoteLocked starts bringing the oldest spilled frame back to memory
// when there is one, room for it, and no promotion under way.
func (q *frameQueue) promoteLocked() {
	if q.prepare == nil || q.promoting || q.closed || len(q.spilled) == 0 || !q.roomLocked(q.spilled[0]) {
		return
	}
	q.promoting = true
	q.promoter.Add(1)
	go q.promote()
}

// promote reads the oldest spilled frame back, prepares it without the
// lock, and appends it to memory, ahead of every frame still spilled.
func (q *frameQueue) promote() {
	defer q.promoter.Done()
	q.mu.Lock()
	size := q.spilled[0]
	in := q.unspillLocked()
	q.mu.Unlock()
	if in.err == nil {
		in = q.prepare(in)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.promoting = false
	if q.closed {
		return
	}
	q.mem = append(q.mem, queued{in: in, size: size})
	q.memSize += size
	q.promoteLocked()
	q.signal()
}

// finish records why reading stopped; take returns it after the frames.
func (q *frameQueue) finish(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end == nil {
		q.end = err
	}
	q.signal()
}

// take returns the oldest frame, or the end once every frame is taken;
// false when there is nothing yet.
func (q *frameQueue) take() (inbound, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var in inbound
	switch {
	case len(q.mem) > 0:
		in = q.popLocked()
	case q.promoting:
		return in, false // the promoter signals
	case len(q.spilled) > 0 && q.prepare != nil:
		q.promoteLocked()
		return in, false
	case len(q.spilled) > 0:
		in = q.unspillLocked()
	case q.end != nil:
		return inbound{err: q.end}, true
	default:
		return in, false
	}
	if len(q.mem) > 0 || (len(q.spilled) > 0 && !q.promoting) || q.end != nil {
		q.signal()
	}
	return in, true
}

// takeIf returns the oldest frame when it waits in memory and ok says
// so; false leaves it where it is.
func (q *frameQueue) takeIf(ok func(inbound) bool) (inbound, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mem) == 0 || !ok(q.mem[0].in) {
		return inbound{}, false
	}
	return q.popLocked(), true
}

// popLocked removes the oldest frame in memory (there is one) and
// returns it; the room it leaves may bring a spilled frame back.
func (q *frameQueue) popLocked() inbound {
	in := q.mem[0].in
	q.memSize -= q.mem[0].size
	q.mem[0] = queued{}
	q.mem = q.mem[1:]
	q.promoteLocked()
	return in
}

// unspillLocked reads back the oldest spilled frame; the file is emptied
// once the loop has caught up with it. A read error is returned in place
// of the frame, and the spilled frames are dropped: the error ends the
// session.
func (q *frameQueue) unspillLocked() inbound {
	var in inbound
	var n [4]byte
	if _, err := q.spill.ReadAt(n[:], q.rOff); err != nil {
		q.spilled = nil
		return inbound{err: fmt.Errorf("read a spilled frame from %s: %w", q.spill.Name(), err)}
	}
	raw := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := q.spill.ReadAt(raw, q.rOff+4); err != nil {
		q.spilled = nil
		return inbound{err: fmt.Errorf("read a spilled frame from %s: %w", q.spill.Name(), err)}
	}
	q.rOff += 4 + int64(len(raw))
	if q.spilled = q.spilled[1:]; len(q.spilled) == 0 {
		q.wOff, q.rOff = 0, 0
		_ = q.spill.Truncate(0) // a failure only leaves bytes to overwrite
	}
	if in.frame, in.err = syncproto.DecodeServerFrame(raw); in.err != nil {
		in.err = fmt.Errorf("the server sent a bad frame: %w", in.err)
	}
	return in
}

func (q *frameQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close drops what is left and removes the spill file. The reader must
// have stopped.
func (q *frameQueue) close() {
	q.mu.Lock()
	q.closed, q.mem = true, nil
	q.mu.Unlock()
	q.promoter.Wait()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.spill != nil {
		q.spill.Close()
		os.Remove(q.spill.Name())
		q.spill = nil
	}
}
