package store

import (
	"sync"
	"sync/atomic"

	"github.com/courierapp/courier/model"
)

// Early pushes. A local write hands its ops, with the ids of the ops
// pending before it, to the watchers of WatchOutbox just before it
// commits, so that the sync engine seals and sends them while the
// commit's fsyncs run instead of after: an edit reaches the server, and
// the account's other devices, one local commit sooner. The engine sends
// them only when every op pending before them is already on its way to
// the server (pushed on the same connection, or acknowledged and its echo
// not yet applied), so they cannot overtake an older op; and only while
// committing() is true. Once the write is done the outbox holds them (or,
// after a failed commit, does not), and the engine goes by that as
// usual.
//
// Sent that early, an op reaches the server even when its local commit
// then fails (the disk broke between the write and its fsync) or the
// device loses power before the commit is durable: the server applies it
// and streams it back, and the device applies it as a server change.
// Nothing is lost, and the order of edits holds.

// maxEarlyOps bounds the ops handed over early: a write of more (a
// profile's records queued at sign-in) is pushed after its commit.
const maxEarlyOps = 256

// maxEarlyBefore bounds the pending ops a write handed over early may
// follow: with more (a device back from a long time offline), the engine
// pushes from the outbox anyway, and the write is not handed over.
const maxEarlyBefore = 128

type outboxWatchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(ops []model.Op, before []model.ID, committing func() bool)
	n    atomic.Int32 // len(fns), read by every write without the lock
}

// WatchOutbox calls fn inside each local write that appends at most
// maxEarlyOps ops to an outbox of at most maxEarlyBefore, just before it
// commits, with those ops and the ids of the ops pending before them (in
// no particular order); committing reports whether the commit is still
// under way. fn runs while the store holds its write lock: it must return
// at once, must not call the store and must not change ops or before
// (shared by every watcher). cancel stops the calls.
func (db *DB) WatchOutbox(fn func(ops []model.Op, before []model.ID, committing func() bool)) (cancel func()) {
	w := &db.early
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func([]model.Op, []model.ID, func() bool){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	w.n.Store(int32(len(w.fns)))
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns, id)
		w.n.Store(int32(len(w.fns)))
	}
}

// watched says whether any watcher wants early ops.
func (w *outboxWatchers) watched() bool { return w.n.Load() > 0 }

// earlyBatch is one write's ops handed over before its commit.
type earlyBatch struct {
	ops    []model.Op
	before []model.ID
	done   atomic.Bool // the commit returned (durable or failed)
}

func (b *earlyBatch) committing() bool { return !b.done.Load() }

// hand gives b to every watcher.
func (w *outboxWatchers) hand(b *earlyBatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fn := range w.fns {
		fn(b.ops, b.before, b.committing)
	}
}
