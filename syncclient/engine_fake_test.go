package syncclient_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// fakeSync is a sync server in memory that speaks syncproto over a real
// WebSocket on httptest TLS: one account, poke-then-pull senders, op
// dedupe with ack frames. Tests script its misbehaviour.
type fakeSync struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	log      []model.Change // sealed values, as pushed
	applied  map[model.ID]bool
	poke     chan struct{} // closed and replaced on every append
	pageSize int
	hellos   []syncproto.Hello
	pushes   []int // op count of every push frame
	frames   []int // byte size of every push frame
	early    int   // pushes received before caught_up was sent
	conns    int
	// refuse, when set, answers the n-th connection (from 1) with a
	// close code and message right after the handshake (0: serve it).
	refuse func(n int) (syncproto.CloseCode, string)
	// refusePush, when set, answers the n-th push frame (from 1, over all
	// connections) with a close code and message instead of applying it
	// (0: apply it), as a server whose storage fails does.
	refusePush func(n int) (syncproto.CloseCode, string)
	pushN      int
	// silent, when set, stops reading after hello (pongs never come).
	silent bool
	// slowWelcome, when silent, streams the welcome frame over this long
	// first (leading spaces, then the frame), as a slow link carries a
	// large frame: 8 KiB every 10 ms, so at most about 1.2 s fits in
	// syncproto.MaxFrameSize.
	slowWelcome time.Duration
	// dropPush, when above 0, makes the next pushes end the connection
	// abruptly, each consuming one: before applying the ops (dropped
	// mid-push) or, with applyDropped, after applying them silently (the
	// ack is lost).
	dropPush     int
	applyDropped bool
	tokens       string
}

func newFakeSync(t *testing.T) *fakeSync {
	t.Helper()
	f := &fakeSync{t: t, applied: map[model.ID]bool{}, poke: make(chan struct{}), pageSize: 100, tokens: "tok"}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeSync) url() string { return f.srv.URL }

// add appends sealed changes as if another device pushed them.
func (f *fakeSync) add(ops ...model.Op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		f.appendLocked(op)
	}
	f.pokeLocked()
}

func (f *fakeSync) appendLocked(op model.Op) {
	f.applied[op.OpID] = true
	f.log = append(f.log, model.Change{Seq: uint64(len(f.log) + 1), Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID})
}

func (f *fakeSync) pokeLocked() {
	close(f.poke)
	f.poke = make(chan struct{})
}

func (f *fakeSync) snapshot() (hellos []syncproto.Hello, pushes, frames []int, early, conns, head int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syncproto.Hello(nil), f.hellos...), append([]int(nil), f.pushes...), append([]int(nil), f.frames...), f.early, f.conns, len(f.log)
}

func (f *fakeSync) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != syncproto.PathSync {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.tokens {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{syncproto.SyncSubprotocol}})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(syncproto.MaxFrameSize)
	f.mu.Lock()
	f.conns++
	n := f.conns
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != nil {
		if code, msg := refuse(n); code != 0 {
			f.closeWith(r.Context(), ws, code, msg)
			return
		}
	}
	f.session(r.Context(), ws)
}

func (f *fakeSync) closeWith(ctx context.Context, ws *websocket.Conn, code syncproto.CloseCode, msg string) {
	if code != syncproto.CloseGoingAway {
		b, _ := syncproto.EncodeFrame(&syncproto.ErrorFrame{Code: code.ErrorCode(), Message: msg})
		_ = ws.Write(ctx, websocket.MessageText, b)
	}
	_ = ws.Close(websocket.StatusCode(code), msg)
}

