package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 512

// maxGather bounds how long the committer waits for the writers of the
// last group to come back before it commits a smaller one.
const maxGather = 5 * time.Millisecond

// A checkpoint runs once logged pushes have waited maxDirty, or the log
// holds maxLogBytes; after a failed one (a full disk), retryDirty later.
const (
	maxDirty    = 50 * time.Millisecond
	maxLogBytes = 256 << 10
	retryDirty  = time.Second
)

// committer runs writes in group commits: one goroutine takes every
// write waiting and applies them all in one transaction. A lone write
// goes at once (unlike bbolt's DB.Batch, which waits up to MaxBatchDelay
// for company); writes that arrive meanwhile share the next group.
//
// A group of pushes (logged writes) is made durable by appending its
// records to the push log (pushLog: one write, one fdatasync) and left in
// the open bbolt transaction, which later groups join. A checkpoint
// commits that transaction: after maxDirty, when the log is large, when a
// group holds a write that is not logged (an account, a session: those
// commit before they are answered), when the disk is nearly full
// (minFreeForLog), and at close; meanwhile the reads of the sync data run
// in it (syncView). So an acknowledgement costs one sequential write,
// and the scattered page writes of a bbolt commit are shared by every
// push of the last maxDirty. A push's results are final when it is
// logged: the checkpoint only stores them. Should the transaction be lost
// before its checkpoint (a failed write rolls it back; a failed commit;
// a crash), the pushes logged since the last checkpoint are replayed, in
// order, from the same state: they give the same results.
//
// Writers that wait for their previous write before sending the next (a
// sync connection applies one push at a time) come back just after their
// group is durable. Were the next group started at once with the few
// already waiting, the writers would split into two cohorts that commit
// in turn, each paying a whole commit; so when fewer than half of the
// last group wait, the committer gives the others up to half a commit's
// time (at most maxGather) to rejoin.
type committer struct {
	db    *bbolt.DB
	log   *pushLog
	reqs  chan commitReq
	reads chan readReq
	quit  chan struct{}
	// stopped is closed once the loop has returned: a request queued
	// after its last look (a write or read racing Close) is not answered.
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	// Owned by the loop:
	tx     *bbolt.Tx // the open transaction, holding the logged pushes
	logged []logged  // the pushes logged since the last checkpoint
	lsn    uint64    // the last lsn given to a record
	due    time.Time // when the next checkpoint is due (zero: none)
	failed error     // why the last checkpoint failed, until one succeeds

	// maxDirty is how long logged pushes wait for a checkpoint (the
	// constant; tests set more before their first write).
	maxDirty time.Duration

	// dirty is set while logged pushes wait for a checkpoint.
	dirty atomic.Bool
	// dirtyAccts are the accounts of those pushes: the reads of the
	// others' sync data need not wait for the loop (see syncView).
	dirtyMu    sync.Mutex
	dirtyAccts map[string]struct{}

	groups, writes atomic.Int64 // for CommitStats
}

// logged is a push in the log and in the open transaction: its record's
// lsn and where the record is in the log (read back for a replay, so that
// memory holds no second copy of the pushes).
type logged struct {
	lsn uint64
	off int64
	n   int
}

type commitReq struct {
	fn func(*bbolt.Tx) error
	// rec is the write's log record (see encodePush): it is answered
	// once logged. Without one, it is answered once committed.
	rec []byte
	// account is the account whose sync data rec changes.
	account string
	done    chan error
}

// readReq is a read of the sync data for the committer to run in the
// open transaction (ran), or to leave to a read transaction when nothing
// waits for a checkpoint.
type readReq struct {
	fn   func(*bbolt.Tx) error
	done chan readResult
}

type readResult struct {
	ran bool
	err error
}

func newCommitter(db *bbolt.DB, log *pushLog, lsn uint64) *committer {
	c := &committer{db: db, log: log, lsn: lsn, reqs: make(chan commitReq, maxGroup), reads: make(chan readReq, 64), quit: make(chan struct{}), stopped: make(chan struct{}), maxDirty: maxDirty,
		dirtyAccts: map[string]struct{}{}}
	c.wg.Add(1)
	go c.loop()
	return c
}

// close stops the loop once the writes already queued are done.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

// commit runs fn in a group transaction and returns once it is durable.
// fn may run more than once (when another write of its group fails), so
// it must set its results afresh each time. Errors: fn's, the
// transaction's, ctx's before fn was queued, or model.ErrUnavailable when
// the store is closed.
func (d *DB) commit(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	return d.commitRec(ctx, fn, nil, "")
}

