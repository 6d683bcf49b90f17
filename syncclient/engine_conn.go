package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
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
	// stuck holds pending ops that can never be pushed (a value over the
	// protocol's limits): they stay in the outbox, visible on this device,
	// and the others go on without them.
	stuck    map[model.ID]error
	errFrame *syncproto.ErrorFrame
}

// inbound is one frame read, or why reading stopped.
type inbound struct {
	frame syncproto.Frame
	err   error
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
	c := &conn{e: e, ws: ws, once: once, sum: sum, inflight: map[model.ID]bool{}, stuck: map[model.ID]error{}}
	cursor, err := e.cfg.Store.Cursor(ctx)
	if err != nil {
		return fmt.Errorf("read the cursor: %w", err)
	}
	if err := c.write(ctx, &syncproto.Hello{DeviceID: e.cfg.DeviceID, Cursor: cursor}); err != nil {
		return err
	}
	frames, dead := make(chan inbound, 1), make(chan struct{})
	go c.read(ctx, frames)
	go c.ping(ctx, dead)
	err = c.loop(ctx, frames, dead)
	if err == nil {
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
	return err
}

func (c *conn) loop(ctx context.Context, frames <-chan inbound, dead <-chan struct{}) error {
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
		case in := <-frames:
			if in.err != nil {
				return c.readError(in.err)
			}
			if err := c.handle(ctx, in.frame); err != nil {
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
		return nil, fmt.Errorf("connect to %s: %w", e.wsURL, err)
	}
	if ws.Subprotocol() != syncproto.SyncSubprotocol {
		ws.CloseNow()
		return nil, &closedError{code: syncproto.CloseUnsupportedVersion, msg: "the server did not accept " + syncproto.SyncSubprotocol}
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	return ws, nil
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

// read delivers frames until the connection fails.
func (c *conn) read(ctx context.Context, out chan<- inbound) {
	for {
		typ, b, err := c.ws.Read(ctx)
		var in inbound
		switch {
		case err != nil:
			in.err = err
		case typ != websocket.MessageText:
			in.err = fmt.Errorf("the server sent a binary frame: %w", model.ErrInvalid)
		default:
			in.frame, in.err = syncproto.DecodeServerFrame(b)
			if in.err != nil {
				in.err = fmt.Errorf("the server sent a bad frame: %w", in.err)
			}
		}
		select {
		case out <- in:
		case <-ctx.Done():
			return
		}
		if in.err != nil {
			return
		}
	}
}

// ping pings every interval and closes dead after MaxMissedPongs misses
// in a row.
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
		pctx, cancel := context.WithTimeout(ctx, iv)
		err := c.ws.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
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
		return err
	}
	ce := &closedError{code: syncproto.CloseCode(code)}
	var cl websocket.CloseError
	if errors.As(err, &cl) {
		ce.msg = cl.Reason
	}
	if c.errFrame != nil {
		ce.msg = c.errFrame.Message
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
		return fmt.Errorf("send %s frame: %w", f.FrameType(), err)
	}
	return nil
}

// handle acts on one validated frame.
func (c *conn) handle(ctx context.Context, f syncproto.Frame) error {
	switch f := f.(type) {
	case *syncproto.Welcome:
		return c.welcome(ctx, f)
	case *syncproto.Changes:
		if !c.welcomed {
			return fmt.Errorf("the server sent changes before welcome: %w", model.ErrInvalid)
		}
		return c.changes(ctx, f)
	case *syncproto.Ack:
		return c.ack(ctx, f.OpIDs)
	case *syncproto.ErrorFrame:
		c.errFrame = f // the close follows
		return nil
	}
	return fmt.Errorf("the server sent a %s frame: %w", f.FrameType(), model.ErrInvalid)
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
	}
	c.welcomed = true
	c.e.back.reset()
	c.e.status.update(func(s *app.SyncStatus) { s.State, s.Why, s.RetryIn = app.SyncSyncing, "", 0 })
	return nil
}

// changes opens and applies one page; the page's last seq becomes the
// cursor.
func (c *conn) changes(ctx context.Context, f *syncproto.Changes) error {
	if len(f.Changes) > 0 {
		opened := make([]model.Change, len(f.Changes))
		for i, ch := range f.Changes {
			o, err := c.e.openChange(ch)
			if err != nil {
				return err
			}
			opened[i] = o
		}
		last := opened[len(opened)-1].Seq
		if err := c.e.cfg.Store.ApplyServerChanges(ctx, opened, last); err != nil {
			return fmt.Errorf("apply changes up to seq %d: %w", last, err)
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
	if f.CaughtUp && !c.caughtUp {
		c.caughtUp = true
		return c.push(ctx)
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
		}
	}
	return c.push(ctx)
}

// push sends pending ops not yet sent on this connection, in outbox
// order, in frames within the protocol's limits, until maxInflight ops
// await their acks or the outbox is all sent. It sends nothing before
// the stream is caught up.
func (c *conn) push(ctx context.Context) error {
	for c.caughtUp && len(c.inflight) < maxInflight {
		ops, err := c.e.cfg.Store.PendingOps(ctx, len(c.inflight)+len(c.stuck)+syncproto.MaxPushOps)
		if err != nil {
			return fmt.Errorf("read the outbox: %w", err)
		}
		batch, err := c.batch(ops)
		if err != nil || len(batch) == 0 {
			return err
		}
		if err := c.write(ctx, &syncproto.Push{Ops: batch}); err != nil {
			return err
		}
		for _, op := range batch {
			c.inflight[op.OpID] = true
		}
	}
	return nil
}

// pushBudget is the room for ops in one push frame
// ({"type":"push","ops":[...]} and commas).
const pushBudget = syncproto.MaxFrameSize - 1024

// batch seals the ops not in flight, up to MaxPushOps and pushBudget
// bytes. Ops that can never be pushed are set aside in c.stuck.
func (c *conn) batch(ops []model.Op) ([]model.Op, error) {
	var out []model.Op
	size := 0
	for _, op := range ops {
		if c.inflight[op.OpID] || c.stuck[op.OpID] != nil {
			continue
		}
		sealed, err := c.e.sealOp(op)
		var b []byte
		if err == nil {
			b, err = json.Marshal(sealed)
		}
		if err == nil && len(b)+1 > pushBudget {
			err = fmt.Errorf("op %s on %s %s is %d bytes sealed, more than a push frame holds: %w", op.OpID, op.Kind, op.ID, len(b), model.ErrTooLarge)
		}
		if err != nil {
			c.e.log.Warn("pending op cannot be pushed", "op", op.OpID, "kind", op.Kind, "id", op.ID, "err", err)
			c.stuck[op.OpID] = err
			continue
		}
		if size+len(b)+1 > pushBudget {
			break
		}
		size += len(b) + 1
		out = append(out, sealed)
		if len(out) == syncproto.MaxPushOps {
			break
		}
	}
	return out, nil
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
	settled := c.caughtUp && len(c.inflight) == 0 && n <= len(c.stuck)
	if settled && n > 0 {
		return c.stuckStatus(n)
	}
	inSync := settled && n == 0
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
	return inSync && c.once, nil
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