func (f *fakeSync) session(ctx context.Context, ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		return
	}
	fr, err := syncproto.DecodeClientFrame(b)
	hello, ok := fr.(*syncproto.Hello)
	if err != nil || !ok {
		f.closeWith(ctx, ws, syncproto.CloseInvalidFrame, "hello first")
		return
	}
	f.mu.Lock()
	f.hellos = append(f.hellos, *hello)
	head := uint64(len(f.log))
	silent, slow := f.silent, f.slowWelcome
	f.mu.Unlock()
	if silent {
		if slow > 0 {
			streamWelcome(ctx, ws, slow)
		}
		<-ctx.Done()
		return
	}
	var caughtUp atomic.Bool // set just before the first caught_up is sent
	if err := write(ctx, ws, &syncproto.Welcome{AccountID: "acct", Head: head}); err != nil {
		return
	}
	from := hello.Cursor
	if from > head { // not our stream (a restored backup): start over
		from = 0
	}
	go f.sender(ctx, cancel, ws, from, caughtUp.Store)
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return
		}
		fr, err := syncproto.DecodeClientFrame(b)
		push, ok := fr.(*syncproto.Push)
		if err != nil || !ok {
			f.closeWith(ctx, ws, syncproto.CloseInvalidFrame, "bad push")
			return
		}
		f.push(ctx, ws, push, len(b), !caughtUp.Load())
	}
}

// sender is the poke-then-pull loop: send everything past sent in pages
// ending on a seq boundary, caught_up on the page reaching the head.
func (f *fakeSync) sender(ctx context.Context, cancel func(), ws *websocket.Conn, sent uint64, markCaughtUp func(bool)) {
	defer cancel()
	first := true
	for {
		f.mu.Lock()
		poke := f.poke
		page := f.log[min(int(sent), len(f.log)):]
		if len(page) > f.pageSize {
			page = page[:f.pageSize]
		}
		page = fitFrame(page)
		page = append([]model.Change(nil), page...)
		head := uint64(len(f.log))
		f.mu.Unlock()
		if len(page) > 0 || first {
			if len(page) > 0 {
				sent = page[len(page)-1].Seq
			}
			up := sent >= head
			if up && first {
				first = false
				markCaughtUp(true)
			}
			if err := write(ctx, ws, &syncproto.Changes{Changes: page, CaughtUp: up}); err != nil {
				return
			}
			if !up {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poke:
		}
	}
}

func (f *fakeSync) push(ctx context.Context, ws *websocket.Conn, p *syncproto.Push, size int, early bool) {
	var dup []model.ID
	f.mu.Lock()
	f.pushN++
	if f.refusePush != nil {
		if code, msg := f.refusePush(f.pushN); code != 0 {
			f.mu.Unlock()
			f.closeWith(ctx, ws, code, msg)
			return
		}
	}
	if f.dropPush > 0 {
		f.dropPush--
		if f.applyDropped {
			for _, op := range p.Ops {
				f.appendLocked(op)
			}
		}
		f.mu.Unlock()
		ws.CloseNow()
		return
	}
	f.pushes = append(f.pushes, len(p.Ops))
	f.frames = append(f.frames, size)
	if early {
		f.early++
	}
	for _, op := range p.Ops {
		if f.applied[op.OpID] {
			dup = append(dup, op.OpID)
			continue
		}
		f.appendLocked(op)
	}
	f.pokeLocked()
	f.mu.Unlock()
	if len(dup) > 0 {
		_ = write(ctx, ws, &syncproto.Ack{OpIDs: dup})
	}
}

// streamWelcome sends a welcome frame led by spaces, a chunk every 10 ms
// for d.
func streamWelcome(ctx context.Context, ws *websocket.Conn, d time.Duration) {
	w, err := ws.Writer(ctx, websocket.MessageText)
	if err != nil {
		return
	}
	chunk := bytes.Repeat([]byte(" "), 8<<10) // past the write buffer: sent at once
	for end := time.Now().Add(d); time.Now().Before(end); {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := syncproto.EncodeFrame(&syncproto.Welcome{AccountID: "acct", Head: 0})
	if _, err := w.Write(b); err == nil {
		_ = w.Close()
	}
}

func write(ctx context.Context, ws *websocket.Conn, fr syncproto.Frame) error {
	b, err := syncproto.EncodeFrame(fr)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, b)
}

// fitFrame cuts page so its changes frame stays within MaxFrameSize.
func fitFrame(page []model.Change) []model.Change {
	size := 64
	for i, c := range page {
		n := 96
		for name, v := range c.Fields {
			n += len(name) + len(v) + 4
		}
		if size += n; size > syncproto.MaxFrameSize && i > 0 {
			return page[:i]
		}
	}
	return page
}