// commitRec is commit for a write whose log record is rec (nil: none),
// which it may replay in its place (see committer), and which changes the
// sync data of account.
func (d *DB) commitRec(ctx context.Context, fn func(tx *bbolt.Tx) error, rec []byte, account string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := commitReq{fn: fn, rec: rec, account: account, done: make(chan error, 1)}
	select {
	case d.commits.reqs <- r:
	case <-d.commits.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, fn may commit: wait for the answer whatever ctx says.
	err := await(d.commits, r.done, errClosed)
	if p, ok := err.(*panicErr); ok {
		panic(p.v) // in the caller's goroutine, as bbolt's DB.Batch does
	}
	return diskError(err)
}

var errClosed = fmt.Errorf("the store is closed: %w", model.ErrUnavailable)

// await returns what done gives, or closed when the committer's loop
// stopped without taking the request.
func await[T any](c *committer, done <-chan T, closed T) T {
	select {
	case v := <-done:
		return v
	case <-c.stopped:
		select {
		case v := <-done:
			return v
		default:
			return closed
		}
	}
}

// diskError marks a write that failed because the server's disk is full
// or read-only as model.ErrUnavailable, so clients come back later (and
// nothing was written), naming the cause for the operator's log.
func diskError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("the server's disk is full: %w: %w", model.ErrUnavailable, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("the server's data is on a read-only file system: %w: %w", model.ErrUnavailable, err)
	}
	return err
}

// panicErr carries a panic of a write's fn to its caller.
type panicErr struct{ v any }

func (p *panicErr) Error() string { return fmt.Sprintf("panic in a write: %v", p.v) }

// safeCall runs fn, turning a panic into a *panicErr so that one bad write
// fails alone instead of stopping the committer.
func safeCall(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicErr{v}
		}
	}()
	return fn(tx)
}

func (c *committer) loop() {
	defer c.wg.Done()
	defer close(c.stopped)
	group := make([]commitReq, 0, maxGroup)
	last, took := 0, time.Duration(0) // the last group's size and commit time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var due <-chan time.Time
		if !c.due.IsZero() {
			timer.Reset(time.Until(c.due))
			due = timer.C
		}
		select {
		case r := <-c.reqs:
			timer.Stop()
			group = append(group[:0], r)
			group = c.gather(group, last, min(took/2, maxGather))
			c.groups.Add(1)
			c.writes.Add(int64(len(group)))
			start := time.Now()
			c.run(group)
			last, took = len(group), time.Since(start)
		case r := <-c.reads:
			timer.Stop()
			c.serveReads(r)
		case <-due:
			_ = c.checkpoint()
		case <-c.quit:
			timer.Stop()
			c.drain()
			// What fails stays in the log, replayed at open; the
			// transaction is closed either way.
			_ = c.checkpoint()
			return
		}
	}
}

// gather adds the writes waiting to group. When fewer than half of the
// last group's writers wait, it waits up to wait for them to come back.
func (c *committer) gather(group []commitReq, last int, wait time.Duration) []commitReq {
more:
	for len(group) < maxGroup {
		select {
		case r := <-c.reqs:
			group = append(group, r)
		default:
			break more
		}
	}
	if len(group)*2 >= last || wait <= 0 {
		return group
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(group) < last && len(group) < maxGroup {
		select {
		case r := <-c.reqs:
			group = append(group, r)
		case <-t.C:
			return group
		case <-c.quit:
			return group
		}
	}
	return group
}

// drain answers writes queued before close.
func (c *committer) drain() {
	for {
		select {
		case r := <-c.reqs:
			c.run([]commitReq{r})
		case r := <-c.reads:
			c.serveReads(r)
		default:
			return
		}
	}
}

// run applies group and answers its writes: once logged when all are
// pushes with their records, else once committed. A write that fails is
// answered with its error and the rest run again without it.
func (c *committer) run(group []commitReq) {
	for len(group) > 0 {
		if err := c.begin(); err != nil {
			answer(group, err)
			return
		}
		i, err := c.apply(group)
		if err == nil {
			answer(group, c.persist(group))
			return
		}
		// The transaction holds part of the failed write: it goes, and
		// the next begin replays what was logged before.
		c.rollback()
		group[i].done <- err
		group = append(group[:i], group[i+1:]...)
	}
}

// apply runs the writes of group in the open transaction, up to the
// first that fails (its index and error).
func (c *committer) apply(group []commitReq) (int, error) {
	for i, r := range group {
		if err := safeCall(r.fn, c.tx); err != nil {
			return i, err
		}
	}
	return 0, nil
}

// persist makes the writes of group, applied in the open transaction,
// durable: in the log when it can, else by a checkpoint.
func (c *committer) persist(group []commitReq) error {
	if c.log.off >= maxLogBytes || c.failed != nil || !c.log.roomy() {
		return c.checkpoint()
	}
	recs := make([][]byte, len(group))
	for i, r := range group {
		if r.rec == nil {
			return c.checkpoint()
		}
		recs[i] = r.rec
	}
	// A failed append leaves its lsns to the next one, which overwrites
	// it: the records must follow each other without a gap. (Were the
	// failed one durable and the server to stop first, its replay would
	// apply pushes that were refused, or that a checkpoint holds: the
	// op ids make the second harmless, and the first is a lost ack.)
	first := c.lsn + 1
	off := c.log.off
	if err := c.log.append(first, recs); err != nil {
		return c.checkpoint()
	}
	c.lsn += uint64(len(recs))
	for i, r := range recs {
		c.logged = append(c.logged, logged{lsn: first + uint64(i), off: off, n: len(r)})
		off += logHeader + int64(len(r))
	}
	c.dirtyMu.Lock()
	for _, r := range group {
		c.dirtyAccts[r.account] = struct{}{}
	}
	c.dirtyMu.Unlock()
	c.dirty.Store(true)
	if c.due.IsZero() {
		c.due = time.Now().Add(c.maxDirty)
	}
	return nil
}

func answer(group []commitReq, err error) {
	for _, r := range group {
		r.done <- err
	}
}

// begin opens the transaction when none is, replaying the pushes logged
// since the last checkpoint (lost with the transaction before).
func (c *committer) begin() error {
	if c.tx != nil {
		return nil
	}
	tx, err := c.db.Begin(true)
	if err != nil {
		return err
	}
	for _, l := range c.logged {
		payload, err := c.log.read(l.off, l.n)
		if err == nil {
			err = replayPush(tx, payload)
		}
		if err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("replay push log record %d: %w", l.lsn, err)
		}
	}
	c.tx = tx
	return nil
}

