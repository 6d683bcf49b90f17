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

// committer runs writes in group commits: one goroutine takes every
// write waiting, applies them all in one transaction and fsyncs once. A
// lone write commits at once (unlike bbolt's DB.Batch, which waits up to
// MaxBatchDelay for company); writes that arrive during a commit share the
// next one. So latency stays one fsync when idle and throughput grows
// with concurrency.
//
// Writers that wait for their previous write before sending the next (a
// sync connection applies one push at a time) come back just after their
// group committed. Were the next group started at once with the few
// already waiting, the writers would split into two cohorts that commit
// in turn, each paying a whole commit; so when fewer than half of the
// last group wait, the committer gives the others up to half a commit's
// time (at most maxGather) to rejoin.
type committer struct {
	db   *bbolt.DB
	reqs chan commitReq
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	groups, writes atomic.Int64 // for CommitStats
}

type commitReq struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

// errSkip marks the write that failed a group transaction.
type errSkip struct {
	i   int
	err error
}

func (e *errSkip) Error() string { return e.err.Error() }

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan commitReq, maxGroup), quit: make(chan struct{})}
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
	if err := ctx.Err(); err != nil {
		return err
	}
	r := commitReq{fn: fn, done: make(chan error, 1)}
	select {
	case d.commits.reqs <- r:
	case <-d.commits.quit:
		return fmt.Errorf("the store is closed: %w", model.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, fn may commit: wait for the answer whatever ctx says.
	err := <-r.done
	if p, ok := err.(*panicErr); ok {
		panic(p.v) // in the caller's goroutine, as bbolt's DB.Batch does
	}
	return diskError(err)
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
	group := make([]commitReq, 0, maxGroup)
	last, took := 0, time.Duration(0) // the last group's size and commit time
	for {
		select {
		case r := <-c.reqs:
			group = append(group[:0], r)
		case <-c.quit:
			c.drain()
			return
		}
		group = c.gather(group, last, min(took/2, maxGather))
		c.groups.Add(1)
		c.writes.Add(int64(len(group)))
		start := time.Now()
		c.run(group)
		last, took = len(group), time.Since(start)
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
		default:
			return
		}
	}
}

// run commits group; a write that fails is answered with its error and
// the rest retried without it.
func (c *committer) run(group []commitReq) {
	for len(group) > 0 {
		err := c.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range group {
				if err := safeCall(r.fn, tx); err != nil {
					return &errSkip{i: i, err: err}
				}
			}
			return nil
		})
		var skip *errSkip
		if errors.As(err, &skip) {
			group[skip.i].done <- skip.err
			group = append(group[:skip.i], group[skip.i+1:]...)
			continue
		}
		for _, r := range group {
			r.done <- err
		}
		return
	}
}

// CommitStats reports how many group transactions have run since Open
// (counted as they start), and how many writes they held: writes/groups
// is the mean group size.
func (d *DB) CommitStats() (groups, writes int64) {
	return d.commits.groups.Load(), d.commits.writes.Load()
}