func (c *committer) rollback() {
	if c.tx != nil {
		_ = c.tx.Rollback()
		c.tx = nil
	}
}

// checkpoint commits the open transaction, with the lsn of the last
// record it holds, and starts the log afresh. When the commit fails, the
// logged pushes stay in the log (and are replayed into the next
// transaction); the next try is retryDirty later.
func (c *committer) checkpoint() error {
	if c.tx == nil {
		if len(c.logged) == 0 {
			c.due = time.Time{}
			return nil
		}
		if err := c.begin(); err != nil {
			return c.checkpointFailed(err)
		}
	}
	err := c.tx.Bucket(bMeta).Put(kLogLSN, u64(c.lsn))
	if err == nil {
		err = c.tx.Commit()
	} else {
		_ = c.tx.Rollback()
	}
	c.tx = nil
	if err != nil {
		return c.checkpointFailed(err)
	}
	c.logged, c.due, c.failed = c.logged[:0], time.Time{}, nil
	c.dirty.Store(false)
	c.dirtyMu.Lock()
	clear(c.dirtyAccts)
	c.dirtyMu.Unlock()
	c.log.reset()
	return nil
}

func (c *committer) checkpointFailed(err error) error {
	c.failed = err
	if len(c.logged) > 0 {
		c.due = time.Now().Add(retryDirty)
	}
	return err
}

// serveReads answers r and the other reads waiting, by running them in
// the open transaction, which holds every acknowledged push (a
// checkpoint, two fsyncs, would cost more than most reads). Should the
// pushes have been checkpointed meanwhile, the readers read the file.
func (c *committer) serveReads(r readReq) {
	reqs := []readReq{r}
more:
	for {
		select {
		case r := <-c.reads:
			reqs = append(reqs, r)
		default:
			break more
		}
	}
	if len(c.logged) == 0 {
		for _, r := range reqs {
			r.done <- readResult{}
		}
		return
	}
	err := c.begin()
	for _, r := range reqs {
		if err != nil {
			r.done <- readResult{err: err}
			continue
		}
		r.done <- readResult{ran: true, err: safeCall(r.fn, c.tx)}
	}
}

// syncView runs fn, a read of account's sync data, in a transaction that
// holds every acknowledged push to it: the committer's open one while
// pushes to the account wait for a checkpoint, else a read transaction,
// which runs beside the committer (so a device far behind reading page
// after page delays no one else's acknowledgements).
//
// An account is marked before its pushes are acknowledged and unmarked
// after they are committed to the file, so a reader that learnt of a
// push (its head, a poke) finds it either way.
func (d *DB) syncView(ctx context.Context, account string, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := d.commits
	if c.dirty.Load() && c.isDirty(account) {
		r := readReq{fn: fn, done: make(chan readResult, 1)}
		select {
		case c.reads <- r:
		case <-c.quit:
			return errClosed
		case <-ctx.Done():
			return ctx.Err()
		}
		res := await(c, r.done, readResult{err: errClosed})
		if p, ok := res.err.(*panicErr); ok {
			panic(p.v)
		}
		if res.ran || res.err != nil {
			return res.err
		}
	}
	return d.db.View(fn)
}

// isDirty reports whether pushes to account wait for a checkpoint.
func (c *committer) isDirty(account string) bool {
	c.dirtyMu.Lock()
	defer c.dirtyMu.Unlock()
	_, ok := c.dirtyAccts[account]
	return ok
}

// CommitStats reports how many groups have run since Open (counted as
// they start; each is made durable by one log append or one commit), and
// how many writes they held: writes/groups is the mean group size.
func (d *DB) CommitStats() (groups, writes int64) {
	return d.commits.groups.Load(), d.commits.writes.Load()
}
